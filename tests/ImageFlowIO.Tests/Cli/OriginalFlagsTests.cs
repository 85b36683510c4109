using System.Text.Json;
using ImageFlowIO.Cli;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Cli;

/// <summary>SPEC §6: the original's flags keep their meaning: each is parsed, has its effect, and is listed in --help under 'imageflowio'.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class OriginalFlagsTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>A red 32×32 input and the invert model: the output is cyan (0, 255, 255), so every view has known pixels.</summary>
    private string Config(string extra = "")
    {
        _dir.Copy(TestPaths.Model("invert_nchw.onnx"), "models/invert_nchw.onnx");
        _dir.Copy(TestPaths.Image("solid_red_32x32.png"), "in/red.png");
        return _dir.Write("imageflow.json", $$"""
            { "model": { "path": "models/invert_nchw.onnx" }, "input": { "source": "in/red.png" },
              "output": { "save": { "apply": true, "path": "out" } }{{extra}} }
            """);
    }

    private static (int R, int G, int B) Pixel(string path, int x = 3, int y = 3)
    {
        var p = TestImages.Pixels(path)[x, y];
        return (p.R, p.G, p.B);
    }

    private static void Near((int R, int G, int B) expected, (int R, int G, int B) actual)
    {
        Assert.True(Math.Abs(expected.R - actual.R) <= 1 && Math.Abs(expected.G - actual.G) <= 1 && Math.Abs(expected.B - actual.B) <= 1, $"expected {expected}, got {actual}");
    }

    [Fact]
    public async Task Help_names_the_command_imageflowio_and_lists_every_original_flag()
    {
        var r = await CliRunner.RunAsync("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Usage:" + Environment.NewLine + "  imageflowio [command] [options]", r.Stdout);
        Assert.DoesNotContain("ImageFlowIO.Cli", r.Stdout);
        foreach (var flag in new[] { "-V, --version", "-v, --verbose", "--json-errors", "--viz <difference|heatmap|overlay|sideBySide>", "--viz-alpha <a>", "--viz-out <dir>", "benchmark" })
            Assert.Contains(flag, r.Stdout);
    }

    [Theory]
    [InlineData("-V")]
    [InlineData("--version")]
    public async Task Version_flag_prints_the_tool_version(string flag)
    {
        var r = await CliRunner.RunAsync(flag);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(ImageFlowCli.Version, r.Stdout.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", r.Stdout.Trim());
        Assert.Equal("", r.Stderr);
    }

    [Theory]
    [InlineData("-v")]
    [InlineData("--verbose")]
    public async Task Verbose_is_log_level_debug(string flag)
    {
        var quiet = await CliRunner.RunAsync("--config", Config(), "--no-progress");
        Assert.Equal(0, quiet.ExitCode);
        Assert.DoesNotContain("debug: ", quiet.Stderr);

        var r = await CliRunner.RunAsync("--config", Config(), flag, "--no-progress");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("debug: output/image " + _dir.Combine("out", "red.png"), r.Stderr);
    }

    [Fact]
    public async Task Verbose_with_another_log_level_is_a_usage_error()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "-v", "--log-level", "warn");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--verbose means --log-level debug", r.Stderr);
        Assert.Equal(0, (await CliRunner.RunAsync("--config", Config(), "-v", "--log-level", "debug")).ExitCode);
    }

    [Fact]
    public async Task Json_errors_is_one_document_in_the_originals_shape_with_every_error_code()
    {
        // Two config errors (a wrong type, an unknown property) and a warning (a JavaScript function that is not run).
        var config = _dir.Write("bad.json", "{\n  \"model\": { \"path\": 3 },\n  \"ouptut\": {},\n  \"custom\": { \"preprocessingFn\": \"pre.js\" }\n}");
        var viaErrors = await CliRunner.RunAsync("--config", config, "--errors", "json");
        var viaFlag = await CliRunner.RunAsync("--config", config, "--json-errors");
        Assert.Equal(2, viaFlag.ExitCode);
        Assert.Equal(viaErrors.Stderr, viaFlag.Stderr);
        Assert.Equal("", viaFlag.Stdout);
        using var doc = JsonDocument.Parse(viaFlag.Stderr); // the whole of stderr: ONE document, as the original prints it
        var root = doc.RootElement;
        Assert.False(root.GetProperty("ok").GetBoolean());
        Assert.Equal("config/invalid", root.GetProperty("error").GetString());
        var errors = root.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal(["IFIO0003", "IFIO0002"], errors.Select(e => e.GetProperty("code").GetString()).Order().Reverse());
        var type = errors.Single(e => e.GetProperty("code").GetString() == "IFIO0003");
        Assert.Equal("type", type.GetProperty("keyword").GetString()); // the original's (Ajv's) field where ours maps
        Assert.Equal("error", type.GetProperty("severity").GetString());
        Assert.Equal(config, type.GetProperty("file").GetString());
        Assert.Equal(2, type.GetProperty("line").GetInt32());
        Assert.Equal(22, type.GetProperty("column").GetInt32());
        Assert.Contains("must be a string", type.GetProperty("message").GetString());
        var warning = Assert.Single(root.GetProperty("warnings").EnumerateArray());
        Assert.Equal("IFIO0012", warning.GetProperty("code").GetString());
        Assert.Equal("/custom/preprocessingFn", warning.GetProperty("instancePath").GetString());
        Assert.Equal(2, root.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task Json_errors_covers_runtime_errors_too()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--input", _dir.Combine("missing.png"), "--json-errors");
        Assert.Equal(2, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stderr);
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal("input/failed", doc.RootElement.GetProperty("error").GetString());
        var e = Assert.Single(doc.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("IFIO2006", e.GetProperty("code").GetString());
        Assert.Equal(_dir.Combine("missing.png"), e.GetProperty("file").GetString());
    }

    [Fact]
    public async Task Json_errors_reports_a_missing_model_and_usage_errors_in_the_same_shape()
    {
        var model = await CliRunner.RunAsync("--config", Config(), "--json-errors", "--backend", "onnx", "--input", _dir.Combine("in", "red.png"), "--output", _dir.Combine("o"),
            "--no-progress", "--log-level", "debug", "--remote-cache", "ftp://nowhere");
        Assert.Equal(0, model.ExitCode);
        using (var ok = JsonDocument.Parse(model.Stderr)) // debug log lines are not on stderr; the remote URL's warning joins the document
        {
            Assert.True(ok.RootElement.GetProperty("ok").GetBoolean());
            Assert.Empty(ok.RootElement.GetProperty("errors").EnumerateArray());
            Assert.Equal("IFIO4002", Assert.Single(ok.RootElement.GetProperty("warnings").EnumerateArray()).GetProperty("code").GetString());
        }
        var noModel = await CliRunner.RunAsync("--config", _dir.Write("nomodel.json", """{ "model": { "path": "models/absent.onnx" }, "input": { "source": "in/red.png" }, "output": { "save": { "apply": true, "path": "out" } } }"""), "--json-errors", "--backend", "onnx");
        Assert.Equal(3, noModel.ExitCode);
        using (var doc = JsonDocument.Parse(noModel.Stderr))
        {
            Assert.Equal("model/invalid", doc.RootElement.GetProperty("error").GetString());
            Assert.Equal("IFIO1001", Assert.Single(doc.RootElement.GetProperty("errors").EnumerateArray()).GetProperty("code").GetString());
        }
        var usage = await CliRunner.RunAsync("--config", Config(), "--json-errors", "--concurrency", "0");
        Assert.Equal(2, usage.ExitCode);
        using (var doc = JsonDocument.Parse(usage.Stderr))
        {
            Assert.Equal("usage/invalid", doc.RootElement.GetProperty("error").GetString());
            Assert.Equal("IFIO5005", Assert.Single(doc.RootElement.GetProperty("errors").EnumerateArray()).GetProperty("code").GetString());
        }
        var unknownFlag = await CliRunner.RunAsync("--json-errors", "--no-such-flag");
        Assert.Equal(2, unknownFlag.ExitCode);
        using (var doc = JsonDocument.Parse(unknownFlag.Stderr))
            Assert.All(doc.RootElement.GetProperty("errors").EnumerateArray(), e => Assert.Equal("IFIO5005", e.GetProperty("code").GetString()));
    }

    [Fact]
    public async Task Json_errors_with_errors_pretty_is_a_usage_error()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--json-errors", "--errors", "pretty");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--json-errors means --errors json", r.Stderr);
    }

    [Fact]
    public async Task Viz_overlay_with_alpha_writes_the_blend()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--viz", "overlay", "--viz-alpha", "0.25", "--no-progress");
        Assert.Equal(0, r.ExitCode);
        // 0.25 × output (0, 255, 255) + 0.75 × input (255, 0, 0)
        Near((191, 64, 64), Pixel(_dir.Combine("out", "red_overlay.png")));
        Near((0, 255, 255), Pixel(_dir.Combine("out", "red.png")));
    }

    [Fact]
    public async Task Viz_side_by_side_puts_input_and_output_next_to_each_other()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--viz", "sideBySide", "--no-progress");
        Assert.Equal(0, r.ExitCode);
        var path = _dir.Combine("out", "red_sideBySide.png");
        Assert.Equal((64, 32), TestImages.Size(path));
        Near((255, 0, 0), Pixel(path, 3, 3));
        Near((0, 255, 255), Pixel(path, 35, 3));
    }

    [Fact]
    public async Task Viz_out_puts_the_visualisation_in_its_own_folder()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--viz", "difference", "--viz-out", _dir.Combine("views"), "--no-progress");
        Assert.Equal(0, r.ExitCode);
        Near((255, 255, 255), Pixel(_dir.Combine("views", "red_difference.png")));
        Assert.False(File.Exists(_dir.Combine("out", "red_difference.png")));
    }

    [Fact]
    public async Task Viz_heatmap_writes_a_heatmap()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--viz", "heatmap", "--no-progress");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal((32, 32), TestImages.Size(_dir.Combine("out", "red_heatmap.png")));
    }

    [Fact]
    public async Task Viz_flags_override_the_config_visualization_section()
    {
        var config = Config(""", "visualization": { "apply": true, "type": "overlay", "alpha": 0.6, "outputPath": "cfg-views" }""");
        var fromConfig = await CliRunner.RunAsync("--config", config, "--no-progress");
        Assert.Equal(0, fromConfig.ExitCode);
        Near((102, 153, 153), Pixel(_dir.Combine("cfg-views", "red_overlay.png")));

        var overridden = await CliRunner.RunAsync("--config", config, "--viz-alpha", "1", "--no-progress");
        Assert.Equal(0, overridden.ExitCode);
        Near((0, 255, 255), Pixel(_dir.Combine("cfg-views", "red_overlay.png")));
    }

    [Fact]
    public async Task Viz_alpha_or_out_without_a_visualisation_is_a_usage_error()
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--viz-alpha", "0.5");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("add --viz <type>", r.Stderr);
        Assert.False(Directory.Exists(_dir.Combine("out")));
    }

    [Theory]
    [InlineData("--viz", "rainbow")]
    [InlineData("--viz-alpha", "1.5")]
    [InlineData("--viz-alpha", "-0.1")]
    public async Task Bad_viz_values_are_usage_errors(string flag, string value)
    {
        var r = await CliRunner.RunAsync("--config", Config(), "--viz", "overlay", flag, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(flag, r.Stderr);
    }
}
