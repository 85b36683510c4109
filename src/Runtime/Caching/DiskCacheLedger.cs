using System.Globalization;
using System.Text;

namespace ImageFlowIO.Caching;

/// <summary>
/// The bytes a disk cache folder's entries hold, shared by every process that writes or prunes it (issue 27): a
/// 21-byte record in <c>usage.lock</c>, read and changed only while that file is open with <see cref="FileShare.None"/>
/// (an exclusive <c>flock</c> on Unix, a sharing lock on Windows; the kernel lets go when a holder dies). Writers add
/// what they wrote; whoever finds the folder over its limit evicts while holding the lock and records what a scan
/// counted, so concurrent writers see the folder as it is and two evictions never overlap. Never deleted (a second
/// file would be a second lock): <c>cache clear</c> records 0.
/// </summary>
internal sealed class DiskCacheLedger
{
    internal const string FileName = "usage.lock";
    private const int RecordLength = 21; // 20 digits and a newline: a fixed width, so a rewrite never leaves a tail
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);

    private readonly string _folder;
    private readonly string _path;
    private readonly TimeSpan _wait;
    // Threads of one process queue here rather than spinning on the file lock.
    private readonly object _gate = new();

    public DiskCacheLedger(string folder, TimeSpan? wait = null)
    {
        _folder = folder;
        _path = Path.Combine(folder, FileName);
        _wait = wait ?? DefaultWait;
    }

    /// <summary>
    /// Runs <paramref name="change"/> on the recorded bytes (null when the record is missing or unreadable: count the
    /// folder) while holding the lock, and records what it returns. False when the lock was not had within the wait
    /// (a stuck holder) or the folder refuses the file: the caller then works from its own count.
    /// </summary>
    public bool TryUpdate(Func<long?, long> change)
    {
        lock (_gate)
        {
            using var file = Acquire();
            if (file is null) return false;
            var recorded = Read(file);
            var next = Math.Max(0, change(recorded));
            try
            {
                file.Position = 0;
                file.Write(Encoding.ASCII.GetBytes(next.ToString("D20", CultureInfo.InvariantCulture) + "\n"));
            }
            catch (IOException) { return false; }
            return true;
        }
    }

    /// <summary>The recorded bytes, read under the lock; null when there is no readable record or no lock within the wait.</summary>
    public long? TryRead()
    {
        lock (_gate)
        {
            using var file = Acquire();
            return file is null ? null : Read(file);
        }
    }

    /// <summary>Adds <paramref name="bytes"/> to the record (counting the folder when there is none); returns the folder's bytes, or null without the lock.</summary>
    public long? Add(long bytes)
    {
        long total = 0;
        // Without a record, the count already holds the entry just written.
        return TryUpdate(recorded => total = recorded is { } r ? r + bytes : Count()) ? total : null;
    }

    /// <summary>The bytes of the folder's entries as they are now (a sizes-only scan).</summary>
    public long Count() => DiskCacheFolder.Scan(_folder, readMetadata: false).Sum(e => e.Bytes);

    private FileStream? Acquire()
    {
        var deadline = Environment.TickCount64 + (long)_wait.TotalMilliseconds;
        for (var attempt = 0; ; attempt++)
        {
            try { return new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None); }
            catch (Exception ex) when (ex is UnauthorizedAccessException or DirectoryNotFoundException or PathTooLongException) { return null; }
            catch (IOException) when (Environment.TickCount64 < deadline)
            {
                // Held by another process (an eviction takes milliseconds): back off a little more each time.
                Thread.Sleep(Math.Min(1 + attempt, 20));
            }
            catch (IOException) { return null; }
        }
    }

    private static long? Read(FileStream file)
    {
        if (file.Length != RecordLength) return null;
        Span<byte> record = stackalloc byte[RecordLength];
        try { file.ReadExactly(record); }
        catch (IOException) { return null; }
        return record[^1] == (byte)'\n' && long.TryParse(record[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
    }
}
