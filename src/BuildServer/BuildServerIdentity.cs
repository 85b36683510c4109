using System.Globalization;
using System.Runtime.InteropServices;

namespace ImageFlowIO.BuildServer;

/// <summary>
/// What a build server would run, as text: the user and host, the .NET host and framework, every managed assembly in the
/// server's folder (the only place it loads code from besides the framework: no .deps.json) and the ONNX Runtime native
/// library it would use, each file by path, size and time. Its digest names the server's pipe, lock and logs, so files
/// rebuilt in place (a deterministic build of the runtime keeps the task's module id) never meet an old server: they get a
/// new one. Computed in the MSBuild node before every hand-over (a few dozen stats), and again by the server.
/// </summary>
internal sealed class BuildServerIdentity
{
    private BuildServerIdentity(IReadOnlyList<string> parts)
    {
        Parts = parts;
        // FNV-1a: a name, not a secret (the pipe admits only its owner); no crypto library to load in a fresh MSBuild node.
        var hash = 14695981039346656037UL;
        foreach (var c in string.Join("\n", parts))
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        Digest = hash.ToString("x16", CultureInfo.InvariantCulture);
    }

    /// <summary>One line per thing the server's behaviour depends on, what it is before the bar (<c>assembly ImageFlowIO.dll|812032 2026-…</c>).</summary>
    public IReadOnlyList<string> Parts { get; }
    public string Digest { get; }
    /// <summary>Short: on Unix the name becomes a socket path (max ~104 bytes) under the temp folder.</summary>
    public string PipeName => "ifio-bs-" + Digest;

    /// <summary>The identity of a server run from <paramref name="serverDirectory"/> by <paramref name="host"/> with the
    /// consumer's ONNX Runtime library <paramref name="onnxRuntimeLibrary"/> (the folder's own runtimes/ copy, when there, first).</summary>
    public static BuildServerIdentity Of(string serverDirectory, string host, string frameworkDirectory, string? onnxRuntimeLibrary)
    {
        var parts = new List<string>
        {
            "user|" + CurrentUser(),
            "host|" + Environment.MachineName,
            "dotnet|" + host,
            "framework|" + frameworkDirectory,
            "folder|" + serverDirectory,
        };
        foreach (var file in Directory.EnumerateFiles(serverDirectory, "*.dll").Order(StringComparer.Ordinal))
            parts.Add(FilePart("assembly", Path.GetFileName(file), file));
        var ownNative = Path.Combine(serverDirectory, "runtimes");
        if (Directory.Exists(ownNative))
            foreach (var file in Directory.EnumerateFiles(ownNative, "*onnxruntime*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                parts.Add(FilePart("onnxruntime", file, file));
        if (!string.IsNullOrWhiteSpace(onnxRuntimeLibrary)) parts.Add(FilePart("onnxruntime", onnxRuntimeLibrary, onnxRuntimeLibrary));
        return new BuildServerIdentity(parts);
    }

    private static string FilePart(string kind, string name, string path)
    {
        var info = new FileInfo(path);
        return info.Exists
            ? string.Create(CultureInfo.InvariantCulture, $"{kind} {name}|{info.Length} {info.LastWriteTimeUtc:O}")
            : $"{kind} {name}|missing";
    }

    /// <summary>What differs from <paramref name="previous"/>'s parts, for the log line that says why a new server started.</summary>
    public string Changes(IReadOnlyList<string> previous)
    {
        static string Key(string part) => part.Split('|')[0];
        var before = previous.ToDictionary(Key, p => p, StringComparer.Ordinal);
        var now = Parts.ToDictionary(Key, p => p, StringComparer.Ordinal);
        var changed = now.Where(p => !before.TryGetValue(p.Key, out var old) || old != p.Value).Select(p => p.Key + (before.ContainsKey(p.Key) ? " changed" : " added"))
            .Concat(before.Keys.Where(k => !now.ContainsKey(k)).Select(k => k + " removed")).ToList();
        return changed.Count == 0 ? "the same files" : string.Join(", ", changed);
    }

    /// <summary>The effective uid on Unix (Environment.UserName resolves the name through NSS: ~5 ms in a fresh process).</summary>
    private static string CurrentUser() => OperatingSystem.IsWindows() ? Environment.UserName : "uid:" + NativeMethods.geteuid();

    /// <summary>
    /// This user's folder for the servers' locks, records and crash logs: under the user's local application data (never a
    /// shared temp path), created for the user alone (0700 on Unix).
    /// </summary>
    public static string UserDirectory()
    {
        var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        // No home folder (a bare CI container): a folder of the user's own in temp, checked to be the user's alone below.
        var directory = string.IsNullOrEmpty(root)
            ? Path.Combine(Path.GetTempPath(), "imageflowio-" + CurrentUser().Replace(':', '-'), "build-server")
            : Path.Combine(root, "ImageFlowIO", "build-server");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory); // under the user's profile: the user's alone
            return directory;
        }
        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Directory.CreateDirectory(directory, OwnerOnly);
        if ((File.GetUnixFileMode(directory) & ~OwnerOnly) != 0) File.SetUnixFileMode(directory, OwnerOnly); // fails unless ours
        return directory;
    }

    public string LockPath(string userDirectory) => Path.Combine(userDirectory, PipeName + ".lock");
    public string CrashLogPath(string userDirectory) => Path.Combine(userDirectory, PipeName + ".crash.log");

    /// <summary>Where the last server started for this user, host and server folder is recorded (its name and parts): a new one
    /// says what changed, and <c>ImageFlowBuildServerShutdown</c> finds it.</summary>
    public static string RecordPath(string userDirectory, string serverDirectory) =>
        Path.Combine(userDirectory, "server-" + new BuildServerIdentity(["user|" + CurrentUser(), "host|" + Environment.MachineName, "folder|" + serverDirectory]).Digest + ".txt");

    /// <summary>True when a server holds <paramref name="lockPath"/> (the single-instance lock, held for its whole life).</summary>
    public static bool IsRunning(string lockPath)
    {
        try
        {
            // A shared lock fails only while the server holds its exclusive one (flock on Unix, share modes on Windows).
            using var probe = new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return false;
        }
        catch (FileNotFoundException) { return false; }
        catch (DirectoryNotFoundException) { return false; }
        catch (IOException) { return true; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>The server's single-instance lock, or null when another server holds it (a client's probe is retried briefly).</summary>
    public static FileStream? TryLock(string lockPath)
    {
        // A client's probe holds its shared lock for microseconds, a server its exclusive one for its life.
        for (var attempt = 0; ; attempt++)
        {
            try { return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (attempt < 20) { Thread.Sleep(25); }
            catch (IOException) { return null; }
        }
    }
}

internal static partial class NativeMethods
{
    [LibraryImport("libc", SetLastError = false)]
    internal static partial uint geteuid();
}
