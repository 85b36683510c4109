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

    /// <summary>
    /// Looks up a two-part id ("a \t b", as <see cref="Id"/> and <see cref="RunId"/> spell them) without making its
    /// string: a fully cached run looks up a set and a run record per input.
    /// </summary>
    private static bool TryGet<T>(ConcurrentDictionary<string, T> map, string first, string second, out T value)
    {
        var length = first.Length + 1 + second.Length;
        var id = length <= 1024 ? stackalloc char[length] : new char[length];
        first.CopyTo(id);
        id[first.Length] = '\t';
        second.CopyTo(id[(first.Length + 1)..]);
        return map.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(id, out value!);
    }

    /// <summary>True when every file recorded for this key in this folder is still as it was written (see the class remarks).</summary>
    public bool TryGetUpToDate(string outputKey, string folder, out UpToDate found) => TryGetUpToDate(outputKey, folder, out found, out _);

    /// <summary>As <see cref="TryGetUpToDate(string, string, out UpToDate)"/>; when false, <paramref name="why"/> names the first file missing or changed (null: nothing recorded).</summary>
    public bool TryGetUpToDate(string outputKey, string folder, out UpToDate found, out string? why)
    {
        _ = _loaded.Value;
        found = default;
        why = null;
        var root = Path.GetFullPath(folder);
        if (!TryGet(_records, outputKey, root, out var record)) return false;
        var paths = new List<string>(record.Files.Length);
        List<(string Path, FileStamp Stamp)>? racy = null; // made only when a record is racy (rare after the first re-run)
        foreach (var stamp in record.Files)
        {
            var path = Path.Combine(root, stamp.Path.Replace('/', Path.DirectorySeparatorChar));
            try
            {
                var info = new FileInfo(path);
                if (!info.Exists) { why = $"output {stamp.Path} is missing"; return false; }
                // A link is not the file that was written (its attributes come from the same lstat: no readlink).
                if (info.Attributes.HasFlag(FileAttributes.ReparsePoint) || info.Length != stamp.Length || info.LastWriteTimeUtc.Ticks != stamp.LastWriteTicks) { why = $"output {stamp.Path} changed on disk"; return false; }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { why = $"output {stamp.Path} cannot be read"; return false; }
            if (record.RecordedTicks - stamp.LastWriteTicks <= RacyWindow.Ticks) (racy ??= []).Add((path, stamp));
            paths.Add(path);
        }
        if (racy is null) Interlocked.Increment(ref _statOnly);
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
            _records[Id(outputKey, root)] = record with { RecordedTicks = now };
            Interlocked.Exchange(ref _dirty, 1);
        }
        found = new UpToDate(paths, record.SourceWidth, record.SourceHeight, record.Facts);
        return true;
    }

    /// <summary>What the last run of this input into this output folder was made of; null when it never ran here (that we know of).</summary>
    public RunRecord? LastRun(string inputPath, string folder)
    {
        _ = _loaded.Value;
        return TryGet(_runs, Path.GetFullPath(inputPath), Path.GetFullPath(folder), out var run) ? run : null;
    }

    /// <summary>Remembers what this run of an input was made of (marks the index for saving only when it differs from what it knew).</summary>
    public void RecordRun(string inputPath, string folder, RunRecord run)
    {
        _ = _loaded.Value;
        // Most often (every up-to-date input) the record is the one read back: nothing to check or save.
        if (TryGet(_runs, Path.GetFullPath(inputPath), Path.GetFullPath(folder), out var known) && known == run) return;
        var id = RunId(inputPath, folder);
        if (inputPath.AsSpan().ContainsAny('\t', '\n', '\r') || folder.AsSpan().ContainsAny('\t', '\n', '\r')
            || run.Fields().Any(f => f.AsSpan().ContainsAny('\t', '\n', '\r'))) return;
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
    // Untrusted like any cache content: a line that does not parse is skipped. Read as UTF-8 fields in place (a fully
    // cached run reads every set): strings only for what the index keeps.
    private static (List<(string, WrittenSet)> Sets, List<(string, RunRecord)> Runs) ReadFile(string path)
    {
        var sets = new List<(string, WrittenSet)>();
        var runs = new List<(string, RunRecord)>();
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return (sets, runs); }
        var text = new IndexText.Lines(bytes);
        if (!text.Next(out var header) || !header.SequenceEqual(HeaderUtf8)) return (sets, runs);
        var repeated = new RepeatedText(RunRecord.FieldCount);
        var values = new string[RunRecord.FieldCount + 1]; // one more: a line with too many fields is not a record
        while (text.Next(out var line))
        {
            if (line.StartsWith("r\t"u8))
            {
                var runFields = new IndexText.Fields(line[2..]);
                if (ReadRun(ref runFields, repeated, values) is { } run) runs.Add(run);
                continue;
            }
            var fields = new IndexText.Fields(line);
            if (ReadSet(ref fields) is { } set) sets.Add(set);
        }
        return (sets, runs);
    }

    private static readonly byte[] HeaderUtf8 = Encoding.UTF8.GetBytes(Header);

    private static (string, RunRecord)? ReadRun(ref IndexText.Fields fields, RepeatedText repeated, string[] values)
    {
        var id = fields.Next(2); // input \t folder
        if (fields.Done) return null;
        var count = 0;
        while (!fields.Done && count < values.Length)
        {
            var field = fields.Next();
            // The content digest and the output key are each input's own; the other parts are most often every record's.
            values[count] = count is 1 or 8 || count >= RunRecord.FieldCount ? Encoding.UTF8.GetString(field) : repeated.Get(count, field);
            count++;
        }
        if (!fields.Done || RunRecord.TryParse(values.AsSpan(0, count)) is not { } run) return null;
        return (Encoding.UTF8.GetString(id), run);
    }

    /// <summary>One string per field position for a value that repeats from line to line (the tool version, the model's and the sections' digests).</summary>
    private sealed class RepeatedText(int slots)
    {
        private readonly (byte[] Utf8, string Text)?[] _last = new (byte[], string)?[slots];

        public string Get(int slot, ReadOnlySpan<byte> utf8)
        {
            if (_last[slot] is { } last && utf8.SequenceEqual(last.Utf8)) return last.Text;
            var text = Encoding.UTF8.GetString(utf8);
            _last[slot] = (utf8.ToArray(), text);
            return text;
        }
    }

    private static (string, WrittenSet)? ReadSet(ref IndexText.Fields fields)
    {
        var id = fields.Next(2); // key \t folder
        var tab = id.IndexOf((byte)'\t');
        if (tab < 0 || !DiskCacheFolder.IsKey(id[..tab]) || fields.Done || !IndexText.Number(fields.Next(), out var width) || !IndexText.Number(fields.Next(), out var height)
            || !IndexText.Number(fields.Next(), out var recorded) || fields.Done || width > int.MaxValue || height > int.MaxValue) return null;
        OutputFacts facts;
        try { facts = OutputFacts.Read(fields.Next()); }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException) { return null; }
        var files = new List<FileStamp>(1);
        while (!fields.Done)
        {
            var sha = fields.Next();
            if (sha.Length != 64 || fields.Done || !IndexText.Number(fields.Next(), out var length) || fields.Done || !IndexText.Number(fields.Next(), out var ticks) || fields.Done) return null;
            var relative = Encoding.UTF8.GetString(fields.Next());
            if (OutputBundle.CheckRelativePath(relative) is not null) return null;
            files.Add(new FileStamp(relative, length, ticks, Encoding.UTF8.GetString(sha)));
        }
        return (Encoding.UTF8.GetString(id), new WrittenSet((int)width, (int)height, recorded, facts, [.. files]));
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
