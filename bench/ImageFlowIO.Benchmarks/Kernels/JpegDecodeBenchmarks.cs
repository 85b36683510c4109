using System.Buffers;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SkiaSharp;

namespace ImageFlowIO.Benchmarks.Kernels;

/// <summary>
/// JPEG decoders served here against ImageSharp 2.1's (the product's), a 640×480 photo to interleaved RGB24:
/// SkiaSharp (libjpeg-turbo) at full size and at a DCT scale (6/8 = 480×360, the smallest that still covers the
/// end-to-end config's 320×320; 4/8 = 320×240 for scale), and NetVips (libvips, also libjpeg-turbo) on one thread.
/// Measured, not adopted (docs/performance.md, issue 25 round five). The setup prints each decoder's pixels against
/// ImageSharp's (<see cref="JpegDiff"/>; also <c>-- jpeg-diff</c>).
/// </summary>
[MemoryDiagnoser, MinColumn]
public class JpegDecodeBenchmarks
{
    private byte[] _jpeg = [];

    [GlobalSetup]
    public void Setup()
    {
        _jpeg = BenchAssets.Jpeg640x480();
        JpegDiff.ConfigureVips();
        JpegDiff.Print([("bench photo", _jpeg)]);
    }

    [Benchmark(Baseline = true)]
    public int ImageSharp()
    {
        using var image = Image.Load<Rgb24>(_jpeg);
        return image.Width;
    }

    [Benchmark]
    public int SkiaFull() => Rent(JpegDiff.SkiaRgb24(_jpeg, 1f, out var w, out _), w);

    [Benchmark]
    public int SkiaScale6of8() => Rent(JpegDiff.SkiaRgb24(_jpeg, 0.75f, out var w, out _), w);

    [Benchmark]
    public int SkiaScale4of8() => Rent(JpegDiff.SkiaRgb24(_jpeg, 0.5f, out var w, out _), w);

    [Benchmark]
    public int NetVipsOneThread() => Rent(JpegDiff.VipsRgb24(_jpeg, out var w, out _), w);

    private static int Rent(byte[] pooled, int width)
    {
        ArrayPool<byte>.Shared.Return(pooled);
        return width;
    }
}

/// <summary>
/// <c>-- jpeg-diff</c>: each decoder's RGB24 against ImageSharp's for the bench photo and the 8 sample photos at 640×480:
/// max and mean |difference| per 8-bit sample and the share of samples that differ. A DCT-scaled decode is compared with
/// ImageSharp's decode box-resized to the same size (the nearest equivalent; a scaled IDCT is not a box filter).
/// <c>-- jpeg-diff --time N</c> then decodes the bench photo N times per decoder, the decoders interleaved, and prints the
/// fastest and the median per decoder: robust on a shared machine where BenchmarkDotNet's short job is noisy.
/// <c>-- jpeg-diff --faults</c> prints what each decoder does with a truncated and a corrupt JPEG (the inputs behind
/// IFIO2007 and IFIO2008), and with a header claiming more pixels than it holds.
/// </summary>
internal static class JpegDiff
{
    public static int Run(string[] args)
    {
        ConfigureVips();
        if (args.Length == 2 && args[0] == "--time") return Time(int.Parse(args[1]));
        if (args.FirstOrDefault() == "--faults") return Faults();
        var inputs = new List<(string, byte[])> { ("bench photo", BenchAssets.Jpeg640x480()) };
        foreach (var path in Directory.GetFiles(BenchAssets.PhotoFolder, "*.jpg").Order())
            inputs.Add((Path.GetFileName(path), ResizeDiff.Photo640x480(path)));
        Print(inputs);
        return 0;
    }

    private static int Time(int rounds)
    {
        var jpeg = BenchAssets.Jpeg640x480();
        var decoders = new (string Name, Func<int> Decode)[]
        {
            ("ImageSharp 2.1", () => { using var image = Image.Load<Rgb24>(jpeg); return image.Width; }),
            ("SkiaSharp full", () => Returned(SkiaRgb24(jpeg, 1f, out var w, out _), w)),
            ("SkiaSharp 6/8", () => Returned(SkiaRgb24(jpeg, 0.75f, out var w, out _), w)),
            ("SkiaSharp 4/8", () => Returned(SkiaRgb24(jpeg, 0.5f, out var w, out _), w)),
            ("NetVips 1 thread", () => Returned(VipsRgb24(jpeg, out var w, out _), w)),
            // What the RGBA → RGB24 step and libvips's defaults cost, for the decision (not benchmarks of their own).
            ("SkiaSharp full RGBA", () => Returned(SkiaRgb24(jpeg, 1f, out var w, out _, rgbaOnly: true), w)),
            ("NetVips default", () => { NetVips.NetVips.Concurrency = Environment.ProcessorCount; try { return Returned(VipsRgb24(jpeg, out var w, out _), w); } finally { NetVips.NetVips.Concurrency = 1; } }),
        };
        var times = decoders.Select(_ => new List<double>()).ToArray();
        for (var round = -3; round < rounds; round++)
            for (var d = 0; d < decoders.Length; d++)
            {
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                decoders[d].Decode();
                if (round >= 0) times[d].Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        var baseline = times[0].Min();
        Console.WriteLine($"{"decoder",-18} {"min µs",8} {"median µs",10} {"min vs ImageSharp",18}   ({rounds} rounds, interleaved; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        for (var d = 0; d < decoders.Length; d++)
        {
            var sorted = times[d].Order().ToList();
            Console.WriteLine($"{decoders[d].Name,-18} {sorted[0],8:F0} {sorted[sorted.Count / 2],10:F0} {sorted[0] / baseline,17:F2}x");
        }
        return 0;
    }

    private static int Faults()
    {
        var jpeg = BenchAssets.Jpeg640x480();
        var truncated = jpeg[..(jpeg.Length / 2)];
        var corrupt = (byte[])jpeg.Clone();
        // Scan data after the headers: overwrite 64 bytes in the middle with 0xFF 0x00 stuffing breakers and noise.
        var random = new Random(7);
        for (var i = jpeg.Length / 2; i < jpeg.Length / 2 + 64; i++) corrupt[i] = (byte)random.Next(256);
        foreach (var (label, bytes) in new[] { ("truncated (first half)", truncated), ("corrupt (64 bytes of noise mid-scan)", corrupt) })
        {
            Console.WriteLine(label + ":");
            Console.WriteLine("  ImageSharp 2.1: " + Outcome(() => { using var image = Image.Load<Rgb24>(bytes); return $"decoded {image.Width}×{image.Height}, no error"; }));
            Console.WriteLine("  SkiaSharp:      " + Outcome(() =>
            {
                using var data = SKData.CreateCopy(bytes);
                using var codec = SKCodec.Create(data);
                if (codec is null) return "SKCodec.Create returned null";
                var pixels = new byte[codec.Info.Width * codec.Info.Height * 4];
                unsafe { fixed (byte* p = pixels) return "GetPixels: " + codec.GetPixels(new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Opaque), (IntPtr)p); }
            }));
            Console.WriteLine("  NetVips:        " + Outcome(() => { var p = VipsRgb24(bytes, out var w, out var h); ArrayPool<byte>.Shared.Return(p); return $"decoded {w}×{h}, no error"; }));
            Console.WriteLine("  NetVips fail_on=warning: " + Outcome(() =>
            {
                using var image = NetVips.Image.NewFromBuffer(bytes, access: NetVips.Enums.Access.Sequential, failOn: NetVips.Enums.FailOn.Warning);
                var memory = image.WriteToMemory(out _);
                NetVips.NetVips.Free(memory);
                return $"decoded {image.Width}×{image.Height}, no error";
            }));
        }
        return 0;
    }

    private static string Outcome(Func<string> decode)
    {
        try { return decode(); }
        catch (Exception ex) { return $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}"; }
    }

    private static int Returned(byte[] pooled, int width)
    {
        ArrayPool<byte>.Shared.Return(pooled);
        return width;
    }

    /// <summary>libvips on one thread and without its operation cache (a cache hit would skip the decode being measured).</summary>
    public static void ConfigureVips()
    {
        NetVips.Cache.Max = 0;
        NetVips.NetVips.Concurrency = 1;
    }

    public static void Print(IReadOnlyList<(string Name, byte[] Jpeg)> inputs)
    {
        Console.WriteLine($"// jpeg-diff: |decoder − ImageSharp 2.1| per 8-bit RGB sample over {inputs.Count} JPEG(s) at 640×480");
        Console.WriteLine($"// {"decoder",-22} {"size",-8} {"max",4} {"mean",7} {"differing",10}");
        foreach (var (label, scale) in new[] { ("SkiaSharp full", 1f), ("SkiaSharp 6/8", 0.75f), ("SkiaSharp 4/8", 0.5f), ("NetVips", 0f) })
        {
            int max = 0, width = 0, height = 0;
            long sum = 0, count = 0, differing = 0;
            foreach (var (_, jpeg) in inputs)
            {
                var pixels = scale == 0f ? VipsRgb24(jpeg, out width, out height) : SkiaRgb24(jpeg, scale, out width, out height);
                using var reference = Image.Load<Rgb24>(jpeg);
                if (reference.Width != width) reference.Mutate(x => x.Resize(width, height, KnownResamplers.Box));
                var expected = new byte[width * height * 3];
                reference.CopyPixelDataTo(expected);
                for (var i = 0; i < expected.Length; i++)
                {
                    var d = Math.Abs(pixels[i] - expected[i]);
                    (max, sum) = (Math.Max(max, d), sum + d);
                    if (d != 0) differing++;
                }
                count += expected.Length;
                ArrayPool<byte>.Shared.Return(pixels);
            }
            Console.WriteLine($"// {label,-22} {width + "×" + height,-8} {max,4} {(double)sum / count,7:F3} {100.0 * differing / count,9:F1}%");
        }
    }

    /// <summary>
    /// SkiaSharp (libjpeg-turbo) decode at <paramref name="scale"/> (libjpeg-turbo's n/8 DCT scaling) into a pooled RGB24
    /// buffer: Skia has no 3-byte colour type, so it decodes to RGBA and ImageSharp's SIMD converter drops the alpha.
    /// </summary>
    public static byte[] SkiaRgb24(byte[] jpeg, float scale, out int width, out int height, bool rgbaOnly = false)
    {
        using var data = SKData.CreateCopy(jpeg);
        using var codec = SKCodec.Create(data) ?? throw new InvalidOperationException("SkiaSharp cannot read the JPEG");
        var size = scale == 1f ? codec.Info.Size : codec.GetScaledDimensions(scale);
        (width, height) = (size.Width, size.Height);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var rgba = ArrayPool<byte>.Shared.Rent(width * height * 4);
        var rgb = ArrayPool<byte>.Shared.Rent(width * height * 3);
        try
        {
            unsafe
            {
                fixed (byte* p = rgba)
                {
                    var result = codec.GetPixels(info, (IntPtr)p);
                    if (result != SKCodecResult.Success) throw new InvalidOperationException("SkiaSharp decode: " + result);
                }
            }
            if (!rgbaOnly) PixelOperations<Rgba32>.Instance.ToRgb24(Configuration.Default,
                MemoryMarshal.Cast<byte, Rgba32>(rgba.AsSpan(0, width * height * 4)), MemoryMarshal.Cast<byte, Rgb24>(rgb.AsSpan(0, width * height * 3)));
        }
        finally { ArrayPool<byte>.Shared.Return(rgba); }
        return rgb;
    }

    /// <summary>NetVips (libvips + libjpeg-turbo) decode into a pooled RGB24 buffer (a colour JPEG loads as 3 uchar bands).</summary>
    public static byte[] VipsRgb24(byte[] jpeg, out int width, out int height)
    {
        using var image = NetVips.Image.NewFromBuffer(jpeg, access: NetVips.Enums.Access.Sequential);
        if (image.Bands != 3 || image.Format != NetVips.Enums.BandFormat.Uchar) throw new InvalidOperationException($"libvips gave {image.Bands} bands of {image.Format}");
        (width, height) = (image.Width, image.Height);
        // libvips writes into its own buffer (g_malloc); copying it into the pooled one costs a memcpy of 0.9 MB.
        var memory = image.WriteToMemory(out var size);
        try
        {
            if (size != (ulong)(width * height * 3)) throw new InvalidOperationException($"libvips gave {size} bytes");
            var rgb = ArrayPool<byte>.Shared.Rent(width * height * 3);
            Marshal.Copy(memory, rgb, 0, width * height * 3);
            return rgb;
        }
        finally { NetVips.NetVips.Free(memory); }
    }
}
