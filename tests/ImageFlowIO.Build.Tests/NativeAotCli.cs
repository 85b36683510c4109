using System.IO.Compression;
using System.Runtime.InteropServices;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// The linux-x64 tool package as it ships: <c>dotnet pack src/Cli -r linux-x64 -p:ImageFlowCliAot=true</c> (the step
/// tools/pack-cli.sh adds), run on a copy of src/ so its RID-specific restore and obj/ never touch the repository's
/// builds, then unzipped. Made once per test run, on first use, for every class that needs it.
/// </summary>
public sealed class NativeAotCli
{
    private static readonly Lazy<NativeAotCli> Shared = new(() => new NativeAotCli(), LazyThreadSafetyMode.ExecutionAndPublication);

    public static NativeAotCli Instance => Shared.Value;

    private NativeAotCli()
    {
        if (RuntimeInformation.OSArchitecture != Architecture.X64 || !OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("the Native AOT tool package is built for linux-x64 only; this is " + RuntimeInformation.RuntimeIdentifier);
        Root = Path.Combine(Path.GetTempPath(), "ifio-aot-tests", Guid.NewGuid().ToString("N")[..10]);
        var repo = PackageFeedFixture.RepoRoot;
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" })
            File.Copy(Path.Combine(repo, file), Path.Combine(Root, file).CreateParent());
        CopySources(Path.Combine(repo, "src", "Runtime"), Path.Combine(Root, "src", "Runtime"));
        CopySources(Path.Combine(repo, "src", "Cli"), Path.Combine(Root, "src", "Cli"));

        var feed = Path.Combine(Root, "feed");
        var pack = Dotnet.Run(Root, "pack", Path.Combine("src", "Cli", "ImageFlowIO.Cli.csproj"), "-c", "Release", "-r", "linux-x64",
            "-p:ImageFlowCliAot=true", "-o", feed, "-nodeReuse:false");
        if (pack.ExitCode != 0)
            throw new InvalidOperationException("packing the Native AOT CLI failed (it needs clang and zlib1g-dev: .ci/run installs them):\n" + pack.Output);
        PackOutput = pack.Output;
        Package = Directory.GetFiles(feed, "ImageFlowIO.Cli.linux-x64.*.nupkg").Single();
        var tool = Path.Combine(Root, "tool");
        ZipFile.ExtractToDirectory(Package, tool);
        ToolFolder = Path.Combine(tool, "tools", "any", "linux-x64");
        Executable = Path.Combine(ToolFolder, "ImageFlowIO.Cli");
        // Zip entries carry no Unix mode; `dotnet tool install` sets it the same way.
        File.SetUnixFileMode(Executable, File.GetUnixFileMode(Executable) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }

    public string Root { get; }
    public string Package { get; }
    public string PackOutput { get; }
    public string ToolFolder { get; }
    public string Executable { get; }

    private static void CopySources(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            var top = relative.Split(Path.DirectorySeparatorChar)[0];
            if (top is "bin" or "obj") continue;
            File.Copy(file, Path.Combine(to, relative).CreateParent());
        }
    }
}

internal static class PathExtensions
{
    public static string CreateParent(this string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }
}
