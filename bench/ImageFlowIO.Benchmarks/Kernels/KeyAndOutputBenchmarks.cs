using BenchmarkDotNet.Attributes;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Output;
using ImageFlowIO.Postprocessing;

namespace ImageFlowIO.Benchmarks.Kernels;

/// <summary>Cache key work per input: the content digest of a 640×480 JPEG and the two stage keys.</summary>
[MemoryDiagnoser, MinColumn]
public class CacheKeyBenchmarks
{
    private byte[] _jpeg = [];
    private string _preSection = "", _infSection = "", _preKey = "";

    [GlobalSetup]
    public void Setup()
    {
        _jpeg = BenchAssets.Jpeg640x480();
        var config = new PipelineConfig();
        _preSection = CacheKeys.PreprocessSection(config, TensorLayout.Nchw);
        _infSection = CacheKeys.InferenceSection(config, BackendKind.Onnx, "x", "y");
        _preKey = CacheKeys.Preprocess(CacheKeys.ContentDigest(_jpeg), _preSection);
    }

    [Benchmark] public string ContentDigest() => CacheKeys.ContentDigest(_jpeg);
    [Benchmark] public string PreprocessKey() => CacheKeys.Preprocess("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", _preSection);
    [Benchmark] public string InferenceKey() => CacheKeys.Inference(_preKey, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", _infSection);
}

/// <summary>
/// The output path after the model for a 1×3×320×320 float tensor: FloatImage.FromTensor (two copies today),
/// ImageFileWriter.Quantize (planar float → interleaved bytes), and both plus the PNG encode.
/// </summary>
[MemoryDiagnoser, MinColumn]
public class OutputPathBenchmarks
{
    private TensorData _tensor = null!;
    private FloatImage _image = null!;
    private readonly MemoryStream _output = new(1 << 20);

    [GlobalSetup]
    public void Setup()
    {
        _tensor = BenchAssets.Tensor320();
        _image = FloatImage.FromTensor(_tensor);
    }

    [Benchmark] public int FromTensor() => FloatImage.FromTensor(_tensor).Width;
    [Benchmark] public int Quantize8() => ImageFileWriter.Quantize(_image, 3, 8).Length;

    [Benchmark]
    public long FromTensorQuantizePng()
    {
        var image = FloatImage.FromTensor(_tensor);
        var samples = ImageFileWriter.Quantize(image, 3, 8);
        _output.SetLength(0);
        PngWriter.Write(_output, samples, 320, 320, 3, 8);
        return _output.Length;
    }
}

/// <summary>
/// Per-channel min/max/mean of a 1×3×320×320 float output (the facts every computed result carries): the one-by-one
/// loop it was (<c>Scalar</c>, kept here as the reference) against <see cref="OutputChannelStatistics.Compute"/>.
/// </summary>
[MemoryDiagnoser, MinColumn]
public class OutputStatisticsBenchmarks
{
    private TensorData _tensor = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tensor = BenchAssets.Tensor320();
        if (!Scalar().SequenceEqual(OutputChannelStatistics.Compute(_tensor))) throw new InvalidOperationException("the product's statistics differ from the reference");
    }

    [Benchmark(Baseline = true)]
    public IReadOnlyList<ChannelStatistics> Scalar()
    {
        var values = _tensor.AsFloat32();
        const int plane = 320 * 320;
        var stats = new ChannelStatistics[3];
        for (var c = 0; c < 3; c++)
        {
            float min = float.PositiveInfinity, max = float.NegativeInfinity;
            double sum = 0;
            long count = 0;
            // The loop as it was (indexed with a stride, so NHWC could share it).
            for (int i = 0, at = c * plane, stride = 1; i < plane; i++, at += stride)
            {
                var v = values[at];
                if (float.IsNaN(v)) continue;
                if (v < min) min = v;
                if (v > max) max = v;
                sum += v;
                count++;
            }
            stats[c] = new(min, max, (float)(sum / count));
        }
        return stats;
    }

    [Benchmark] public IReadOnlyList<ChannelStatistics> Vectorised() => OutputChannelStatistics.Compute(_tensor);
}
