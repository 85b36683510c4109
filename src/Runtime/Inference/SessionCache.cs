using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace ImageFlowIO.Inference;

/// <summary>
/// One ONNX Runtime <see cref="InferenceSession"/> per (model path, file identity, session options) per process,
/// shared by every pipeline that runs that model. A session is handed out as a counted <see cref="SessionLease"/>:
/// a session retired by a changed model file or <see cref="Clear"/> is disposed only when its last lease is released,
/// never under a pipeline still running it. Remaining sessions are disposed at process exit.
/// </summary>
internal static class SessionCache
{
    private readonly record struct Key(string Path, long Length, long LastWriteTicks, int IntraOpThreads);

    private static readonly ConcurrentDictionary<Key, Lazy<SharedSession>> Sessions = new();
    private static int _created;

    static SessionCache()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var lazy in Sessions.Values) if (lazy.IsValueCreated) lazy.Value.DisposeNow();
        };
    }

    /// <summary>Sessions created so far in this process (observable in tests and logs).</summary>
    public static int SessionsCreated => Volatile.Read(ref _created);

    /// <summary>A lease on the model's session (created on first need); dispose the lease when done with it.</summary>
    public static SessionLease Acquire(string modelPath, int intraOpThreads, ILogger? logger = null)
    {
        var info = new FileInfo(modelPath);
        var key = new Key(info.FullName, info.Length, info.LastWriteTimeUtc.Ticks, intraOpThreads);
        while (true)
        {
            var lazy = Sessions.GetOrAdd(key, k => new Lazy<SharedSession>(() => Create(k), LazyThreadSafetyMode.ExecutionAndPublication));
            var hit = lazy.IsValueCreated;
            SharedSession shared;
            try { shared = lazy.Value; }
            catch
            {
                Sessions.TryRemove(new KeyValuePair<Key, Lazy<SharedSession>>(key, lazy)); // a failed load is not cached
                throw;
            }
            if (shared.TryAddLease())
            {
                logger?.LogDebug(hit ? "cache/session hit {Model}" : "cache/session miss {Model}", info.Name);
                return new SessionLease(shared);
            }
            Sessions.TryRemove(new KeyValuePair<Key, Lazy<SharedSession>>(key, lazy)); // retired meanwhile: make a new one
        }
    }

    private static SharedSession Create(Key key)
    {
        // A replaced model file gets a new session; older versions retire (disposed once no pipeline holds them).
        foreach (var stale in Sessions.Keys.Where(k => k.Path == key.Path && (k.Length, k.LastWriteTicks) != (key.Length, key.LastWriteTicks)).ToList())
            if (Sessions.TryRemove(stale, out var old) && old.IsValueCreated) old.Value.Retire();

        var session = NativeRuntime.Load(() =>
        {
            using var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = key.IntraOpThreads,
                InterOpNumThreads = 1,
            };
            return new InferenceSession(key.Path, options);
        }, key.Path);
        Interlocked.Increment(ref _created);
        return new SharedSession(session);
    }

    /// <summary>Retires every cached session: each is disposed as soon as no pipeline holds it.</summary>
    public static void Clear()
    {
        foreach (var key in Sessions.Keys.ToList())
            if (Sessions.TryRemove(key, out var lazy) && lazy.IsValueCreated) lazy.Value.Retire();
    }
}

/// <summary>A session with a count of its leases; owns the native session and disposes it once retired and unleased.</summary>
internal sealed class SharedSession(InferenceSession session)
{
    private readonly object _gate = new();
    private int _leases;
    private bool _retired, _disposed;

    public InferenceSession Session { get; } = session;
    public bool IsDisposed { get { lock (_gate) return _disposed; } }

    public bool TryAddLease()
    {
        lock (_gate)
        {
            if (_retired) return false;
            _leases++;
            return true;
        }
    }

    public void ReleaseLease()
    {
        lock (_gate)
        {
            if (--_leases > 0 || !_retired) return;
            DisposeLocked();
        }
    }

    public void Retire()
    {
        lock (_gate)
        {
            _retired = true;
            if (_leases == 0) DisposeLocked();
        }
    }

    public void DisposeNow()
    {
        lock (_gate) DisposeLocked();
    }

    private void DisposeLocked()
    {
        if (_disposed) return;
        _disposed = true;
        Session.Dispose();
    }
}

/// <summary>One holder's claim on a shared session; disposing it releases the claim (once).</summary>
internal sealed class SessionLease(SharedSession shared) : IDisposable
{
    private int _released;
    public InferenceSession Session => shared.Session;
    internal SharedSession Shared => shared;
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) shared.ReleaseLease();
    }
}
