using ImageFlowIO.Output;

namespace ImageFlowIO.Caching;

/// <summary>Maintenance of a disk cache folder (<c>imageflowio cache stats|clear|prune</c> and the disk store's eviction): list, evict, clear.</summary>
internal static class DiskCacheFolder
{
    internal const string MetadataExtension = ".json";
    internal const string DataExtension = ".bin";
    /// <summary>Data without metadata older than this is a leftover of a killed writer (a live one renames its metadata next).</summary>
    private static readonly TimeSpan OrphanDataAge = TimeSpan.FromMinutes(10);

    /// <summary>Where remembered model signatures and optimised models (OnnxBackend, SessionCache) live beside the entries.</summary>
    internal const string ModelsFolderName = "models";

    /// <summary>Deletes the whole cache folder's entries (and leftovers, but no live writer's temp file); returns the number of entries removed.</summary>
    public static int Clear(string folder)
    {
        if (!Directory.Exists(folder)) return 0;
        var entries = 0;
        void DeleteAll()
        {
            var now = DateTime.UtcNow;
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles())
            {
                var name = file.Name;
                if (!IsCacheFile(name)) continue;
                if (name.EndsWith(AtomicFile.TempExtension, StringComparison.Ordinal) && !TempFileOwner.IsAbandoned(name, file.LastWriteTimeUtc, now)) continue;
                if (name.EndsWith(MetadataExtension, StringComparison.Ordinal)) entries++;
                AtomicFile.TryDelete(file.FullName);
            }
            try { if (Directory.Exists(Path.Combine(folder, ModelsFolderName))) Directory.Delete(Path.Combine(folder, ModelsFolderName), recursive: true); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
        if (!new DiskCacheLedger(folder).TryUpdate(_ => { DeleteAll(); return 0; })) DeleteAll();
        return entries;
    }

    /// <summary>
    /// <c>imageflowio cache prune</c>: <see cref="EvictTo"/> while holding the folder's lock (<see cref="DiskCacheLedger"/>),
    /// so it never races a writer's eviction, and records what remains for the writers.
    /// </summary>
    public static (int Removed, long RemainingBytes) Prune(string folder, long targetBytes)
    {
        if (!Directory.Exists(folder)) return (0, 0);
        (int, long) result = default;
        if (!new DiskCacheLedger(folder).TryUpdate(_ => (result = EvictTo(folder, targetBytes)).Item2)) result = EvictTo(folder, targetBytes);
        return result;
    }

    /// <summary>Removes abandoned temp files (<see cref="TempFileOwner"/>) and orphaned data of killed writers, here and in the models folder; returns how many went.</summary>
    public static int RemoveLeftovers(string folder, IEnumerable<DiskEntryInfo> scanned)
    {
        var removed = 0;
        foreach (var leftover in scanned.Where(e => e.IsLeftover)) { AtomicFile.TryDelete(leftover.MetadataPath); removed++; }
        return removed + TempFileOwner.Sweep(Path.Combine(folder, ModelsFolderName));
    }

    /// <summary>
    /// Least recently used entries first until the folder holds at most <paramref name="targetBytes"/>; abandoned temp
    /// files and orphaned data go too. Callers hold the folder's lock (<see cref="DiskCacheLedger"/>) where they can.
    /// An entry another process is reading stays readable to it (its open data survives the unlink; Windows: FileShare.Delete),
    /// and one deleted between its two reads is a plain miss there.
    /// </summary>
    public static (int Removed, long RemainingBytes) EvictTo(string folder, long targetBytes, string? keep = null, Action<DiskEntryInfo>? onEvict = null)
    {
        var entries = Scan(folder, includeLeftovers: true).ToList();
        var removed = 0;
        RemoveLeftovers(folder, entries);
        var total = entries.Where(e => !e.IsLeftover).Sum(e => e.Bytes);
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

    /// <summary>The entries of a cache folder (with <paramref name="includeLeftovers"/>: also orphaned data and abandoned temporary files).</summary>
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
                     && !files.ContainsKey(name[..^DataExtension.Length] + MetadataExtension) && now - SafeTime(file) > OrphanDataAge)
                yield return new DiskEntryInfo(name[..^DataExtension.Length], file.FullName, null, SafeLength(file) ?? 0, SafeTime(file), null, null, true);
            else if (includeLeftovers && name.EndsWith(AtomicFile.TempExtension, StringComparison.Ordinal) && TempFileOwner.IsAbandoned(name, SafeTime(file), now))
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
            return DiskEntryMetadata.TryParse(File.ReadAllBytes(path), out var meta, out _) ? (meta.Stage, meta.Info.Input) : (null, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return (null, null); }
    }

    /// <summary>A cache key: 43 Base64URL characters.</summary>
    internal static bool IsKey(string name) => name.Length == KeyLength && name.All(IsKeyChar);

    /// <summary>The same rule for a key read as UTF-8 bytes (the up-to-date index reads its lines in place).</summary>
    internal static bool IsKey(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length != KeyLength) return false;
        foreach (var b in utf8)
            if (!IsKeyChar((char)b)) return false;
        return true;
    }

    /// <summary>A key is a SHA-256 digest in Base64URL without padding: 43 characters of its alphabet.</summary>
    private const int KeyLength = 43;

    private static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    private static bool IsCacheFile(string name) =>
        name.EndsWith(AtomicFile.TempExtension, StringComparison.Ordinal)
        || name == InputDigestIndex.FileName
        || name == OutputFileIndex.FileName
        || (name.EndsWith(MetadataExtension, StringComparison.Ordinal) && IsKey(name[..^MetadataExtension.Length]))
        || (name.EndsWith(DataExtension, StringComparison.Ordinal) && IsKey(name[..^DataExtension.Length]));
}

/// <summary>One entry (or leftover file) of a disk cache folder, as <c>imageflowio cache stats|prune</c> see it.</summary>
internal sealed record DiskEntryInfo(string Key, string MetadataPath, string? DataPath, long Bytes, DateTime LastUsedUtc, CacheStage? Stage, string? Input, bool IsLeftover);
