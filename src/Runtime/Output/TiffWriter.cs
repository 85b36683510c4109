using System.Buffers.Binary;
using ImageFlowIO.Postprocessing;

namespace ImageFlowIO.Output;

/// <summary>
/// Writes baseline uncompressed TIFF at every bit depth SPEC §2 lists (1, 2, 4, 8, 16). ImageSharp 2.1's encoder has
/// no 2-bit or 16-bit modes, so this small writer does it: grey at 1/2/4/8/16 bits (colour images become BT.709 luma
/// below 8 bits), RGB and RGBA at 8 or 16 bits per sample, little-endian, one strip.
/// </summary>
internal static class TiffWriter
{
    public static readonly int[] SupportedBitDepths = [1, 2, 4, 8, 16];

    public static void Write(Stream output, FloatImage image, int bitDepth, bool linearToSrgb = false)
    {
        if (Array.IndexOf(SupportedBitDepths, bitDepth) < 0) throw new ArgumentOutOfRangeException(nameof(bitDepth), bitDepth, "TIFF bit depth must be 1, 2, 4, 8 or 16");
        var samples = bitDepth < 8 ? 1 : Math.Min(image.Channels, 4) switch { 2 => 1, var c => c };
        var planes = new float[samples][];
        if (samples == 1) planes[0] = Luma(image);
        else for (var c = 0; c < samples; c++) planes[c] = image.Plane(c).ToArray();
        if (linearToSrgb)
            for (var c = 0; c < Math.Min(samples, 3); c++)
                for (var i = 0; i < planes[c].Length; i++) planes[c][i] = ImageFileWriter.LinearToSrgb(planes[c][i]);

        var (w, h) = (image.Width, image.Height);
        var rowBytes = (w * samples * bitDepth + 7) / 8;
        var data = new byte[rowBytes * h];
        var max = (1 << bitDepth) - 1;
        for (var y = 0; y < h; y++)
        {
            var row = data.AsSpan(y * rowBytes, rowBytes);
            for (var x = 0; x < w; x++)
                for (var c = 0; c < samples; c++)
                {
                    var v = planes[c][y * w + x];
                    var q = (int)MathF.Round(Math.Clamp(float.IsNaN(v) ? 0f : v, 0f, 1f) * max);
                    var s = x * samples + c;
                    switch (bitDepth)
                    {
                        case 16: BinaryPrimitives.WriteUInt16LittleEndian(row[(s * 2)..], (ushort)q); break;
                        case 8: row[s] = (byte)q; break;
                        default:
                            var bit = s * bitDepth;
                            row[bit >> 3] |= (byte)(q << (8 - bitDepth - (bit & 7)));
                            break;
                    }
                }
        }

        // Layout: header, pixel data, then the IFD and its out-of-line values.
        var entries = new List<(ushort Tag, ushort Type, uint Count, uint Value)>();
        const ushort Short = 3, Long = 4, Rational = 5;
        var ifdOffset = (uint)(8 + data.Length + (data.Length & 1));
        var tagCount = samples == 4 ? 14 : 13;
        var extraOffset = ifdOffset + 2 + (uint)tagCount * 12 + 4;
        var bitsOffset = extraOffset;
        var xResOffset = bitsOffset + (samples > 2 ? (uint)samples * 2 : 0);
        var yResOffset = xResOffset + 8;
        entries.Add((256, Long, 1, (uint)w));
        entries.Add((257, Long, 1, (uint)h));
        entries.Add((258, Short, (uint)samples, samples > 2 ? bitsOffset : (uint)bitDepth));
        entries.Add((259, Short, 1, 1));
        entries.Add((262, Short, 1, samples >= 3 ? 2u : 1u));
        entries.Add((273, Long, 1, 8));
        entries.Add((277, Short, 1, (uint)samples));
        entries.Add((278, Long, 1, (uint)h));
        entries.Add((279, Long, 1, (uint)data.Length));
        entries.Add((282, Rational, 1, xResOffset));
        entries.Add((283, Rational, 1, yResOffset));
        entries.Add((284, Short, 1, 1));
        entries.Add((296, Short, 1, 2));
        if (samples == 4) entries.Add((338, Short, 1, 2)); // unassociated alpha

        var header = new byte[8];
        header[0] = (byte)'I'; header[1] = (byte)'I';
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), ifdOffset);
        output.Write(header);
        output.Write(data);
        if ((data.Length & 1) == 1) output.WriteByte(0);
        var ifd = new byte[2 + entries.Count * 12 + 4];
        BinaryPrimitives.WriteUInt16LittleEndian(ifd, (ushort)entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var e = ifd.AsSpan(2 + i * 12, 12);
            BinaryPrimitives.WriteUInt16LittleEndian(e, entries[i].Tag);
            BinaryPrimitives.WriteUInt16LittleEndian(e[2..], entries[i].Type);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], entries[i].Count);
            if (entries[i].Type == Short && entries[i].Count == 1) BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)entries[i].Value);
            else BinaryPrimitives.WriteUInt32LittleEndian(e[8..], entries[i].Value);
        }
        output.Write(ifd);
        if (samples > 2)
        {
            var bits = new byte[samples * 2];
            for (var c = 0; c < samples; c++) BinaryPrimitives.WriteUInt16LittleEndian(bits.AsSpan(c * 2), (ushort)bitDepth);
            output.Write(bits);
        }
        Span<byte> res = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(res, 72); BinaryPrimitives.WriteUInt32LittleEndian(res[4..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(res[8..], 72); BinaryPrimitives.WriteUInt32LittleEndian(res[12..], 1);
        output.Write(res);
    }

    private static float[] Luma(FloatImage image)
    {
        if (image.Channels < 3) return image.Plane(0).ToArray();
        var r = image.Plane(0);
        var g = image.Plane(1);
        var b = image.Plane(2);
        var result = new float[image.PlaneLength];
        for (var i = 0; i < result.Length; i++) result[i] = 0.2126f * r[i] + 0.7152f * g[i] + 0.0722f * b[i];
        return result;
    }
}
