using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ImageFlowIO.Tests.Caching;

/// <summary>
/// How the tests' real HTTP servers (nginx, Apache httpd) prove they started: a probed free loopback port, a listening
/// socket, and this server's own marker file served back (a parallel test's server may take a port probed free).
/// </summary>
internal static class LoopbackServerStart
{
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>True once <paramref name="server"/> listens on <paramref name="port"/> and serves a marker only its <paramref name="dataDir"/> holds.</summary>
    public static bool Started(Process server, int port, string dataDir, string marker, TimeSpan timeout) =>
        WaitUntilListening(server, port, timeout) && ServesOwnMarker(server, port, dataDir, marker);

    private static bool WaitUntilListening(Process server, int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !server.HasExited)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException) { Thread.Sleep(50); }
        }
        return false;
    }

    private static bool ServesOwnMarker(Process server, int port, string dataDir, string marker)
    {
        File.WriteAllText(Path.Combine(dataDir, "marker.txt"), marker);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            return !server.HasExited && http.GetStringAsync($"http://127.0.0.1:{port}/marker.txt").GetAwaiter().GetResult() == marker;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return false; }
        finally { File.Delete(Path.Combine(dataDir, "marker.txt")); }
    }
}
