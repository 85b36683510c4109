using System.Text.Json;
using System.Text.Json.Nodes;
using ImageFlowIO.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Tests.Compat;

/// <summary>
/// Every example config of the original ImageFlowIO runs end to end through the CLI: the config is copied unchanged
/// (except where a model's tensor names must match ours), the small test model of the right kind is put where its
/// model.path points, a test photo where its input.source points, and the outputs it asks for are checked.
/// </summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class OriginalExampleConfigTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Configs() => new(Directory.GetFiles(TestPaths.Fixture("compat"), "*.json").Select(Path.GetFileName).Order()!);

    [Fact]
    public void All_twenty_examples_are_covered() => Assert.Equal(20, Configs().Count);

    // Which test model stands in for each original model path.
    private static readonly Dictionary<string, string> Models = new()
    {
        ["./assets/models/model.onnx"] = "invert_nchw.onnx",
        ["./assets/models/resnet50.onnx"] = "classifier_nchw.onnx",
        ["./assets/models/yolo.onnx"] = "identity_nchw.onnx",
        ["./assets/models/advanced-model.onnx"] = "identity_nchw_named.onnx",
        ["./assets/models/unet.onnx"] = "conv3_nchw.onnx",
        ["./examples/models/unet.onnx"] = "identity_nchw_named.onnx",
    };

    private string Stage(string name)
    {
        var json = JsonNode.Parse(File.ReadAllText(TestPaths.Fixture("compat", name)))!;
        var modelPath = json["model"]!["path"]!.GetValue<string>();
        if (Models.TryGetValue(modelPath, out var model))
        {
            var stand = name == "layout-nhwc.json" ? "invert_nhwc.onnx" : model;
            _dir.Copy(TestPaths.Model(stand), modelPath);
            // Our stand-in for the "advanced" model names its tensors input_0/output_0.
            if (json["model"]!["inputName"] is not null && stand == "identity_nchw_named.onnx")
            {
                json["model"]!["inputName"] = "input_0";
                json["model"]!["outputName"] = "output_0";
            }
        }
        var source = json["input"]!["source"]!.GetValue<string>();
        if (source.EndsWith('/'))
            foreach (var img in new[] { "photo_64x48.png", "gradient_33x17.png", "solid_red_32x32.png" })
                _dir.Copy(TestPaths.Image(img), Path.Combine(source, img));
        else _dir.Copy(TestPaths.Image("photo_64x48.png"), source);
        if (name == "palette-file.json") _dir.Write("examples/palette.json", "[[0, 0, 0], [255, 0, 0], [0, 255, 0]]");
        return _dir.Write(name, json.ToJsonString());
    }

    private string One(string pattern)
    {
        var folder = _dir.Combine(Path.GetDirectoryName(pattern)!);
        Assert.True(Directory.Exists(folder), $"missing folder {folder}");
        return Assert.Single(Directory.GetFiles(folder, Path.GetFileName(pattern)));
    }

    private (int Width, int Height, int Bits) ImageInfo(string pattern)
    {
        var info = Image.Identify(One(pattern));
        Assert.NotNull(info);
        return (info.Width, info.Height, info.PixelType.BitsPerPixel);
    }

    private JsonElement Json(string relative) => JsonDocument.Parse(File.ReadAllText(_dir.Combine(relative))).RootElement;

    [Theory]
    [MemberData(nameof(Configs))]
    public async Task Example_config_runs_end_to_end_and_writes_what_it_asks_for(string name)
    {
        var config = Stage(name);
        var result = await CliRunner.RunAsync("--config", config, "--no-progress");

        if (name == "tfjs.json")
        {
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("IFIO0007", result.Stderr);
            Assert.Contains("ONNX", result.Stderr);
            Assert.False(Directory.Exists(_dir.Combine("examples", "outputs")));
            return;
        }
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        Assert.Matches(@"ImageFlowIO: \d+ inputs, \d+ processed, \d+ from cache, 0 failed", result.Stdout);

        switch (name)
        {
            case "basic-noop.json":
            case "onnx-unet.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/sample.png")); // viridis → RGB, resizeTo input
                break;
            case "batch-processing.json":
                for (var i = 0; i < 3; i++) Assert.Equal(24, ImageInfo($"examples/outputs/batch-results/batch-example_*_{i}.png").Bits);
                var meta = Json("examples/outputs/batch-results/batch-meta.json");
                Assert.Equal(3, meta.GetArrayLength());
                Assert.Equal(new[] { 33, 64, 32 }, meta.EnumerateArray().Select(m => m.GetProperty("width").GetInt32()));
                Assert.Contains("info: ", File.ReadAllText(_dir.Combine("examples/outputs/batch-results/batch.log")));
                Assert.Equal(3, Json("examples/outputs/batch-results/summary.json").GetProperty("processed").GetInt32());
                break;
            case "caching-disk.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/disk_cache_output.png"));
                break;
            case "caching-memory.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/memory_cache_output.png"));
                break;
            case "classification.json":
            {
                Assert.True(File.Exists(_dir.Combine("examples/outputs/raw/sample.npy")));
                var top = Json("examples/outputs/predictions.json")[0].GetProperty("topK");
                Assert.Equal(5, top.GetArrayLength());
                var scores = top.EnumerateArray().Select(t => t.GetProperty("score").GetDouble()).ToArray();
                Assert.All(scores, s => Assert.InRange(s, 0, 1)); // sigmoid
                Assert.Equal(scores.OrderDescending(), scores);
                break;
            }
            case "custom-functions.json":
                Assert.Contains("IFIO0012", result.Stderr);
                Assert.Contains("not run in .NET", result.Stderr);
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/custom_*.png"));
                break;
            case "detection.json":
                Assert.True(new FileInfo(_dir.Combine("examples/outputs/raw/sample.npz")).Length > 640 * 640 * 3 * 4 / 1000);
                Assert.Equal(new[] { 1, 3, 640, 640 }, Json("examples/outputs/detections.json")[0].GetProperty("outputShape").EnumerateArray().Select(e => e.GetInt32()));
                break;
            case "float32-raw.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/sample.png"));
                Assert.Equal(128 + 64 * 48 * 3 * 4, new FileInfo(_dir.Combine("examples/outputs/raw/sample.npy")).Length);
                break;
            case "grayscale-float.json":
                Assert.Equal((64, 48, 8), ImageInfo("examples/outputs/sample.png"));
                break;
            case "layout-nchw.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/nchw_output.png"));
                break;
            case "layout-nhwc.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/nhwc_output.png"));
                break;
            case "npz-raw.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/sample.png"));
                Assert.True(File.Exists(_dir.Combine("examples/outputs/raw/sample.npz")));
                break;
            case "onnx-advanced.json":
                Assert.Equal((64, 48, 24), ImageInfo("outputs/advanced-onnx_advanced_*.png"));
                Assert.Equal(1, Json("outputs/meta.json").GetArrayLength());
                Assert.Contains("debug: ", File.ReadAllText(_dir.Combine("logs/advanced-inference.log")));
                break;
            case "onnx-io-names.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/sample.png"));
                break;
            case "palette-file.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/sample.png"));
                Assert.Equal(64 * 48 * 3 * 4, new FileInfo(_dir.Combine("examples/outputs/raw/sample.bin")).Length);
                break;
            case "tiling.json":
            {
                using var expected = Image.Load<Rgb24>(TestPaths.Image("photo_64x48.png"));
                using var actual = Image.Load<Rgb24>(One("examples/outputs/sample.png"));
                Assert.Equal(expected[40, 30], actual[40, 30]);
                Assert.Equal(expected[63, 47], actual[63, 47]);
                break;
            }
            case "viz-heatmap.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/sample_heatmap.png"));
                break;
            case "viz-overlay.json":
                Assert.Equal((64, 48, 24), ImageInfo("examples/outputs/sample_overlay.png"));
                break;
            default:
                Assert.Fail("no expectations for " + name);
                break;
        }
    }
}
