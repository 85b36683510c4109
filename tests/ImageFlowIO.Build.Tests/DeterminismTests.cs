using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// The determinism contract (docs/performance.md): on one machine the MSBuild task, the library API, the CLI and the
/// shipped Native AOT CLI give the same bytes for the same input and config. Each runs in its own process with its own runtime settings (the task
/// inside MSBuild, the library in a consumer app, the CLI with its invariant-globalization, no-PGO runtimeconfig).
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class DeterminismTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    // Every float-sensitive step: cubic resize and normalise (vectorised), a real conv model, JPEG's DCT, raw float32.
    private const string Config = """
        {
          "model": { "path": "models/conv3.onnx" },
          "execution": { "backend": "onnx", "useCaching": "none" },
          "preprocessing": {
            "resize": { "apply": true, "imageSize": [96, 80], "keepAspectRatio": false, "kernel": "cubic" },
            "normalize": { "apply": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] }
          },
          "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
          "output": {
            "save": { "apply": true, "path": "out", "format": "jpeg", "quality": 85 },
            "saveRaw": { "apply": true, "format": "npy", "dtype": "float32", "path": "out/raw" }
          }
        }
        """;

    private const string LibraryProgram = """
        using ImageFlowIO;
        using ImageFlowIO.Config;

        // args: config, input folder, output folder
        using var pipeline = Pipeline.FromConfig(args[0], new PipelineOptions { OutputDirectory = Path.GetFullPath(args[2]), CacheMode = CacheMode.None });
        var inputs = Directory.GetFiles(args[1]).Order(StringComparer.Ordinal).Select(f => new InputItem(f)).ToList();
        var batch = await pipeline.RunBatchAsync(inputs);
        Console.WriteLine($"library: {batch.Processed} processed, {batch.Failed} failed");
        return batch.Failed;
        """;

    [Fact]
    public void The_task_the_library_and_the_cli_write_the_same_bytes()
    {
        var p = new ConsumerProject(feed, "SameBytes", assetsInclude: "assets/*.*");
        File.WriteAllText(p.ProjectFile, File.ReadAllText(p.ProjectFile).Replace("<TargetFramework>", "<OutputType>Exe</OutputType><TargetFramework>", StringComparison.Ordinal));
        File.WriteAllText(p.File_("Program.cs"), LibraryProgram);
        p.Copy(TestData("models", "conv3_nchw.onnx"), "models/conv3.onnx");
        p.WriteConfig(Config);
        p.Copy(TestData("images", "photo_160x120.jpg"), "assets/photo.jpg");
        p.Copy(TestData("images", "photo_160x120.png"), "assets/photo2.png");
        p.Copy(TestData("images", "photo_64x48.png"), "assets/small.png");

        var build = p.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.True(build.Summary == (3, 3, 0, 0), build.ToString());

        var library = Dotnet.Run(p.Directory, "run", "--no-build", "--project", p.ProjectFile, "--", "imageflow.json", "assets", "library-out");
        Assert.True(library.ExitCode == 0, library.Output);
        Assert.Contains("library: 3 processed, 0 failed", library.Output);

        var cliDll = Path.Combine(PackageFeedFixture.RepoRoot, "src", "Cli", "bin", PackageFeedFixture.Configuration, "net10.0", "ImageFlowIO.Cli.dll");
        Assert.True(File.Exists(cliDll), cliDll + " is not built");
        var cli = Dotnet.Run(p.Directory, cliDll, "-c", "imageflow.json", "-i", "assets", "-o", "cli-out", "--no-progress");
        Assert.True(cli.ExitCode == 0, cli.Output);
        Assert.Contains("3 processed", cli.Output);
        // The CLI under test runs with the runtime settings it ships with.
        Assert.Contains("\"System.Globalization.Invariant\": true", File.ReadAllText(Path.ChangeExtension(cliDll, ".runtimeconfig.json")));

        // The linux-x64 tool package's Native AOT binary (compiled for x86-64-v3, so ImageSharp takes the JIT's vector paths).
        var aot = Dotnet.Exec(NativeAotCli.Instance.Executable, p.Directory, new Dictionary<string, string?>(), "-c", "imageflow.json", "-i", "assets", "-o", "aot-out", "--no-progress");
        Assert.True(aot.ExitCode == 0, aot.Output);
        Assert.Contains("3 processed", aot.Output);

        // Every image and raw tensor, matched by file name (each surface re-roots the output folders its own way).
        var fromTask = Outputs(p.ObjFolder);
        Assert.Equal(["photo.jpg", "photo.npy", "photo2.jpg", "photo2.npy", "small.jpg", "small.npy"], fromTask.Keys.Order(StringComparer.Ordinal));
        foreach (var (surface, folder) in new[] { ("library", p.File_("library-out")), ("cli", p.File_("cli-out")), ("native AOT cli", p.File_("aot-out")) })
        {
            var theirs = Outputs(folder);
            Assert.Equal(fromTask.Keys.Order(StringComparer.Ordinal), theirs.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, path) in fromTask)
                Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(File.ReadAllBytes(theirs[name])), $"{surface}: {name} differs from the task's");
        }
    }

    [Fact]
    public void One_changed_asset_gets_the_idle_cores_and_the_same_bytes()
    {
        // A build with fewer changed assets than workers gives ONNX Runtime the idle workers' cores (intra-op threads).
        var p = new ConsumerProject(feed, "IdleCores", assetsInclude: "assets/*.*");
        p.Copy(TestData("models", "conv3_nchw.onnx"), "models/conv3.onnx");
        p.WriteConfig(Config);
        p.Copy(TestData("images", "photo_160x120.jpg"), "assets/a.jpg");
        p.Copy(TestData("images", "photo_160x120.png"), "assets/b.png");
        p.Copy(TestData("images", "photo_64x48.png"), "assets/c.png");
        var full = p.Build("-p:ImageFlowMaxParallelism=3", "-v:d");
        Assert.True(full.Summary == (3, 3, 0, 0), full.ToString());
        Assert.Contains("(ONNX Runtime intra-op threads 1)", full.Output); // cores / 3 workers

        // One new asset (content no cache has seen), the others up to date: it runs alone, with every core.
        WriteGradient(p.File_("assets/d.png"));
        var one = p.Build("-p:ImageFlowMaxParallelism=3", "-v:d");
        Assert.True(one.Summary == (4, 1, 0, 0), one.ToString());
        Assert.Contains($"(ONNX Runtime intra-op threads {Environment.ProcessorCount})", one.Output);

        // The same bytes as a build that ran it beside the others, one intra-op thread each.
        var reference = new ConsumerProject(feed, "IdleCoresReference", assetsInclude: "assets/*.*");
        reference.Copy(TestData("models", "conv3_nchw.onnx"), "models/conv3.onnx");
        reference.WriteConfig(Config);
        foreach (var name in new[] { "a.jpg", "b.png", "c.png", "d.png" }) reference.Copy(p.File_("assets/" + name), "assets/" + name);
        var all = reference.Build("-p:ImageFlowMaxParallelism=3", "-v:d");
        Assert.True(all.Summary == (4, 4, 0, 0), all.ToString());
        Assert.DoesNotContain($"(ONNX Runtime intra-op threads {Environment.ProcessorCount})", all.Output);
        var outputs = Outputs(p.ObjFolder);
        var expected = Outputs(reference.ObjFolder);
        Assert.Equal(File.ReadAllBytes(expected["d.jpg"]), File.ReadAllBytes(outputs["d.jpg"]));
        Assert.Equal(File.ReadAllBytes(expected["d.npy"]), File.ReadAllBytes(outputs["d.npy"]));
    }

    private static void WriteGradient(string path)
    {
        using var image = new Image<Rgb24>(160, 120);
        for (var y = 0; y < image.Height; y++)
            for (var x = 0; x < image.Width; x++)
                image[x, y] = new Rgb24((byte)(x * 3 % 256), (byte)(y * 5 % 256), (byte)((x + y) % 256));
        image.SaveAsPng(path);
    }

    private static Dictionary<string, string> Outputs(string folder) =>
        Directory.GetFiles(folder, "*.*", SearchOption.AllDirectories)
            .Where(f => Path.GetExtension(f) is ".jpg" or ".npy")
            .ToDictionary(f => Path.GetFileName(f), StringComparer.Ordinal);
}
