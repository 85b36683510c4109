using ImageFlowIO.Config;
using ImageFlowIO.Inference;

namespace ImageFlowIO.Tests.PipelineStages;

public sealed class TilingTests : IDisposable
{
    private readonly PipelineFixture _f = new();
    public void Dispose() => _f.Dispose();

    private string Json(string model, string tiling, int batchSize = 1) => $$"""
        {
          "model": { "path": "models/{{model}}" },
          "execution": { "backend": "onnx" },
          "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
          "inference": { "batchSize": {{batchSize}} {{tiling}} }
        }
        """;

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var image in new[] { "gradient_33x17.png", "photo_160x120.png" })
            foreach (var pad in new[] { "reflect", "edge", "zero" })
                foreach (var blend in new[] { "average", "feather", "max" })
                    data.Add(image, pad, blend);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Tiled_output_of_a_pointwise_model_equals_untiled_output(string image, string padMode, string blend)
    {
        _f.Model("invert_nchw.onnx");
        var input = _f.Images(image)[0];
        using var plain = _f.Create(Json("invert_nchw.onnx", ""));
        using var tiled = _f.Create(Json("invert_nchw.onnx", $$""", "tiling": { "apply": true, "tileSize": [32, 32], "overlap": 4, "padMode": "{{padMode}}", "blend": "{{blend}}" }""", batchSize: 4));
        var expected = await plain.RunAsync(input);
        var actual = await tiled.RunAsync(input);
        Assert.True(expected.Succeeded, expected.Error?.ToString());
        Assert.True(actual.Succeeded, actual.Error?.ToString());
        Assert.True(PipelineFixture.MaxDiff(expected.Output!, actual.Output!) <= 1f / 255f);
        Assert.True(tiled.InferenceRuns >= 1);
    }

    [Fact]
    public async Task Many_small_tiles_in_both_directions_batched_and_a_3_to_1_channel_model_stitch_exactly()
    {
        _f.Model("gray_nchw.onnx");
        var input = _f.Images("gradient_33x17.png")[0];
        using var plain = _f.Create(Json("gray_nchw.onnx", ""));
        using var tiled = _f.Create(Json("gray_nchw.onnx", """, "tiling": { "apply": true, "tileSize": [8, 8], "overlap": 3, "padMode": "reflect", "blend": "feather" }""", batchSize: 4));
        var expected = await plain.RunAsync(input);
        var actual = await tiled.RunAsync(input);
        Assert.Equal(new[] { 1, 1, 17, 33 }, actual.Output!.Shape);
        Assert.True(PipelineFixture.MaxDiff(expected.Output!, actual.Output!) <= 1e-6f);
        // stride 5: ceil((33-8)/5)+1 = 6 columns, ceil((17-8)/5)+1 = 3 rows: 18 tiles in batches of 4 → 5 runs
        Assert.Equal(6, Tiler.TileCount(33, 8, 5));
        Assert.Equal(3, Tiler.TileCount(17, 8, 5));
        Assert.Equal(5, tiled.InferenceRuns);
    }

    [Fact]
    public async Task A_fixed_batch_model_runs_tiles_one_by_one()
    {
        _f.Model("fixed_batch1_invert_nchw.onnx");
        var input = _f.Images("gradient_33x17.png")[0];
        using var tiled = _f.Create(Json("fixed_batch1_invert_nchw.onnx", """, "tiling": { "apply": true, "tileSize": [16, 16], "overlap": 0 }""", batchSize: 8));
        var result = await tiled.RunAsync(input);
        Assert.True(result.Succeeded, result.Error?.ToString());
        Assert.Equal(3 * 2, tiled.InferenceRuns); // 33 → 3 columns, 17 → 2 rows, batch 1
    }

    [Theory]
    [InlineData(TilePadMode.Reflect, new[] { 2f, 1f })]
    [InlineData(TilePadMode.Edge, new[] { 3f, 3f })]
    [InlineData(TilePadMode.Zero, new[] { 0f, 0f })]
    public void Edge_tiles_are_padded_to_full_size_with_the_pad_mode(TilePadMode mode, float[] padded)
    {
        // a 1×3 row [1, 2, 3]; a 5-wide tile at x = 0 holds 1, 2, 3 and two padding values
        var input = TensorData.FromFloats([1, 1, 1, 3], [1f, 2f, 3f]);
        var tiler = new Tiler(new TilingConfig { Apply = true, TileSize = new Size2(5, 1), PadMode = mode }, 1, true, null);
        var tile = tiler.Cut(input, 0, 0, 5, 1).AsFloat32().ToArray();
        Assert.Equal(new[] { 1f, 2f, 3f, padded[0], padded[1] }, tile);
    }

    [Fact]
    public void Overlap_of_half_the_tile_or_more_is_a_located_config_error()
    {
        var path = _f.Config(Json("invert_nchw.onnx", """, "tiling": { "apply": true, "tileSize": [8, 8], "overlap": 4 }"""));
        var parsed = ConfigParser.ParseFile(path);
        Assert.Null(parsed.Config);
        var d = Assert.Single(parsed.Diagnostics, d => d.IsError);
        Assert.Equal(ConfigErrorCodes.OutOfRange, d.Code);
        Assert.Equal(5, d.Line);
    }
}
