using System.Buffers.Binary;
using System.Text;
using ImageFlowIO.Config;
using ImageFlowIO.Output;

namespace ImageFlowIO.Caching;

/// <summary>
/// The output stage's cached value: the files one input's postprocessing and output wrote (path relative to the input's
/// output folder, and bytes), packed into a uint8 tensor so the memory and disk layers store it like any stage. A hit
/// writes the bytes back (temp + rename, like every output) instead of postprocessing and encoding again; relative paths
/// let a run into another output folder (--output, another obj/) reuse it.
/// </summary>
public static class OutputBundle
{
    private const uint Magic = 0x42_4F_46_49; // "IFOB"
    /// <summary>Output files bigger than this are not bundled (the bundle would crowd the caches out).</summary>
    private const long MaxBundleBytes = 64L * 1024 * 1024;

    /// <summary>Reads back the files just written; null when one is missing or the set is too large to cache.</summary>
    public static TensorData? Capture(IReadOnlyList<string> files, string outputFolder)
    {
        if (files.Count == 0) return null;
        var parts = new List<(byte[] Path, byte[] Data)>(files.Count);
        long total = 8;
        try
        {
            foreach (var file in files)
            {
                var info = new FileInfo(file);
                if (!info.Exists || info.Length > MaxBundleBytes) return null;
                var part = (Encoding.UTF8.GetBytes(Path.GetRelativePath(outputFolder, Path.GetFullPath(file))), File.ReadAllBytes(file));
                total += 12 + part.Item1.Length + part.Item2.Length;
                if (total > MaxBundleBytes) return null;
                parts.Add(part);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }

        var bundle = new byte[total];
        var span = bundle.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], parts.Count);
        var at = 8;
        foreach (var (path, data) in parts)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], path.Length);
            BinaryPrimitives.WriteInt64LittleEndian(span[(at + 4)..], data.Length);
            at += 12;
            path.CopyTo(span[at..]);
            at += path.Length;
            data.CopyTo(span[at..]);
            at += data.Length;
        }
        return new TensorData(TensorDataType.Uint8, [bundle.Length], bundle);
    }

    /// <summary>Writes every file of a bundle; false (writing nothing more) when the bundle is malformed.</summary>
    public static bool TryWrite(TensorData bundle, string outputFolder, out List<string> files)
    {
        files = [];
        var span = bundle.Bytes;
        if (bundle.ElementType != TensorDataType.Uint8 || span.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic) return false;
        var count = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
        var entries = new List<(string Path, int Start, int Length)>();
        var at = 8;
        for (var i = 0; i < count; i++)
        {
            if (at + 12 > span.Length) return false;
            var pathLength = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
            var dataLength = BinaryPrimitives.ReadInt64LittleEndian(span[(at + 4)..]);
            at += 12;
            if (pathLength <= 0 || dataLength < 0 || at + pathLength + dataLength > span.Length) return false;
            entries.Add((Path.GetFullPath(Path.Combine(outputFolder, Encoding.UTF8.GetString(span.Slice(at, pathLength)))), at + pathLength, (int)dataLength));
            at += pathLength + (int)dataLength;
        }
        if (at != span.Length) return false;
        var array = bundle.UnsafeArray;
        foreach (var (path, start, length) in entries)
        {
            AtomicFile.Write(path, s => s.Write(array, start, length));
            files.Add(path);
        }
        return true;
    }
}
