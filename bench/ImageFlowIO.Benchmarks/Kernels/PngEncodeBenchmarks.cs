using System.IO.Compression;
using BenchmarkDotNet.Attributes;
using ImageFlowIO.Output;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Benchmarks.Kernels;

/// <summary>
/// PNG encoding of a 320×320 8-bit RGB image: our PngWriter (native zlib) per level and filter vs ImageSharp 2.1's
/// managed encoder at its default and at BestSpeed. Sizes per variant: `-- png-sizes`. <see cref="Level1Benchmarks"/>: the
/// level-1 strategy choice on a photo and on what the end-to-end benchmark writes (conv3's output).
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

/// <summary>
/// Level 1 (the product's default) on a photo and on conv3's output (the end-to-end benchmark's PNGs): run-length and
/// Huffman-only coding of the Up-filtered rows, the product's per-image choice between them (<c>Default</c>), and the
/// choice's own cost (<c>Estimate</c>).
/// </summary>
[MemoryDiagnoser, MinColumn]
public class Level1Benchmarks
{
    private byte[] _samples = [];
    private readonly MemoryStream _output = new(1 << 20);

    /// <summary>The astronaut photo, or conv3's output for a sample photo stretched to 320² (astronaut: run-length codes it 2.4% shorter; hubble: Huffman-only 0.5%).</summary>
    [Params("photo", "conv3-astronaut", "conv3-hubble_deep_field")] public string Image { get; set; } = "photo";

    [GlobalSetup]
    public void Setup()
    {
        if (Image == "photo") { using var photo = BenchAssets.Photo320(); _samples = BenchAssets.Samples(photo); }
        else _samples = BenchAssets.Conv3Output320(Image["conv3-".Length..] + ".jpg");
        Console.WriteLine($"// {Image}: run-length {Rle()} bytes, Huffman-only {Huffman()} bytes, default picks {Estimate()}");
    }

    private long Encode(ZLibCompressionStrategy strategy)
    {
        _output.SetLength(0);
        PngWriter.Write(_output, _samples, 320, 320, 3, 8, 1, PngFilter.Up, strategy);
        return _output.Length;
    }

    [Benchmark(Baseline = true)] public long Rle() => Encode(ZLibCompressionStrategy.RunLengthEncoding);
    [Benchmark] public long Huffman() => Encode(ZLibCompressionStrategy.HuffmanOnly);
    [Benchmark] public long Default() { _output.SetLength(0); PngWriter.Write(_output, _samples, 320, 320, 3, 8); return _output.Length; }
    [Benchmark] public ZLibCompressionStrategy Estimate() => PngWriter.Level1Strategy(_samples, 320 * 3, 320, 3);
}
