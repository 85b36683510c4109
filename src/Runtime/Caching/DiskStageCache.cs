using System.IO.Hashing;
using System.Text.Json;
using ImageFlowIO.Config;
using ImageFlowIO.Output;
using K4os.Compression.LZ4;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>
/// The disk layer (SPEC §3): <c>&lt;key&gt;.bin</c> holds the tensor bytes (optionally LZ4/Zstd compressed) and
/// <c>&lt;key&gt;.json</c> its metadata with length and XxHash128 checksum. Both are written to a temporary name in
/// the cache folder and renamed into place, data first, so a killed or parallel process never exposes a torn entry;
/// every read verifies length and checksum and deletes a bad entry. Bounded by a byte limit, least recently used
/// (the <c>.json</c> modification time, refreshed on every hit) evicted first. Never throws for I/O trouble: an
/// unwritable folder turns the layer off with one warning.
/// </summary>
public sealed class DiskStageCache
{
    /// <summary>Bumped when the entry format changes; older entries then read as misses and age out.</summary>
    public const int FormatVersion = 1;
    internal const string MetadataExtension = ".json";
    internal const string DataExtension = ".bin";
    internal const string TempExtension = ".tmp";
    /// <summary>Temporary files older than this are leftovers of a killed process.</summary>
    private static readonly TimeSpan StaleTempAge = TimeSpan.FromMinutes(10);

    private readonly CacheLayerStatistics _stats;
    private readonly ILogger _logger;
    private readonly CacheCompression _compression;
    private readonly object _evictGate = new();
    private long _bytes;
    private int _writeFailed;

    private DiskStageCache(string folder, long limitBytes, CacheCompression compression, CacheLayerStatistics stats, ILogger logger)
    {
        Folder = folder;
        LimitBytes = limitBytes;
        _compression = compression;
        _stats = stats;
        _logger = logger;
    }

    public string Folder { get; }
    public long LimitBytes { get; }
    /// <summary>False once the folder proved unwritable: the layer then reads and writes nothing.</summary>
    public bool Enabled { get; private set; } = true;

    /// <summary>Opens (creating) the cache folder; returns null, after one <c>IFIO4001</c> warning, when it cannot be written.</summary>
    public static DiskStageCache? Open(string folder, long limitBytes, CacheCompression compression, CacheLayerStatistics stats, ILogger logger)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, ".probe-" + Guid.NewGuid().ToString("N") + TempExtension);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            logger.LogWarning("{Folder}: warning {Code}: the disk cache folder cannot be written ({Reason}); running without a disk cache. Choose another with --cache-dir or execution.cacheDir",
                folder, ErrorCodes.CacheUnavailable, ex.Message);
            return null;
        }
        var cache = new DiskStageCache(folder, limitBytes, compression, stats, logger);
        // Sizes only: opening must not read every entry's metadata (a big cache would slow every start).
        cache._bytes = Scan(folder, readMetadata: false).Sum(e => e.Bytes);
        stats.SetBytes(cache._bytes);
        return cache;
    }

    public long Bytes => Interlocked.Read(ref _bytes);

    public StageValue? TryGet(CacheStage stage, string key, string inputLabel)
    {
        if (!Enabled) return null;
        var metaPath = Path.Combine(Folder, key + MetadataExtension);
        var dataPath = Path.Combine(Folder, key + DataExtension);
        // One retry: a parallel process may have replaced the entry between our two reads.
        for (var attempt = 0; ; attempt++)
        {
            var result = Read(stage, key, metaPath, dataPath, out var problem);
            if (result is not null)
            {
                _stats.Hit();
                Touch(metaPath);
                _logger.LogDebug("cache/disk hit {Input} ({Stage})", inputLabel, MemoryStageCache.StageName(stage));
                return result;
            }
            if (problem is null)
            {
                _stats.Miss();
                _logger.LogDebug("cache/disk miss {Input} ({Stage})", inputLabel, MemoryStageCache.StageName(stage));
                return null;
            }
            if (attempt == 0 && MetadataChanged(metaPath, problem)) continue;
            _stats.CorruptEntry();
            _stats.Miss();
            DeleteEntry(metaPath, dataPath);
            _logger.LogWarning("cache/disk corrupt {Input} ({Stage}): {Problem}; entry {Key} deleted, recomputing", inputLabel, MemoryStageCache.StageName(stage), problem.Reason, key);
            return null;
        }
    }

    private sealed record ReadProblem(string Reason, byte[]? MetadataBytes);

    private static bool MetadataChanged(string metaPath, ReadProblem problem)
    {
        try { return problem.MetadataBytes is null || !File.ReadAllBytes(metaPath).AsSpan().SequenceEqual(problem.MetadataBytes); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return true; }
    }

    /// <summary>Null with a null problem: a plain miss. Null with a problem: a bad entry.</summary>
    private StageValue? Read(CacheStage stage, string key, string metaPath, string dataPath, out ReadProblem? problem)
    {
        problem = null;
        byte[] metaBytes;
        try { metaBytes = File.ReadAllBytes(metaPath); }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException) { return null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { problem = new($"metadata unreadable ({ex.Message})", null); return null; }

        if (!EntryMetadata.TryParse(metaBytes, out var meta, out var why)) { problem = new(why, metaBytes); return null; }
        if (meta.Key != key || meta.Stage != stage) { problem = new("metadata names another entry", metaBytes); return null; }
        // An entry of another format or tool version is not wrong, just not ours: a miss that ages out.
        if (meta.FormatVersion != FormatVersion || meta.ToolVersion != CacheKeys.ToolVersion) return null;

        byte[] stored;
        try
        {
            using var stream = new FileStream(dataPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
            if (stream.Length != meta.StoredLength) { problem = new($"data is {stream.Length} bytes, metadata says {meta.StoredLength}", metaBytes); return null; }
            stored = GC.AllocateUninitializedArray<byte>(checked((int)meta.StoredLength));
            stream.ReadExactly(stored);
        }
        // Metadata without data: a parallel eviction removed it between our reads (data is always written first).
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException) { return null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { problem = new($"data unreadable ({ex.Message})", metaBytes); return null; }

        if (Checksum(stored) != meta.Checksum) { problem = new("checksum mismatch", metaBytes); return null; }
        byte[] raw;
        try { raw = Decompress(stored, meta.Compression, meta.ByteLength); }
        catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or ArgumentException) { problem = new($"cannot decompress ({ex.Message})", metaBytes); return null; }
        try
        {
            return new StageValue(new TensorData(meta.DataType, meta.Shape, raw, meta.Layout), meta.SourceWidth, meta.SourceHeight);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException) { problem = new($"shape does not match data ({ex.Message})", metaBytes); return null; }
    }

    public void Put(CacheStage stage, string key, StageValue value, string inputLabel)
    {
        if (!Enabled) return;
        var metaPath = Path.Combine(Folder, key + MetadataExtension);
        var dataPath = Path.Combine(Folder, key + DataExtension);
        try
        {
            // A parallel process may have written it since our miss: entries are pure functions of their key.
            if (File.Exists(metaPath)) return;
            var stored = Compress(value.Tensor.Bytes, _compression);
            var meta = new EntryMetadata
            {
                FormatVersion = FormatVersion, Key = key, Stage = stage, ToolVersion = CacheKeys.ToolVersion,
                DataType = value.Tensor.ElementType, Shape = [.. value.Tensor.Shape], Layout = value.Tensor.Layout,
                SourceWidth = value.SourceWidth, SourceHeight = value.SourceHeight, ByteLength = value.Tensor.Bytes.Length,
                StoredLength = stored.Length, Checksum = Checksum(stored), Compression = _compression,
                Input = Path.GetFileName(inputLabel),
            };
            var metaBytes = meta.ToJson();
            WriteAtomically(dataPath, stored);
            WriteAtomically(metaPath, metaBytes);
            Interlocked.Add(ref _bytes, stored.Length + metaBytes.Length);
            _stats.Write();
            _stats.SetBytes(Bytes);
            _logger.LogDebug("cache/disk write {Input} ({Stage}, {Bytes} bytes)", inputLabel, MemoryStageCache.StageName(stage), stored.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (Interlocked.Exchange(ref _writeFailed, 1) == 0)
                _logger.LogWarning("{Folder}: warning {Code}: cannot write to the disk cache ({Reason}); running without a disk cache for the rest of this run",
                    Folder, ErrorCodes.CacheUnavailable, ex.Message);
            Enabled = false;
            return;
        }
        if (Bytes > LimitBytes) Evict(keep: key);
    }

    private void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        var temp = Path.Combine(Folder, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..12] + TempExtension);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
                stream.Write(bytes);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
            throw;
        }
    }

    private static void Touch(string metaPath)
    {
        try { File.SetLastWriteTimeUtc(metaPath, DateTime.UtcNow); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Removes least recently used entries until the folder is at 90% of the limit (keeping <paramref name="keep"/>).</summary>
    private void Evict(string keep)
    {
        lock (_evictGate)
        {
            if (Bytes <= LimitBytes) return;
            var (removed, remaining) = EvictTo(Folder, LimitBytes - LimitBytes / 10, keep, (e) =>
            {
                _stats.Evict();
                _logger.LogDebug("cache/evict {Input} ({Stage}, disk, {Bytes} bytes)", e.Input ?? e.Key, e.Stage is { } s ? MemoryStageCache.StageName(s) : "?", e.Bytes);
            });
            Interlocked.Exchange(ref _bytes, remaining);
            _stats.SetBytes(remaining);
        }
    }

    /// <summary>Deletes the whole cache folder's entries (and leftovers); returns the number of entries removed.</summary>
    public static int Clear(string folder)
    {
        if (!Directory.Exists(folder)) return 0;
        var entries = 0;
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(file);
            if (!IsCacheFile(name)) continue;
            if (name.EndsWith(MetadataExtension, StringComparison.Ordinal)) entries++;
            AtomicFile.TryDelete(file);
        }
        // Remembered model signatures (OnnxBackend) live beside the entries.
        try { if (Directory.Exists(Path.Combine(folder, "models"))) Directory.Delete(Path.Combine(folder, "models"), recursive: true); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return entries;
    }

    /// <summary>Least recently used entries first until the folder holds at most <paramref name="targetBytes"/>; stale temporary files and orphaned data go too.</summary>
    public static (int Removed, long RemainingBytes) EvictTo(string folder, long targetBytes, string? keep = null, Action<DiskEntryInfo>? onEvict = null)
    {
        var entries = Scan(folder, includeLeftovers: true).ToList();
        var removed = 0;
        var total = entries.Sum(e => e.Bytes);
        foreach (var leftover in entries.Where(e => e.IsLeftover))
        {
            AtomicFile.TryDelete(leftover.MetadataPath);
            total -= leftover.Bytes;
        }
        foreach (var entry in entries.Where(e => !e.IsLeftover && e.Key != keep).OrderBy(e => e.LastUsedUtc))
        {
            if (total <= targetBytes) break;
            // Metadata first: a reader then sees a miss, never metadata without its data.
            AtomicFile.TryDelete(entry.MetadataPath);
            if (entry.DataPath is not null) AtomicFile.TryDelete(entry.DataPath);
            total -= entry.Bytes;
            removed++;
            onEvict?.Invoke(entry);
        }
        return (removed, total);
    }

    /// <summary>The entries of a cache folder (with <paramref name="includeLeftovers"/>: also orphaned data and stale temporary files).</summary>
    public static IEnumerable<DiskEntryInfo> Scan(string folder, bool includeLeftovers = false, bool readMetadata = true)
    {
        if (!Directory.Exists(folder)) yield break;
        var dir = new DirectoryInfo(folder);
        var files = new Dictionary<string, FileInfo>(StringComparer.Ordinal);
        try { foreach (var f in dir.EnumerateFiles()) files[f.Name] = f; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { yield break; }

        var now = DateTime.UtcNow;
        foreach (var (name, file) in files)
        {
            if (name.EndsWith(MetadataExtension, StringComparison.Ordinal) && IsKey(name[..^MetadataExtension.Length]))
            {
                var key = name[..^MetadataExtension.Length];
                files.TryGetValue(key + DataExtension, out var data);
                // Another process may delete an entry between listing and stat: such an entry is simply gone.
                if (SafeLength(file) is not { } metaLength) continue;
                var (stage, input) = readMetadata ? PeekMetadata(file.FullName) : (null, null);
                yield return new DiskEntryInfo(key, file.FullName, data?.FullName, metaLength + (data is null ? 0 : SafeLength(data) ?? 0), SafeTime(file), stage, input, false);
            }
            else if (includeLeftovers && name.EndsWith(DataExtension, StringComparison.Ordinal) && IsKey(name[..^DataExtension.Length])
                     && !files.ContainsKey(name[..^DataExtension.Length] + MetadataExtension) && now - SafeTime(file) > StaleTempAge)
                yield return new DiskEntryInfo(name[..^DataExtension.Length], file.FullName, null, SafeLength(file) ?? 0, SafeTime(file), null, null, true);
            else if (includeLeftovers && name.EndsWith(TempExtension, StringComparison.Ordinal) && now - SafeTime(file) > StaleTempAge)
                yield return new DiskEntryInfo(name, file.FullName, null, SafeLength(file) ?? 0, SafeTime(file), null, null, true);
        }
    }

    private static long? SafeLength(FileInfo f)
    {
        try { return f.Length; } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    private static DateTime SafeTime(FileInfo f)
    {
        try { return f.LastWriteTimeUtc; } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return DateTime.MinValue; }
    }

    private static (CacheStage?, string?) PeekMetadata(string path)
    {
        try
        {
            return EntryMetadata.TryParse(File.ReadAllBytes(path), out var meta, out _) ? (meta.Stage, meta.Input) : (null, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return (null, null); }
    }

    /// <summary>A cache key: 43 Base64URL characters.</summary>
    internal static bool IsKey(string name) => name.Length == 43 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static bool IsCacheFile(string name) =>
        name.EndsWith(TempExtension, StringComparison.Ordinal)
        || name == InputDigestIndex.FileName
        || (name.EndsWith(MetadataExtension, StringComparison.Ordinal) && IsKey(name[..^MetadataExtension.Length]))
        || (name.EndsWith(DataExtension, StringComparison.Ordinal) && IsKey(name[..^DataExtension.Length]));

    private static void DeleteEntry(string metaPath, string dataPath)
    {
        AtomicFile.TryDelete(metaPath);
        AtomicFile.TryDelete(dataPath);
    }

    internal static string Checksum(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[16];
        XxHash128.Hash(data, hash);
        return Convert.ToHexStringLower(hash);
    }

    private static byte[] Compress(ReadOnlySpan<byte> raw, CacheCompression compression)
    {
        switch (compression)
        {
            case CacheCompression.Lz4:
                var target = new byte[LZ4Codec.MaximumOutputSize(raw.Length)];
                var written = LZ4Codec.Encode(raw, target, LZ4Level.L00_FAST);
                return target.AsSpan(0, written).ToArray();
            case CacheCompression.Zstd:
                using (var compressor = new ZstdSharp.Compressor(3))
                    return compressor.Wrap(raw).ToArray();
            default:
                return raw.ToArray();
        }
    }

    private static byte[] Decompress(byte[] stored, CacheCompression compression, long byteLength)
    {
        if (compression == CacheCompression.None)
            return stored.Length == byteLength ? stored : throw new InvalidDataException($"data is {stored.Length} bytes, expected {byteLength}");
        var raw = GC.AllocateUninitializedArray<byte>(checked((int)byteLength));
        int written;
        if (compression == CacheCompression.Lz4) written = LZ4Codec.Decode(stored, raw);
        else
        {
            using var decompressor = new ZstdSharp.Decompressor();
            try { written = decompressor.Unwrap(stored, raw); }
            catch (ZstdSharp.ZstdException ex) { throw new InvalidDataException(ex.Message, ex); }
        }
        return written == byteLength ? raw : throw new InvalidDataException($"decompressed to {written} bytes, expected {byteLength}");
    }
}

/// <summary>One entry (or leftover file) of a disk cache folder, as <c>imageflowio cache stats|prune</c> see it.</summary>
public sealed record DiskEntryInfo(string Key, string MetadataPath, string? DataPath, long Bytes, DateTime LastUsedUtc, CacheStage? Stage, string? Input, bool IsLeftover);

/// <summary>The <c>&lt;key&gt;.json</c> of a disk entry.</summary>
internal sealed class EntryMetadata
{
    public int FormatVersion { get; init; }
    public string Key { get; init; } = "";
    public CacheStage Stage { get; init; }
    public string ToolVersion { get; init; } = "";
    public TensorDataType DataType { get; init; }
    public int[] Shape { get; init; } = [];
    public TensorLayout Layout { get; init; }
    public int SourceWidth { get; init; }
    public int SourceHeight { get; init; }
    public long ByteLength { get; init; }
    public long StoredLength { get; init; }
    public string Checksum { get; init; } = "";
    public CacheCompression Compression { get; init; }
    public string? Input { get; init; }

    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("format", FormatVersion);
            w.WriteString("key", Key);
            w.WriteString("stage", MemoryStageCache.StageName(Stage));
            w.WriteString("toolVersion", ToolVersion);
            w.WriteString("dtype", DataType.ToString().ToLowerInvariant());
            w.WriteStartArray("shape");
            foreach (var d in Shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteString("layout", Layout.ToString().ToLowerInvariant());
            if (Shape.Length == 4)
            {
                var nhwc = Layout == TensorLayout.Nhwc;
                w.WriteNumber("width", nhwc ? Shape[2] : Shape[3]);
                w.WriteNumber("height", nhwc ? Shape[1] : Shape[2]);
                w.WriteNumber("channels", nhwc ? Shape[3] : Shape[1]);
            }
            w.WriteNumber("sourceWidth", SourceWidth);
            w.WriteNumber("sourceHeight", SourceHeight);
            w.WriteNumber("byteLength", ByteLength);
            w.WriteNumber("storedLength", StoredLength);
            w.WriteString("checksum", "xxh128:" + Checksum);
            w.WriteString("compression", Compression.ToString().ToLowerInvariant());
            if (Input is not null) w.WriteString("input", Input);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static bool TryParse(byte[] json, out EntryMetadata meta, out string problem)
    {
        meta = new EntryMetadata();
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            var checksum = r.GetProperty("checksum").GetString() ?? "";
            meta = new EntryMetadata
            {
                FormatVersion = r.GetProperty("format").GetInt32(),
                Key = r.GetProperty("key").GetString() ?? "",
                Stage = r.GetProperty("stage").GetString() switch { "preprocess" => CacheStage.Preprocess, "inference" => CacheStage.Inference, "output" => CacheStage.Output, var s => throw new FormatException($"unknown stage '{s}'") },
                ToolVersion = r.GetProperty("toolVersion").GetString() ?? "",
                DataType = Enum.Parse<TensorDataType>(r.GetProperty("dtype").GetString() ?? "", ignoreCase: true),
                Shape = [.. r.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32())],
                Layout = Enum.Parse<TensorLayout>(r.GetProperty("layout").GetString() ?? "", ignoreCase: true),
                SourceWidth = r.GetProperty("sourceWidth").GetInt32(),
                SourceHeight = r.GetProperty("sourceHeight").GetInt32(),
                ByteLength = r.GetProperty("byteLength").GetInt64(),
                StoredLength = r.GetProperty("storedLength").GetInt64(),
                Checksum = checksum.StartsWith("xxh128:", StringComparison.Ordinal) ? checksum[7..] : throw new FormatException("unknown checksum kind"),
                Compression = Enum.Parse<CacheCompression>(r.GetProperty("compression").GetString() ?? "", ignoreCase: true),
                Input = r.TryGetProperty("input", out var input) ? input.GetString() : null,
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
}
