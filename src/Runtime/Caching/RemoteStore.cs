using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>
/// The shared remote layer (SPEC §3): a client of HTTP caches in the layout bazel-remote serves. Payloads go to
/// <c>/cas/&lt;sha256 of the body&gt;</c>, and a small <see cref="RemoteManifest"/> naming them to
/// <c>/ac/&lt;sha256 of the entry's stage and key&gt;</c>. A read is a hit only when the manifest parses (and, with a
/// signing key, carries a valid tag) and every blob it names exists and matches its digest and size.
/// <para>
/// Never slows or fails a run: requests are synchronous with a short connect timeout and a per-request timeout; the
/// first failure (refused, DNS, timeout, 5xx, an answer that is not a manifest, a cut-off body) turns the layer off for
/// the rest of the run with one <c>IFIO4002</c> warning, and a 401/403 on upload makes it read-only with one
/// <c>IFIO4003</c>. Uploads run on one background worker behind a queue bounded in bytes (HEAD before PUT skips blobs
/// the server has), and <see cref="Flush()"/> waits for them with a bounded wait. Credentials live in
/// <see cref="RemoteCacheSettings"/> and are never printed: every message names the redacted address.
/// </para>
/// </summary>
internal sealed class RemoteStore : ICacheStore
{
    /// <summary>Stages kept remotely, chosen by measurement (docs/remote-cache.md): preprocess tensors are many times the
    /// size of their input and cheaper to recompute than to download.</summary>
    public static bool DefaultAccepts(CacheStage stage) => stage is CacheStage.Inference or CacheStage.Output or CacheStage.Regions or CacheStage.Region;

    /// <summary>Upload queue bound: a run computing faster than the network uploads waits here, it never holds more.</summary>
    internal const long QueueBudgetBytes = 256L << 20;
    /// <summary>How long <see cref="Flush()"/> waits for queued uploads at the end of a run.</summary>
    internal static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);
    private const int MaxConnectTimeoutMs = 500;

    private readonly RemoteCacheSettings _settings;
    private readonly Func<CacheStage, bool> _accepts;
    private readonly ILogger _logger;
    private readonly HttpClient _client;
    private readonly Queue<CacheEntry> _uploads = new();
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private Thread? _worker;
    private long _queuedBytes;
    private int _pending; // queued + in flight
    private int _off;
    private int _readOnlyWarned;
    private bool _disposed;

    public RemoteStore(RemoteCacheSettings settings, CacheLayerStatistics stats, ILogger logger, Func<CacheStage, bool>? accepts = null, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _accepts = accepts ?? DefaultAccepts;
        Statistics = stats;
        _logger = logger;
        ReadOnly = settings.ReadOnly;
        _client = new HttpClient(handler ?? new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(Math.Min(MaxConnectTimeoutMs, settings.TimeoutMs)),
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        })
        {
            BaseAddress = settings.BaseUri,
            Timeout = Timeout.InfiniteTimeSpan, // each request has its own timeout (RequestTimeout)
        };
    }

    public string Layer => "remote";
    public bool IsPersistent => true;
    public StoreCapabilities Capabilities => StoreCapabilities.RetainsPayloads | StoreCapabilities.Shared;
    public CacheLayerStatistics Statistics { get; }
    /// <summary>The redacted address (no credentials).</summary>
    public string Display => _settings.Display;
    /// <summary>False once a failure turned the layer off for the rest of the run.</summary>
    public bool Enabled => Volatile.Read(ref _off) == 0;
    /// <summary>True when configured read-only or after the server refused an upload.</summary>
    public bool ReadOnly { get; private set; }

    public bool Accepts(CacheStage stage) => _accepts(stage);

    public StoreRead TryGet(CacheStage stage, string key)
    {
        if (!Enabled) return StoreRead.Miss;
        var actionPath = "ac/" + RemoteManifest.ActionId(stage, key);
        var read = Download(actionPath, RemoteManifest.MaxBytes, out var manifestBytes);
        if (read == Fetch.Missing || read == Fetch.Failed) return StoreRead.Miss;
        if (read == Fetch.WrongSize) return StoreRead.Corrupt($"the manifest {actionPath} is larger than {RemoteManifest.MaxBytes} bytes");

        switch (RemoteManifest.TryParse(manifestBytes, stage, key, _settings.SigningKey, out var manifest, out var problem))
        {
            case RemoteManifest.ParseOutcome.NotJson:
                // Every manifest we write is JSON: this is a proxy page or another kind of server, not one bad entry.
                Trip($"answered GET {actionPath} with something that is not a manifest");
                return StoreRead.Miss;
            case RemoteManifest.ParseOutcome.OtherVersion: return StoreRead.Miss;
            case RemoteManifest.ParseOutcome.Untrusted: return StoreRead.NotTrusted(problem);
            case RemoteManifest.ParseOutcome.Invalid: return StoreRead.Corrupt(problem);
        }

        var payload = GC.AllocateUninitializedArray<byte>((int)manifest.PayloadLength);
        long downloaded = manifestBytes.Length;
        var at = 0;
        foreach (var blob in manifest.Blobs)
        {
            var blobPath = "cas/" + blob.Sha256;
            read = Download(blobPath, blob.Size, out var bytes);
            if (read == Fetch.Failed) return StoreRead.Miss;
            if (read == Fetch.Missing) return StoreRead.Corrupt($"the manifest names {blobPath}, which the server does not have");
            if (read == Fetch.WrongSize || bytes.Length != blob.Size) return StoreRead.Corrupt($"{blobPath} is not {blob.Size} bytes long");
            if (CacheKeys.ContentDigest(bytes) != blob.Sha256) return StoreRead.Corrupt($"{blobPath} does not match its SHA-256");
            bytes.CopyTo(payload, at);
            at += bytes.Length;
            downloaded += bytes.Length;
        }
        Statistics.AddBytesRead(downloaded);
        Statistics.AddBytes(downloaded);
        return StoreRead.Hit(new CacheEntry(stage, key, manifest.Info, payload));
    }

    /// <summary>
    /// Starts the first request's fixed cost (the connection, the HTTP stack's first use) on a thread of its own, once:
    /// a GET of an ac entry nobody writes. Silent: whatever it meets is left to the real lookups to find and report.
    /// </summary>
    public void WarmUp()
    {
        if (!Enabled || Interlocked.Exchange(ref _warmedUp, 1) != 0) return;
        new Thread(() =>
        {
            try
            {
                using var timeout = RequestTimeout();
                // An ac id as lookups make them (SHA-256 of a stage and a key), of a key no entry has.
                using var request = new HttpRequestMessage(HttpMethod.Get, "ac/" + RemoteManifest.ActionId(CacheStage.Output, "imageflowio warm-up"));
                if (_settings.Authorization is { } auth) request.Headers.TryAddWithoutValidation("Authorization", auth);
                using var answer = _client.Send(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                answer.Content.ReadAsStream(timeout.Token).CopyTo(Stream.Null); // the connection goes back to the pool for the lookups
            }
            catch (Exception ex) when (IsTransportFailure(ex) || ex is SocketException) { }
        }) { IsBackground = true, Name = "ImageFlowIO remote cache warm-up" }.Start();
    }

    private int _warmedUp;

    /// <summary>Queues the entry for upload and returns false: the worker counts and logs the write when the server has it.</summary>
    public bool Put(CacheEntry entry)
    {
        if (!Enabled || ReadOnly || entry.Payload.LongLength > QueueBudgetBytes) return false;
        lock (_gate)
        {
            // Backpressure, not loss: wait for room while the worker uploads (it drops everything once the layer is off).
            while (_queuedBytes > 0 && _queuedBytes + entry.Payload.Length > QueueBudgetBytes && Enabled && !ReadOnly && !_disposed)
                Monitor.Wait(_gate, 200);
            if (!Enabled || ReadOnly || _disposed) return false;
            _uploads.Enqueue(entry);
            _queuedBytes += entry.Payload.Length;
            _pending++;
            if (_worker is null)
            {
                _worker = new Thread(UploadLoop) { IsBackground = true, Name = "ImageFlowIO remote cache uploads" };
                _worker.Start();
            }
            Monitor.PulseAll(_gate);
        }
        return false;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for queued uploads; true when none is left.</summary>
    public bool Flush(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (_pending > 0)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(_gate, left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
            }
            return true;
        }
    }

    public void Flush()
    {
        int left;
        lock (_gate) left = _pending;
        if (left == 0) return;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (Flush(DrainTimeout))
        {
            _logger.LogDebug("cache/remote: waited {Ms} ms for the last {Count} uploads", clock.ElapsedMilliseconds, left);
            return;
        }
        lock (_gate) left = _pending;
        _logger.LogInformation("cache/remote: {Count} uploads to {Url} not finished after {Seconds} s; they are skipped", left, _settings.Display, (int)DrainTimeout.TotalSeconds);
    }

    private void UploadLoop()
    {
        while (true)
        {
            CacheEntry entry;
            lock (_gate)
            {
                while (_uploads.Count == 0 && !_disposed) Monitor.Wait(_gate);
                if (_uploads.Count == 0) return;
                entry = _uploads.Dequeue();
            }
            try
            {
                if (Enabled && !ReadOnly) Upload(entry);
            }
            catch (Exception ex)
            {
                // A bug here must not fail the run from a background thread: the layer goes off with its one warning.
                Trip($"upload failed unexpectedly ({ex.GetType().Name}: {ex.Message})");
            }
            finally
            {
                lock (_gate)
                {
                    _queuedBytes -= entry.Payload.Length;
                    _pending--;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    private void Upload(CacheEntry entry)
    {
        var digest = CacheKeys.ContentDigest(entry.Payload);
        var manifest = new RemoteManifest
        {
            Stage = entry.Stage, Key = entry.Key, ToolVersion = CacheKeys.ToolVersion, Info = entry.Info,
            Blobs = [new RemoteBlob(digest, entry.Payload.Length)],
        }.ToJson(_settings.SigningKey);
        if (manifest.Length > RemoteManifest.MaxBytes) return;

        long uploaded = 0;
        var blobPath = "cas/" + digest;
        // Blob before manifest: a manifest never names a blob that is not there yet.
        var head = Send(HttpMethod.Head, blobPath, null, out _);
        if (head == Fetch.Failed) return;
        if (head == Fetch.Missing)
        {
            if (!Upload(blobPath, entry.Payload)) return;
            uploaded += entry.Payload.Length;
        }
        var actionPath = "ac/" + RemoteManifest.ActionId(entry.Stage, entry.Key);
        if (!Upload(actionPath, manifest)) return;
        uploaded += manifest.Length;
        Statistics.Write();
        Statistics.AddBytesWritten(uploaded);
        Statistics.AddBytes(uploaded);
        _logger.LogDebug("cache/remote write {Input} ({Stage}, {Bytes} bytes)", entry.Info.Input ?? entry.Key, StageCache.StageName(entry.Stage), uploaded);
    }

    private bool Upload(string path, byte[] body)
    {
        ByteArrayContent Body()
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return content;
        }
        var status = Send(HttpMethod.Put, path, Body(), out _);
        // A WebDAV server that does not create folders on PUT (Apache mod_dav, IIS) answers 409 until the collection
        // exists: create it (and the URL's own folders) once, then retry.
        if (status == Fetch.Conflict && CreateCollectionsFor(path)) status = Send(HttpMethod.Put, path, Body(), out _);
        if (status == Fetch.Conflict)
            Trip($"answered PUT {path} with HTTP 409 (a missing folder) and creating it with MKCOL did not help; create {CollectionOf(path)} on the server");
        return status == Fetch.Found;
    }

    private static readonly HttpMethod MkCol = new("MKCOL");
    private readonly HashSet<string> _collectionsMade = [];

    private static string CollectionOf(string path) => path[..(path.LastIndexOf('/') + 1)];

    /// <summary>
    /// MKCOL for the folder of <paramref name="path"/> (<c>cas/</c> or <c>ac/</c>) and, when the server says its parent is
    /// missing too (409), for each folder of the remote's own URL from the top. True when the folder exists now (201, or
    /// 405: it was already there). Each folder is made at most once per run.
    /// </summary>
    private bool CreateCollectionsFor(string path)
    {
        var collection = CollectionOf(path);
        lock (_collectionsMade)
            if (_collectionsMade.Contains(collection)) return false; // made already and PUT still conflicts: do not loop
        var made = MakeCollection(collection);
        if (made == HttpStatusCode.Conflict)
        {
            var segments = _settings.BaseUri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
            var prefix = "/";
            foreach (var segment in segments)
            {
                prefix += segment + "/";
                if (MakeCollection(prefix) is not (HttpStatusCode.Created or HttpStatusCode.MethodNotAllowed or HttpStatusCode.OK or HttpStatusCode.NoContent)) return false;
            }
            made = MakeCollection(collection);
        }
        var exists = made is HttpStatusCode.Created or HttpStatusCode.MethodNotAllowed or HttpStatusCode.OK or HttpStatusCode.NoContent;
        if (exists)
        {
            lock (_collectionsMade) _collectionsMade.Add(collection);
            _logger.LogDebug("cache/remote mkcol {Collection} (HTTP {Status})", collection, (int)made!);
        }
        return exists;
    }

    /// <summary>One MKCOL; null on a transport failure (which trips the layer).</summary>
    private HttpStatusCode? MakeCollection(string path)
    {
        if (!Enabled) return null;
        using var timeout = RequestTimeout();
        try
        {
            using var request = new HttpRequestMessage(MkCol, path);
            if (_settings.Authorization is { } auth) request.Headers.TryAddWithoutValidation("Authorization", auth);
            using var answer = _client.Send(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return answer.StatusCode;
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            Trip(Describe(ex, "MKCOL", path, timeout.Token));
            return null;
        }
    }

    private enum Fetch { Found, Missing, WrongSize, Failed, Conflict }

    /// <summary>GETs a body of at most <paramref name="maxBytes"/> bytes (a longer one is <see cref="Fetch.WrongSize"/>, not read).</summary>
    private Fetch Download(string path, long maxBytes, out byte[] body)
    {
        body = [];
        using var timeout = RequestTimeout();
        HttpResponseMessage? response = null;
        try
        {
            var status = Send(HttpMethod.Get, path, null, out response, timeout.Token);
            if (status != Fetch.Found) return status;
            var declared = response!.Content.Headers.ContentLength;
            if (declared > maxBytes) return Fetch.WrongSize;
            using var stream = response.Content.ReadAsStream(timeout.Token);
            // Blocking reads (no thread-pool dependence); the timeout aborts a stalled body by disposing the response.
            using var abort = timeout.Token.Register(static r => ((HttpResponseMessage)r!).Dispose(), response);
            var buffer = new MemoryStream(declared is { } d ? (int)d : 4096);
            var chunk = new byte[81920];
            while (true)
            {
                var n = stream.Read(chunk);
                if (n == 0) break;
                if (buffer.Length + n > maxBytes) return Fetch.WrongSize;
                buffer.Write(chunk, 0, n);
            }
            body = buffer.ToArray();
            return Fetch.Found;
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            Trip(Describe(ex, "GET", path, timeout.Token));
            return Fetch.Failed;
        }
        finally { response?.Dispose(); }
    }

    private Fetch Send(HttpMethod method, string path, HttpContent? content, out HttpResponseMessage? kept)
    {
        using var timeout = RequestTimeout();
        try
        {
            var status = Send(method, path, content, out kept, timeout.Token);
            kept?.Dispose();
            kept = null;
            return status;
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            kept = null;
            Trip(Describe(ex, method.Method, path, timeout.Token));
            return Fetch.Failed;
        }
    }

    /// <summary>One request; the response is handed back only for a 2xx GET. Transport failures throw (callers trip).</summary>
    private Fetch Send(HttpMethod method, string path, HttpContent? content, out HttpResponseMessage? response, CancellationToken ct)
    {
        response = null;
        if (!Enabled) return Fetch.Failed;
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (_settings.Authorization is { } auth) request.Headers.TryAddWithoutValidation("Authorization", auth);
        var answer = _client.Send(request, HttpCompletionOption.ResponseHeadersRead, ct);
        var code = (int)answer.StatusCode;
        if (code is >= 200 and < 300)
        {
            if (method == HttpMethod.Get) response = answer;
            else answer.Dispose();
            return Fetch.Found;
        }
        answer.Dispose();
        if (method != HttpMethod.Put && (answer.StatusCode == HttpStatusCode.NotFound || answer.StatusCode == HttpStatusCode.Forbidden)) return Fetch.Missing;
        if (method == HttpMethod.Put && answer.StatusCode == HttpStatusCode.Conflict) return Fetch.Conflict;
        if (method == HttpMethod.Put && answer.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            ReadOnly = true;
            if (Interlocked.Exchange(ref _readOnlyWarned, 1) == 0)
                _logger.LogWarning(CacheEvents.RemoteReadOnly, "{Url}: the remote cache refused an upload (HTTP {Status}); reading only for the rest of this run. Give this machine write access (IMAGEFLOWIO_REMOTE_CACHE_TOKEN) or make it read-only (--remote-cache-read-only, ImageFlowRemoteCacheReadOnly)",
                    _settings.Display, code);
            return Fetch.Failed;
        }
        Trip(code == 401
            ? $"refused the credentials on {method.Method} {path} (HTTP 401); check IMAGEFLOWIO_REMOTE_CACHE_TOKEN or the URL's user info"
            : $"answered {method.Method} {path} with HTTP {code}");
        return Fetch.Failed;
    }

    private CancellationTokenSource RequestTimeout()
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        cts.CancelAfter(_settings.TimeoutMs);
        return cts;
    }

    private static bool IsTransportFailure(Exception ex) =>
        ex is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException;

    private string Describe(Exception ex, string method, string path, CancellationToken timeout) => ex switch
    {
        _ when timeout.IsCancellationRequested && !_stop.IsCancellationRequested =>
            $"did not answer {method} {path} within {_settings.TimeoutMs} ms",
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => "cannot be reached (its name does not resolve)",
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } h => $"cannot be reached ({h.InnerException?.Message ?? h.Message})",
        HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse } => $"answered {method} {path} with something that is not HTTP",
        HttpRequestException h => $"failed on {method} {path} ({h.Message})",
        _ => $"stopped answering {method} {path} midway ({ex.Message})",
    };

    /// <summary>Turns the layer off for the rest of the run, with one warning (the first failure's).</summary>
    private void Trip(string reason)
    {
        if (Interlocked.Exchange(ref _off, 1) != 0 || _stop.IsCancellationRequested) return;
        _logger.LogWarning(CacheEvents.RemoteUnavailable, "{Url}: the remote cache {Reason}; running without it for the rest of this run (results are computed locally)",
            _settings.Display, _settings.Scrub(reason));
        lock (_gate) Monitor.PulseAll(_gate);
    }

    public void Dispose()
    {
        if (_disposed) return;
        Flush();
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
        _stop.Cancel();
        _worker?.Join(TimeSpan.FromSeconds(5));
        _client.Dispose();
        _stop.Dispose();
    }
}
