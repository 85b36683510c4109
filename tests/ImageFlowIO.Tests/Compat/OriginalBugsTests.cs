using System.Text.Json;
using ImageFlowIO.Tests.PipelineStages;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Compat;

/// <summary>SPEC §7: each measured bug of the original has a test that fails on that behaviour.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class OriginalBugsTests : IDisposable
{
    private readonly PipelineFixture _f = new();
    public void Dispose() => _f.Dispose();

    private string Config(string save = "", string extra = "") => _f.Config($$"""
        {
          "model": { "path": "noop.onnx" },
          "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
          "output": { "save": { "apply": true, "path": "out" {{save}} } {{extra}} }
        }
        """);

    [Theory]
    [InlineData("fit")]
    [InlineData("crop")]
    public void Fit_pads_and_crop_crops_to_exactly_the_requested_size(string mode)
    {
        var input = _f.Images("photo_160x120.png")[0];
        using var p = _f.Create($$"""
            {
              "model": { "path": "noop.onnx" },
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [64, 64], "keepAspectRatio": true, "resizeMode": "{{mode}}", "padColor": [255, 0, 255] },
                "format": { "dataType": "float32", "channels": 3 }
              }
            }
            """);
        var tensor = p.Preprocess(input);
        Assert.Equal(new[] { 1, 3, 64, 64 }, tensor.Shape);
        var v = tensor.AsFloat32().ToArray();
        const int plane = 64 * 64;
        bool IsPad(int x, int y) => v[y * 64 + x] == 1f && v[plane + y * 64 + x] == 0f && v[2 * plane + y * 64 + x] == 1f;
        if (mode == "fit")
        {
            // 160×120 → 64×48, centred: rows 0..7 and 56..63 are padding, the rest is picture
            Assert.True(Enumerable.Range(0, 64).All(x => IsPad(x, 0) && IsPad(x, 7) && IsPad(x, 56) && IsPad(x, 63)));
            Assert.False(Enumerable.Range(0, 64).All(x => IsPad(x, 8)));
        }
        else
        {
            // 160×120 → 85×64, centre 64 columns kept: no padding anywhere
            Assert.DoesNotContain(Enumerable.Range(0, plane), i => IsPad(i % 64, i / 64));
        }
    }

    [Fact]
    public async Task Index_token_is_replaced_for_every_input_of_a_folder()
    {
        _f.Images("photo_64x48.png", "gradient_33x17.png", "solid_red_32x32.png");
        var config = Config(""", "filename": "out_{index}.png" """);
        var r = await CliRunner.RunAsync("--config", config, "--input", _f.Dir.Combine("in"), "--no-progress");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(new[] { "out_0.png", "out_1.png", "out_2.png" }, Directory.GetFiles(_f.Dir.Combine("out"), "*.png").Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Per_image_errors_are_reported_and_the_summary_says_failed()
    {
        _f.Images("photo_64x48.png", "gradient_33x17.png");
        _f.Dir.Copy(TestPaths.Bad("truncated.jpg"), "in/broken.jpg");
        var r = await CliRunner.RunAsync("--config", Config(), "--input", _f.Dir.Combine("in"), "--no-progress");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("broken.jpg: error IFIO2", r.Stderr);
        Assert.Contains("3 inputs, 2 processed, 0 from cache, 1 failed", r.Stdout);
        using var summary = JsonDocument.Parse(File.ReadAllText(_f.Dir.Combine("out", "summary.json")));
        Assert.Equal(2, summary.RootElement.GetProperty("processed").GetInt32());
        Assert.Equal(1, summary.RootElement.GetProperty("failed").GetInt32());
        var broken = summary.RootElement.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("input").GetString()!.EndsWith("broken.jpg"));
        Assert.Equal("failed", broken.GetProperty("status").GetString());
        Assert.StartsWith("IFIO2", broken.GetProperty("code").GetString());
        Assert.False(File.Exists(_f.Dir.Combine("out", "broken.png")));
    }

    [Fact]
    public async Task WriteMeta_is_not_overwritten_per_image_of_a_batch()
    {
        _f.Images("photo_64x48.png", "gradient_33x17.png", "solid_red_32x32.png");
        var config = Config("", """, "writeMeta": { "apply": true, "jsonPath": "out/meta.json" }""");
        var r = await CliRunner.RunAsync("--config", config, "--input", _f.Dir.Combine("in"), "--no-progress", "--concurrency", "3");
        Assert.Equal(0, r.ExitCode);
        using var meta = JsonDocument.Parse(File.ReadAllText(_f.Dir.Combine("out", "meta.json")));
        Assert.Equal(new[] { "gradient_33x17.png", "photo_64x48.png", "solid_red_32x32.png" },
            meta.RootElement.EnumerateArray().Select(m => Path.GetFileName(m.GetProperty("input").GetString())));
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--cache-directory")]
    [InlineData("--output-dir")]
    public async Task Unknown_flags_are_rejected(string flag)
    {
        var r = await CliRunner.RunAsync("--config", Config(), flag, "x");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(flag, r.Stderr);
        Assert.False(Directory.Exists(_f.Dir.Combine("out")));
    }
}
