using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ImageFlowIO.Tests.Caching;

/// <summary>The one misbehaviour a <see cref="RemoteFaultServer"/> shows.</summary>
public enum RemoteFault
{
    /// <summary>The port is held (bound, never listening), so the kernel refuses connections and no other test can take it.</summary>
    Refused,
    /// <summary>Accepts and reads the request, then answers only after <see cref="RemoteFaultServer.SlowDelay"/>.</summary>
    Slow,
    /// <summary>HTTP 500 to everything.</summary>
    ServerError,
    /// <summary>HTTP 200 with bytes that are not a manifest.</summary>
    GarbageBody,
    /// <summary>HTTP 200 announcing 1000 bytes, sending 12, closing.</summary>
    TruncatedBody,
    /// <summary>GET/HEAD 404 (a cold cache), PUT 401.</summary>
    UnauthorizedPut,
}

/// <summary>A raw loopback HTTP/1.1 server with one fault, counting the requests it saw by method.</summary>
public sealed class RemoteFaultServer : IDisposable
{
    public static readonly TimeSpan SlowDelay = TimeSpan.FromSeconds(6);
    private readonly TcpListener? _listener;
    private readonly Socket? _heldPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _requests = [];

    public RemoteFaultServer(RemoteFault fault)
    {
        Fault = fault;
        if (fault == RemoteFault.Refused)
        {
            // Freeing the port instead would let a parallel test's server take it and answer.
            _heldPort = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _heldPort.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Port = ((IPEndPoint)_heldPort.LocalEndPoint!).Port;
            return;
        }
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _listener = listener;
        new Thread(AcceptLoop) { IsBackground = true, Name = "remote fault server" }.Start();
    }

    public RemoteFault Fault { get; }
    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/";
    public IReadOnlyList<string> Requests { get { lock (_requests) return [.. _requests]; } }

    // Dedicated threads and blocking I/O: the answer's timing must not depend on a busy thread pool.
    private void AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = _listener!.AcceptTcpClient(); }
            catch (Exception) { return; }
            new Thread(() => Serve(client)) { IsBackground = true }.Start();
        }
    }

    private void Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var (method, path, bodyLength) = ReadHead(stream);
                if (method is null) return;
                lock (_requests) _requests.Add(method + " " + path);
                var skip = new byte[8192];
                for (var left = bodyLength; left > 0;)
                {
                    var n = stream.Read(skip, 0, (int)Math.Min(skip.Length, left));
                    if (n == 0) break;
                    left -= n;
                }
                switch (Fault)
                {
                    case RemoteFault.Slow:
                        if (_stop.Token.WaitHandle.WaitOne(SlowDelay)) return;
                        Answer(stream, "404 Not Found", []);
                        break;
                    case RemoteFault.ServerError:
                        Answer(stream, "500 Internal Server Error", []);
                        break;
                    case RemoteFault.GarbageBody:
                        Answer(stream, "200 OK", Encoding.ASCII.GetBytes("<html>login required \x01\x02\x03</html>"));
                        break;
                    case RemoteFault.TruncatedBody:
                        stream.Write(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{\"entry\": {\""));
                        break;
                    case RemoteFault.UnauthorizedPut:
                        Answer(stream, method == "PUT" ? "401 Unauthorized" : "404 Not Found", []);
                        break;
                }
            }
            catch (Exception) { /* the client gave up (timeout) or the server is stopping */ }
        }
    }

    private static void Answer(NetworkStream stream, string status, byte[] body)
    {
        stream.Write(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
        stream.Write(body);
    }

    private static (string? Method, string Path, long BodyLength) ReadHead(NetworkStream stream)
    {
        var head = new StringBuilder();
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            var b = stream.ReadByte();
            if (b < 0) return (null, "", 0);
            head.Append((char)b);
        }
        var lines = head.ToString().Split("\r\n");
        var first = lines[0].Split(' ');
        long length = 0;
        foreach (var line in lines.Skip(1))
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = long.Parse(line[15..].Trim());
        return (first[0], first.Length > 1 ? first[1] : "", length);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener?.Stop();
        _heldPort?.Dispose();
    }
}
