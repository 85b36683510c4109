using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Cli;

/// <summary>SPEC §6: flags and exit codes of the <c>imageflowio</c> command.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public class CliTests
{
    private static string Config(TempDir dir, string model = "invert_nchw.onnx", string extra = "") => dir.Write("imageflow.json", $$"""
        { "model": { "path": "{{TestPaths.Model(model)}}" }, "input": { "source": "in" },
          "output": { "save": { "apply": true, "path": "out" } }{{extra}} }
        """);

    [Fact]
    public async Task Unknown_flag_is_an_error_with_exit_code_2()
    {
        var run = await CliRunner.RunAsync("--config", "x.json", "--cahce", "disk");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--cahce", run.Stderr);
    }

    [Fact]
    public async Task Bad_flag_value_is_exit_code_2()
    {
        var run = await CliRunner.RunAsync("--cache", "sometimes");
        Assert.Equal(2, run.ExitCode);
    }

    [Fact]
    public async Task Invalid_config_is_exit_code_2_with_located_errors()
    {
        using var dir = new TempDir();
        var config = dir.Write("imageflow.json", "{\n  \"model\": { \"path\": \"m.onnx\" },\n  \"ouptut\": {}\n}");
        var run = await CliRunner.RunAsync("--config", config);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"{config}(3,3): error IFIO0002: unknown property 'ouptut' in the config (did you mean 'output'?)", run.Stderr);
    }

    [Fact]
    public async Task Errors_json_prints_machine_readable_diagnostics()
    {
        using var dir = new TempDir();
        var config = dir.Write("imageflow.json", "{ \"model\": { \"path\": 3 } }");
        var run = await CliRunner.RunAsync("--config", config, "--errors", "json");
        Assert.Equal(2, run.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(run.Stderr);
        var error = Assert.Single(doc.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("IFIO0003", error.GetProperty("code").GetString());
        Assert.Equal(1, error.GetProperty("line").GetInt32());
    }

    [Fact]
    public async Task Tfjs_example_is_rejected_with_exit_code_2_and_says_convert_to_onnx()
    {
        var run = await CliRunner.RunAsync("--config", TestPaths.Fixture("compat", "tfjs.json"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("error IFIO0007", run.Stderr);
        Assert.Contains("convert the model to ONNX", run.Stderr);
    }

    [Fact]
    public async Task Missing_config_is_exit_code_2()
    {
        using var dir = new TempDir();
        var run = await CliRunner.RunAsync("--config", dir.Combine("nope.json"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("IFIO0011", run.Stderr);
    }

    [Fact]
    public async Task Validate_only_accepts_a_valid_config_and_warns_about_missing_files()
    {
        using var dir = new TempDir();
        var config = dir.Write("imageflow.json", """{ "model": { "path": "models/later.onnx" }, "input": { "source": "not-yet" } }""");
        var run = await CliRunner.RunAsync("--config", config, "--validate-only");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("warning IFIO1001", run.Stderr);
        Assert.Contains("warning IFIO2006", run.Stderr);
        Assert.Contains("config is valid", run.Stdout);
    }

    [Fact]
    public async Task Validate_only_checks_sizes_against_an_existing_model()
    {
        using var dir = new TempDir();
        var config = Config(dir, "fixed_64_nchw.onnx", """, "preprocessing": { "resize": { "apply": true, "imageSize": [32, 32] } }""");
        var run = await CliRunner.RunAsync("--config", config, "--validate-only");
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("IFIO1003", run.Stderr);
    }

    [Fact]
    public async Task Folder_input_processes_every_image_in_parallel_and_writes_summary()
    {
        using var dir = new TempDir();
        foreach (var f in new[] { "photo_160x120.jpg", "gradient_33x17.png", "solid_red_32x32.png", "photo_64x48.webp" }) dir.Copy(TestPaths.Image(f), Path.Combine("in", f));
        dir.Write("in/notes.txt", "not an image: ignored by extension");
        var run = await CliRunner.RunAsync("--config", Config(dir), "--concurrency", "3");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("ImageFlowIO: 4 inputs, 4 processed, 0 from cache, 0 failed", run.Stdout);
        foreach (var f in new[] { "photo_160x120", "gradient_33x17", "solid_red_32x32", "photo_64x48" })
            Assert.True(File.Exists(dir.Combine("out", f + ".png")), f);
        Assert.True(File.Exists(dir.Combine("out", "summary.json")));
    }

    [Fact]
    public async Task Fewer_images_than_workers_give_onnx_runtime_the_idle_cores_and_the_same_bytes()
    {
        using var dir = new TempDir();
        foreach (var f in new[] { "photo_160x120.jpg", "photo_64x48.png" }) dir.Copy(TestPaths.Image(f), Path.Combine("in", f));
        var config = Config(dir, "conv3_nchw.onnx");
        var both = await CliRunner.RunAsync("--config", config, "--concurrency", "2", "--cache", "none", "-v", "--no-progress");
        Assert.Equal(0, both.ExitCode);
        Assert.Contains($"(ONNX Runtime intra-op threads {Math.Max(1, Environment.ProcessorCount / 2)})", both.Stderr + both.Stdout);
        var one = await CliRunner.RunAsync("--config", config, "--concurrency", "2", "--cache", "none", "-v", "--no-progress",
            "--input", dir.Combine("in", "photo_160x120.jpg"), "--output", dir.Combine("one"));
        Assert.Equal(0, one.ExitCode);
        Assert.Contains($"(ONNX Runtime intra-op threads {Environment.ProcessorCount})", one.Stderr + one.Stdout);
        Assert.Equal(File.ReadAllBytes(dir.Combine("out", "photo_160x120.png")), File.ReadAllBytes(dir.Combine("one", "photo_160x120.png")));
    }

    [Fact]
    public async Task Input_and_output_flags_override_the_config()
    {
        using var dir = new TempDir();
        var image = dir.Copy(TestPaths.Image("solid_red_32x32.png"), "elsewhere/red.png");
        var run = await CliRunner.RunAsync("--config", Config(dir), "--input", image, "--output", dir.Combine("custom"));
        Assert.Equal(0, run.ExitCode);
        Assert.True(File.Exists(dir.Combine("custom", "red.png")));
        Assert.False(Directory.Exists(dir.Combine("out")));
    }

    [Fact]
    public async Task Unwritable_output_folder_is_exit_code_4()
    {
        using var dir = new TempDir();
        dir.Copy(TestPaths.Image("solid_red_32x32.png"), "in/red.png");
        dir.Write("blocker", "a file where the output folder should be");
        var run = await CliRunner.RunAsync("--config", Config(dir), "--output", dir.Combine("blocker", "out"));
        Assert.Equal(4, run.ExitCode);
        Assert.Contains("error IFIO3001", run.Stderr);
    }

    [Fact]
    public async Task Backend_noop_flag_skips_the_model()
    {
        using var dir = new TempDir();
        var image = dir.Copy(TestPaths.Image("solid_red_32x32.png"), "in/red.png");
        var run = await CliRunner.RunAsync("--config", Config(dir), "--backend", "noop");
        Assert.Equal(0, run.ExitCode);
        var px = TestImages.Pixels(dir.Combine("out", "red.png"))[3, 3];
        Assert.Equal((255, 0, 0), (px.R, px.G, px.B)); // not inverted
    }

    [Fact]
    public async Task Print_schema_prints_the_shipped_schema()
    {
        var run = await CliRunner.RunAsync("--print-schema");
        Assert.Equal(0, run.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(run.Stdout);
        Assert.Equal("object", doc.RootElement.GetProperty("type").GetString());
    }
}
