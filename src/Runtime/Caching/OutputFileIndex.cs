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
/// refreshed). Each set keeps the output's <see cref="OutputFacts"/>, so an up-to-date input still has everything hosts
/// report. Beside the sets it keeps one <see cref="RunRecord"/> per input and output folder (what its last run was made
/// of), from which the up-to-date decision (<see cref="UpToDateCheck"/>) tells why an input runs again. Persisted as
/// <see cref="FileName"/> in the disk cache folder (merged, temp + rename, at dispose); memory-only without a disk
/// cache. Thread-safe.
/// </summary>
internal sealed class OutputFileIndex : IDisposable
{
    public const string FileName = "outputs.idx";
    // Version 2: sets carry their facts, and run records ("r" lines) sit beside them; a version 1 file is read as empty.
    private const string Header = "imageflowio-output-index 2";
    private static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(1);
    private const int MaxRecords = 200_000;

    /// <summary>One written file: path relative to the output folder (forward slashes), as the output entry names it.</summary>
    private sealed record FileStamp(string Path, long Length, long LastWriteTicks, string Sha256);

    private sealed record WrittenSet(int SourceWidth, int SourceHeight, long RecordedTicks, OutputFacts Facts, FileStamp[] Files);

    /// <summary>What an up-to-date check found: the files (full paths), the source size and the facts their entry recorded.</summary>
    public readonly record struct UpToDate(List<string> Files, int SourceWidth, int SourceHeight, OutputFacts Facts);

    private readonly string? _persistPath;
    private readonly ConcurrentDictionary<string, WrittenSet> _records = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RunRecord> _runs = new(StringComparer.Ordinal);
    private readonly Lazy<bool> _loaded;
    private int _dirty;
    private long _statOnly, _hashed;

    public OutputFileIndex(string? persistPath)
    {
        _persistPath = persistPath;
        _loaded = new Lazy<bool>(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>True when the index is kept in a disk cache folder (false: this process's memory only).</summary>
    public bool IsPersistent => _persistPath is not null;

    /// <summary>True when no run and no output set is recorded (a fresh clone, a first build): every input will run.</summary>
    public bool IsEmpty
    {
        get
        {
            _ = _loaded.Value;
            return _runs.IsEmpty && _records.IsEmpty;
        }
    }

    /// <summary>Output sets found up to date by their stat alone.</summary>
    public long StatOnlyHits => Interlocked.Read(ref _statOnly);
    /// <summary>Output files read and hashed because their record was racy.</summary>
    public long FilesHashed => Interlocked.Read(ref _hashed);

    private static string Id(string outputKey, string folder) => outputKey + "\t" + Path.GetFullPath(folder);

    /// <summary>True when every file recorded for this key in this folder is still as it was written (see the class remarks).</summary>
    public bool TryGetUpToDate(string outputKey, string folder, out UpToDate found) => TryGetUpToDate(outputKey, folder, out found, out _);

    /// <summary>As <see cref="TryGetUpToDate(string, string, out UpToDate)"/>; when false, <paramref name="why"/> names the first file missing or changed (null: nothing recorded).</summary>
    public bool TryGetUpToDate(string outputKey, string folder, out UpToDate found, out string? why)
    {
        _ = _loaded.Value;
        found = default;
        why = null;
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
                if (!info.Exists) { why = $"output {stamp.Path} is missing"; return false; }
                if (info.LinkTarget is not null || info.Length != stamp.Length || info.LastWriteTimeUtc.Ticks != stamp.LastWriteTicks) { why = $"output {stamp.Path} changed on disk"; return false; }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { why = $"output {stamp.Path} cannot be read"; return false; }
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
                    why = $"output {stamp.Path} changed on disk";
                    if (bytes.Length != stamp.Length || Convert.ToHexStringLower(SHA256.HashData(bytes)) != stamp.Sha256) return false;
                    // Stat again after the read: a write during it changes the time, and the record must not vouch for it.
                    if (new FileInfo(path).LastWriteTimeUtc.Ticks != stamp.LastWriteTicks) return false;
                    why = null;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { why = $"output {stamp.Path} cannot be read"; return false; }
            }
            // The content matched just now: from now on the record's time is what tells a later change apart.
            _records[id] = record with { RecordedTicks = now };
            Interlocked.Exchange(ref _dirty, 1);
        }
        found = new UpToDate(paths, record.SourceWidth, record.SourceHeight, record.Facts);
        return true;
    }

    /// <summary>What the last run of this input into this output folder was made of; null when it never ran here (that we know of).</summary>
    public RunRecord? LastRun(string inputPath, string folder)
    {
        _ = _loaded.Value;
        return _runs.TryGetValue(RunId(inputPath, folder), out var run) ? run : null;
    }

    /// <summary>Remembers what this run of an input was made of (marks the index for saving only when it differs from what it knew).</summary>
    public void RecordRun(string inputPath, string folder, RunRecord run)
    {
        _ = _loaded.Value;
        if (inputPath.AsSpan().ContainsAny('\t', '\n', '\r') || folder.AsSpan().ContainsAny('\t', '\n', '\r')
            || run.Fields().Any(f => f.AsSpan().ContainsAny('\t', '\n', '\r'))) return;
        var id = RunId(inputPath, folder);
        if (_runs.TryGetValue(id, out var known) && known == run) return;
        _runs[id] = run;
        Interlocked.Exchange(ref _dirty, 1);
    }

    private static string RunId(string inputPath, string folder) => Path.GetFullPath(inputPath) + "\t" + Path.GetFullPath(folder);

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
        _records[Id(outputKey, root)] = new WrittenSet(bundle.SourceWidth, bundle.SourceHeight, DateTime.UtcNow.Ticks, bundle.Facts, stamps);
        Interlocked.Exchange(ref _dirty, 1);
    }

    private bool Load()
    {
        if (_persistPath is null) return true;
        var (records, runs) = ReadFile(_persistPath);
        foreach (var (id, record) in records) _records.TryAdd(id, record);
        foreach (var (id, run) in runs) _runs.TryAdd(id, run);
        return true;
    }

    // One set a line: key \t folder \t sourceWidth \t sourceHeight \t recordedTicks \t facts (compact JSON), then per file:
    // \t sha256 \t length \t ticks \t path. One run record a line: r \t input \t folder \t its fields (RunRecord.Fields).
    // Untrusted like any cache content: a line that does not parse is skipped.
    private static (List<(string, WrittenSet)> Sets, List<(string, RunRecord)> Runs) ReadFile(string path)
    {
        var sets = new List<(string, WrittenSet)>();
        var runs = new List<(string, RunRecord)>();
        string[] lines;
        try { lines = File.ReadAllLines(path, Encoding.UTF8); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return (sets, runs); }
        if (lines.Length == 0 || lines[0] != Header) return (sets, runs);
        foreach (var line in lines.Skip(1))
        {
            var parts = line.Split('\t');
            if (parts[0] == "r")
            {
                if (parts.Length >= 3 && RunRecord.TryParse(parts.AsSpan(3)) is { } run) runs.Add((parts[1] + "\t" + parts[2], run));
                continue;
            }
            if (parts.Length < 6 || (parts.Length - 6) % 4 != 0 || !DiskCacheFolder.IsKey(parts[0])
                || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var width)
                || !int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var height)
                || !long.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var recorded)) continue;
            OutputFacts facts;
            try { facts = OutputFacts.FromJson(parts[5]); }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException) { continue; }
            var files = new FileStamp[(parts.Length - 6) / 4];
            var valid = true;
            for (var i = 0; i < files.Length && valid; i++)
            {
                var at = 6 + 4 * i;
                valid = parts[at].Length == 64
                    && long.TryParse(parts[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                    && long.TryParse(parts[at + 2], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                    && OutputBundle.CheckRelativePath(parts[at + 3]) is null
                    && (files[i] = new FileStamp(parts[at + 3], length, ticks, parts[at])) is not null;
            }
            if (valid) sets.Add((parts[0] + "\t" + parts[1], new WrittenSet(width, height, recorded, facts, files)));
        }
        return (sets, runs);
    }

    /// <summary>Writes the index (merged with what other processes saved meanwhile) when it learned something.</summary>
    public void Save()
    {
        if (_persistPath is null || Interlocked.Exchange(ref _dirty, 0) == 0) return;
        var merged = new Dictionary<string, WrittenSet>(StringComparer.Ordinal);
        var mergedRuns = new Dictionary<string, RunRecord>(StringComparer.Ordinal);
        var (onDisk, runsOnDisk) = ReadFile(_persistPath);
        foreach (var (id, record) in onDisk) merged[id] = record;
        foreach (var (id, record) in _records) merged[id] = record;
        foreach (var (id, run) in runsOnDisk) mergedRuns[id] = run;
        foreach (var (id, run) in _runs) mergedRuns[id] = run;
        var text = new StringBuilder(Header).Append('\n');
        foreach (var (id, run) in mergedRuns.OrderBy(r => r.Key, StringComparer.Ordinal).Take(MaxRecords))
            text.Append("r\t").Append(id).Append('\t').AppendJoin('\t', run.Fields()).Append('\n');
        foreach (var (id, record) in merged.OrderByDescending(r => r.Value.RecordedTicks).Take(MaxRecords))
        {
            text.Append(id).Append('\t').Append(record.SourceWidth.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(record.SourceHeight.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(record.RecordedTicks.ToString(CultureInfo.InvariantCulture))
                .Append('\t').Append(record.Facts.ToJson());
            foreach (var f in record.Files)
                text.Append('\t').Append(f.Sha256).Append('\t').Append(f.Length.ToString(CultureInfo.InvariantCulture)).Append('\t')
                    .Append(f.LastWriteTicks.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(f.Path);
            text.Append('\n');
        }
        try { Output.AtomicFile.Replace(_persistPath, stream => stream.Write(new UTF8Encoding(false).GetBytes(text.ToString()))); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { } // a lost record only makes the next run do more: never fail this one for it
    }

    public void Dispose() => Save();
}
