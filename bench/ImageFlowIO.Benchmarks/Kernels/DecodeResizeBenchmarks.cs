using BenchmarkDotNet.Attributes;
using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Benchmarks.Kernels;

/// <summary>Decoding a 640×480 JPEG: our checked decoder (identify + maxPixels + EOI check + load) vs a bare ImageSharp load.</summary>
[MemoryDiagnoser, MinColumn]
public class DecodeBenchmarks
{
    private byte[] _jpeg = [];
    private readonly InputConfig _input = new();

    [GlobalSetup] public void Setup() => _jpeg = BenchAssets.Jpeg640x480();

    [Benchmark(Baseline = true)]
    public int ImageSharpLoad()
    {
        using var image = Image.Load<Rgb24>(_jpeg);
        return image.Width;
    }

    [Benchmark]
    public int ImageDecoderDecode()
    {
        using var decoded = ImageDecoder.Decode("bench.jpg", _jpeg, _input);
        return decoded.Image.Width;
    }
}

/// <summary>Resizing 640×480 → 320×320 (fill) with each kernel the config offers.</summary>
[MemoryDiagnoser, MinColumn]
public class ResizeBenchmarks
{
    private Image<Rgb24> _source = null!;

    [Params(ResizeKernel.Nearest, ResizeKernel.Linear, ResizeKernel.Cubic, ResizeKernel.Lanczos3)]
    public ResizeKernel Kernel { get; set; }

    [GlobalSetup] public void Setup() => _source = Image.Load<Rgb24>(BenchAssets.Jpeg640x480());
    [GlobalCleanup] public void Cleanup() => _source.Dispose();

    [Benchmark]
    public int Resize()
    {
        using var resized = _source.Clone(x => x.Resize(new ResizeOptions { Size = new Size(320, 320), Mode = SixLabors.ImageSharp.Processing.ResizeMode.Stretch, Sampler = Preprocessor.Sampler(Kernel) }));
        return resized.Width;
    }
}

/// <summary>
/// Resizing 640×480 → 320×320 (fill, cubic) in place as <c>Preprocessor</c> does, with ImageSharp's alpha
/// premultiplication on (its default) and off: an opaque pixel type has alpha 1, so both give the same pixels (checked).
/// </summary>
[MemoryDiagnoser, MinColumn]
public class ResizeAlphaBenchmarks
{
    private byte[] _jpeg = [];
    private Image<Rgb24> _source = null!;

    [GlobalSetup]
    public void Setup()
    {
        _jpeg = BenchAssets.Jpeg640x480();
        _source = Image.Load<Rgb24>(_jpeg);
        using var a = Resized(premultiply: true);
        using var b = Resized(premultiply: false);
        var (pa, pb) = (new byte[320 * 320 * 3], new byte[320 * 320 * 3]);
        a.CopyPixelDataTo(pa);
        b.CopyPixelDataTo(pb);
        if (!pa.AsSpan().SequenceEqual(pb)) throw new InvalidOperationException("premultiplied and straight resizes differ on an opaque image");
    }

    [GlobalCleanup] public void Cleanup() => _source.Dispose();

    private Image<Rgb24> Resized(bool premultiply) => _source.Clone(x => x.Resize(new ResizeOptions
    {
        Size = new Size(320, 320), Mode = SixLabors.ImageSharp.Processing.ResizeMode.Stretch, Sampler = KnownResamplers.Bicubic, PremultiplyAlpha = premultiply,
    }));

    [Benchmark(Baseline = true)]
    public int Premultiplied()
    {
        using var resized = Resized(premultiply: true);
        return resized.Width;
    }

    [Benchmark]
    public int Straight()
    {
        using var resized = Resized(premultiply: false);
        return resized.Width;
    }
}
