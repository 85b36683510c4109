using System.Diagnostics;

namespace ImageFlowIO.Tests.Caching;

/// <summary>
/// A real Apache httpd (Debian apache2, installed by .ci/run) with mod_dav/mod_dav_fs: a WebDAV server that does NOT create
/// folders on PUT (409 until MKCOL). Started in the foreground (-DFOREGROUND, not a daemon) from its own config in a
/// temporary folder on a free loopback port; stopped (its process tree) and the folder deleted on dispose.
/// </summary>
public sealed class RemoteApacheServer : IDisposable
{
    private const string Modules = "/usr/lib/apache2/modules";
    private readonly Process _process;

    public RemoteApacheServer()
    {
        var apache = new[] { "/usr/sbin/apache2", "/usr/sbin/httpd" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("apache2 is not installed: the WebDAV MKCOL test needs Debian's apache2 (apt-get install -y apache2; .ci/run does it)");
        Prefix = Path.Combine(Path.GetTempPath(), "ifio-apache", Guid.NewGuid().ToString("N")[..12]);
        foreach (var dir in new[] { "data", "logs", "lock" }) Directory.CreateDirectory(Path.Combine(Prefix, dir));
        // As root, httpd's children run as User/Group: the folders they write must be theirs.
        var asRoot = Environment.UserName == "root";
        if (asRoot)
            foreach (var dir in new[] { Prefix, DataDir, Path.Combine(Prefix, "lock") })
                Run("chown", "nobody:nogroup", dir);
        for (var attempt = 0; ; attempt++)
        {
            Port = LoopbackServerStart.FreePort();
            File.WriteAllText(ConfigFile, $$"""
                ServerRoot "{{Prefix}}"
                Listen 127.0.0.1:{{Port}}
                ServerName 127.0.0.1
                PidFile {{Prefix}}/apache2.pid
                ErrorLog {{Prefix}}/logs/error.log
                LoadModule mpm_event_module {{Modules}}/mod_mpm_event.so
                LoadModule authz_core_module {{Modules}}/mod_authz_core.so
                LoadModule dav_module {{Modules}}/mod_dav.so
                LoadModule dav_fs_module {{Modules}}/mod_dav_fs.so
                {{(asRoot ? "User nobody\nGroup nogroup" : "")}}
                DavLockDB {{Prefix}}/lock/DavLock
                DocumentRoot {{DataDir}}
                LogFormat "%h %l %u %t \"%r\" %>s %b" common
                CustomLog {{Prefix}}/logs/access.log common
                <Directory {{DataDir}}>
                  Dav On
                  Require all granted
                </Directory>
                """);
            _process = Process.Start(new ProcessStartInfo(apache, ["-f", ConfigFile, "-DFOREGROUND"]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
            if (LoopbackServerStart.Started(_process, Port, DataDir, Path.GetFileName(Prefix), TimeSpan.FromSeconds(10))) break;
            Stop();
            if (attempt == 2)
                throw new InvalidOperationException("apache2 did not start: " + (File.Exists(ErrorLog) ? File.ReadAllText(ErrorLog) : ""));
        }
    }

    public string Prefix { get; }
    public int Port { get; private set; }
    public string Url => $"http://127.0.0.1:{Port}/";
    public string DataDir => Path.Combine(Prefix, "data");
    public string ConfigFile => Path.Combine(Prefix, "apache2.conf");
    public string ErrorLog => Path.Combine(Prefix, "logs", "error.log");
    public string AccessLog => Path.Combine(Prefix, "logs", "access.log");

    public string[] Manifests => Files("ac");
    public string[] Blobs => Files("cas");

    private string[] Files(string folder) => Directory.Exists(Path.Combine(DataDir, folder)) ? Directory.GetFiles(Path.Combine(DataDir, folder)) : [];

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false })!;
        p.WaitForExit(10_000);
    }

    /// <summary>SIGTERM to the parent (it stops its children), then the process tree we started if it lingers.</summary>
    private void Stop()
    {
        try
        {
            if (!_process.HasExited) Run("kill", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (!_process.WaitForExit(5000)) _process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }

    public void Dispose()
    {
        Stop();
        _process.Dispose();
        try { Directory.Delete(Prefix, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
