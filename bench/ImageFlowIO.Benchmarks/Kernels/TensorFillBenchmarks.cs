using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Benchmarks.Kernels;

/// <summary>
/// Filling the model's input tensor from a 320×320 RGB image (normalise + layout). Generic: ImageSharp's ToVector4
/// then per-sample float math (the reference). Table: one 256-entry table per channel (the product path; bit-identical
/// to Generic). Vectorised: deinterleave, widen bytes with Vector&lt;T&gt; and normalise with TensorPrimitives (a candidate
/// that is not bit-identical: it folds 1/255 into the scale).
/// </summary>
[MemoryDiagnoser, MinColumn]
public class TensorFillBenchmarks
{
    private Image<Rgb24> _image = null!;
    private PreprocessingConfig _pre = null!;

    [Params(TensorLayout.Nchw, TensorLayout.Nhwc)]
    public TensorLayout Layout { get; set; }

    [Params(TensorDataType.Float32, TensorDataType.Uint8)]
    public TensorDataType DataType { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _image = BenchAssets.Photo320();
        _pre = new PreprocessingConfig
        {
            Format = new FormatConfig { DataType = DataType, Channels = 3 },
            Normalize = new NormalizeConfig { Apply = true, Mean = [0.485, 0.456, 0.406], Std = [0.229, 0.224, 0.225] },
        };
    }

    [GlobalCleanup] public void Cleanup() => _image.Dispose();

    [Benchmark(Baseline = true)]
    public int Generic() => TensorWriter.WriteGeneric(_image, _pre, Layout).Length;

    [Benchmark]
    public int Table() => TensorWriter.WriteByTable(_image, _pre, Layout).Length;

    [Benchmark]
    public int Vectorised()
    {
        if (Layout != TensorLayout.Nchw || DataType != TensorDataType.Float32) return 0; // the candidate covers the common case only
        return VectorisedNchwFloat(_image, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]).Length;
    }

    /// <summary>Deinterleave each row into byte planes, widen to float with Vector&lt;T&gt;, then x * (1/255/std) − mean/std with TensorPrimitives.</summary>
    internal static float[] VectorisedNchwFloat(Image<Rgb24> image, float[] mean, float[] std)
    {
        var width = image.Width;
        var plane = width * image.Height;
        var result = GC.AllocateUninitializedArray<float>(plane * 3);
        var bytePlanes = new byte[3 * width];
        image.ProcessPixelRows(accessor =>
        {
            for (var y = 0; y < accessor.Height; y++)
            {
                var row = MemoryMarshal.AsBytes(accessor.GetRowSpan(y));
                var r = bytePlanes.AsSpan(0, width); var g = bytePlanes.AsSpan(width, width); var b = bytePlanes.AsSpan(2 * width, width);
                for (int x = 0, i = 0; x < width; x++, i += 3) { r[x] = row[i]; g[x] = row[i + 1]; b[x] = row[i + 2]; }
                for (var c = 0; c < 3; c++)
                {
                    var dst = result.AsSpan(c * plane + y * width, width);
                    WidenToFloat(bytePlanes.AsSpan(c * width, width), dst);
                    TensorPrimitives.Multiply(dst, 1f / 255f / std[c], dst);
                    TensorPrimitives.Add(dst, -mean[c] / std[c], dst);
                }
            }
        });
        return result;
    }

    private static void WidenToFloat(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var i = 0;
        var n = Vector<byte>.Count;
        var quarter = Vector<float>.Count;
        for (; i + n <= src.Length; i += n)
        {
            Vector.Widen(new Vector<byte>(src[i..]), out var lo, out var hi);
            Vector.Widen(lo, out var a, out var b);
            Vector.Widen(hi, out var c, out var d);
            Vector.ConvertToSingle(Vector.AsVectorInt32(a)).CopyTo(dst[i..]);
            Vector.ConvertToSingle(Vector.AsVectorInt32(b)).CopyTo(dst[(i + quarter)..]);
            Vector.ConvertToSingle(Vector.AsVectorInt32(c)).CopyTo(dst[(i + 2 * quarter)..]);
            Vector.ConvertToSingle(Vector.AsVectorInt32(d)).CopyTo(dst[(i + 3 * quarter)..]);
        }
        for (; i < src.Length; i++) dst[i] = src[i];
    }
}
