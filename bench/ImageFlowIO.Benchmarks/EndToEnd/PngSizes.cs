using System.Diagnostics;
using System.IO.Compression;
using ImageFlowIO.Output;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Benchmarks.EndToEnd;

/// <summary>
/// `-- png-sizes`: for every PNG encoder variant, the mean size and a quick time over the sample photos at
/// 320×320, the fastest of 15 runs per photo (robust on a shared machine), each output checked to decode (ImageSharp) to the exact input pixels. BenchmarkDotNet gives the careful
/// times; this gives the size side of the trade. `--pngs DIR` takes the first 16 8-bit RGB PNGs of a folder instead (a
/// model's outputs, e.g. the conv3 benchmark's, whose statistics differ from a photo's).
/// </summary>
internal static class PngSizes
{
    public static int Run(string[] args)
    {
        var pngs = args.Length >= 2 && args[0] == "--pngs" ? args[1] : null;
        var files = pngs is null
            ? Directory.GetFiles(BenchAssets.PhotoFolder, "*.jpg").Order(StringComparer.Ordinal).ToArray()
            : Directory.GetFiles(pngs, "*.png").Order(StringComparer.Ordinal).Take(16).ToArray();
        var inputs = files.Select(p =>
        {
            using var image = Image.Load<Rgb24>(p);
            if (pngs is null) image.Mutate(x => x.Resize(320, 320));
            else if (image.Width != 320 || image.Height != 320) throw new InvalidOperationException($"{p}: expected 320×320");
            return BenchAssets.Samples(image);
        }).ToArray();

        var variants = new List<(string Name, Func<byte[], byte[]> Encode)>
        {
            ("ours default (level 1)", s => { using var ms = new MemoryStream(); PngWriter.Write(ms, s, 320, 320, 3, 8); return ms.ToArray(); }),
            ("ImageSharp default", s => ImageSharpEncode(s, new PngEncoder())),
            ("ImageSharp BestSpeed", s => ImageSharpEncode(s, new PngEncoder { CompressionLevel = PngCompressionLevel.BestSpeed })),
        };
        foreach (var level in new[] { 1, 2, 3, 6 })
            foreach (var filter in Enum.GetValues<PngFilter>())
                variants.Add(($"ours L{level} {filter}", s => Ours(s, level, filter, ZLibCompressionStrategy.Default)));
        foreach (var filter in Enum.GetValues<PngFilter>())
        {
            variants.Add(($"ours L1 {filter} RLE", s => Ours(s, 1, filter, ZLibCompressionStrategy.RunLengthEncoding)));
            variants.Add(($"ours L1 {filter} Huffman", s => Ours(s, 1, filter, ZLibCompressionStrategy.HuffmanOnly)));
        }
        variants.Add(("ours L6 Up RLE", s => Ours(s, 6, PngFilter.Up, ZLibCompressionStrategy.RunLengthEncoding)));
        variants.Add(("ours L1 Up Filtered", s => Ours(s, 1, PngFilter.Up, ZLibCompressionStrategy.Filtered)));
        foreach (var filter in new[] { PngFilter.None, PngFilter.Up })
            variants.Add(($"ours L0 {filter} (stored)", s => Ours(s, 0, filter, ZLibCompressionStrategy.Default)));

        Console.WriteLine($"{inputs.Length} {(pngs is null ? "photos" : "images of " + pngs)} at 320×320 RGB8 ({inputs[0].Length} raw bytes each)");
        Console.WriteLine($"| {"variant",-24} | {"mean bytes",10} | {"ratio",6} | {"  min ms",9} |");
        Console.WriteLine($"|{new string('-', 26)}|{new string('-', 12)}|{new string('-', 8)}|{new string('-', 11)}|");
        Console.WriteLine("level 1 strategy per image (PngWriter.Level1Strategy): " + string.Join(" ", inputs.Select(i => PngWriter.Level1Strategy(i, 320 * 3, 320, 3) == ZLibCompressionStrategy.RunLengthEncoding ? "RLE" : "Huffman")));
        foreach (var (_, encode) in variants) encode(inputs[0]); // JIT every variant before timing any
        foreach (var (name, encode) in variants)
        {
            long total = 0;
            var times = new List<double>();
            foreach (var samples in inputs)
            {
                var png = encode(samples);
                total += png.Length;
                Verify(png, samples, name);
                for (var rep = 0; rep < 15; rep++)
                {
                    var t = Stopwatch.GetTimestamp();
                    encode(samples);
                    times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }
            }
            times.Sort();
            var mean = total / inputs.Length;
            Console.WriteLine($"| {name,-24} | {mean,10} | {(double)mean / inputs[0].Length,6:F3} | {times[0],9:F2} |");
        }
        if (pngs is not null) WholeFolder(pngs);
        return 0;
    }

    /// <summary>Level 1 over every PNG of the folder: how often the default picks each strategy, and the total bytes of each.</summary>
    private static void WholeFolder(string folder)
    {
        long picked = 0, rle = 0, huffman = 0;
        var huffmanPicks = 0;
        var files = Directory.GetFiles(folder, "*.png");
        foreach (var file in files)
        {
            using var image = Image.Load<Rgb24>(file);
            var samples = BenchAssets.Samples(image);
            var (w, h) = (image.Width, image.Height);
            using var ms = new MemoryStream();
            PngWriter.Write(ms, samples, w, h, 3, 8);
            picked += ms.Length;
            if (PngWriter.Level1Strategy(samples, w * 3, h, 3) == ZLibCompressionStrategy.HuffmanOnly) huffmanPicks++;
            ms.SetLength(0); PngWriter.Write(ms, samples, w, h, 3, 8, 1, PngFilter.Up, ZLibCompressionStrategy.RunLengthEncoding); rle += ms.Length;
            ms.SetLength(0); PngWriter.Write(ms, samples, w, h, 3, 8, 1, PngFilter.Up, ZLibCompressionStrategy.HuffmanOnly); huffman += ms.Length;
        }
        Console.WriteLine($"all {files.Length} PNGs, level 1: the default picks Huffman-only for {huffmanPicks}; total bytes default {picked}, run-length {rle}, Huffman-only {huffman}");
    }

    private static byte[] Ours(byte[] samples, int level, PngFilter filter, ZLibCompressionStrategy strategy)
    {
        using var ms = new MemoryStream();
        PngWriter.Write(ms, samples, 320, 320, 3, 8, level, filter, strategy);
        return ms.ToArray();
    }

    private static byte[] ImageSharpEncode(byte[] samples, PngEncoder encoder)
    {
        using var image = Image.LoadPixelData<Rgb24>(samples, 320, 320);
        using var ms = new MemoryStream();
        image.SaveAsPng(ms, encoder);
        return ms.ToArray();
    }

    private static void Verify(byte[] png, byte[] samples, string name)
    {
        using var decoded = Image.Load<Rgb24>(png);
        var actual = BenchAssets.Samples(decoded);
        if (!actual.AsSpan().SequenceEqual(samples)) throw new InvalidOperationException($"{name}: the PNG does not decode to its input");
    }
}
