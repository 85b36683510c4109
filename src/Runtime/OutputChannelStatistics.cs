using System.Numerics;
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
        // NHWC interleaves channels (stride = channels); the others keep each channel's values contiguous per item.
        var interleaved = tensor.Shape.Count == 4 && tensor.Layout == TensorLayout.Nhwc;
        for (var c = 0; c < channels; c++)
        {
            var acc = new Accumulator();
            for (var n = 0; n < outer; n++)
            {
                if (interleaved) acc.AddStrided(values, n * inner * channels + c, inner, channels);
                else acc.AddRun(values.Slice((n * channels + c) * inner, inner));
            }
            stats[c] = acc.Count == 0 ? new(float.NaN, float.NaN, float.NaN) : new(acc.Min, acc.Max, (float)(acc.Sum / acc.Count));
        }
        return stats;
    }

    /// <summary>Min, max, sum (in double) and count of the non-NaN values seen so far.</summary>
    private struct Accumulator()
    {
        public float Min = float.PositiveInfinity;
        public float Max = float.NegativeInfinity;
        public double Sum;
        public long Count;

        public void AddStrided(ReadOnlySpan<float> values, int start, int length, int stride)
        {
            for (int i = 0, at = start; i < length; i++, at += stride) Add(values[at]);
        }

        /// <summary>
        /// A contiguous run (a plane of an NCHW output: the common case) in vectors: one scalar pass was ≈ 1 ms per
        /// 320×320×3 output, as long as the model itself for a small conv net (OutputStatisticsBenchmarks). Sums stay
        /// in double, in lanes: the mean may differ from a one-by-one sum only in the double's last bits.
        /// </summary>
        public void AddRun(ReadOnlySpan<float> run)
        {
            var i = 0;
            if (Vector.IsHardwareAccelerated && run.Length >= 2 * Vector<float>.Count)
            {
                var vmin = new Vector<float>(float.PositiveInfinity);
                var vmax = new Vector<float>(float.NegativeInfinity);
                Vector<double> sumLow = Vector<double>.Zero, sumHigh = Vector<double>.Zero;
                var notNaN = Vector<int>.Zero;
                for (; i + Vector<float>.Count <= run.Length; i += Vector<float>.Count)
                {
                    var v = new Vector<float>(run[i..]);
                    var isNumber = Vector.Equals(v, v); // false only for NaN
                    vmin = Vector.Min(vmin, Vector.ConditionalSelect(isNumber, v, new Vector<float>(float.PositiveInfinity)));
                    vmax = Vector.Max(vmax, Vector.ConditionalSelect(isNumber, v, new Vector<float>(float.NegativeInfinity)));
                    Vector.Widen(Vector.ConditionalSelect(isNumber, v, Vector<float>.Zero), out var low, out var high);
                    sumLow += low;
                    sumHigh += high;
                    notNaN -= Vector.AsVectorInt32(isNumber); // all bits set (−1) per number
                }
                for (var k = 0; k < Vector<float>.Count; k++)
                {
                    if (vmin[k] < Min) Min = vmin[k];
                    if (vmax[k] > Max) Max = vmax[k];
                }
                Sum += Vector.Sum(sumLow) + Vector.Sum(sumHigh);
                Count += Vector.Sum(notNaN);
            }
            for (; i < run.Length; i++) Add(run[i]);
        }

        private void Add(float v)
        {
            if (float.IsNaN(v)) return;
            if (v < Min) Min = v;
            if (v > Max) Max = v;
            Sum += v;
            Count++;
        }
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
