using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace ImageFlowIO.Output;

/// <summary>
/// A small PNG encoder over the native zlib behind System.IO.Compression: 8- or 16-bit gray, gray+alpha, RGB, RGBA.
/// ImageSharp 2.x deflates in managed code (≈45 ms per 320² image); this is several times faster at equal validity.
/// </summary>
public static class PngWriter
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// Writes interleaved samples (<paramref name="channels"/> per pixel, big-endian for 16-bit) as a PNG.
    /// <paramref name="compressionLevel"/> is zlib's 0-9; the Up filter is used for every row (cheap, and it helps photos).
    /// </summary>
    public static void Write(Stream output, ReadOnlySpan<byte> samples, int width, int height, int channels, int bitDepth, int compressionLevel = 1)
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
        using (var z = new ZLibStream(idat, new ZLibCompressionOptions { CompressionLevel = Math.Clamp(compressionLevel, 0, 9), CompressionStrategy = ZLibCompressionStrategy.Default }, leaveOpen: true))
        {
            var bpp = channels * (bitDepth / 8);
            var row = ArrayPool<byte>.Shared.Rent(stride + 1);
            try
            {
                for (var y = 0; y < height; y++)
                {
                    var cur = samples.Slice(y * stride, stride);
                    var line = row.AsSpan(0, stride + 1);
                    if (y == 0)
                    {
                        // Sub filter on the first row (no row above for Up).
                        line[0] = 1;
                        cur[..bpp].CopyTo(line[1..]);
                        for (var i = bpp; i < stride; i++) line[1 + i] = (byte)(cur[i] - cur[i - bpp]);
                    }
                    else
                    {
                        line[0] = 2;
                        var prev = samples.Slice((y - 1) * stride, stride);
                        var dst = line[1..];
                        var i = 0;
                        if (System.Numerics.Vector.IsHardwareAccelerated)
                        {
                            var n = System.Numerics.Vector<byte>.Count;
                            for (; i + n <= stride; i += n)
                                (new System.Numerics.Vector<byte>(cur[i..]) - new System.Numerics.Vector<byte>(prev[i..])).CopyTo(dst[i..]);
                        }
                        for (; i < stride; i++) dst[i] = (byte)(cur[i] - prev[i]);
                    }
                    z.Write(line);
                }
            }
            finally { ArrayPool<byte>.Shared.Return(row); }
        }
        idat.Complete();
        WriteChunk(output, "IEND"u8, ReadOnlySpan<byte>.Empty);
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

    /// <summary>Buffers deflate output and emits it as IDAT chunks of up to 256 KiB.</summary>
    private sealed class ChunkStream(Stream output, ReadOnlySpan<byte> type) : Stream
    {
        private const int ChunkSize = 256 * 1024;
        private readonly byte[] _type = type.ToArray();
        private readonly byte[] _buffer = new byte[ChunkSize];
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

        public void Complete()
        {
            if (_count > 0 || !_wroteAny) FlushChunk();
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
