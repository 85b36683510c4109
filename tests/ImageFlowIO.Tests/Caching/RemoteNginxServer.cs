using System.Diagnostics;

namespace ImageFlowIO.Tests.Caching;

/// <summary>
/// A real nginx (Debian nginx-light, installed by .ci/run) serving the remote cache layout with WebDAV PUT, on a free
/// loopback port, from its own temporary prefix; stopped (and the prefix deleted) on dispose. Shared by the runtime and
/// the build tests (linked source).
/// </summary>
public sealed class RemoteNginxServer : IDisposable
{
    private readonly Process _process;

    public RemoteNginxServer()
    {
        var nginx = new[] { "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nginx is not installed: the remote cache tests need Debian's nginx-light (apt-get install -y nginx-light; .ci/run does it)");
        Prefix = Path.Combine(Path.GetTempPath(), "ifio-nginx", Guid.NewGuid().ToString("N")[..12]);
        foreach (var dir in new[] { "data", "tmp", "logs" }) Directory.CreateDirectory(Path.Combine(Prefix, dir));
        for (var attempt = 0; ; attempt++)
        {
            Port = LoopbackServerStart.FreePort();
            File.WriteAllText(ConfigFile, $$"""
                user root;
                worker_processes 1;
                daemon off;
                pid {{Prefix}}/nginx.pid;
                error_log {{Prefix}}/logs/error.log;
                events { worker_connections 128; }
                http {
                  access_log {{Prefix}}/logs/access.log;
                  client_body_temp_path {{Prefix}}/tmp;
                  client_max_body_size 0;
                  server {
                    listen 127.0.0.1:{{Port}};
                    root {{DataDir}};
                    dav_methods PUT DELETE;
                    create_full_put_path on;
                  }
                }
                """);
            _process = Process.Start(new ProcessStartInfo(nginx, ["-c", ConfigFile, "-p", Prefix + "/"]) { RedirectStandardError = true, UseShellExecute = false })!;
            // Listening is not enough: the port was free when probed, but another server (a parallel test's) may have
            // taken it before nginx bound it; only our nginx serves this prefix's marker file.
            if (LoopbackServerStart.Started(_process, Port, DataDir, Path.GetFileName(Prefix), TimeSpan.FromSeconds(10))) break;
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            if (attempt == 2)
                throw new InvalidOperationException("nginx did not start: " + (File.Exists(ErrorLog) ? File.ReadAllText(ErrorLog) : _process.StandardError.ReadToEnd()));
        }
    }

    public string Prefix { get; }
    public int Port { get; private set; }
    public string Url => $"http://127.0.0.1:{Port}/";
    public string DataDir => Path.Combine(Prefix, "data");
    public string ConfigFile => Path.Combine(Prefix, "nginx.conf");
    public string ErrorLog => Path.Combine(Prefix, "logs", "error.log");
    public string AccessLog => Path.Combine(Prefix, "logs", "access.log");

    /// <summary>The manifests (<c>/ac/</c>) and blobs (<c>/cas/</c>) the server holds.</summary>
    public string[] Manifests => Files("ac");
    public string[] Blobs => Files("cas");
    /// <summary>Bytes of everything stored (what clients uploaded, each blob once).</summary>
    public long StoredBytes => Manifests.Concat(Blobs).Sum(f => new FileInfo(f).Length);

    private string[] Files(string folder) => Directory.Exists(Path.Combine(DataDir, folder)) ? Directory.GetFiles(Path.Combine(DataDir, folder)) : [];

    public void Dispose()
    {
        try
        {
            using var stop = Process.Start(new ProcessStartInfo(_process.StartInfo.FileName, ["-c", ConfigFile, "-p", Prefix + "/", "-s", "stop"]) { UseShellExecute = false, RedirectStandardError = true });
            stop?.WaitForExit(5000);
            if (!_process.WaitForExit(5000)) _process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        _process.Dispose();
        try { Directory.Delete(Prefix, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
