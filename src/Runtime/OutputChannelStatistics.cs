using ImageFlowIO.Config;

namespace ImageFlowIO;

/// <summary>Minimum, maximum and mean of one channel of a model output (NaN values are left out; all NaN gives NaN).</summary>
public readonly record struct ChannelStatistics(float Min, float Max, float Mean);

/// <summary>
/// Per-channel statistics of a model output, for hosts that describe what a run produced (the asset catalogue).
/// Channels: the layout's channel axis of a rank-4 tensor, axis 1 of a rank-3 tensor [N, C, L]; any other rank is one
/// channel over all values (a classifier's [N, classes] logits give one channel).
/// </summary>
internal static class OutputChannelStatistics
{
    public static IReadOnlyList<ChannelStatistics> Compute(TensorData tensor)
    {
        if (tensor.Length == 0) return [];
        ReadOnlySpan<float> values = tensor.ElementType == TensorDataType.Float32 ? tensor.AsFloat32() : tensor.ToFloatArray();
        var (channels, inner) = Geometry(tensor);
        var outer = values.Length / (channels * inner);
        var stats = new ChannelStatistics[channels];
        for (var c = 0; c < channels; c++)
        {
            var min = float.PositiveInfinity;
            var max = float.NegativeInfinity;
            double sum = 0;
            long count = 0;
            // NHWC interleaves channels (stride = channels); the others keep each channel's values contiguous per item.
            var interleaved = tensor.Shape.Count == 4 && tensor.Layout == TensorLayout.Nhwc;
            for (var n = 0; n < outer; n++)
            {
                var start = interleaved ? n * inner * channels + c : (n * channels + c) * inner;
                var stride = interleaved ? channels : 1;
                for (int i = 0, at = start; i < inner; i++, at += stride)
                {
                    var v = values[at];
                    if (float.IsNaN(v)) continue;
                    if (v < min) min = v;
                    if (v > max) max = v;
                    sum += v;
                    count++;
                }
            }
            stats[c] = count == 0 ? new(float.NaN, float.NaN, float.NaN) : new(min, max, (float)(sum / count));
        }
        return stats;
    }

    /// <summary>(channels, values per channel per batch item).</summary>
    private static (int Channels, int Inner) Geometry(TensorData tensor)
    {
        var shape = tensor.Shape;
        if (shape.Count == 4)
        {
            var (c, h, w) = tensor.ImageDims;
            return (c, h * w);
        }
        if (shape.Count == 3 && shape[1] > 0) return (shape[1], shape[2]);
        return (1, tensor.Length / Math.Max(1, shape.Count > 0 ? shape[0] : 1));
    }
}
