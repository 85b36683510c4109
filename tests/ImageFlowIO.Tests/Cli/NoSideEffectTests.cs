using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Cli;

/// <summary>--validate-only and --dry-run write nothing anywhere: no log file, no folder, no cache, no output.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class NoSideEffectTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string[] Snapshot() => Directory.EnumerateFileSystemEntries(_dir.Path, "*", SearchOption.AllDirectories)
        .Select(p => Path.GetRelativePath(_dir.Path, p) + (Directory.Exists(p) ? "/" : $" {new FileInfo(p).Length}"))
        .Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// The compat config onnx-advanced.json (logging.saveLogs with logs/advanced-inference.log, memory cache, outputs/),
    /// first as it is (its model and image do not exist), then with a real model and image in its paths.
    /// </summary>
    [Theory]
    [InlineData(false, "--validate-only")]
    [InlineData(false, "--dry-run")]
    [InlineData(true, "--validate-only")]
    [InlineData(true, "--dry-run")]
    public async Task Onnx_advanced_compat_config_leaves_the_folder_unchanged(bool withModelAndImage, string mode)
    {
        var config = _dir.Copy(TestPaths.Fixture("compat", "onnx-advanced.json"), "onnx-advanced.json");
        if (withModelAndImage)
        {
            // Our models' tensors are not named input_tensor / output_tensor: the config uses the models' own names (trailing commas are allowed).
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"inputName\": \"input_tensor\",", "").Replace("\"outputName\": \"output_tensor\"", ""));
            _dir.Copy(TestPaths.Model("invert_nchw.onnx"), "assets/models/advanced-model.onnx");
            _dir.Copy(TestPaths.Image("photo_64x48.png"), "images/sample.png");
        }
        var before = Snapshot();
        var r = await CliRunner.RunAsync("--config", config, mode, "--no-progress");
        // Without them: a missing input (dry run, 2) or model (3) is reported, and still nothing is written.
        Assert.True(r.ExitCode is 0 or 2 or 3, r.Stderr);
        if (withModelAndImage) Assert.Equal(0, r.ExitCode);
        Assert.Equal(before, Snapshot());
        Assert.False(Directory.Exists(_dir.Combine("logs")));
    }

    [Theory]
    [InlineData("--validate-only")]
    [InlineData("--dry-run")]
    public async Task A_disk_cached_config_creates_no_cache_folder_and_no_output_folder(string mode)
    {
        _dir.Copy(TestPaths.Model("invert_nchw.onnx"), "models/invert_nchw.onnx");
        _dir.Copy(TestPaths.Image("photo_64x48.png"), "in/a.png");
        var config = _dir.Write("imageflow.json", """
            { "model": { "path": "models/invert_nchw.onnx" }, "execution": { "backend": "onnx", "useCaching": "disk", "cacheDir": "cache" },
              "input": { "source": "in" }, "output": { "save": { "apply": true, "path": "out" }, "saveRaw": { "apply": true, "path": "raw" } },
              "logging": { "saveLogs": true, "logPath": "logs/run.log" } }
            """);
        var before = Snapshot();
        var r = await CliRunner.RunAsync("--config", config, mode);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(before, Snapshot());

        // The same config really writes all of these when it runs (so the assertion above could fail).
        Assert.Equal(0, (await CliRunner.RunAsync("--config", config, "--no-progress")).ExitCode);
        foreach (var written in new[] { "cache", "out", "raw", "logs" }) Assert.True(Directory.Exists(_dir.Combine(written)), written);
    }
}
