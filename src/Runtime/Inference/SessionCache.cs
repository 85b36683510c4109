using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using ImageFlowIO.Output;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace ImageFlowIO.Inference;

/// <summary>
/// One ONNX Runtime <see cref="InferenceSession"/> per (model path, file identity, session options) per process,
/// shared by every pipeline that runs that model. A session is handed out as a counted <see cref="SessionLease"/>:
/// a session retired by a changed model file or <see cref="Clear"/> is disposed only when its last lease is released,
/// never under a pipeline still running it. At most <see cref="MaxCachedSessions"/> are kept (least recently used
/// retired first); the rest are disposed at process exit.
/// With an <see cref="OptimizedModel"/>, the graph ONNX Runtime optimised is kept in a file (per model digest, ONNX
/// Runtime version and instruction set) that a later process loads without optimising again; that file is untrusted:
/// one that does not load is replaced by a fresh one from the original model.
/// </summary>
internal static class SessionCache
{
    private readonly record struct Key(string Path, long Length, long LastWriteTicks, int IntraOpThreads);

    private static readonly ConcurrentDictionary<Key, Lazy<SharedSession>> Sessions = new();
    private static long _uses;

    /// <summary>
    /// Sessions kept at most. A long-lived host (the SDK's MSBuild server, a reused build node, a service) meets many
    /// models over time; the least recently used beyond this are retired (disposed once no pipeline holds them).
    /// </summary>
    public const int MaxCachedSessions = 8;
    private static int _created;
    private static int _fromOptimized;
    private static int _optimizedWritten;

    static SessionCache()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var lazy in Sessions.Values) if (lazy.IsValueCreated) lazy.Value.DisposeNow();
        };
    }

    /// <summary>Sessions created so far in this process (observable in tests and logs).</summary>
    public static int SessionsCreated => Volatile.Read(ref _created);
    /// <summary>Sessions created from a kept optimised model (no graph optimisation at load).</summary>
    public static int SessionsFromOptimizedModel => Volatile.Read(ref _fromOptimized);
    /// <summary>Optimised model files written so far in this process.</summary>
    public static int OptimizedModelsWritten => Volatile.Read(ref _optimizedWritten);

    /// <summary>A lease on the model's session (created on first need); dispose the lease when done with it.</summary>
    public static SessionLease Acquire(string modelPath, int intraOpThreads, ILogger? logger = null, OptimizedModel? optimized = null)
    {
        var info = new FileInfo(modelPath);
        var key = new Key(info.FullName, info.Length, info.LastWriteTimeUtc.Ticks, intraOpThreads);
        while (true)
        {
            var lazy = Sessions.GetOrAdd(key, k => new Lazy<SharedSession>(() => Create(k, optimized, logger), LazyThreadSafetyMode.ExecutionAndPublication));
            var hit = lazy.IsValueCreated;
            SharedSession shared;
            try { shared = lazy.Value; }
            catch
            {
                Sessions.TryRemove(new KeyValuePair<Key, Lazy<SharedSession>>(key, lazy)); // a failed load is not cached
                throw;
            }
            if (shared.TryAddLease(Interlocked.Increment(ref _uses)))
            {
                logger?.LogDebug(hit ? "cache/session hit {Model} (ONNX Runtime intra-op threads {Threads})" : "cache/session miss {Model} (ONNX Runtime intra-op threads {Threads})", info.Name, intraOpThreads);
                return new SessionLease(shared);
            }
            Sessions.TryRemove(new KeyValuePair<Key, Lazy<SharedSession>>(key, lazy)); // retired meanwhile: make a new one
        }
    }

    private static SharedSession Create(Key key, OptimizedModel? optimized, ILogger? logger)
    {
        // A replaced model file gets a new session; older versions retire (disposed once no pipeline holds them).
        foreach (var stale in Sessions.Keys.Where(k => k.Path == key.Path && (k.Length, k.LastWriteTicks) != (key.Length, key.LastWriteTicks)).ToList())
            if (Sessions.TryRemove(stale, out var old) && old.IsValueCreated) old.Value.Retire();

        var session = NativeRuntime.Load(() => Open(key, optimized, logger), key.Path);
        Interlocked.Increment(ref _created);
        RetireLeastRecentlyUsed(key, logger);
        return new SharedSession(session);
    }

    /// <summary>Sessions in the cache now (created or being created).</summary>
    internal static int Count => Sessions.Count;

    private static void RetireLeastRecentlyUsed(Key keep, ILogger? logger)
    {
        var excess = Sessions.Count - MaxCachedSessions;
        if (excess <= 0) return;
        var oldest = Sessions.Where(e => !e.Key.Equals(keep) && e.Value.IsValueCreated)
            .OrderBy(e => e.Value.Value.LastUse).Take(excess).ToList();
        foreach (var (key, lazy) in oldest)
        {
            if (!Sessions.TryRemove(new KeyValuePair<Key, Lazy<SharedSession>>(key, lazy))) continue;
            lazy.Value.Retire();
            logger?.LogDebug("cache/session evict {Model} (least recently used of more than {Max})", Path.GetFileName(key.Path), MaxCachedSessions);
        }
    }

    private static SessionOptions Options(Key key, GraphOptimizationLevel level)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = level,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = key.IntraOpThreads,
            InterOpNumThreads = 1,
        };
        // Intra-op threads wait without spinning: a build shares its cores (compilers, other workers), and spinning threads
        // there steal the time the descheduled one needs (bench/ocr, 1 worker at load 12 on 2 cores: 8–12 s instead of 13–17 s;
        // conv3, 40 images, 1 worker × 2 threads: 15–45% less CPU, docs/performance.md). One thread has no pool to spin.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    private static InferenceSession Open(Key key, OptimizedModel? optimized, ILogger? logger)
    {
        var file = optimized?.FilePath();
        if (file is not null && File.Exists(file))
        {
            // Optimised already (ORT_ENABLE_ALL): loading it with optimisation off gives the same graph, so the same outputs.
            using var asSaved = Options(key, GraphOptimizationLevel.ORT_DISABLE_ALL);
            try
            {
                var fromFile = new InferenceSession(file, asSaved);
                Interlocked.Increment(ref _fromOptimized);
                logger?.LogDebug("session from optimised model {File}", Path.GetFileName(file));
                return fromFile;
            }
            catch (OnnxRuntimeException ex)
            {
                logger?.LogDebug("optimised model {File} does not load ({Error}): optimising the original again", Path.GetFileName(file), ex.Message.Split('\n')[0]);
            }
        }
        using var options = Options(key, GraphOptimizationLevel.ORT_ENABLE_ALL);
        if (file is null) return new InferenceSession(key.Path, options);
        var scratch = ScratchPath(file);
        try
        {
            options.OptimizedModelFilePath = scratch;
            // Its warning that an NCHWc graph fits only this machine is answered by the file name's instruction-set key.
            options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
            InferenceSession session;
            try { session = new InferenceSession(key.Path, options); }
            catch (Exception)
            {
                // The folder may refuse the file (ONNX Runtime 1.31's managed error mapping even throws KeyNotFoundException
                // for that code); a model that is itself bad fails again below with its own error.
                using var plain = Options(key, GraphOptimizationLevel.ORT_ENABLE_ALL);
                return new InferenceSession(key.Path, plain);
            }
            KeepOptimized(scratch, file, logger);
            return session;
        }
        finally { AtomicFile.TryDelete(scratch); }
    }

    /// <summary>
    /// ONNX Runtime wrote the whole file under its temporary name in the same folder before the session was created:
    /// renaming it into place is the rename half of <see cref="AtomicFile.Replace"/>, so a reader never sees half of one.
    /// </summary>
    private static void KeepOptimized(string scratch, string file, ILogger? logger)
    {
        try
        {
            if (!File.Exists(scratch)) return;
            File.Move(scratch, file, overwrite: true);
            Interlocked.Increment(ref _optimizedWritten);
            logger?.LogDebug("optimised model {File} kept", Path.GetFileName(file));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            logger?.LogDebug("optimised model {File} not kept ({Error})", Path.GetFileName(file), ex.Message);
        }
    }

    private static string ScratchPath(string file)
    {
        var dir = Path.GetDirectoryName(file)!;
        try { Directory.CreateDirectory(dir); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return TempFileOwner.TempPath(file);
    }

    /// <summary>Retires every cached session: each is disposed as soon as no pipeline holds it.</summary>
    public static void Clear()
    {
        foreach (var key in Sessions.Keys.ToList())
            if (Sessions.TryRemove(key, out var lazy) && lazy.IsValueCreated) lazy.Value.Retire();
    }
}

/// <summary>
/// Where a model's optimised graph is kept: a folder (the disk cache's <c>models</c>) and the model's content digest.
/// The file name also holds ONNX Runtime's version and this CPU's instruction sets, because the optimised graph may use
/// kernels and layouts (NCHWc) chosen for them.
/// </summary>
internal sealed record OptimizedModel(string Folder, string ModelDigest)
{
    /// <summary>The file for this process's ONNX Runtime and CPU (touches ONNX Runtime: call it where a session is being created).</summary>
    public string FilePath() =>
        Path.Combine(Folder, ModelDigest + "-" + Caching.CacheKeys.Digest(OrtEnv.Instance().GetVersionString(), InstructionSets)[..12] + ".optimized.onnx");

    private static string InstructionSets => string.Join(",", RuntimeInformation.ProcessArchitecture,
        System.Runtime.Intrinsics.X86.Avx512F.IsSupported, System.Runtime.Intrinsics.X86.Avx512BW.IsSupported,
        System.Runtime.Intrinsics.X86.Avx512Vbmi.IsSupported, System.Runtime.Intrinsics.X86.AvxVnni.IsSupported,
        System.Runtime.Intrinsics.X86.Avx2.IsSupported, System.Runtime.Intrinsics.X86.Fma.IsSupported,
        System.Runtime.Intrinsics.X86.Avx.IsSupported, System.Runtime.Intrinsics.X86.Sse41.IsSupported,
        System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported, System.Runtime.Intrinsics.Arm.Dp.IsSupported);
}

/// <summary>A session with a count of its leases; owns the native session and disposes it once retired and unleased.</summary>
internal sealed class SharedSession(InferenceSession session)
{
    private readonly object _gate = new();
    private int _leases;
    private bool _retired, _disposed;
    private long _lastUse;

    public InferenceSession Session { get; } = session;
    public bool IsDisposed { get { lock (_gate) return _disposed; } }
    public bool IsRetired { get { lock (_gate) return _retired; } }
    /// <summary>The cache's use counter at the last lease (orders sessions by recency).</summary>
    public long LastUse => Volatile.Read(ref _lastUse);

    public bool TryAddLease(long use)
    {
        lock (_gate)
        {
            if (_retired) return false;
            _leases++;
            Volatile.Write(ref _lastUse, use);
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
