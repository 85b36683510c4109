using ImageFlowIO.Config;

namespace ImageFlowIO.Tests.Runtime;

/// <summary>Per-channel min/max/mean of a model output, as the asset catalogue records them.</summary>
public sealed class OutputChannelStatisticsTests
{
    [Fact]
    public void Nchw_channels_are_planes_over_every_batch_item()
    {
        // [2, 2, 1, 3]: item 0 channel 0 = 1 2 3, channel 1 = -1 0 1; item 1 channel 0 = 4 5 6, channel 1 = 10 10 10.
        var tensor = TensorData.FromFloats([2, 2, 1, 3], [1, 2, 3, -1, 0, 1, 4, 5, 6, 10, 10, 10]);
        var stats = OutputChannelStatistics.Compute(tensor);
        Assert.Equal([new ChannelStatistics(1, 6, 3.5f), new ChannelStatistics(-1, 10, 5f)], stats);
    }

    [Fact]
    public void Nhwc_channels_are_interleaved()
    {
        // [1, 1, 3, 2]: pixels (1, 10), (2, 20), (6, -30).
        var tensor = TensorData.FromFloats([1, 1, 3, 2], [1, 10, 2, 20, 6, -30], TensorLayout.Nhwc);
        Assert.Equal([new ChannelStatistics(1, 6, 3f), new ChannelStatistics(-30, 20, 0f)], OutputChannelStatistics.Compute(tensor));
    }

    [Fact]
    public void A_classifier_output_is_one_channel_and_nan_values_are_left_out()
    {
        var logits = TensorData.FromFloats([1, 4], [0.5f, -2, float.NaN, 3.5f]);
        Assert.Equal([new ChannelStatistics(-2, 3.5f, 2f / 3)], OutputChannelStatistics.Compute(logits));
        var allNaN = OutputChannelStatistics.Compute(TensorData.FromFloats([1, 2], [float.NaN, float.NaN])).Single();
        Assert.True(float.IsNaN(allNaN.Min) && float.IsNaN(allNaN.Max) && float.IsNaN(allNaN.Mean));
    }

    [Fact]
    public void Uint8_outputs_are_read_as_their_integer_values()
    {
        var tensor = new TensorData(TensorDataType.Uint8, [1, 1, 2, 2], [0, 255, 100, 5]);
        Assert.Equal([new ChannelStatistics(0, 255, 90f)], OutputChannelStatistics.Compute(tensor));
    }

    [Fact]
    public void Long_planes_in_vectors_give_the_one_by_one_results_with_nan_anywhere()
    {
        // 2 channels of 1 027 values (vectors plus a remainder), NaN at the start, inside a vector and in the remainder.
        const int plane = 1027;
        var values = new float[2 * plane];
        for (var i = 0; i < values.Length; i++) values[i] = MathF.Sin(i * 0.37f) * (i % 7 == 0 ? 1000f : 1f);
        values[0] = float.NaN;
        values[13] = float.NaN;
        values[plane - 1] = float.NaN;
        values[plane + 500] = -4096.5f;
        values[2 * plane - 2] = 8191.25f;
        var stats = OutputChannelStatistics.Compute(TensorData.FromFloats([1, 2, 1, plane], values));
        for (var c = 0; c < 2; c++)
        {
            var numbers = values.Skip(c * plane).Take(plane).Where(v => !float.IsNaN(v)).ToArray();
            Assert.Equal(numbers.Min(), stats[c].Min);
            Assert.Equal(numbers.Max(), stats[c].Max);
            Assert.Equal((float)(numbers.Sum(v => (double)v) / numbers.Length), stats[c].Mean, 1e-6f);
        }
        Assert.Equal(-4096.5f, stats[1].Min);
        Assert.Equal(8191.25f, stats[1].Max);
    }
}
