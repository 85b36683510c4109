using ImageFlowIO.Config;
using ImageFlowIO.Output;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>
/// The disk layer (SPEC §3): <c>&lt;key&gt;.bin</c> holds the payload (optionally LZ4/Zstd compressed) and
/// <c>&lt;key&gt;.json</c> its <see cref="DiskEntryMetadata"/>. Both are written to a temporary name in the cache folder and
/// renamed into place, data first, so a killed or parallel process never exposes a torn entry; every read verifies
/// length and checksum and deletes a bad entry. Bounded by a byte limit over the whole folder, whoever writes it: each
/// write adds its bytes to the folder's shared record (<see cref="DiskCacheLedger"/>, one small locked file, no scan), and
/// the writer that finds the folder over its limit evicts, least recently used (the <c>.json</c> modification time,
/// refreshed on every hit) first, under the same lock. Never throws for I/O trouble: an unwritable folder turns the
/// layer off with one warning.
/// </summary>
internal sealed class DiskStore : ICacheStore
{
    private readonly ILogger _logger;
    private readonly CacheCompression _compression;
    private readonly Func<CacheStage, bool> _accepts;
    private readonly object _evictGate = new();
    private readonly DiskCacheLedger _ledger;
    private long _bytes;
    private bool _counted;
    private readonly object _countGate = new();
    private int _writeFailed;

    private DiskStore(string folder, long limitBytes, CacheCompression compression, Func<CacheStage, bool> accepts, CacheLayerStatistics stats, ILogger logger)
    {
        Folder = folder;
        LimitBytes = limitBytes;
        _compression = compression;
        _accepts = accepts;
        Statistics = stats;
        _logger = logger;
        _ledger = new DiskCacheLedger(folder);
    }

    public string Layer => "disk";
    public bool IsPersistent => true;
    /// <summary>A local folder while it can be written (an unwritable folder degrades to no disk cache).</summary>
    public StoreCapabilities Capabilities => Enabled ? StoreCapabilities.LocalFolder : StoreCapabilities.None;
    public CacheLayerStatistics Statistics { get; }
    public string Folder { get; }
    public long LimitBytes { get; }
    /// <summary>False once the folder proved unwritable: the layer then reads and writes nothing.</summary>
    public bool Enabled { get; private set; } = true;
    /// <summary>The folder's entry bytes as last seen (the shared record after this process's last write or eviction).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public bool Accepts(CacheStage stage) => _accepts(stage);

    /// <summary>Opens (creating) the cache folder; returns null, after one <c>IFIO4001</c> warning, when it cannot be written.</summary>
    public static DiskStore? Open(string folder, long limitBytes, CacheCompression compression, CacheLayerStatistics stats, ILogger logger, Func<CacheStage, bool>? accepts = null)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = TempFileOwner.TempPath(Path.Combine(folder, "probe"));
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            logger.LogWarning(CacheEvents.Unavailable, "{Folder}: the disk cache folder cannot be written ({Reason}); running without a disk cache. Choose another cache folder (execution.cacheDir)",
                folder, ex.Message);
            return null;
        }
        var store = new DiskStore(folder, limitBytes, compression, accepts ?? (_ => true), stats, logger);
        // Opening reads only the shared record: a run served from the cache stats its inputs and reads its hits, never
        // the whole folder. The count that corrects the record runs before this process's first write (EnsureCounted).
        if (store._ledger.TryRead() is { } recorded) store._bytes = recorded;
        else store.EnsureCounted();
        stats.SetBytes(store._bytes);
        return store;
    }

    /// <summary>
    /// Once per process, before its first write: counts the folder (sizes only, no metadata read) into the shared record,
    /// correcting it for writers killed between a write and its record, and removes leftovers of writers that are gone.
    /// </summary>
    private void EnsureCounted()
    {
        if (Volatile.Read(ref _counted)) return;
        lock (_countGate)
        {
            if (_counted) return;
            long Count()
            {
                var scanned = DiskCacheFolder.Scan(Folder, includeLeftovers: true, readMetadata: false).ToList();
                if (DiskCacheFolder.RemoveLeftovers(Folder, scanned) is > 0 and var removed)
                    _logger.LogDebug("cache/leftovers {Count} removed from {Folder} (temp files of writers that are gone, data without metadata)", removed, Folder);
                return _bytes = scanned.Where(e => !e.IsLeftover).Sum(e => e.Bytes);
            }
            if (!_ledger.TryUpdate(_ => Count())) Count();
            Statistics.SetBytes(Interlocked.Read(ref _bytes));
            Volatile.Write(ref _counted, true);
        }
    }

    public StoreRead TryGet(CacheStage stage, string key)
    {
        if (!Enabled) return StoreRead.Miss;
        var metaPath = MetadataPath(key);
        var dataPath = DataPath(key);
        // One retry: a parallel process may have replaced the entry between our two reads.
        for (var attempt = 0; ; attempt++)
        {
            var entry = Read(stage, key, metaPath, dataPath, out var problem);
            if (entry is not null)
            {
                Touch(metaPath);
                Statistics.AddBytesRead(entry.Payload.Length);
                return StoreRead.Hit(entry);
            }
            if (problem is null) return StoreRead.Miss;
            if (attempt == 0 && MetadataChanged(metaPath, problem)) continue;
            DeleteEntry(metaPath, dataPath);
            return StoreRead.Corrupt($"{problem.Reason}; entry {key} deleted");
        }
    }

    private sealed record ReadProblem(string Reason, byte[]? MetadataBytes);

    private static bool MetadataChanged(string metaPath, ReadProblem problem)
    {
        try { return problem.MetadataBytes is null || !File.ReadAllBytes(metaPath).AsSpan().SequenceEqual(problem.MetadataBytes); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return true; }
    }

    /// <summary>Null with a null problem: a plain miss. Null with a problem: a bad entry.</summary>
    private static CacheEntry? Read(CacheStage stage, string key, string metaPath, string dataPath, out ReadProblem? problem)
    {
        problem = null;
        // A cold run misses every lookup: a stat is far cheaper than the FileNotFoundException the read would throw.
        if (!File.Exists(metaPath)) return null;
        byte[] metaBytes;
        try { metaBytes = File.ReadAllBytes(metaPath); }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException) { return null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { problem = new($"metadata unreadable ({ex.Message})", null); return null; }

        if (!DiskEntryMetadata.TryParse(metaBytes, out var meta, out var why)) { problem = new(why, metaBytes); return null; }
        if (meta.Key != key || meta.Stage != stage) { problem = new("metadata names another entry", metaBytes); return null; }
        // An entry of another format or tool version is not wrong, just not ours: a miss that ages out.
        if (meta.FormatVersion != DiskEntryMetadata.CurrentFormat || meta.ToolVersion != CacheKeys.ToolVersion) return null;

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

        if (DiskEntryMetadata.ChecksumOf(stored) != meta.Checksum) { problem = new("checksum mismatch", metaBytes); return null; }
        try { return new CacheEntry(stage, key, meta.Info, DiskEntryMetadata.Decompress(stored, meta.Compression, meta.ByteLength)); }
        catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or ArgumentException or OverflowException)
        {
            problem = new($"cannot decompress ({ex.Message})", metaBytes);
            return null;
        }
    }

    public bool Put(CacheEntry entry)
    {
        if (!Enabled) return false;
        var metaPath = MetadataPath(entry.Key);
        try
        {
            // A parallel process may have written it since our miss: entries are pure functions of their key.
            if (File.Exists(metaPath)) return false;
            var stored = DiskEntryMetadata.Compress(entry.Payload, _compression);
            var meta = new DiskEntryMetadata
            {
                FormatVersion = DiskEntryMetadata.CurrentFormat, Key = entry.Key, Stage = entry.Stage, ToolVersion = CacheKeys.ToolVersion,
                Info = entry.Info, ByteLength = entry.Payload.Length, StoredLength = stored.Length,
                Checksum = DiskEntryMetadata.ChecksumOf(stored), Compression = _compression,
            };
            var metaBytes = meta.ToJson();
            EnsureCounted();
            AtomicFile.Replace(DataPath(entry.Key), s => s.Write(stored));
            AtomicFile.Replace(metaPath, s => s.Write(metaBytes));
            var written = stored.Length + metaBytes.Length;
            // The folder as every writer left it; without the shared record (a stuck lock), this process's own count.
            var folderBytes = _ledger.Add(written) ?? Interlocked.Read(ref _bytes) + written;
            Interlocked.Exchange(ref _bytes, folderBytes);
            Statistics.SetBytes(folderBytes);
            Statistics.AddBytesWritten(stored.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (Interlocked.Exchange(ref _writeFailed, 1) == 0)
                _logger.LogWarning(CacheEvents.Unavailable, "{Folder}: cannot write to the disk cache ({Reason}); running without a disk cache for the rest of this run",
                    Folder, ex.Message);
            Enabled = false;
            return false;
        }
        if (Bytes > LimitBytes) Evict(keep: entry.Key);
        return true;
    }

    public void Discard(CacheStage stage, string key) => DeleteEntry(MetadataPath(key), DataPath(key));

    private string MetadataPath(string key) => Path.Combine(Folder, key + DiskCacheFolder.MetadataExtension);
    private string DataPath(string key) => Path.Combine(Folder, key + DiskCacheFolder.DataExtension);

    private static void Touch(string metaPath)
    {
        try { File.SetLastWriteTimeUtc(metaPath, DateTime.UtcNow); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Removes least recently used entries until the folder is at 90% of the limit (keeping <paramref name="keep"/>),
    /// holding the folder's lock: another process that found it over the limit at the same time finds it evicted.
    /// </summary>
    private void Evict(string keep)
    {
        lock (_evictGate)
        {
            long remaining = 0;
            long EvictNow()
            {
                (_, remaining) = DiskCacheFolder.EvictTo(Folder, LimitBytes - LimitBytes / 10, keep, e =>
                {
                    Statistics.Evict();
                    _logger.LogDebug("cache/evict {Input} ({Stage}, disk, {Bytes} bytes)", e.Input ?? e.Key, e.Stage is { } s ? StageCache.StageName(s) : "?", e.Bytes);
                });
                return remaining;
            }
            if (!_ledger.TryUpdate(recorded => recorded is { } r && r <= LimitBytes ? remaining = r : EvictNow()))
            {
                if (Bytes <= LimitBytes) return;
                EvictNow();
            }
            Interlocked.Exchange(ref _bytes, remaining);
            Statistics.SetBytes(remaining);
        }
    }

    private static void DeleteEntry(string metaPath, string dataPath)
    {
        AtomicFile.TryDelete(metaPath);
        AtomicFile.TryDelete(dataPath);
    }

    public void Dispose() { }
}
