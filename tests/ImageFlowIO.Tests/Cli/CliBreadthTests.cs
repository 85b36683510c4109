using System.Text.Json;
using ImageFlowIO.Tests.PipelineStages;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Cli;

/// <summary>SPEC §6 flags beyond exit codes: threads, json errors, dry run, schema, progress, logging, summary line.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class CliBreadthTests : IDisposable
{
    private readonly PipelineFixture _f = new();
    public void Dispose() => _f.Dispose();

    private string Config(string extra = "") => _f.Config($$"""
        {
          "model": { "path": "models/invert_nchw.onnx" },
          "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
          "output": { "save": { "apply": true, "path": "out" } } {{extra}}
        }
        """);

    private string Folder(bool withBad = false)
    {
        _f.Model("invert_nchw.onnx");
        _f.Images("photo_64x48.png", "gradient_33x17.png");
        if (withBad) _f.Dir.Copy(TestPaths.Bad("random.png"), "in/random.png");
        return _f.Dir.Combine("in");
    }

    [Theory]
    [InlineData("1", 0)]
    [InlineData("auto", 0)]
    [InlineData("0", 2)]
    [InlineData("many", 2)]
    public async Task Threads_takes_a_positive_number_or_auto(string threads, int exit)
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--input", Folder(), "--threads", threads, "--no-progress");
        Assert.Equal(exit, r.ExitCode);
        if (exit == 2) Assert.Contains("--threads", r.Stderr);
        else Assert.Contains("2 inputs, 2 processed, 0 from cache, 0 failed", r.Stdout);
    }

    [Fact]
    public async Task Errors_json_writes_one_document_with_the_failed_input()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--input", Folder(withBad: true), "--errors", "json", "--no-progress");
        Assert.Equal(1, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stderr); // stderr is the one document: no log line around it
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal("input/failed", doc.RootElement.GetProperty("error").GetString());
        var e = Assert.Single(doc.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("error", e.GetProperty("severity").GetString());
        Assert.StartsWith("IFIO2", e.GetProperty("code").GetString());
        Assert.EndsWith("random.png", e.GetProperty("file").GetString());
    }

    [Fact]
    public async Task Dry_run_lists_the_inputs_and_writes_nothing()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--input", Folder(), "--dry-run");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("would process: " + _f.Dir.Combine("in", "gradient_33x17.png"), r.Stdout);
        Assert.Contains("would process: " + _f.Dir.Combine("in", "photo_64x48.png"), r.Stdout);
        Assert.False(Directory.Exists(_f.Dir.Combine("out")) && Directory.EnumerateFileSystemEntries(_f.Dir.Combine("out")).Any());
    }

    [Fact]
    public async Task Print_schema_prints_the_config_schema()
    {
        var r = await CliRunner.RunAsync("--print-schema");
        Assert.Equal(0, r.ExitCode);
        using var schema = JsonDocument.Parse(r.Stdout);
        Assert.True(schema.RootElement.GetProperty("properties").TryGetProperty("postprocessing", out _));
    }

    [Fact]
    public async Task Progress_bar_is_drawn_when_asked_and_not_with_no_progress()
    {
        var on = await CliRunner.RunAsync("--config", Config(), "--input", Folder(), "--progress");
        Assert.Equal(0, on.ExitCode);
        Assert.True(on.Stderr.Contains("images"), on.Stderr);
        Assert.Contains("100%", on.Stderr);
        var off = await CliRunner.RunAsync("--config", Config(), "--input", Folder(), "--no-progress");
        Assert.DoesNotContain("100%", off.Stderr);
        Assert.Contains("ImageFlowIO: 2 inputs, 2 processed, 0 from cache, 0 failed (", off.Stdout);
    }

    [Fact]
    public async Task Progress_is_off_by_default_when_output_is_redirected()
    {
        // The decision itself, independent of the host running the tests (a terminal, CI=true or neither).
        Assert.True(ImageFlowIO.Cli.ProgressReporter.DefaultEnabled(stderrIsTerminal: true, ci: null));
        Assert.False(ImageFlowIO.Cli.ProgressReporter.DefaultEnabled(stderrIsTerminal: true, ci: "true"));
        Assert.True(ImageFlowIO.Cli.ProgressReporter.DefaultEnabled(stderrIsTerminal: true, ci: "false"));
        Assert.False(ImageFlowIO.Cli.ProgressReporter.DefaultEnabled(stderrIsTerminal: false, ci: null));
        // A writer that is not the process's terminal (here the test's StringWriter) never gets a bar by default.
        Assert.False(ImageFlowIO.Cli.ProgressReporter.DefaultEnabled(new StringWriter()));
        var r = await CliRunner.RunAsync("--config", Config(), "--input", Folder());
        Assert.Equal(0, r.ExitCode);
        Assert.DoesNotContain("100%", r.Stderr);
    }

    [Theory]
    [InlineData("debug", true, true)]
    [InlineData("info", false, true)]
    [InlineData("warn", false, false)]
    [InlineData("error", false, false)]
    public async Task Log_level_filters_lines(string level, bool debug, bool info)
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--input", Folder(), "--log-level", level, "--no-progress");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(debug, r.Stderr.Contains("debug: "));
        Assert.Equal(info, r.Stderr.Contains("info: "));
    }

    [Fact]
    public async Task Log_file_flag_and_config_saveLogs_write_the_log()
    {
        var logFile = _f.Dir.Combine("logs", "run.log");
        var r = await CliRunner.RunAsync("--config", Config(), "--input", Folder(), "--log-file", logFile, "--log-level", "debug", "--no-progress");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("debug: output/image", File.ReadAllText(logFile));

        var cfg = Config(""", "logging": { "level": "info", "saveLogs": true, "logPath": "cfg-logs/pipeline.log" }""");
        Assert.Equal(0, (await CliRunner.RunAsync("--config", cfg, "--input", Folder(), "--no-progress")).ExitCode);
        var text = File.ReadAllText(_f.Dir.Combine("cfg-logs", "pipeline.log"));
        Assert.Contains("info: ", text);
        Assert.DoesNotContain("debug: ", text);
    }

    [Fact]
    public async Task A_js_custom_function_is_a_warning_and_the_run_goes_on()
    {
        var cfg = Config(""", "custom": { "postprocessingFn": "./hooks/post.js" }""");
        var r = await CliRunner.RunAsync("--config", cfg, "--input", Folder(), "--no-progress");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("warning IFIO0012", r.Stderr);
        Assert.Contains("not run in .NET", r.Stderr);
        Assert.True(File.Exists(_f.Dir.Combine("out", "photo_64x48.png")));
    }

    [Fact]
    public async Task Concurrency_below_one_is_a_usage_error()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--input", Folder(), "--concurrency", "0");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--concurrency", r.Stderr);
    }
}
