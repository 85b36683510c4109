// The text maps were made at build time (see TextDetection.csproj); the app just lists what it shipped with.
foreach (var map in Directory.EnumerateFiles(AppContext.BaseDirectory, "*.textmap.png", SearchOption.AllDirectories).Order())
    Console.WriteLine($"{Path.GetRelativePath(AppContext.BaseDirectory, map)}  {new FileInfo(map).Length,8} bytes");
