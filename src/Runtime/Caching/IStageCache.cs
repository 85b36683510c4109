namespace ImageFlowIO.Caching;

/// <summary>The two cached stages of the pipeline (SPEC §3): each is a pure function of its key.</summary>
public enum CacheStage
{
    /// <summary>Decoded, preprocessed tensor ready for the model.</summary>
    Preprocess,
    /// <summary>Raw model output.</summary>
    Inference,
    /// <summary>The files postprocessing and output wrote for one inference result (an <see cref="OutputBundle"/>), so a hit only writes bytes.</summary>
    Output,
}

/// <summary>A cached stage result: the tensor and the size of the original input it came from.</summary>
public sealed record StageValue(TensorData Tensor, int SourceWidth, int SourceHeight);

/// <summary>
/// A cache of stage results keyed by content (never by path). Implementations are thread-safe, log
/// <c>cache/memory hit</c>, <c>cache/disk hit</c>, <c>cache/disk write</c>… at debug level, and never throw for I/O trouble.
/// </summary>
public interface IStageCache : IDisposable
{
    StageValue? TryGet(CacheStage stage, string key, string inputLabel);
    void Put(CacheStage stage, string key, StageValue value, string inputLabel);
    /// <summary>Counters per layer (memory, disk, remote).</summary>
    CacheStatistics Statistics { get; }
    /// <summary>The mtime+size fast path for input digests; null: every input is read and hashed.</summary>
    InputDigestIndex? InputDigests => null;
}

/// <summary>No caching: every lookup misses and nothing is stored.</summary>
public sealed class NullStageCache : IStageCache
{
    public static readonly NullStageCache Instance = new();
    public StageValue? TryGet(CacheStage stage, string key, string inputLabel) => null;
    public void Put(CacheStage stage, string key, StageValue value, string inputLabel) { }
    public CacheStatistics Statistics { get; } = new();
    public void Dispose() { }
}

/// <summary>Hits, misses, writes, evictions and bytes for one cache layer. Thread-safe counters.</summary>
public sealed class CacheLayerStatistics
{
    private long _hits, _misses, _writes, _evictions, _bytes, _corrupt;
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    public long Writes => Interlocked.Read(ref _writes);
    public long Evictions => Interlocked.Read(ref _evictions);
    /// <summary>Bytes currently held by the layer.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);
    public long Corrupt => Interlocked.Read(ref _corrupt);
    public void Hit() => Interlocked.Increment(ref _hits);
    public void Miss() => Interlocked.Increment(ref _misses);
    public void Write() => Interlocked.Increment(ref _writes);
    public void Evict() => Interlocked.Increment(ref _evictions);
    public void CorruptEntry() => Interlocked.Increment(ref _corrupt);
    public void AddBytes(long delta) => Interlocked.Add(ref _bytes, delta);
    public void SetBytes(long value) => Interlocked.Exchange(ref _bytes, value);
}

/// <summary>Statistics of every layer, printed at the end of a run and written to summary.json.</summary>
public sealed class CacheStatistics
{
    public CacheLayerStatistics Memory { get; } = new();
    public CacheLayerStatistics Disk { get; } = new();
    public CacheLayerStatistics Remote { get; } = new();

    public IEnumerable<(string Layer, CacheLayerStatistics Stats)> Layers => [("memory", Memory), ("disk", Disk), ("remote", Remote)];

    public override string ToString() => string.Join("; ", Layers.Select(l =>
        $"{l.Layer}: {l.Stats.Hits} hits, {l.Stats.Misses} misses, {l.Stats.Writes} writes, {l.Stats.Evictions} evictions, {l.Stats.Bytes} bytes"));
}
