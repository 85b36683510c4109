using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Cli;

/// <summary>
/// Any value the parser accepts is usable by every later stage: values that are not (control characters, empty paths,
/// folders where a file is meant) are located config errors from the parser, so --validate-only, the task and the
/// generator report them, and a run never ends in an unhandled exception.
/// </summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class ConfigValueUsabilityTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string Write(string outputSection, string extra = "")
    {
        _dir.Copy(TestPaths.Model("invert_nchw.onnx"), "models/invert_nchw.onnx");
        _dir.Copy(TestPaths.Image("solid_red_32x32.png"), "in/red.png");
        return _dir.Write("imageflow.json", "{\n  \"model\": { \"path\": \"models/invert_nchw.onnx\" },\n  \"input\": { \"source\": \"in\" },\n  \"output\": " + outputSection + extra + "\n}");
    }

    // The two configs of issue 14: both passed --validate-only and then crashed the run.
    private const string NulInFilename = "{ \"save\": { \"apply\": true, \"path\": \"out\", \"filename\": \"{name}\\u0000.png\" } }";
    private const string EmptyMetaPath = "{ \"save\": { \"apply\": true, \"path\": \"out\" }, \"writeMeta\": { \"apply\": true, \"jsonPath\": \"\" } }";

    [Fact]
    public async Task Control_character_in_the_filename_pattern_is_a_located_IFIO0009_at_validate_only_and_run()
    {
        var config = Write(NulInFilename);
        var column = File.ReadAllLines(config)[3].IndexOf("\"{name}", StringComparison.Ordinal) + 1;
        foreach (var args in new[] { new[] { "--validate-only" }, new[] { "--no-progress" }, new[] { "--dry-run" } })
        {
            var r = await CliRunner.RunAsync(["--config", config, .. args]);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains($"{config}(4,{column}): error IFIO0009: output.save.filename \"{{name}}\\u0000.png\" contains the control character U+0000 at position 7", r.Stderr);
            Assert.DoesNotContain("Unhandled", r.Stderr);
        }
        Assert.False(Directory.Exists(_dir.Combine("out")));
    }

    [Fact]
    public async Task Empty_writeMeta_jsonPath_is_a_located_IFIO0014()
    {
        var config = Write(EmptyMetaPath);
        var column = File.ReadAllLines(config)[3].LastIndexOf("\"\"", StringComparison.Ordinal) + 1;
        var r = await CliRunner.RunAsync("--config", config, "--validate-only");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{config}(4,{column}): error IFIO0014: 'output.writeMeta.jsonPath' is empty; give a path or remove the property", r.Stderr);
        var run = await CliRunner.RunAsync("--config", config, "--no-progress");
        Assert.Equal(2, run.ExitCode);
        Assert.DoesNotContain("Unhandled", run.Stderr);
    }

    [Fact]
    public void Both_issue_configs_are_errors_of_the_parser_itself_so_the_generator_reports_them_too()
    {
        foreach (var (output, code) in new[] { (NulInFilename, "IFIO0009"), (EmptyMetaPath, "IFIO0014") })
        {
            var text = "{ \"model\": { \"path\": \"m.onnx\" }, \"output\": " + output + " }";
            // Text only, no file system: how the generator parses.
            var parsed = ConfigParser.Parse(text, "imageflow.json", baseDirectory: "");
            Assert.Null(parsed.Config);
            var d = Assert.Single(parsed.Diagnostics, x => x.IsError);
            Assert.Equal(code, d.Code);
            Assert.Equal(1, d.Line);
            Assert.True(d.Column > 1);
        }
    }

    [Theory]
    [InlineData("\"writeMeta\": { \"apply\": true, \"jsonPath\": \"meta/\" }", "IFIO0015", "'output.writeMeta.jsonPath' is \"meta/\", a folder, but it names a file; add a file name, for example \"meta/meta.json\"")]
    [InlineData("\"writeMeta\": { \"apply\": true, \"jsonPath\": \".\" }", "IFIO0015", "a folder, but it names a file")]
    [InlineData("\"writeMeta\": { \"apply\": true, \"jsonPath\": \"{name}/\" }", "IFIO0015", "a folder, but it names a file")]
    [InlineData("\"save\": { \"apply\": true, \"path\": \"\" }", "IFIO0014", "'output.save.path' is empty; give a folder (\".\" is the config's folder)")]
    [InlineData("\"save\": { \"apply\": true, \"path\": \"o\\nut\" }", "IFIO0014", "contains the control character U+000A at position 2")]
    [InlineData("\"saveRaw\": { \"apply\": true, \"path\": \"   \" }", "IFIO0014", "'output.saveRaw.path' is empty")]
    [InlineData("\"save\": { \"apply\": true, \"filename\": \"{name}?.png\" }", "IFIO0009", "contains '?', which file names cannot hold on Windows")]
    [InlineData("\"save\": { \"apply\": true, \"filename\": \"sub/\" }", "IFIO0009", "names a folder, not a file")]
    [InlineData("\"save\": { \"apply\": true, \"filename\": \"{name}\\t.png\" }", "IFIO0009", "control character U+0009")]
    [InlineData("\"save\": { \"apply\": true, \"splitChannels\": true, \"channelNames\": [\"r\", \"g/b\"] }", "IFIO0009", "output.save.channelNames entry \"g/b\" goes into file names but contains '/'")]
    public void Unusable_output_values_are_located_errors(string output, string code, string message)
    {
        var parsed = ConfigParser.Parse("{ \"model\": { \"path\": \"m.onnx\" },\n \"output\": { " + output + " } }", "c.json", "");
        var d = Assert.Single(parsed.Diagnostics, x => x.IsError);
        Assert.Equal(code, d.Code);
        Assert.Equal(2, d.Line);
        Assert.Contains(message, d.Message);
    }

    [Theory]
    [InlineData("{ \"model\": { \"path\": \"m\\u0001.onnx\" } }", "IFIO0014", "'model.path'")]
    [InlineData("{ \"model\": { \"path\": \"m.onnx\", \"labels\": \"\" } }", "IFIO0014", "'model.labels' is empty")]
    [InlineData("{ \"model\": { \"path\": \"m.onnx\" }, \"input\": { \"source\": \"\" } }", "IFIO0014", "'input.source' is empty")]
    [InlineData("{ \"model\": { \"path\": \"m.onnx\" }, \"logging\": { \"saveLogs\": true, \"logPath\": \"logs/\" } }", "IFIO0015", "'logging.logPath' is \"logs/\", a folder")]
    [InlineData("{ \"model\": { \"path\": \"m.onnx\" }, \"visualization\": { \"outputPath\": \"\" } }", "IFIO0014", "'visualization.outputPath' is empty")]
    [InlineData("{ \"model\": { \"path\": \"m.onnx\" }, \"execution\": { \"cacheDir\": \"c\\u0000\" } }", "IFIO0014", "'execution.cacheDir'")]
    [InlineData("{ \"model\": { \"path\": \"m.onnx\", \"name\": \"a/b\" }, \"output\": { \"save\": { \"filename\": \"{model}-{name}.png\" } } }", "IFIO0009", "uses {model}, but the model name \"a/b\" contains '/'")]
    [InlineData("{ \"model\": { \"path\": \"m.onnx\" }, \"postprocessing\": { \"paletteMap\": { \"palette\": { \"mode\": \"file\", \"file\": \"pal/\" } } } }", "IFIO0015", "palette.file' is \"pal/\", a folder")]
    public void Unusable_paths_elsewhere_are_located_errors(string json, string code, string message)
    {
        var parsed = ConfigParser.Parse(json, "c.json", "");
        var d = Assert.Single(parsed.Diagnostics, x => x.IsError);
        Assert.Equal(code, d.Code);
        Assert.Contains(message, d.Message);
        Assert.True(d.Line == 1 && d.Column > 1, d.ToString());
    }

    // Found by ConfigFuzzTests: these ran into an InvalidMemoryOperationException or OverflowException (IFIO9001), or a 90 s resize.
    [Theory]
    [InlineData("\"preprocessing\": { \"resize\": { \"apply\": true, \"imageSize\": [65535, 65535] } }", "preprocessing.resize.imageSize [65535, 65535] is 4,294,836,225 pixels, more than input.maxPixels (100,000,000)")]
    [InlineData("\"preprocessing\": { \"resize\": { \"apply\": true, \"imageSize\": [65535, 2000] } }", "preprocessing.resize.imageSize [65535, 2000] is 131,070,000 pixels")]
    [InlineData("\"preprocessing\": { \"centerCrop\": { \"apply\": true, \"size\": [65535, 65535] } }", "preprocessing.centerCrop.size [65535, 65535]")]
    [InlineData("\"postprocessing\": { \"resizeTo\": [65535, 65535] }", "postprocessing.resizeTo [65535, 65535]")]
    [InlineData("\"inference\": { \"tiling\": { \"apply\": true, \"tileSize\": [65535, 65535] } }", "inference.tiling.tileSize [65535, 65535]")]
    [InlineData("\"input\": { \"maxPixels\": 9000000000 }", "'input.maxPixels' is 9000000000 but must be between 1 and 268435456")]
    public async Task Sizes_beyond_input_maxPixels_are_located_IFIO0006_not_a_crash(string section, string message)
    {
        _dir.Copy(TestPaths.Model("invert_nchw.onnx"), "models/invert_nchw.onnx");
        _dir.Copy(TestPaths.Image("solid_red_32x32.png"), "in/red.png");
        var config = _dir.Write("imageflow.json", "{ \"model\": { \"path\": \"models/invert_nchw.onnx\" }, \"input\": { \"source\": \"in/red.png\" },\n  " + section + ",\n  \"output\": { \"save\": { \"apply\": true, \"path\": \"out\" } } }");
        if (section.Contains("\"input\"")) File.WriteAllText(config, File.ReadAllText(config).Replace("\"input\": { \"source\": \"in/red.png\" },", ""));
        var r = await CliRunner.RunAsync("--config", config, "--no-progress");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{config}(2,", r.Stderr);
        Assert.Contains("error IFIO0006: " + message, r.Stderr);
        Assert.DoesNotContain(ErrorCodes.Internal, r.Stderr);
    }

    [Fact]
    public async Task Clamp_min_above_max_is_a_located_IFIO0010_not_a_crash()
    {
        // Found while fuzzing: Math.Clamp threw ArgumentException for every image (IFIO9001).
        var config = Write("{ \"save\": { \"apply\": true, \"path\": \"out\" } }", ",\n  \"postprocessing\": { \"clamp\": { \"apply\": true, \"min\": 5, \"max\": -5 } }");
        var column = File.ReadAllLines(config)[4].IndexOf("\"min\": 5", StringComparison.Ordinal) + 8;
        var r = await CliRunner.RunAsync("--config", config, "--no-progress");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{config}(5,{column}): error IFIO0010: postprocessing.clamp.min (5) is greater than clamp.max (-5); swap them", r.Stderr);
        Assert.DoesNotContain(ErrorCodes.Internal, r.Stderr);
    }

    [Fact]
    public async Task A_classifier_whose_scores_overflow_writes_null_scores_not_a_crash()
    {
        // Found by ConfigFuzzTests (seed 14, case 332): normalize.mean -1e308 made every logit infinite and the batch's
        // writeMeta threw ArgumentException ("cannot be written as valid JSON") out of the run (IFIO9001).
        _dir.Copy(TestPaths.Model("classifier_nchw.onnx"), "models/classifier_nchw.onnx");
        _dir.Copy(TestPaths.Image("solid_red_32x32.png"), "in/red.png");
        var tooBig = ConfigParser.Parse("{ \"model\": { \"path\": \"m.onnx\" }, \"preprocessing\": { \"normalize\": { \"apply\": true, \"mean\": [0.485, -1e308, 0.406] } } }", "c.json", "");
        Assert.Contains(tooBig.Diagnostics, d => d.Code == ConfigErrorCodes.OutOfRange && d.Message.Contains("beyond the float32 range"));

        // Within float32, the division still overflows: the scores are infinite or NaN, and the meta says null.
        var config = _dir.Write("imageflow.json", """
            { "model": { "path": "models/classifier_nchw.onnx" }, "input": { "source": "in/red.png" },
              "preprocessing": { "normalize": { "apply": true, "mean": [3e38, 3e38, 3e38], "std": [1e-30, 1e-30, 1e-30] } },
              "output": { "writeMeta": { "apply": true, "jsonPath": "out/meta.json" } } }
            """);
        var r = await CliRunner.RunAsync("--config", config, "--no-progress");
        Assert.Equal(0, r.ExitCode);
        using var meta = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_dir.Combine("out", "meta.json")));
        var scores = meta.RootElement[0].GetProperty("topK").EnumerateArray().Select(t => t.GetProperty("score")).ToList();
        Assert.NotEmpty(scores);
        Assert.Contains(scores, s => s.ValueKind == System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task A_file_path_that_names_an_existing_folder_is_an_error_when_parsing_a_file()
    {
        Directory.CreateDirectory(_dir.Combine("meta.json"));
        var config = Write("{ \"save\": { \"apply\": true, \"path\": \"out\" }, \"writeMeta\": { \"apply\": true, \"jsonPath\": \"meta.json\" } }");
        var r = await CliRunner.RunAsync("--config", config, "--validate-only");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"error IFIO0015: 'output.writeMeta.jsonPath' names the existing folder '{_dir.Combine("meta.json")}', but it must be a file", r.Stderr);
        // Text-only parsing (the generator) cannot see the disk: the same config is valid there.
        Assert.NotNull(ConfigParser.Parse(File.ReadAllText(config), config, _dir.Path).Config);
    }

    [Fact]
    public async Task A_model_path_that_is_a_folder_is_an_error_not_a_silent_noop_run()
    {
        Directory.CreateDirectory(_dir.Combine("models", "m.onnx"));
        var config = _dir.Write("imageflow.json", "{ \"model\": { \"path\": \"models/m.onnx\" } }");
        var r = await CliRunner.RunAsync("--config", config, "--validate-only");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("error IFIO0015: 'model.path' names the existing folder", r.Stderr);
    }

    [Fact]
    public void The_compat_configs_and_plain_paths_stay_valid()
    {
        foreach (var file in Directory.EnumerateFiles(TestPaths.Fixture("compat"), "*.json"))
            Assert.DoesNotContain(ConfigParser.ParseFile(file).Diagnostics, d => d.Code is ConfigErrorCodes.InvalidPath or ConfigErrorCodes.PathIsFolder);
        var ok = ConfigParser.Parse("""{ "model": { "path": "./m.onnx" }, "output": { "save": { "apply": true, "path": ".", "filename": "sub/{name}_{index}.{format}" }, "writeMeta": { "apply": true, "jsonPath": "meta/{name}.json" } } }""", "c.json", "");
        Assert.False(ok.HasErrors, string.Join("\n", ok.Diagnostics));
    }
}
