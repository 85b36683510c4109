using System.IO.Compression;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// The package ships no ONNX Runtime native library beside its MSBuild task: the targets hand the task the one restore
/// put in the NuGet packages folder for the consumer's Microsoft.ML.OnnxRuntime, and the real model runs from it.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class PackageNativeLibraryTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    private static string Config(string backend) => $$"""
        {
          "model": { "path": "models/invert.onnx" },
          "execution": { "backend": "{{backend}}", "useCaching": "none" },
          "preprocessing": {
            "resize": { "apply": true, "imageSize": [24, 16], "resizeMode": "crop" },
            "normalize": { "apply": true, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25] }
          },
          "output": { "saveRaw": { "apply": true, "format": "npy", "dtype": "float32", "path": "raw" } }
        }
        """;

    private ConsumerProject CreateApp(string name, string backend)
    {
        var app = new ConsumerProject(feed, name);
        app.Copy(TestData("models", "invert_nchw.onnx"), "models/invert.onnx");
        app.Copy(TestData("images", "photo_160x120.png"), "assets/photo.png");
        app.WriteConfig(Config(backend));
        return app;
    }

    private static string? RawTensor(ConsumerProject app) =>
        Directory.Exists(app.ObjFolder) ? Directory.GetFiles(app.ObjFolder, "photo.npy", SearchOption.AllDirectories).SingleOrDefault() : null;

    [Fact]
    public void The_package_has_no_native_library_beside_the_task_and_a_consumer_build_runs_the_model_from_the_restored_OnnxRuntime()
    {
        using (var nupkg = ZipFile.OpenRead(Path.Combine(feed.Feed, $"ImageFlowIO.{feed.Version}.nupkg")))
        {
            var entries = nupkg.Entries.Select(e => e.FullName.Replace('\\', '/')).ToList();
            Assert.Contains("tasks/net10.0/ImageFlowIO.Tasks.dll", entries);
            Assert.DoesNotContain(entries, e => e.StartsWith("tasks/", StringComparison.Ordinal) && e.Contains("/runtimes/", StringComparison.Ordinal) && e.Contains("/native/", StringComparison.Ordinal));
        }

        var real = CreateApp("RealModel", "onnx");
        var build = real.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.True(build.Summary == (1, 1, 0, 0), build.ToString());
        // The library the task was handed: ONNX Runtime's, from the packages folder restore used (not from the package).
        var handed = File.ReadAllLines(real.Obj("imageflow.manifest.txt")).Single(l => l.StartsWith("onnxruntime=", StringComparison.Ordinal))["onnxruntime=".Length..];
        Assert.Contains("microsoft.ml.onnxruntime", handed.Replace('\\', '/'), StringComparison.OrdinalIgnoreCase);
        Assert.True(File.Exists(handed), handed);

        var noop = CreateApp("NoModel", "noop");
        var noopBuild = noop.Build();
        Assert.True(noopBuild.ExitCode == 0, noopBuild.ToString());
        // The model inverts its input, so inference ran only where the raw tensors differ.
        var modelOut = File.ReadAllBytes(RawTensor(real)!);
        var passThrough = File.ReadAllBytes(RawTensor(noop)!);
        Assert.Equal(passThrough.Length, modelOut.Length);
        Assert.False(modelOut.AsSpan().SequenceEqual(passThrough), "the onnx build wrote the noop backend's tensor: no inference ran");
    }

    [Fact]
    public void No_native_library_to_load_is_IFIO1007_naming_the_library_and_the_fix()
    {
        var app = CreateApp("NoNative", "onnx");
        var missing = Path.Combine(feed.Root, "nowhere", "libonnxruntime.so");
        var build = app.Build("-p:ImageFlowOnnxRuntimeLibrary=" + missing);
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error IFIO1007: ONNX Runtime's native library", build.Output);
        Assert.Contains(missing, build.Output);
        Assert.Contains("ImageFlowOnnxRuntimeLibrary", build.Output);
        Assert.Null(RawTensor(app));
    }
}
