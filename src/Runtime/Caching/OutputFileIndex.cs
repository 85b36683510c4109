using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ImageFlowIO.Caching;

/// <summary>
/// Up-to-date outputs (as make does it): remembers, per output-stage key and output folder, the files the output stage
/// wrote there with their length, last write time and SHA-256. When every one of them still has the length and time
/// recorded, a re-run only stats them: it reads no cache entry and writes nothing. Racy timestamps (git's rule): a
/// record made within <see cref="RacyWindow"/> of a file's last write cannot tell a later same-tick change apart, so
/// such a file is hashed once and compared with its recorded digest before it is trusted (and the record then
/// refreshed). Persisted as <see cref="FileName"/> in the disk cache folder (merged, temp + rename, at dispose);
/// memory-only without a disk cache. Thread-safe.
/// </summary>
internal sealed class OutputFileIndex : IDisposable
{
    public const string FileName = "outputs.idx";
    private const string Header = "imageflowio-output-index 1";
    private static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(1);
    private const int MaxRecords = 200_000;

    /// <summary>One written file: path relative to the output folder (forward slashes), as the output entry names it.</summary>
    private sealed record FileStamp(string Path, long Length, long LastWriteTicks, string Sha256);

    private sealed record WrittenSet(int SourceWidth, int SourceHeight, long RecordedTicks, FileStamp[] Files);

    /// <summary>What an up-to-date check found: the files (full paths) and the source size their entry recorded.</summary>
    public readonly record struct UpToDate(List<string> Files, int SourceWidth, int SourceHeight);

    private readonly string? _persistPath;
    private readonly ConcurrentDictionary<string, WrittenSet> _records = new(StringComparer.Ordinal);
    private readonly Lazy<bool> _loaded;
    private int _dirty;
    private long _statOnly, _hashed;

    public OutputFileIndex(string? persistPath)
    {
        _persistPath = persistPath;
        _loaded = new Lazy<bool>(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Output sets found up to date by their stat alone.</summary>
    public long StatOnlyHits => Interlocked.Read(ref _statOnly);
    /// <summary>Output files read and hashed because their record was racy.</summary>
    public long FilesHashed => Interlocked.Read(ref _hashed);

    private static string Id(string outputKey, string folder) => outputKey + "\t" + Path.GetFullPath(folder);

    /// <summary>True when every file recorded for this key in this folder is still as it was written (see the class remarks).</summary>
    public bool TryGetUpToDate(string outputKey, string folder, out UpToDate found)
    {
        _ = _loaded.Value;
        found = default;
        var id = Id(outputKey, folder);
        if (!_records.TryGetValue(id, out var record)) return false;
        var root = Path.GetFullPath(folder);
        var paths = new List<string>(record.Files.Length);
        var racy = new List<(string Path, FileStamp Stamp)>();
        foreach (var stamp in record.Files)
        {
            var path = Path.Combine(root, stamp.Path.Replace('/', Path.DirectorySeparatorChar));
            try
            {
                var info = new FileInfo(path);
                if (!info.Exists || info.LinkTarget is not null || info.Length != stamp.Length || info.LastWriteTimeUtc.Ticks != stamp.LastWriteTicks) return false;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
            if (record.RecordedTicks - stamp.LastWriteTicks <= RacyWindow.Ticks) racy.Add((path, stamp));
            paths.Add(path);
        }
        if (racy.Count == 0) Interlocked.Increment(ref _statOnly);
        else
        {
            var now = DateTime.UtcNow.Ticks;
            foreach (var (path, stamp) in racy)
            {
                Interlocked.Increment(ref _hashed);
                try
                {
                    var bytes = File.ReadAllBytes(path);
                    if (bytes.Length != stamp.Length || Convert.ToHexStringLower(SHA256.HashData(bytes)) != stamp.Sha256) return false;
                    // Stat again after the read: a write during it changes the time, and the record must not vouch for it.
                    if (new FileInfo(path).LastWriteTimeUtc.Ticks != stamp.LastWriteTicks) return false;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
            }
            // The content matched just now: from now on the record's time is what tells a later change apart.
            _records[id] = record with { RecordedTicks = now };
            Interlocked.Exchange(ref _dirty, 1);
        }
        found = new UpToDate(paths, record.SourceWidth, record.SourceHeight);
        return true;
    }

    /// <summary>Records the files an output bundle was just written as (<paramref name="written"/>, in the bundle's order).</summary>
    public void Record(string outputKey, string folder, OutputBundle bundle, IReadOnlyList<string> written)
    {
        _ = _loaded.Value;
        if (written.Count != bundle.Files.Count) return;
        var root = Path.GetFullPath(folder);
        if (root.AsSpan().ContainsAny('\t', '\n', '\r')) return;
        var stamps = new FileStamp[written.Count];
        try
        {
            for (var i = 0; i < written.Count; i++)
            {
                var file = bundle.Files[i];
                if (file.Path.AsSpan().ContainsAny('\t', '\n', '\r')) return;
                var info = new FileInfo(written[i]);
                if (!info.Exists || info.Length != file.Length) return;
                stamps[i] = new FileStamp(file.Path, file.Length, info.LastWriteTimeUtc.Ticks, file.Sha256);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return; }
        _records[Id(outputKey, root)] = new WrittenSet(bundle.SourceWidth, bundle.SourceHeight, DateTime.UtcNow.Ticks, stamps);
        Interlocked.Exchange(ref _dirty, 1);
    }

    private bool Load()
    {
        if (_persistPath is null) return true;
        foreach (var (id, record) in ReadFile(_persistPath)) _records.TryAdd(id, record);
        return true;
    }

    // One record a line: key \t folder \t sourceWidth \t sourceHeight \t recordedTicks, then per file: \t sha256 \t length \t ticks \t path.
    private static IEnumerable<(string, WrittenSet)> ReadFile(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path, Encoding.UTF8); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { yield break; }
        if (lines.Length == 0 || lines[0] != Header) yield break;
        foreach (var line in lines.Skip(1))
        {
            var parts = line.Split('\t');
            if (parts.Length < 9 || (parts.Length - 5) % 4 != 0 || !DiskCacheFolder.IsKey(parts[0])
                || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var width)
                || !int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var height)
                || !long.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var recorded)) continue;
            var files = new FileStamp[(parts.Length - 5) / 4];
            var valid = true;
            for (var i = 0; i < files.Length && valid; i++)
            {
                var at = 5 + 4 * i;
                valid = parts[at].Length == 64
                    && long.TryParse(parts[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                    && long.TryParse(parts[at + 2], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                    && OutputBundle.CheckRelativePath(parts[at + 3]) is null
                    && (files[i] = new FileStamp(parts[at + 3], length, ticks, parts[at])) is not null;
            }
            if (valid) yield return (parts[0] + "\t" + parts[1], new WrittenSet(width, height, recorded, files));
        }
    }

    /// <summary>Writes the index (merged with what other processes saved meanwhile) when it learned something.</summary>
    public void Save()
    {
        if (_persistPath is null || Interlocked.Exchange(ref _dirty, 0) == 0) return;
        var merged = new Dictionary<string, WrittenSet>(StringComparer.Ordinal);
        foreach (var (id, record) in ReadFile(_persistPath)) merged[id] = record;
        foreach (var (id, record) in _records) merged[id] = record;
        var text = new StringBuilder(Header).Append('\n');
        foreach (var (id, record) in merged.OrderByDescending(r => r.Value.RecordedTicks).Take(MaxRecords))
        {
            text.Append(id).Append('\t').Append(record.SourceWidth.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(record.SourceHeight.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(record.RecordedTicks.ToString(CultureInfo.InvariantCulture));
            foreach (var f in record.Files)
                text.Append('\t').Append(f.Sha256).Append('\t').Append(f.Length.ToString(CultureInfo.InvariantCulture)).Append('\t')
                    .Append(f.LastWriteTicks.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(f.Path);
            text.Append('\n');
        }
        var temp = Output.TempFileOwner.TempPath(_persistPath);
        try
        {
            File.WriteAllText(temp, text.ToString(), new UTF8Encoding(false));
            File.Move(temp, _persistPath, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    public void Dispose() => Save();
}
