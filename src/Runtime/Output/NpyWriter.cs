using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace ImageFlowIO.Output;

/// <summary>Writes tensors as NumPy .npy (format 1.0), .npz (zip of .npy) or headerless little-endian .bin.</summary>
internal static class NpyWriter
{
    public static void WriteNpy(Stream output, ReadOnlySpan<byte> data, string descr, IReadOnlyList<int> shape)
    {
        var shapeText = shape.Count == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")";
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        // Header is padded with spaces and a newline so the data starts on a 64-byte boundary.
        var headerLength = dict.Length + 1;
        var total = 10 + headerLength;
        var pad = (64 - total % 64) % 64;
        var header = dict + new string(' ', pad) + "\n";
        output.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        var len = (ushort)header.Length;
        output.Write([(byte)(len & 0xFF), (byte)(len >> 8)]);
        output.Write(Encoding.ASCII.GetBytes(header));
        output.Write(data);
    }

    /// <summary>Writes one array named <paramref name="arrayName"/> into an .npz archive.</summary>
    public static void WriteNpz(Stream output, ReadOnlySpan<byte> data, string descr, IReadOnlyList<int> shape, string arrayName = "output")
    {
        var copy = data.ToArray();
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        var entry = zip.CreateEntry(arrayName + ".npy", CompressionLevel.Fastest);
        using var s = entry.Open();
        WriteNpy(s, copy, descr, shape);
    }
}
