using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.RegularExpressions;

namespace ImageFlowIO.Output;

/// <summary>
/// Names temporary files after the process that writes them (<c>.&lt;name&gt;.&lt;host&gt;-&lt;pid&gt;-&lt;start&gt;.&lt;random&gt;.tmp</c>),
/// so a later run can tell an abandoned one from a live writer's: on this host, a temp file whose writer (that pid
/// with that start time: a reused pid is another process) is gone is abandoned; from another host (a shared
/// folder) or without an owner in its name (older versions), only once it is older than <see cref="ForeignMargin"/>.
/// </summary>
internal static partial class TempFileOwner
{
    /// <summary>A temp file whose writer cannot be checked is left alone until it is this old (no write of ours takes that long).</summary>
    internal static readonly TimeSpan ForeignMargin = TimeSpan.FromMinutes(10);

    /// <summary>This host and boot (a reboot ends every writer): the first 8 hex digits of XxHash32 over the machine name and the boot id.</summary>
    internal static readonly string HostId = ComputeHostId();

    /// <summary>This process: host, pid and start stamp.</summary>
    internal static readonly string Token = TokenOf(Environment.ProcessId) ?? HostId + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-0";

    [GeneratedRegex(@"\.(?<host>[0-9a-f]{8})-(?<pid>[0-9]{1,10})-(?<start>[0-9]{1,20})\.[0-9a-f]{6}\.tmp$", RegexOptions.CultureInvariant)]
    private static partial Regex OwnedName();

    /// <summary>The owner part of the temp names process <paramref name="pid"/> writes on this host (null when it does not run).</summary>
    internal static string? TokenOf(int pid) =>
        StartStamp(pid) is { } start ? string.Create(CultureInfo.InvariantCulture, $"{HostId}-{pid}-{start}") : null;

    /// <summary>A temporary path beside <paramref name="path"/> that names this process as its writer.</summary>
    internal static string TempPath(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        // The temp name stays under the 255-byte name limit even when the final name is close to it.
        var name = Path.GetFileName(path);
        return Path.Combine(dir, "." + (name.Length > 180 ? name[..180] : name) + "." + Token + "." + Guid.NewGuid().ToString("N")[..6] + AtomicFile.TempExtension);
    }

    /// <summary>True when the temp file named <paramref name="fileName"/> was provably abandoned by its writer.</summary>
    internal static bool IsAbandoned(string fileName, DateTime lastWriteUtc, DateTime nowUtc)
    {
        if (!fileName.EndsWith(AtomicFile.TempExtension, StringComparison.Ordinal)) return false;
        var match = OwnedName().Match(fileName);
        if (!match.Success || match.Groups["host"].Value != HostId) return nowUtc - lastWriteUtc > ForeignMargin;
        if (!int.TryParse(match.Groups["pid"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(match.Groups["start"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var start))
            return nowUtc - lastWriteUtc > ForeignMargin;
        return !IsRunning(pid, start);
    }

    /// <summary>Deletes the abandoned temp files directly in <paramref name="folder"/>; returns how many went. Never throws for I/O trouble.</summary>
    internal static int Sweep(string folder)
    {
        var removed = 0;
        try
        {
            if (!Directory.Exists(folder)) return 0;
            var now = DateTime.UtcNow;
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*" + AtomicFile.TempExtension))
            {
                DateTime written;
                try { written = file.LastWriteTimeUtc; } catch (IOException) { continue; }
                if (!file.Name.StartsWith('.') || !IsAbandoned(file.Name, written, now)) continue;
                AtomicFile.TryDelete(file.FullName);
                removed++;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException) { }
        return removed;
    }

    /// <summary>Whether process <paramref name="pid"/> with start stamp <paramref name="start"/> still runs here (an unreadable one counts as running).</summary>
    private static bool IsRunning(int pid, long start)
    {
        long? now;
        try { now = StartStamp(pid); }
        catch (Exception ex) when (ex is UnauthorizedAccessException or System.ComponentModel.Win32Exception or NotSupportedException) { return true; }
        if (now is not { } stamp) return false;
        // Linux: clock ticks since boot, exact. Elsewhere: whole seconds derived from the wall clock, so allow a little slack.
        return OperatingSystem.IsLinux() ? stamp == start : Math.Abs(stamp - start) <= 2;
    }

    /// <summary>When process <paramref name="pid"/> started (null when no such process runs).</summary>
    private static long? StartStamp(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            string stat;
            try { stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"); }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException) { return null; }
            catch (IOException) { return null; } // ESRCH: it exited while we read
            // Field 22 (starttime), counted after the command name's closing parenthesis (the name may hold spaces).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ? ticks : null;
        }
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException) { return null; }
    }

    private static string ComputeHostId()
    {
        var boot = "";
        try { if (OperatingSystem.IsLinux()) boot = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return Convert.ToHexStringLower(XxHash32.Hash(Encoding.UTF8.GetBytes(Environment.MachineName + "\n" + boot)));
    }
}
