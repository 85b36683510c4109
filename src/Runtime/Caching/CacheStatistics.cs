namespace ImageFlowIO.Caching;

/// <summary>The cached stages of the pipeline (SPEC §3): each is a pure function of its key.</summary>
internal enum CacheStage
{
    /// <summary>Decoded, preprocessed tensor ready for the model.</summary>
    Preprocess,
    /// <summary>Raw model output.</summary>
    Inference,
    /// <summary>The files postprocessing and output wrote for one inference result, so a hit only writes bytes.</summary>
    Output,
    /// <summary>A chain's regions of one model output (source-pixel boxes and scores).</summary>
    Regions,
    /// <summary>What a chain's per-region models made of one region's crop (orientation and the recognizer's best path).</summary>
    Region,
}

/// <summary>Hits, misses, writes, evictions and bytes for one cache layer. Thread-safe counters.</summary>
public sealed class CacheLayerStatistics
{
    private long _hits, _misses, _writes, _evictions, _bytes, _corrupt, _bytesRead, _bytesWritten;
    /// <summary>Only the cache layers that count into it create one.</summary>
    internal CacheLayerStatistics() { }
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    public long Writes => Interlocked.Read(ref _writes);
    public long Evictions => Interlocked.Read(ref _evictions);
    /// <summary>Bytes currently held by the layer (memory, disk); for a remote layer the bytes moved both ways.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);
    /// <summary>Entries found bad (or untrusted) and not used.</summary>
    public long Corrupt => Interlocked.Read(ref _corrupt);
    /// <summary>Payload bytes read from the layer (remote: downloaded).</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);
    /// <summary>Payload bytes written to the layer (remote: uploaded).</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);
    internal void Hit() => Interlocked.Increment(ref _hits);
    internal void Miss() => Interlocked.Increment(ref _misses);
    internal void Write() => Interlocked.Increment(ref _writes);
    internal void Evict() => Interlocked.Increment(ref _evictions);
    internal void CorruptEntry() => Interlocked.Increment(ref _corrupt);
    internal void AddBytes(long delta) => Interlocked.Add(ref _bytes, delta);
    internal void SetBytes(long value) => Interlocked.Exchange(ref _bytes, value);
    internal void AddBytesRead(long count) => Interlocked.Add(ref _bytesRead, count);
    internal void AddBytesWritten(long count) => Interlocked.Add(ref _bytesWritten, count);
}

/// <summary>Statistics of every cache layer in use, printed at the end of a run and written to summary.json.</summary>
public sealed class CacheStatistics
{
    private readonly IReadOnlyList<(string Layer, CacheLayerStatistics Stats)> _layers;

    /// <summary>Statistics with no layer in use (no caching).</summary>
    internal CacheStatistics() : this([]) { }

    internal CacheStatistics(IReadOnlyList<(string Layer, CacheLayerStatistics Stats)> layers) => _layers = layers;

    /// <summary>The layers in use, in lookup order (memory, disk, remote).</summary>
    public IEnumerable<(string Layer, CacheLayerStatistics Stats)> Layers => _layers;

    /// <summary>One layer's statistics (all zero when that layer is not in use).</summary>
    public CacheLayerStatistics this[string layer] => _layers.FirstOrDefault(l => l.Layer == layer).Stats ?? Unused;

    private static readonly CacheLayerStatistics Unused = new();

    public CacheLayerStatistics Memory => this["memory"];
    public CacheLayerStatistics Disk => this["disk"];
    public CacheLayerStatistics Remote => this["remote"];

    public override string ToString() => _layers.Count == 0 ? "no cache" : string.Join("; ", _layers.Select(l => l.Layer == "remote"
        ? $"{l.Layer}: {l.Stats.Hits} hits, {l.Stats.Misses} misses, {l.Stats.Writes} writes, {l.Stats.BytesRead} bytes downloaded, {l.Stats.BytesWritten} bytes uploaded"
        : $"{l.Layer}: {l.Stats.Hits} hits, {l.Stats.Misses} misses, {l.Stats.Writes} writes, {l.Stats.Evictions} evictions, {l.Stats.Bytes} bytes"));
}
