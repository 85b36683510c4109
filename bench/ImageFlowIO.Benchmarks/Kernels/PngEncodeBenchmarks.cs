using System.IO.Compression;
using BenchmarkDotNet.Attributes;
using ImageFlowIO.Output;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Benchmarks.Kernels;

/// <summary>
/// PNG encoding of a 320×320 8-bit RGB image: our PngWriter (native zlib) per level and filter vs ImageSharp 2.1's
/// managed encoder at its default and at BestSpeed. Sizes per variant: `-- png-sizes`.
/// </summary>
[MemoryDiagnoser, MinColumn]
public class PngEncodeBenchmarks
{
    private Image<Rgb24> _image = null!;
    private byte[] _samples = [];
    private readonly MemoryStream _output = new(1 << 20);

    [GlobalSetup]
    public void Setup()
    {
        _image = BenchAssets.Photo320();
        _samples = BenchAssets.Samples(_image);
    }

    [GlobalCleanup] public void Cleanup() => _image.Dispose();

    private long Encode(int level, PngFilter filter, ZLibCompressionStrategy strategy = ZLibCompressionStrategy.Default)
    {
        _output.SetLength(0);
        PngWriter.Write(_output, _samples, 320, 320, 3, 8, level, filter, strategy);
        return _output.Length;
    }

    [Benchmark(Baseline = true)] public long ImageSharpDefault() { _output.SetLength(0); _image.SaveAsPng(_output); return _output.Length; }
    [Benchmark] public long ImageSharpBestSpeed() { _output.SetLength(0); _image.SaveAsPng(_output, new PngEncoder { CompressionLevel = PngCompressionLevel.BestSpeed }); return _output.Length; }
    [Benchmark] public long ImageSharpBestSpeedNoFilter() { _output.SetLength(0); _image.SaveAsPng(_output, new PngEncoder { CompressionLevel = PngCompressionLevel.BestSpeed, FilterMethod = PngFilterMethod.None }); return _output.Length; }
    /// <summary>The product default: public overload, level 1 = Up filter + zlib RLE strategy.</summary>
    [Benchmark] public long Ours_Default() { _output.SetLength(0); PngWriter.Write(_output, _samples, 320, 320, 3, 8); return _output.Length; }
    [Benchmark] public long Ours_L1_Up() => Encode(1, PngFilter.Up);
    [Benchmark] public long Ours_L6_Up() => Encode(6, PngFilter.Up);
    [Benchmark] public long Ours_L1_None() => Encode(1, PngFilter.None);
    [Benchmark] public long Ours_L1_Sub() => Encode(1, PngFilter.Sub);
    [Benchmark] public long Ours_L1_Paeth() => Encode(1, PngFilter.Paeth);
    [Benchmark] public long Ours_L1_Adaptive() => Encode(1, PngFilter.Adaptive);
    [Benchmark] public long Ours_L2_Up() => Encode(2, PngFilter.Up);
    [Benchmark] public long Ours_L1_Up_Rle() => Encode(1, PngFilter.Up, ZLibCompressionStrategy.RunLengthEncoding);
}
