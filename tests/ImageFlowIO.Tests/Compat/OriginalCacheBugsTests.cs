using ImageFlowIO.Tests.PipelineStages;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Compat;

/// <summary>SPEC §7, cache bugs of the original, through the CLI's public behaviour: --cache/--cache-dir ignored; no disk entry for long names.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class OriginalCacheBugsTests : IDisposable
{
    private readonly PipelineFixture _f = new();
    public void Dispose() => _f.Dispose();

    private string Config() => _f.Config("""
        {
          "model": { "path": "noop.onnx" },
          "execution": { "useCaching": false },
          "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
          "output": { "save": { "apply": true, "path": "out" } }
        }
        """);

    [Fact]
    public async Task Cache_and_cache_dir_flags_are_honoured()
    {
        var input = _f.Images("photo_64x48.png")[0];
        var cacheDir = _f.Dir.Combine("my-cache");
        string[] args = ["--config", Config(), "--input", input, "--cache", "disk", "--cache-dir", cacheDir, "--log-level", "debug", "--no-progress"];
        var first = await CliRunner.RunAsync(args);
        Assert.Equal(0, first.ExitCode);
        Assert.Contains("cache/disk write", first.Stderr);
        Assert.NotEmpty(Directory.GetFiles(cacheDir, "*", SearchOption.AllDirectories));
        // Outputs still as written are only stat-ed (not a cache read): remove them so the second run must read the disk cache.
        Directory.Delete(_f.Dir.Combine("out"), recursive: true);
        var second = await CliRunner.RunAsync(args);
        Assert.Contains("cache/disk hit", second.Stderr);
        Assert.Contains("1 from cache", second.Stdout);
    }

    [Fact]
    public async Task A_very_long_input_name_still_gets_a_disk_cache_entry_with_a_short_file_name()
    {
        var input = _f.Dir.Copy(TestPaths.Image("photo_64x48.png"), Path.Combine("in", new string('a', 240) + ".png"));
        var cacheDir = _f.Dir.Combine("c");
        string[] args = ["--config", Config(), "--input", input, "--cache", "disk", "--cache-dir", cacheDir, "--log-level", "debug", "--no-progress"];
        Assert.Equal(0, (await CliRunner.RunAsync(args)).ExitCode);
        var files = Directory.GetFiles(cacheDir, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.True(System.Text.Encoding.UTF8.GetByteCount(Path.GetFileName(f)) < 128, f));
        Directory.Delete(_f.Dir.Combine("out"), recursive: true); // else the output is up to date and only stat-ed
        Assert.Contains("cache/disk hit", (await CliRunner.RunAsync(args)).Stderr);
    }
}
