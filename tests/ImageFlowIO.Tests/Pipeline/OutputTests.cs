using ImageFlowIO.Config;
using ImageFlowIO.Output;
using ImageFlowIO.Postprocessing;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Tests.PipelineStages;

public sealed class OutputTests : IDisposable
{
    private readonly PipelineFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static void Near(int expected, int actual, int tolerance) => Assert.InRange(actual, expected - tolerance, expected + tolerance);

    private static string Json(string save, string extra = "", string model = "noop.onnx") => $$"""
        {
          "model": { "path": "{{model}}", "name": "inv" },
          "execution": { "backend": "{{(model == "noop.onnx" ? "noop" : "onnx")}}" },
          "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
          "output": { "save": { "apply": true, "path": "out" {{save}} } {{extra}} }
        }
        """;

    [Theory]
    [InlineData("png", 8)]
    [InlineData("png", 16)]
    [InlineData("tiff", 8)]
    [InlineData("tiff", 16)]
    public async Task Lossless_formats_keep_the_pixels_at_8_and_16_bits(string format, int bits)
    {
        var input = _f.Images("photo_64x48.png")[0];
        using var p = _f.Create(Json($$""", "format": "{{format}}", "bitDepth": {{bits}}"""));
        var r = await p.RunAsync(input);
        Assert.True(r.Succeeded, r.Error?.ToString());
        var file = Assert.Single(r.Outputs);
        using var expected = Image.Load<Rgb24>(input);
        using var actual = Image.Load<Rgba64>(file);
        Assert.Equal(expected.Size(), actual.Size());
        Assert.Equal(expected[10, 20].R * 257, actual[10, 20].R);
        Assert.Equal(expected[63, 47].B * 257, actual[63, 47].B);
        var info = Image.Identify(file);
        Assert.Equal(bits * 3, info.PixelType.BitsPerPixel);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Low_bit_depth_tiff_is_grey_with_the_right_levels(int bits)
    {
        var path = _f.Dir.Combine("g.tiff");
        var image = new FloatImage(5, 2, 1, [0f, 0.25f, 0.5f, 0.75f, 1f, 1f, 0.75f, 0.5f, 0.25f, 0f]);
        using (var s = File.Create(path)) TiffWriter.Write(s, image, bits);
        using var decoded = Image.Load<L16>(path);
        var max = (1 << bits) - 1;
        for (var x = 0; x < 5; x++)
        {
            var level = (int)MathF.Round(image.Data[x] * max);
            Near(level * 65535 / max, decoded[x, 0].PackedValue, 300);
        }
        Assert.Equal(bits, Image.Identify(path).PixelType.BitsPerPixel);
    }

    [Theory]
    [InlineData("jpeg", "jpg")]
    [InlineData("webp", "webp")]
    public async Task Lossy_formats_decode_close_to_the_input(string format, string ext)
    {
        var input = _f.Images("photo_64x48.png")[0];
        using var p = _f.Create(Json($$""", "format": "{{format}}", "quality": 95"""));
        var r = await p.RunAsync(input);
        var file = Assert.Single(r.Outputs);
        Assert.EndsWith("." + ext, file);
        using var expected = Image.Load<Rgb24>(input);
        using var actual = Image.Load<Rgb24>(file);
        var diff = 0.0;
        for (var y = 0; y < 48; y++) for (var x = 0; x < 64; x++) diff += Math.Abs(expected[x, y].G - actual[x, y].G);
        Assert.True(diff / (64 * 48) < 6, $"mean error {diff / (64 * 48)}");
    }

    [Fact]
    public async Task Split_channels_writes_one_grey_file_per_channel_named_by_channelNames()
    {
        var input = _f.Images("solid_red_32x32.png")[0];
        using var p = _f.Create(Json(""", "splitChannels": true, "channelNames": ["red", "green"]"""));
        var r = await p.RunAsync(input);
        Assert.Equal(new[] { "solid_red_32x32_red.png", "solid_red_32x32_green.png", "solid_red_32x32_2.png" }, r.Outputs.Select(Path.GetFileName));
        using var red = Image.Load<L8>(r.Outputs[0]);
        using var green = Image.Load<L8>(r.Outputs[1]);
        Assert.Equal(255, red[5, 5].PackedValue);
        Assert.Equal(0, green[5, 5].PackedValue);
    }

    [Fact]
    public async Task LinearToSRGB_encodes_linear_values()
    {
        var input = _f.Images("gradient_33x17.png")[0];
        using var p = _f.Create(Json(""", "linearToSRGB": true"""));
        var r = await p.RunAsync(input);
        using var img = Image.Load<Rgb24>(r.Outputs[0]);
        // r(10, 0) = 70 → linear 70/255 = 0.2745 → sRGB 1.055·0.2745^(1/2.4) − 0.055 = 0.5607 → 143
        Assert.Equal(143, img[10, 0].R);
    }

    [Fact]
    public async Task Every_filename_token_is_replaced()
    {
        var inputs = _f.Images("photo_64x48.png", "gradient_33x17.png");
        using var p = _f.Create(Json(""", "filename": "{model}-{index}-{name}.{ext}-{timestamp}.png" """));
        var batch = await p.RunBatchAsync(inputs.Select(i => new InputItem(i)).ToList());
        var names = batch.Items.Select(i => Path.GetFileName(Assert.Single(i.Outputs))).ToArray();
        Assert.Matches(@"^inv-0-photo_64x48\.png-\d{8}T\d{9}Z\.png$", names[0]);
        Assert.Matches(@"^inv-1-gradient_33x17\.png-\d{8}T\d{9}Z\.png$", names[1]);
        Assert.DoesNotContain(names, n => n.Contains('{'));
    }

    [Fact]
    public async Task Two_inputs_that_map_to_one_file_are_both_rejected_and_nothing_is_overwritten()
    {
        var inputs = _f.Images("photo_64x48.png", "gradient_33x17.png", "solid_red_32x32.png");
        using var p = _f.Create(Json(""", "filename": "{model}.png" """));
        var items = inputs.Select(i => new InputItem(i)).ToList();
        items.Add(new InputItem(inputs[2]) { Index = 7 });
        using var q = _f.Create(Json(""", "filename": "{name}-{index}.png" """));
        var batch = await p.RunBatchAsync(items);
        Assert.All(batch.Items, i => Assert.Equal(ErrorCodes.OutputCollision, i.Error?.Code));
        Assert.False(File.Exists(_f.Dir.Combine("out", "inv.png")));
        var ok = await q.RunBatchAsync(items);
        Assert.Equal(4, ok.Processed);
    }

    [Fact]
    public void A_filename_that_escapes_the_output_folder_is_a_config_error()
    {
        var parsed = ConfigParser.ParseFile(_f.Config(Json(""", "filename": "../{name}.png" """)));
        Assert.Contains(parsed.Diagnostics, d => d.Code == ConfigErrorCodes.InvalidFilenamePattern && d.IsError);
        Assert.Throws<OutputException>(() => FileNamePattern.Combine(_f.Dir.Combine("out"), "../x.png"));
    }

    [Fact]
    public async Task WriteMeta_with_a_json_path_holds_every_image_of_a_batch_once()
    {
        var inputs = _f.Images("photo_64x48.png", "gradient_33x17.png", "solid_red_32x32.png");
        using var p = _f.Create(Json("", """, "writeMeta": { "apply": true, "jsonPath": "out/meta.json" }"""));
        await p.RunBatchAsync(inputs.Select(i => new InputItem(i)).ToList());
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_f.Dir.Combine("out", "meta.json")));
        var items = doc.RootElement.EnumerateArray().ToArray();
        Assert.Equal(inputs, items.Select(i => i.GetProperty("input").GetString()));
        Assert.Equal(33, items[1].GetProperty("width").GetInt32());
        Assert.Equal("ok", items[2].GetProperty("status").GetString());
    }

    [Fact]
    public async Task WriteMeta_without_a_json_path_writes_one_file_per_input()
    {
        var inputs = _f.Images("photo_64x48.png", "gradient_33x17.png");
        using var p = _f.Create(Json("", """, "writeMeta": { "apply": true }"""));
        await p.RunBatchAsync(inputs.Select(i => new InputItem(i)).ToList());
        using var a = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_f.Dir.Combine("out", "photo_64x48.json")));
        using var b = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_f.Dir.Combine("out", "gradient_33x17.json")));
        Assert.Equal(64, a.RootElement.GetProperty("width").GetInt32());
        Assert.Equal(17, b.RootElement.GetProperty("height").GetInt32());
    }

    [Fact]
    public async Task A_classifier_output_skips_the_image_and_meta_lists_top_k_labels()
    {
        _f.Model("classifier_nchw.onnx");
        _f.Dir.Copy(Support.TestPaths.Model("classifier_labels.txt"), "models/classifier_labels.txt");
        var input = _f.Images("solid_red_32x32.png")[0];
        using var p = _f.Create("""
            {
              "model": { "path": "models/classifier_nchw.onnx", "labels": "models/classifier_labels.txt" },
              "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
              "output": { "save": { "apply": true, "path": "out" }, "writeMeta": { "apply": true, "jsonPath": "out/predictions.json" } }
            }
            """);
        var r = await p.RunAsync(input);
        Assert.True(r.Succeeded, r.Error?.ToString());
        Assert.Empty(r.Outputs);
        Assert.Equal(("cat", 1f), r.TopK[0]);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_f.Dir.Combine("out", "predictions.json")));
        var top = doc.RootElement[0].GetProperty("topK");
        Assert.Equal(new[] { "cat", "fish", "horse", "dog", "bird" }, top.EnumerateArray().Select(t => t.GetProperty("label").GetString()));
        Assert.Equal(0.75, top[1].GetProperty("score").GetDouble(), 6);
        Assert.Equal(new[] { 1, 5 }, doc.RootElement[0].GetProperty("outputShape").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Theory]
    [InlineData("sideBySide", 128, 48)]
    [InlineData("difference", 64, 48)]
    [InlineData("overlay", 64, 48)]
    [InlineData("heatmap", 64, 48)]
    public async Task Visualizations_are_written_to_their_output_path(string type, int width, int height)
    {
        _f.Model("invert_nchw.onnx");
        var input = _f.Images("photo_64x48.png")[0];
        using var p = _f.Create(Json("", "", "models/invert_nchw.onnx").Replace("\"output\":", $$"""
            "visualization": { "apply": true, "type": "{{type}}", "alpha": 0.5, "outputPath": "viz" }, "output":
            """));
        var r = await p.RunAsync(input);
        Assert.True(r.Succeeded, r.Error?.ToString());
        var file = _f.Dir.Combine("viz", $"photo_64x48_{type}.png");
        Assert.Contains(file, r.Outputs);
        using var viz = Image.Load<Rgb24>(file);
        using var src = Image.Load<Rgb24>(input);
        Assert.Equal((width, height), (viz.Width, viz.Height));
        var (o, v) = (src[7, 9], viz[7, 9]);
        switch (type)
        {
            case "sideBySide":
                Assert.Equal(o, v);
                Near(255 - o.G, viz[64 + 7, 9].G, 1);
                break;
            case "difference": Near(Math.Abs(o.R - (255 - o.R)), v.R, 1); break;
            case "overlay": Near(128, v.G, 1); break; // (x + (1 − x)) / 2
            default: Assert.NotEqual(o, v); break;
        }
    }

    [Fact]
    public async Task BlendOverlay_mixes_the_output_with_the_original_input()
    {
        _f.Model("invert_nchw.onnx");
        var input = _f.Images("solid_red_32x32.png")[0];
        using var p = _f.Create(Json("", "", "models/invert_nchw.onnx").Replace("\"output\":", """
            "postprocessing": { "blendOverlay": { "apply": true, "alpha": 0.25 } }, "output":
            """));
        var r = await p.RunAsync(input);
        using var img = Image.Load<Rgb24>(r.Outputs[0]);
        // output (0, 1, 1) · 0.25 + (1, 0, 0) · 0.75 = (0.75, 0.25, 0.25)
        Assert.Equal(new Rgb24(191, 64, 64), img[3, 3]);
    }
}
