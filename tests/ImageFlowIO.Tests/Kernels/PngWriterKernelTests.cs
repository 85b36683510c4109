using System.Buffers.Binary;
using System.IO.Compression;
using ImageFlowIO.Output;
using ImageFlowIO.Postprocessing;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Tests.Kernels;

/// <summary>PngWriter's output decodes (ImageSharp) to exactly the samples written, for every format, filter and odd size.</summary>
public class PngWriterKernelTests
{
    public static TheoryData<int, int, int, int> Formats()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (var bitDepth in new[] { 8, 16 })
            foreach (var channels in new[] { 1, 2, 3, 4 })
                foreach (var (w, h) in new[] { (1, 1), (17, 5), (33, 31) })
                    data.Add(bitDepth, channels, w, h);
        return data;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Default_writer_round_trips(int bitDepth, int channels, int width, int height)
    {
        var samples = Samples(width, height, channels, bitDepth, seed: width * 31 + channels);
        var png = Encode(s => PngWriter.Write(s, samples, width, height, channels, bitDepth));
        Assert.Equal(Expected(samples, width, height, channels, bitDepth), Decode(png));
    }

    public static TheoryData<string, int, ZLibCompressionStrategy> Variants()
    {
        var data = new TheoryData<string, int, ZLibCompressionStrategy>();
        foreach (var filter in Enum.GetValues<PngFilter>())
            foreach (var level in new[] { 0, 1, 6, 9 })
                data.Add(filter.ToString(), level, ZLibCompressionStrategy.Default);
        data.Add(nameof(PngFilter.Up), 1, ZLibCompressionStrategy.RunLengthEncoding);
        data.Add(nameof(PngFilter.Paeth), 1, ZLibCompressionStrategy.HuffmanOnly);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_filter_and_level_round_trips(string filterName, int level, ZLibCompressionStrategy strategy)
    {
        var filter = Enum.Parse<PngFilter>(filterName);
        foreach (var (bitDepth, channels) in new[] { (8, 3), (8, 4), (16, 1), (16, 3) })
        {
            var samples = Samples(29, 7, channels, bitDepth, seed: level + channels);
            var png = Encode(s => PngWriter.Write(s, samples, 29, 7, channels, bitDepth, level, filter, strategy));
            Assert.Equal(Expected(samples, 29, 7, channels, bitDepth), Decode(png));
        }
    }

    [Fact]
    public void Large_image_spans_several_idat_chunks_and_decodes()
    {
        // Level 0 stores ≈ 1 MiB: more than four 256 KiB IDAT chunks, so chunk boundaries are crossed.
        var samples = Samples(600, 600, 3, 8, seed: 7);
        var png = Encode(s => PngWriter.Write(s, samples, 600, 600, 3, 8, compressionLevel: 0));
        Assert.True(CountChunks(png, "IDAT") >= 4);
        Assert.Equal(Expected(samples, 600, 600, 3, 8), Decode(png));
    }

    [Fact]
    public void Level_one_is_smaller_than_plain_zlib_level_one_on_a_photo_like_image()
    {
        // A smooth gradient with a little noise stands in for a photo: the RLE strategy must pay for itself.
        var random = new Random(5);
        var samples = new byte[200 * 200 * 3];
        for (var i = 0; i < samples.Length; i++) samples[i] = (byte)((i / 3 % 200) + (i / 600) / 2 + random.Next(4));
        var ours = Encode(s => PngWriter.Write(s, samples, 200, 200, 3, 8));
        var plain = Encode(s => PngWriter.Write(s, samples, 200, 200, 3, 8, 1, PngFilter.Up, ZLibCompressionStrategy.Default));
        Assert.True(ours.Length < plain.Length, $"{ours.Length} ≥ {plain.Length}");
        Assert.Equal(Decode(plain), Decode(ours));
    }

    public static TheoryData<string, int, string> Level1Images() => new()
    {
        { "mask", 1, nameof(ZLibCompressionStrategy.RunLengthEncoding) },        // a label map: long runs of cheap bytes still pay
        { "mask", 3, nameof(ZLibCompressionStrategy.RunLengthEncoding) },
        { "noise-like", 3, nameof(ZLibCompressionStrategy.HuffmanOnly) },        // a model output's texture: short runs
    };

    [Theory]
    [MemberData(nameof(Level1Images))]
    public void Level_one_picks_the_strategy_that_codes_the_image_shorter(string kind, int channels, string expected)
    {
        const int w = 240, h = 160;
        var random = new Random(11);
        var samples = new byte[w * h * channels];
        for (var i = 0; i < samples.Length; i++)
        {
            int x = i / channels % w, y = i / channels / w;
            samples[i] = kind == "mask"
                ? (byte)((x / 60 + y / 40) % 3 * 100 + i % channels)
                : (byte)(128 + 40 * Math.Sin(x * 0.3 + i % channels) * Math.Cos(y * 0.2) + random.Next(-12, 13));
        }
        var stride = w * channels;
        Assert.Equal(expected, PngWriter.Level1Strategy(samples, stride, h, channels).ToString());
        var ours = Encode(s => PngWriter.Write(s, samples, w, h, channels, 8));
        var rle = Encode(s => PngWriter.Write(s, samples, w, h, channels, 8, 1, PngFilter.Up, ZLibCompressionStrategy.RunLengthEncoding));
        var huffman = Encode(s => PngWriter.Write(s, samples, w, h, channels, 8, 1, PngFilter.Up, ZLibCompressionStrategy.HuffmanOnly));
        Assert.True(ours.Length == Math.Min(rle.Length, huffman.Length), $"{kind}: default {ours.Length}, run-length {rle.Length}, Huffman-only {huffman.Length}");
        Assert.Equal(Expected(samples, w, h, channels, 8), Decode(ours));
    }

    [Fact]
    public void Vectorised_quantize_equals_scalar_quantize()
    {
        // Odd plane length (tail loop), halfway values (0.5·255 = 127.5 rounds to even), NaN, infinities, out of range.
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0.5f, 1.5f, 0f, 1f, 0.5f, 1.5f / 255f, 2.5f / 255f, 254.5f / 255f, -0f];
        var random = new Random(11);
        var image = new FloatImage(41, 3, 3);
        for (var i = 0; i < image.Data.Length; i++) image.Data[i] = i < special.Length * 3 ? special[i % special.Length] : (float)(random.NextDouble() * 1.2 - 0.1);
        foreach (var channels in new[] { 1, 2, 3 })
            Assert.Equal(ImageFileWriter.QuantizeScalar(image, channels, 8), ImageFileWriter.Quantize8Vectorised(image, channels));
        Assert.Equal(128, ImageFileWriter.Quantize8Vectorised(new FloatImage(1, 1, 1, [0.5f]), 1)[0]);
    }

    private static byte[] Encode(Action<Stream> write)
    {
        using var ms = new MemoryStream();
        write(ms);
        return ms.ToArray();
    }

    private static byte[] Samples(int width, int height, int channels, int bitDepth, int seed)
    {
        // Gradients plus noise: every filter has something to predict, and values cover the full range.
        var random = new Random(seed);
        var bytes = new byte[width * height * channels * bitDepth / 8];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 3 + random.Next(bitDepth == 16 ? 256 : 8));
        return bytes;
    }

    /// <summary>What a decoder must return as RGBA64: gray expands to RGB, a missing alpha is opaque, 8-bit scales by 257.</summary>
    private static ushort[] Expected(byte[] samples, int width, int height, int channels, int bitDepth)
    {
        var result = new ushort[width * height * 4];
        var bytesPerSample = bitDepth / 8;
        for (var p = 0; p < width * height; p++)
        {
            ushort Sample(int c)
            {
                var o = (p * channels + c) * bytesPerSample;
                return bitDepth == 16 ? BinaryPrimitives.ReadUInt16BigEndian(samples.AsSpan(o)) : (ushort)(samples[o] * 257);
            }
            var (r, g, b, a) = channels switch
            {
                1 => (Sample(0), Sample(0), Sample(0), (ushort)65535),
                2 => (Sample(0), Sample(0), Sample(0), Sample(1)),
                3 => (Sample(0), Sample(1), Sample(2), (ushort)65535),
                _ => (Sample(0), Sample(1), Sample(2), Sample(3)),
            };
            result[p * 4] = r; result[p * 4 + 1] = g; result[p * 4 + 2] = b; result[p * 4 + 3] = a;
        }
        return result;
    }

    private static ushort[] Decode(byte[] png)
    {
        using var image = Image.Load<Rgba64>(png);
        var result = new ushort[image.Width * image.Height * 4];
        var i = 0;
        for (var y = 0; y < image.Height; y++)
            for (var x = 0; x < image.Width; x++)
            {
                var p = image[x, y];
                result[i++] = p.R; result[i++] = p.G; result[i++] = p.B; result[i++] = p.A;
            }
        return result;
    }

    private static int CountChunks(byte[] png, string type)
    {
        var count = 0;
        for (var o = 8; o + 8 <= png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(o));
            if (System.Text.Encoding.ASCII.GetString(png, o + 4, 4) == type) count++;
            o += 12 + length;
        }
        return count;
    }
}
