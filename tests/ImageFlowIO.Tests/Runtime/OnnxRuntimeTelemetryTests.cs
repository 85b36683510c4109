using System.Diagnostics;
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

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dir.Path };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ImageFlowIO.Cli.dll"));
        foreach (var a in new[] { "--config", config, "--no-progress", "--log-level", "debug" }) info.ArgumentList.Add(a);
        info.Environment["HOME"] = home;
        // ONNX Runtime keeps its telemetry off by itself on a CI machine (CI, TF_BUILD, GITHUB_ACTIONS): a developer's has none of them.
        foreach (var variable in new[] { "ORT_DISABLE_TELEMETRY", "CI", "TF_BUILD", "GITHUB_ACTIONS", "XDG_CACHE_HOME", "IMAGEFLOWIO_CACHE_DIR", "IMAGEFLOWIO_REMOTE_CACHE" })
            info.Environment.Remove(variable);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        var log = await stdout + await stderr;

        Assert.True(process.ExitCode == 0, log);
        Assert.Contains("cache/session miss model.onnx", log); // ONNX Runtime really ran in that process
        Assert.True(File.Exists(dir.Combine("out", "a.png")), log);
        var store = Path.Combine(home, ".cache", "Microsoft", "DeveloperTools");
        Assert.False(Directory.Exists(store), "ONNX Runtime's telemetry store was created: " +
            string.Join(", ", Directory.Exists(store) ? Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories) : []));
    }
}
