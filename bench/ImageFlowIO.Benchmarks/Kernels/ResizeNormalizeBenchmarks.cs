using BenchmarkDotNet.Attributes;
using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Benchmarks.Kernels;

/// <summary>
/// A decoded 640×480 photo → the 1×3×320×320 float32 tensor (stretch, ImageNet normalise), the product's W1 step:
/// ImageSharp's resize (rounded to 8 bits) + TensorWriter's fill (the reference, the path before round five) against
/// <see cref="ResizeNormalizeKernel"/> (one pass, no 8-bit rounding).
/// </summary>
[MemoryDiagnoser, MinColumn]
public class ResizeNormalizeBenchmarks
{
    private Image<Rgb24> _source = null!;
    private PreprocessingConfig _pre = null!;

    [Params(ResizeKernel.Cubic, ResizeKernel.Linear)]
    public ResizeKernel Kernel { get; set; }

    [Params(TensorLayout.Nchw)]
    public TensorLayout Layout { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = Image.Load<Rgb24>(BenchAssets.Jpeg640x480());
        _pre = ResizeDiff.W1Preprocessing(Kernel);
    }

    [GlobalCleanup] public void Cleanup() => _source.Dispose();

    [Benchmark(Baseline = true)]
    public int ImageSharpThenFill()
    {
        using var resized = _source.Clone(x => x.Resize(new ResizeOptions { Size = new Size(320, 320), Mode = SixLabors.ImageSharp.Processing.ResizeMode.Stretch, Sampler = Preprocessor.Sampler(Kernel) }));
        return Done(TensorWriter.Write(resized, _pre, Layout));
    }

    [Benchmark]
    public int Fused() => Done(ResizeNormalizeKernel.Write(_source, _pre, Layout));

    // Both hand the tensor's array back, as the pipeline does, so neither pays a large-object allocation per call.
    private static int Done(TensorData tensor)
    {
        TensorBuffers.Return(tensor.UnsafeArray);
        return tensor.Length;
    }
}
