using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Runtime;

/// <summary>Real ONNX models over real photos: exact pixel and tensor values.</summary>
public class ModelOutputTests
{
    private static Pipeline PipelineFor(TempDir dir, string model, string extra = "")
    {
        var config = dir.Write("imageflow.json", $$"""
            {
              "model": { "path": "{{TestPaths.Model(model).Replace("\\", "/")}}" },
              "execution": { "backend": "onnx" },
              "output": {
                "save": { "apply": true, "path": "out", "format": "png" },
                "saveRaw": { "apply": true, "path": "raw", "format": "npy" }
              }{{extra}}
            }
            """);
        return Pipeline.FromConfig(config);
    }

    [Fact]
    public async Task Invert_model_gives_exactly_255_minus_input_for_every_pixel()
    {
        using var dir = new TempDir();
        using var pipeline = PipelineFor(dir, "invert_nchw.onnx");
        var input = TestPaths.Image("photo_160x120.png");
        var result = await pipeline.RunAsync(input);

        Assert.True(result.Succeeded, result.Error?.ToString());
        Assert.Equal(BackendKind.Onnx, pipeline.BackendKind);
        var source = TestImages.Pixels(input);
        var output = TestImages.Pixels(dir.Combine("out", "photo_160x120.png"));
        Assert.Equal(160, output.GetLength(0));
        Assert.Equal(120, output.GetLength(1));
        for (var y = 0; y < 120; y++)
            for (var x = 0; x < 160; x++)
            {
                var s = source[x, y];
                var o = output[x, y];
                Assert.Equal((255 - s.R, 255 - s.G, 255 - s.B), (o.R, o.G, o.B));
            }
    }

    [Fact]
    public async Task Raw_npy_holds_the_true_model_output_one_minus_x_over_255()
    {
        using var dir = new TempDir();
        using var pipeline = PipelineFor(dir, "invert_nchw.onnx");
        var input = TestPaths.Image("gradient_33x17.png");
        var result = await pipeline.RunAsync(input);
        Assert.True(result.Succeeded, result.Error?.ToString());

        var npy = TestImages.ReadNpyFloat32(dir.Combine("raw", "gradient_33x17.npy"));
        Assert.Equal("<f4", npy.Descr);
        Assert.Equal([1, 3, 17, 33], npy.Shape);
        var source = TestImages.Pixels(input);
        for (var y = 0; y < 17; y++)
            for (var x = 0; x < 33; x++)
            {
                var s = source[x, y];
                Assert.Equal(1f - s.R / 255f, npy.Values[0 * 17 * 33 + y * 33 + x], 6);
                Assert.Equal(1f - s.G / 255f, npy.Values[1 * 17 * 33 + y * 33 + x], 6);
                Assert.Equal(1f - s.B / 255f, npy.Values[2 * 17 * 33 + y * 33 + x], 6);
            }
        // Formula of the fixture: r = 7x, g = 13y, b = 3(x+y) (mod 256).
        Assert.Equal(1f - (7 * 5) / 255f, npy.Values[0 * 17 * 33 + 2 * 33 + 5], 6);
    }

    [Fact]
    public async Task Three_to_one_channel_model_writes_one_channel()
    {
        using var dir = new TempDir();
        using var pipeline = PipelineFor(dir, "gray_nchw.onnx");
        var input = TestPaths.Image("solid_red_32x32.png");
        var result = await pipeline.RunAsync(input);
        Assert.True(result.Succeeded, result.Error?.ToString());
        Assert.Equal([1, 1, 32, 32], result.Output!.Shape);

        var png = dir.Combine("out", "solid_red_32x32.png");
        Assert.Equal((8, 0), TestImages.PngHeader(png)); // 8-bit, colour type 0 = grayscale
        var pixels = TestImages.Pixels(png);
        Assert.Equal(85, pixels[10, 10].R); // mean(255, 0, 0) = 85
    }

    [Fact]
    public async Task Nhwc_model_layout_is_read_from_the_model()
    {
        using var dir = new TempDir();
        using var pipeline = PipelineFor(dir, "invert_nhwc.onnx");
        Assert.Equal(TensorLayout.Nhwc, pipeline.Layout);
        var input = TestPaths.Image("gradient_33x17.png");
        var result = await pipeline.RunAsync(input);
        Assert.True(result.Succeeded, result.Error?.ToString());
        Assert.Equal([1, 17, 33, 3], result.Output!.Shape);
        var source = TestImages.Pixels(input);
        var output = TestImages.Pixels(dir.Combine("out", "gradient_33x17.png"));
        Assert.Equal(255 - source[7, 3].G, output[7, 3].G);
    }

    [Fact]
    public async Task Float16_model_gets_a_float16_tensor()
    {
        using var dir = new TempDir();
        using var pipeline = PipelineFor(dir, "invert_nchw_fp16.onnx", """, "preprocessing": { "format": { "dataType": "float16" } }""");
        var result = await pipeline.RunAsync(TestPaths.Image("solid_red_32x32.png"));
        Assert.True(result.Succeeded, result.Error?.ToString());
        var pixels = TestImages.Pixels(dir.Combine("out", "solid_red_32x32.png"));
        Assert.Equal((0, 255, 255), (pixels[0, 0].R, pixels[0, 0].G, pixels[0, 0].B));
    }

    [Fact]
    public async Task Uint8_tensor_reaches_a_uint8_model()
    {
        using var dir = new TempDir();
        using var pipeline = PipelineFor(dir, "passthrough_uint8_nhwc.onnx", """, "preprocessing": { "format": { "dataType": "uint8" } }""");
        var input = TestPaths.Image("gradient_33x17.png");
        var result = await pipeline.RunAsync(input);
        Assert.True(result.Succeeded, result.Error?.ToString());
        var source = TestImages.Pixels(input);
        var output = TestImages.Pixels(dir.Combine("out", "gradient_33x17.png"));
        Assert.Equal(source[20, 9], output[20, 9]);
    }

    [Fact]
    public async Task Classifier_output_is_reported_as_top_k_labels()
    {
        using var dir = new TempDir();
        var config = dir.Write("cls.json", $$"""
            { "model": { "path": "{{TestPaths.Model("classifier_nchw.onnx")}}", "labels": "{{TestPaths.Model("classifier_labels.txt")}}" },
              "output": { "writeMeta": { "apply": true } , "save": { "apply": true, "path": "cls-out" } } }
            """);
        using var classifier = Pipeline.FromConfig(config);
        var result = await classifier.RunAsync(TestPaths.Image("solid_red_32x32.png"));
        Assert.True(result.Succeeded, result.Error?.ToString());
        Assert.Equal([1, 5], result.Output!.Shape);
        Assert.Equal("cat", result.TopK[0].Label); // red → cat (see TestData/models/README.md)
        Assert.False(File.Exists(dir.Combine("cls-out", "solid_red_32x32.png"))); // not an image: no PNG
        var meta = File.ReadAllText(dir.Combine("cls-out", "solid_red_32x32.json"));
        Assert.Contains("\"label\": \"cat\"", meta);
    }
}
