using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Runtime;

/// <summary>
/// ONNX Runtime 1.31 on Linux keeps a telemetry store under $HOME/.cache/Microsoft/DeveloperTools/.onnxruntime and uploads
/// it seconds later unless ORT_DISABLE_TELEMETRY=1 (or a CI variable) is set: a run of ours, in a new process whose
/// environment sets none of them (a developer's machine), must leave no such store (and so never reach the upload).
/// </summary>
public sealed class OnnxRuntimeTelemetryTests
{
    [Fact]
    public async Task A_run_through_onnx_runtime_leaves_no_telemetry_store_in_the_home_folder()
    {
        using var dir = new TempDir();
        var home = Directory.CreateDirectory(dir.Combine("home")).FullName;
        dir.Copy(TestPaths.Model("invert_nchw.onnx"), "model.onnx");
        dir.Copy(TestPaths.Image("photo_64x48.png"), "in/a.png");
        var config = dir.Write("imageflow.json", """
            { "model": { "path": "model.onnx" }, "execution": { "backend": "onnx", "useCaching": "none" },
              "input": { "source": "in" },
              "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
              "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
              "output": { "save": { "apply": true, "path": "out", "format": "png" } } }
            """);

        // ONNX Runtime keeps its telemetry off by itself on a CI machine (CI, TF_BUILD, GITHUB_ACTIONS): a developer's has none of them.
        var developerMachine = new Dictionary<string, string?> { ["HOME"] = home, ["ORT_DISABLE_TELEMETRY"] = null, ["CI"] = null, ["TF_BUILD"] = null, ["GITHUB_ACTIONS"] = null, ["XDG_CACHE_HOME"] = null };
        var run = await CliProcess.RunAsync(dir.Path, developerMachine, "--config", config, "--no-progress", "--log-level", "debug");
        var log = run.Stdout + run.Stderr;

        Assert.True(run.ExitCode == 0, log);
        Assert.Contains("cache/session miss model.onnx", log); // ONNX Runtime really ran in that process
        Assert.True(File.Exists(dir.Combine("out", "a.png")), log);
        var store = Path.Combine(home, ".cache", "Microsoft", "DeveloperTools");
        Assert.False(Directory.Exists(store), "ONNX Runtime's telemetry store was created: " +
            string.Join(", ", Directory.Exists(store) ? Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories) : []));
    }
}
