using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace ImageFlowIO.Inference;

/// <summary>
/// One ONNX Runtime <see cref="InferenceSession"/> per (model path, file identity, session options) per process.
/// Owns every session it creates and disposes them at process exit; a changed model file gets a new session.
/// </summary>
internal static class SessionCache
{
    private readonly record struct Key(string Path, long Length, long LastWriteTicks, int IntraOpThreads);

    private static readonly ConcurrentDictionary<Key, Lazy<InferenceSession>> Sessions = new();
    private static int _created;

    static SessionCache()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Clear();
    }

    /// <summary>Sessions created so far in this process (observable in tests and logs).</summary>
    public static int SessionsCreated => Volatile.Read(ref _created);

    public static InferenceSession Get(string modelPath, int intraOpThreads, ILogger? logger = null)
    {
        var info = new FileInfo(modelPath);
        var key = new Key(info.FullName, info.Length, info.LastWriteTimeUtc.Ticks, intraOpThreads);
        var lazy = Sessions.GetOrAdd(key, k => new Lazy<InferenceSession>(() => Create(k), LazyThreadSafetyMode.ExecutionAndPublication));
        var hit = lazy.IsValueCreated;
        var session = lazy.Value;
        logger?.LogDebug(hit ? "cache/session hit {Model}" : "cache/session miss {Model}", info.Name);
        return session;
    }

    private static InferenceSession Create(Key key)
    {
        // A replaced model file gets a new session; drop the sessions of its older versions.
        // (Same file with other thread counts is not stale: another pipeline may be running it right now.)
        foreach (var stale in Sessions.Keys.Where(k => k.Path == key.Path && (k.Length, k.LastWriteTicks) != (key.Length, key.LastWriteTicks)).ToList())
            if (Sessions.TryRemove(stale, out var old) && old.IsValueCreated) old.Value.Dispose();

        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = key.IntraOpThreads,
            InterOpNumThreads = 1,
        };
        Interlocked.Increment(ref _created);
        return new InferenceSession(key.Path, options);
    }

    /// <summary>Disposes every cached session.</summary>
    public static void Clear()
    {
        foreach (var key in Sessions.Keys.ToList())
            if (Sessions.TryRemove(key, out var lazy) && lazy.IsValueCreated) lazy.Value.Dispose();
    }
}
