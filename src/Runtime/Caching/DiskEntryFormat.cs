using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ImageFlowIO.Config;
using K4os.Compression.LZ4;

namespace ImageFlowIO.Caching;

/// <summary>
/// The <c>&lt;key&gt;.json</c> of a disk entry (SPEC §3): the entry's typed metadata plus how its <c>&lt;key&gt;.bin</c>
/// is stored (length, compression, XxHash128 checksum). Parsing validates every field; it never throws.
/// </summary>
internal sealed class DiskEntryMetadata
{
    /// <summary>Bumped when the entry format changes; older entries then read as misses and age out.</summary>
    public const int CurrentFormat = 2;

    public int FormatVersion { get; init; }
    public string Key { get; init; } = "";
    public CacheStage Stage { get; init; }
    public string ToolVersion { get; init; } = "";
    public required EntryInfo Info { get; init; }
    public long ByteLength { get; init; }
    public long StoredLength { get; init; }
    public string Checksum { get; init; } = "";
    public CacheCompression Compression { get; init; }

    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            var info = Info;
            w.WriteStartObject();
            w.WriteNumber("format", FormatVersion);
            w.WriteString("key", Key);
            w.WriteString("stage", StageCache.StageName(Stage));
            w.WriteString("toolVersion", ToolVersion);
            EntryInfoJson.Write(w, info, withImageSize: true);
            w.WriteNumber("byteLength", ByteLength);
            w.WriteNumber("storedLength", StoredLength);
            w.WriteString("checksum", "xxh128:" + Checksum);
            w.WriteString("compression", Compression.ToString().ToLowerInvariant());
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static bool TryParse(byte[] json, out DiskEntryMetadata meta, out string problem)
    {
        meta = null!;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            var checksum = r.GetProperty("checksum").GetString() ?? "";
            meta = new DiskEntryMetadata
            {
                FormatVersion = r.GetProperty("format").GetInt32(),
                Key = r.GetProperty("key").GetString() ?? "",
                Stage = ParseStage(r.GetProperty("stage").GetString()),
                ToolVersion = r.GetProperty("toolVersion").GetString() ?? "",
                Info = EntryInfoJson.Read(r),
                ByteLength = r.GetProperty("byteLength").GetInt64(),
                StoredLength = r.GetProperty("storedLength").GetInt64(),
                Checksum = checksum.StartsWith("xxh128:", StringComparison.Ordinal) ? checksum[7..] : throw new FormatException("unknown checksum kind"),
                Compression = Enum.Parse<CacheCompression>(r.GetProperty("compression").GetString() ?? "", ignoreCase: true),
            };
            if (meta.ByteLength < 0 || meta.StoredLength < 0 || meta.ByteLength > int.MaxValue || meta.StoredLength > int.MaxValue) throw new FormatException("bad length");
            problem = "";
            return true;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            problem = $"metadata unreadable ({ex.Message})";
            return false;
        }
    }

    public static CacheStage ParseStage(string? name) => name switch
    {
        "preprocess" => CacheStage.Preprocess,
        "inference" => CacheStage.Inference,
        "output" => CacheStage.Output,
        "regions" => CacheStage.Regions,
        "region" => CacheStage.Region,
        _ => throw new FormatException($"unknown stage '{name}'"),
    };

    internal static string ChecksumOf(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[16];
        XxHash128.Hash(data, hash);
        return Convert.ToHexStringLower(hash);
    }

    // The codecs live in methods of their own: an uncompressed cache (the default) never loads K4os or ZstdSharp.
    internal static byte[] Compress(byte[] raw, CacheCompression compression) => compression switch
    {
        CacheCompression.Lz4 => CompressLz4(raw),
        CacheCompression.Zstd => CompressZstd(raw),
        _ => raw,
    };

    internal static byte[] Decompress(byte[] stored, CacheCompression compression, long byteLength)
    {
        if (compression == CacheCompression.None)
            return stored.Length == byteLength ? stored : throw new InvalidDataException($"data is {stored.Length} bytes, expected {byteLength}");
        var raw = GC.AllocateUninitializedArray<byte>(checked((int)byteLength));
        var written = compression == CacheCompression.Lz4 ? DecodeLz4(stored, raw) : DecodeZstd(stored, raw);
        return written == byteLength ? raw : throw new InvalidDataException($"decompressed to {written} bytes, expected {byteLength}");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte[] CompressLz4(byte[] raw)
    {
        var target = new byte[LZ4Codec.MaximumOutputSize(raw.Length)];
        var written = LZ4Codec.Encode(raw, target, LZ4Level.L00_FAST);
        return target.AsSpan(0, written).ToArray();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte[] CompressZstd(byte[] raw)
    {
        using var compressor = new ZstdSharp.Compressor(3);
        return compressor.Wrap(raw).ToArray();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int DecodeLz4(byte[] stored, byte[] raw) => LZ4Codec.Decode(stored, raw);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int DecodeZstd(byte[] stored, byte[] raw)
    {
        using var decompressor = new ZstdSharp.Decompressor();
        try { return decompressor.Unwrap(stored, raw); }
        catch (ZstdSharp.ZstdException ex) { throw new InvalidDataException(ex.Message, ex); }
    }
}
