using ImageFlowIO.Output;

namespace ImageFlowIO.Caching;

/// <summary>Maintenance of a disk cache folder (<c>imageflowio cache stats|clear|prune</c> and the disk store's eviction): list, evict, clear.</summary>
internal static class DiskCacheFolder
{
    internal const string MetadataExtension = ".json";
    internal const string DataExtension = ".bin";
    /// <summary>Temporary files older than this are leftovers of a killed process.</summary>
    private static readonly TimeSpan StaleTempAge = TimeSpan.FromMinutes(10);

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
            else if (includeLeftovers && name.EndsWith(AtomicFile.TempExtension, StringComparison.Ordinal) && now - SafeTime(file) > StaleTempAge)
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
    internal static bool IsKey(string name) => name.Length == 43 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static bool IsCacheFile(string name) =>
        name.EndsWith(AtomicFile.TempExtension, StringComparison.Ordinal)
        || name == InputDigestIndex.FileName
        || name == OutputFileIndex.FileName
        || (name.EndsWith(MetadataExtension, StringComparison.Ordinal) && IsKey(name[..^MetadataExtension.Length]))
        || (name.EndsWith(DataExtension, StringComparison.Ordinal) && IsKey(name[..^DataExtension.Length]));
}

/// <summary>One entry (or leftover file) of a disk cache folder, as <c>imageflowio cache stats|prune</c> see it.</summary>
internal sealed record DiskEntryInfo(string Key, string MetadataPath, string? DataPath, long Bytes, DateTime LastUsedUtc, CacheStage? Stage, string? Input, bool IsLeftover);
