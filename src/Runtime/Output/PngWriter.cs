using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Numerics;

namespace ImageFlowIO.Output;

/// <summary>
/// A small PNG encoder over the native zlib behind System.IO.Compression: 8- or 16-bit gray, gray+alpha, RGB, RGBA.
/// ImageSharp 2.x deflates in managed code (≈45 ms per 320² image); this is several times faster at equal validity.
/// </summary>
internal static class PngWriter
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// Writes interleaved samples (<paramref name="channels"/> per pixel, big-endian for 16-bit) as a PNG.
    /// <paramref name="compressionLevel"/> is zlib's 0-9; the Up filter is used for every row (cheap, and it helps photos).
    /// </summary>
    /// <remarks>
    /// Level 1 keeps dynamic Huffman codes, with zlib's run-length strategy where the image's runs pay for their matches
    /// (photos, masks: about 19% smaller than zlib-ng's level 1 at its speed) and Huffman codes alone where they do not
    /// (noise-like model outputs: smaller still, and a third faster), as <see cref="Level1Strategy"/> estimates from a
    /// sample of rows (bench/README.md, png-sizes). Other levels use the default strategy.
    /// </remarks>
    public static void Write(Stream output, ReadOnlySpan<byte> samples, int width, int height, int channels, int bitDepth, int compressionLevel = 1)
        => Write(output, samples, width, height, channels, bitDepth, compressionLevel, PngFilter.Up,
            compressionLevel == 1 ? Level1Strategy(samples, width * channels * (bitDepth / 8), height, channels * (bitDepth / 8)) : ZLibCompressionStrategy.Default);

    /// <summary>Rows <see cref="Level1Strategy"/> reads, evenly spaced (all 24 benchmark images decide alike from every 8th to every 32nd of 320).</summary>
    private const int SampleRows = 16;

    /// <summary>
    /// Run-length or Huffman-only for level 1, by which codes the Up-filtered image shorter: a byte histogram gives each value's Huffman cost (−log2 p bits, at least 1) from <see cref="SampleRows"/> rows; each run of 4 or more equal bytes saves its repeats'
    /// cost and pays about 10 bits for the match (length and distance codes). Runs pay: run-length; else Huffman codes
    /// alone. On the benchmark's photos and conv3 outputs this picks the smaller of the two for all 24 images.
    /// </summary>
    internal static ZLibCompressionStrategy Level1Strategy(ReadOnlySpan<byte> samples, int stride, int height, int bpp)
    {
        const double MatchBits = 10;
        if (stride == 0 || height == 0) return ZLibCompressionStrategy.RunLengthEncoding;
        Span<int> histogram = stackalloc int[256];
        Span<int> repeats = stackalloc int[256]; // bytes a match would cover, per value
        histogram.Clear();
        repeats.Clear();
        var line = ArrayPool<byte>.Shared.Rent(stride + 1);
        long total = 0, matches = 0, longMatchBits = 0;
        try
        {
            var step = Math.Max(1, height / SampleRows);
            for (var y = 0; y < height; y += step)
            {
                var row = line.AsSpan(0, stride + 1);
                FilterRow(PngFilter.Up, samples.Slice(y * stride, stride), y == 0 ? ReadOnlySpan<byte>.Empty : samples.Slice((y - 1) * stride, stride), bpp, row);
                total += row.Length;
                var run = 1;
                histogram[row[0]]++;
                for (var i = 1; i <= row.Length; i++)
                {
                    if (i < row.Length)
                    {
                        histogram[row[i]]++;
                        if (row[i] == row[i - 1]) { run++; continue; }
                    }
                    if (run >= 4)
                    {
                        repeats[row[i - 1]] += run - 1;
                        matches++;
                        longMatchBits += run > 35 ? 4 : run > 11 ? 2 : 0; // extra length bits
                    }
                    run = 1;
                }
            }
        }
        finally { ArrayPool<byte>.Shared.Return(line); }
        double saved = 0;
        for (var v = 0; v < 256; v++)
            if (repeats[v] > 0) saved += repeats[v] * Math.Max(1, Math.Log2((double)total / histogram[v])); // a Huffman code is at least 1 bit
        return saved > matches * MatchBits + longMatchBits ? ZLibCompressionStrategy.RunLengthEncoding : ZLibCompressionStrategy.HuffmanOnly;
    }

    /// <summary>As the public overload, with the row filter chosen (benchmarks compare them; Up is the product's choice).</summary>
    internal static void Write(Stream output, ReadOnlySpan<byte> samples, int width, int height, int channels, int bitDepth, int compressionLevel, PngFilter filter,
        ZLibCompressionStrategy strategy = ZLibCompressionStrategy.Default)
    {
        if (bitDepth is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(bitDepth));
        var colorType = channels switch { 1 => (byte)0, 2 => (byte)4, 3 => (byte)2, 4 => (byte)6, _ => throw new ArgumentOutOfRangeException(nameof(channels)) };
        var stride = width * channels * (bitDepth / 8);
        if (samples.Length != stride * height) throw new ArgumentException("sample count does not match the image size", nameof(samples));

        output.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = colorType;
        ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
        WriteChunk(output, "IHDR"u8, ihdr);

        var idat = new ChunkStream(output, "IDAT"u8);
        using (var z = new ZLibStream(idat, new ZLibCompressionOptions { CompressionLevel = Math.Clamp(compressionLevel, 0, 9), CompressionStrategy = strategy }, leaveOpen: true))
        {
            var bpp = channels * (bitDepth / 8);
            // Filtered rows are batched so zlib sees few large writes (each Write crosses into native code).
            var rowsPerBatch = Math.Clamp(64 * 1024 / (stride + 1), 1, height);
            var batch = ArrayPool<byte>.Shared.Rent(rowsPerBatch * (stride + 1));
            var scratch = filter == PngFilter.Adaptive ? ArrayPool<byte>.Shared.Rent(4 * (stride + 1)) : null;
            try
            {
                var filled = 0;
                for (var y = 0; y < height; y++)
                {
                    var cur = samples.Slice(y * stride, stride);
                    var prev = y == 0 ? ReadOnlySpan<byte>.Empty : samples.Slice((y - 1) * stride, stride);
                    var line = batch.AsSpan(filled * (stride + 1), stride + 1);
                    FilterRow(filter, cur, prev, bpp, line, scratch);
                    if (++filled == rowsPerBatch || y == height - 1)
                    {
                        z.Write(batch, 0, filled * (stride + 1));
                        filled = 0;
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(batch);
                if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
            }
        }
        idat.Complete();
        WriteChunk(output, "IEND"u8, ReadOnlySpan<byte>.Empty);
    }

    /// <summary>Writes the filter type byte and the filtered row into <paramref name="line"/> (length stride + 1).</summary>
    internal static void FilterRow(PngFilter filter, ReadOnlySpan<byte> cur, ReadOnlySpan<byte> prev, int bpp, Span<byte> line, byte[]? scratch = null)
    {
        // The first row has nothing above it: Up and Paeth degrade to None and Sub there; Sub is the better of those.
        if (prev.IsEmpty && filter is PngFilter.Up or PngFilter.Paeth or PngFilter.Adaptive) filter = PngFilter.Sub;
        var dst = line[1..];
        switch (filter)
        {
            case PngFilter.None:
                line[0] = 0;
                cur.CopyTo(dst);
                break;
            case PngFilter.Sub:
                line[0] = 1;
                SubtractVectorised(cur[bpp..], cur, dst[bpp..]);
                cur[..bpp].CopyTo(dst);
                break;
            case PngFilter.Up:
                line[0] = 2;
                SubtractVectorised(cur, prev, dst);
                break;
            case PngFilter.Paeth:
                line[0] = 4;
                PaethRow(cur, prev, bpp, dst);
                break;
            case PngFilter.Adaptive:
            {
                // libpng's heuristic: the candidate whose bytes, read as signed, have the smallest absolute sum.
                var stride = cur.Length;
                var best = PngFilter.None;
                var bestScore = long.MaxValue;
                Span<PngFilter> candidates = [PngFilter.None, PngFilter.Sub, PngFilter.Up, PngFilter.Paeth];
                for (var k = 0; k < candidates.Length; k++)
                {
                    var candidate = scratch.AsSpan(k * (stride + 1), stride + 1);
                    FilterRow(candidates[k], cur, prev, bpp, candidate);
                    var score = SignedAbsSum(candidate[1..]);
                    if (score < bestScore) { bestScore = score; best = candidates[k]; }
                }
                scratch.AsSpan(Array.IndexOf([PngFilter.None, PngFilter.Sub, PngFilter.Up, PngFilter.Paeth], best) * (stride + 1), stride + 1).CopyTo(line);
                break;
            }
            default: throw new ArgumentOutOfRangeException(nameof(filter));
        }
    }

    private static void SubtractVectorised(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> dst)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var n = Vector<byte>.Count;
            for (; i + n <= a.Length; i += n) (new Vector<byte>(a[i..]) - new Vector<byte>(b[i..])).CopyTo(dst[i..]);
        }
        for (; i < a.Length; i++) dst[i] = (byte)(a[i] - b[i]);
    }

    private static void PaethRow(ReadOnlySpan<byte> cur, ReadOnlySpan<byte> prev, int bpp, Span<byte> dst)
    {
        for (var i = 0; i < bpp; i++) dst[i] = (byte)(cur[i] - prev[i]);
        for (var i = bpp; i < cur.Length; i++)
        {
            int a = cur[i - bpp], b = prev[i], c = prev[i - bpp];
            int pa = Math.Abs(b - c), pb = Math.Abs(a - c), pc = Math.Abs(a + b - 2 * c);
            var predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            dst[i] = (byte)(cur[i] - predictor);
        }
    }

    private static long SignedAbsSum(ReadOnlySpan<byte> filtered)
    {
        long sum = 0;
        foreach (var v in filtered) sum += Math.Abs((int)(sbyte)v);
        return sum;
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        type.CopyTo(header[4..]);
        output.Write(header);
        output.Write(data);
        var crc = new Crc32();
        crc.Append(type);
        crc.Append(data);
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc.GetCurrentHashAsUInt32());
        output.Write(crcBytes);
    }

    /// <summary>Buffers deflate output and emits it as IDAT chunks of up to 256 KiB (pooled: a fresh one per image would land on the LOH).</summary>
    private sealed class ChunkStream(Stream output, ReadOnlySpan<byte> type) : Stream
    {
        private const int ChunkSize = 256 * 1024;
        private readonly byte[] _type = type.ToArray();
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        private int _count;
        private bool _wroteAny;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (!buffer.IsEmpty)
            {
                var n = Math.Min(buffer.Length, ChunkSize - _count);
                buffer[..n].CopyTo(_buffer.AsSpan(_count));
                _count += n;
                buffer = buffer[n..];
                if (_count == ChunkSize) FlushChunk();
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        private void FlushChunk()
        {
            WriteChunk(output, _type, _buffer.AsSpan(0, _count));
            _count = 0;
            _wroteAny = true;
        }

        /// <summary>Writes the last chunk and returns the buffer to the pool.</summary>
        public void Complete()
        {
            if (_count > 0 || !_wroteAny) FlushChunk();
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

/// <summary>PNG row filters (RFC 2083 §6); Adaptive picks per row as libpng does.</summary>
internal enum PngFilter
{
    None,
    Sub,
    Up,
    Paeth,
    Adaptive,
}
