using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace ImageFlowIO.Caching;

/// <summary>
/// The mtime+size fast path (SPEC §3): remembers the content digest of an input file by (full path, size, last write
/// time), so an unchanged input is not re-read just to be hashed. The key still is the content digest: a <c>touch</c>
/// only costs one re-hash. Persisted as <see cref="FileName"/> in the disk cache folder (merged, temp + rename, at
/// dispose); memory-only without a disk cache. Thread-safe.
/// </summary>
internal sealed class InputDigestIndex : IDisposable
{
    public const string FileName = "inputs.idx";
    private const string Header = "imageflowio-input-index 1";
    /// <summary>A file written this recently might still change within the same timestamp tick: never trust it.</summary>
    private static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(1);
    private const int MaxEntries = 200_000;

    private readonly record struct Stamp(long Length, long LastWriteTicks);
    private readonly record struct Entry(Stamp Stamp, string Digest);

    private readonly string? _persistPath;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lazy<bool> _loaded;
    private int _dirty;
    private long _fastHits, _hashed;

    public InputDigestIndex(string? persistPath)
    {
        _persistPath = persistPath;
        _loaded = new Lazy<bool>(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Inputs whose digest came from the index (not re-read).</summary>
    public long FastPathHits => Interlocked.Read(ref _fastHits);
    /// <summary>Inputs read and hashed.</summary>
    public long FilesHashed => Interlocked.Read(ref _hashed);

    /// <summary>The input's content digest: from the index when its size and last write time are unchanged, else by reading and hashing it.</summary>
    /// <param name="path">The input file.</param>
    /// <param name="read">Reads the file (throwing the pipeline's input errors).</param>
    /// <param name="content">The bytes, when they had to be read (so a decode need not read them again).</param>
    public string GetDigest(string path, Func<string, byte[]> read, out byte[]? content)
    {
        _ = _loaded.Value;
        var full = Path.GetFullPath(path);
        Stamp? stamp = null;
        try
        {
            var info = new FileInfo(full);
            if (info.Exists) stamp = new Stamp(info.Length, info.LastWriteTimeUtc.Ticks);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }

        if (stamp is { } s && _entries.TryGetValue(full, out var known) && known.Stamp == s)
        {
            Interlocked.Increment(ref _fastHits);
            content = null;
            return known.Digest;
        }
        // The stamp is taken before the read: a change during the read gets a newer stamp and so never matches this entry.
        content = read(path);
        var digest = CacheKeys.ContentDigest(content);
        Interlocked.Increment(ref _hashed);
        if (stamp is { } st && st.Length == content.Length && DateTime.UtcNow - new DateTime(st.LastWriteTicks, DateTimeKind.Utc) > RacyWindow
            && !full.AsSpan().ContainsAny('\t', '\n', '\r'))
        {
            _entries[full] = new Entry(st, digest);
            Interlocked.Exchange(ref _dirty, 1);
        }
        return digest;
    }

    private bool Load()
    {
        if (_persistPath is null) return true;
        foreach (var (path, entry) in ReadFile(_persistPath)) _entries.TryAdd(path, entry);
        return true;
    }

    // One input a line: digest \t length \t ticks \t path. Untrusted like any cache content: a line that does not parse
    // is skipped. Read as UTF-8 fields in place (a fully cached run reads every line): a string for the digest and the path.
    private static List<(string, Entry)> ReadFile(string path)
    {
        var entries = new List<(string, Entry)>();
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return entries; }
        var text = new IndexText.Lines(bytes);
        if (!text.Next(out var header) || !header.SequenceEqual(HeaderUtf8)) return entries;
        while (text.Next(out var line))
        {
            var fields = new IndexText.Fields(line);
            var digest = fields.Next();
            if (fields.Done || !IsHexDigest(digest) || !IndexText.Number(fields.Next(), out var length) || fields.Done
                || !IndexText.Number(fields.Next(), out var ticks) || fields.Done) continue;
            entries.Add((Encoding.UTF8.GetString(fields.Rest()), new Entry(new Stamp(length, ticks), Encoding.UTF8.GetString(digest))));
        }
        return entries;
    }

    private static readonly byte[] HeaderUtf8 = Encoding.UTF8.GetBytes(Header);

    /// <summary>A content digest as <see cref="CacheKeys.ContentDigest"/> writes it: 64 lowercase hex digits.</summary>
    private static bool IsHexDigest(ReadOnlySpan<byte> field) => field.Length == 64 && !field.ContainsAnyExcept("0123456789abcdef"u8);

    /// <summary>Writes the index (merged with what other processes saved meanwhile) when it learned something.</summary>
    public void Save()
    {
        if (_persistPath is null || Interlocked.Exchange(ref _dirty, 0) == 0) return;
        var merged = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var (path, entry) in ReadFile(_persistPath)) merged[path] = entry;
        foreach (var (path, entry) in _entries) merged[path] = entry;
        var text = new StringBuilder(Header).Append('\n');
        foreach (var (path, entry) in merged.Take(MaxEntries))
            text.Append(entry.Digest).Append('\t').Append(entry.Stamp.Length.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(entry.Stamp.LastWriteTicks.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(path).Append('\n');
        try { Output.AtomicFile.Replace(_persistPath, stream => stream.Write(new UTF8Encoding(false).GetBytes(text.ToString()))); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { } // the index is an optimisation: never fail a run for it
    }

    /// <summary>
    /// True when the file still has the size and time its remembered <paramref name="digest"/> was recorded with: bytes
    /// read now are then the ones the digest describes, with the same trust the fast path itself gives (no second hash).
    /// </summary>
    public bool StillDescribes(string path, string digest)
    {
        var full = Path.GetFullPath(path);
        if (!_entries.TryGetValue(full, out var known) || known.Digest != digest) return false;
        try
        {
            var info = new FileInfo(full);
            return info.Exists && new Stamp(info.Length, info.LastWriteTimeUtc.Ticks) == known.Stamp;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }

    public void Dispose() => Save();
}
