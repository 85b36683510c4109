using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>
/// The one stage-cache wrapper (SPEC §3): every cached stage goes through it, and it walks an ordered list of stores
/// (memory → disk → remote). A lookup tries each store that keeps the stage in turn; a value a store returns is decoded
/// (validated) by the stage's codec, and a hit is copied into the stores before it (a disk hit into memory, a remote hit
/// into disk). A computed value is written to the persistent stores only when there are any (write-around: a cold batch
/// rarely reads its own results again, so memory stays flat), else to memory. Counts hits, misses and writes per layer
/// and logs <c>cache/&lt;layer&gt; hit|miss|write|corrupt|untrusted</c> at debug level. Thread-safe; shareable across
/// pipelines of one host (<see cref="PipelineOptions.Cache"/>).
/// </summary>
public sealed class StageCache : IDisposable
{
    private readonly IReadOnlyList<ICacheStore> _stores;
    private readonly ILogger _logger;

    internal StageCache(IReadOnlyList<ICacheStore> stores, InputDigestIndex? inputDigests, ILogger logger, OutputFileIndex? outputFiles = null)
    {
        _stores = stores;
        _logger = logger;
        InputDigests = inputDigests;
        OutputFiles = outputFiles;
        Statistics = new CacheStatistics(stores.Select(s => (s.Layer, s.Statistics)).ToList());
        // The up-to-date index is part of the layer it lives in: the local folder's (disk), else memory's.
        _indexLayer = outputFiles is null ? null
            : outputFiles.IsPersistent ? stores.FirstOrDefault(s => s.Capabilities.HasFlag(StoreCapabilities.LocalFolder)) ?? stores.FirstOrDefault(s => !s.IsPersistent)
            : stores.FirstOrDefault(s => !s.IsPersistent) ?? stores.FirstOrDefault();
    }

    private readonly ICacheStore? _indexLayer;

    /// <summary>
    /// Counts an input served by the up-to-date output index (<see cref="OutputFiles"/>) as a hit of the layer that keeps
    /// the index, and logs the seed's <c>cache/&lt;layer&gt; hit &lt;input&gt; (outputs up to date)</c>: a re-run always shows its hits.
    /// </summary>
    internal void CountUpToDate(string inputLabel)
    {
        if (_indexLayer is not { } store) return;
        store.Statistics.Hit();
        if (_logger.IsEnabled(LogLevel.Debug)) _logger.LogDebug("cache/{Layer} hit {Input} (outputs up to date)", store.Layer, inputLabel);
    }

    /// <summary>No caching: every lookup misses and nothing is stored.</summary>
    internal static StageCache None() => new([], null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    /// <summary>No stage caching, but the up-to-date record kept in <paramref name="folder"/>: unchanged inputs are served as their outputs are on disk.</summary>
    internal static StageCache RecordOnly(string folder, ILogger logger)
    {
        var (inputs, outputs) = StageCacheFactory.Records(folder);
        return new StageCache([], inputs, logger, outputs);
    }

    /// <summary>Hits, misses, writes, evictions and bytes of each layer in use.</summary>
    public CacheStatistics Statistics { get; }

    /// <summary>True when at least one store is in use.</summary>
    public bool IsEnabled => _stores.Count > 0;

    /// <summary>The mtime+size fast path for input digests; null: every input is read and hashed.</summary>
    internal InputDigestIndex? InputDigests { get; }

    /// <summary>The files the output stage wrote, by key and folder, so an up-to-date output is only stat-ed; null: always looked up.</summary>
    internal OutputFileIndex? OutputFiles { get; }

    internal IReadOnlyList<ICacheStore> Stores => _stores;

    /// <summary>Looks a stage's value up in every store that keeps the stage, in order; returns the layer that served it.</summary>
    internal bool TryGet<T>(IStageCodec<T> codec, string key, string inputLabel, out T value, out string layer)
    {
        var stage = StageName(codec.Stage);
        for (var i = 0; i < _stores.Count; i++)
        {
            var store = _stores[i];
            if (!store.Accepts(codec.Stage)) continue;
            var read = store.TryGet(codec.Stage, key);
            if (read.Entry is { } entry)
            {
                var problem = entry.Key != key || entry.Stage != codec.Stage ? "the entry names another key" : null;
                if (problem is null && codec.TryDecode(entry, out value, out problem))
                {
                    store.Statistics.Hit();
                    _logger.LogDebug("cache/{Layer} hit {Input} ({Stage})", store.Layer, inputLabel, stage);
                    Promote(entry, i, inputLabel);
                    layer = store.Layer;
                    return true;
                }
                read = StoreRead.Corrupt(problem);
                store.Discard(codec.Stage, key);
            }
            store.Statistics.Miss();
            if (read.Problem is { } why)
            {
                store.Statistics.CorruptEntry();
                if (read.Untrusted) _logger.LogDebug("cache/{Layer} untrusted {Input} ({Stage}): {Problem}", store.Layer, inputLabel, stage, why);
                else _logger.LogWarning("cache/{Layer} corrupt {Input} ({Stage}): {Problem}; not used, recomputing", store.Layer, inputLabel, stage, why);
            }
            else _logger.LogDebug("cache/{Layer} miss {Input} ({Stage})", store.Layer, inputLabel, stage);
        }
        value = default!;
        layer = "miss";
        return false;
    }

    /// <summary>
    /// Stores a value computed just now: in the persistent stores that keep its stage, or in memory when there are none.
    /// <paramref name="skipDiskBecause"/> (a reason, see <see cref="DiskAdmission"/>) leaves the local disk layer out:
    /// it is logged as <c>cache/disk skip</c>, and nothing goes to memory in its place (write-around stays flat).
    /// </summary>
    internal void Put<T>(IStageCodec<T> codec, string key, T value, string inputLabel, string? skipDiskBecause = null)
    {
        CacheEntry? entry = null;
        foreach (var store in StoresPutWrites(codec.Stage))
        {
            if (skipDiskBecause is not null && store.Capabilities.HasFlag(StoreCapabilities.LocalFolder))
            {
                _logger.LogDebug("cache/disk skip {Input} ({Stage}): {Reason}", inputLabel, StageName(codec.Stage), skipDiskBecause);
                continue;
            }
            entry ??= codec.Encode(key, value, inputLabel);
            Write(store, entry, inputLabel);
        }
    }

    /// <summary>
    /// True when a value of this stage given to <see cref="Put"/> may still be referenced by a store afterwards (a
    /// memory layer keeps the payload array, a remote layer queues it for upload); false when no store takes it or only
    /// disk layers do (they write it before Put returns). Unknown store types count as keeping it.
    /// </summary>
    internal bool RetainsPayloads(CacheStage stage) => StoresPutWrites(stage).Any(s => s.Capabilities.HasFlag(StoreCapabilities.RetainsPayloads));

    /// <summary>The stores <see cref="Put"/> writes a value of this stage to: the persistent ones that keep it, or memory when there are none.</summary>
    private IEnumerable<ICacheStore> StoresPutWrites(CacheStage stage)
    {
        var persistent = _stores.Any(s => s.IsPersistent && s.Accepts(stage));
        return _stores.Where(s => s.Accepts(stage) && s.IsPersistent == persistent);
    }

    /// <summary>True when a computed value of this stage would be written to the local disk layer.</summary>
    internal bool WritesToDisk(CacheStage stage) => _stores.Any(s => s.Capabilities.HasFlag(StoreCapabilities.LocalFolder) && s.Accepts(stage));

    /// <summary>The value from the stores, or computed (and stored) when none has it; <paramref name="layer"/> says which.</summary>
    internal T GetOrCompute<T>(IStageCodec<T> codec, string key, string inputLabel, Func<T> compute, out string layer)
    {
        if (TryGet(codec, key, inputLabel, out var value, out layer)) return value;
        value = compute();
        Put(codec, key, value, inputLabel);
        return value;
    }

    private void Promote(CacheEntry entry, int servedBy, string inputLabel)
    {
        for (var j = 0; j < servedBy; j++)
            if (_stores[j].Accepts(entry.Stage)) Write(_stores[j], entry, inputLabel);
    }

    private void Write(ICacheStore store, CacheEntry entry, string inputLabel)
    {
        if (!store.Put(entry)) return;
        store.Statistics.Write();
        _logger.LogDebug("cache/{Layer} write {Input} ({Stage}, {Bytes} bytes)", store.Layer, inputLabel, StageName(entry.Stage), entry.Payload.Length);
    }

    internal static string StageName(CacheStage stage) => stage switch
    {
        CacheStage.Preprocess => "preprocess",
        CacheStage.Inference => "inference",
        CacheStage.Regions => "regions",
        CacheStage.Region => "region",
        _ => "output",
    };

    /// <summary>True when a store is shared with other machines (a remote).</summary>
    internal bool HasSharedStore => _stores.Any(s => s.Capabilities.HasFlag(StoreCapabilities.Shared));

    /// <summary>Lookups are coming: stores with a start-up cost (the remote's first request) begin it in the background.</summary>
    internal void WarmUp()
    {
        foreach (var store in _stores) store.WarmUp();
    }

    /// <summary>Waits (bounded) for background writes (remote uploads) to finish.</summary>
    internal void Flush()
    {
        foreach (var store in _stores) store.Flush();
    }

    public void Dispose()
    {
        foreach (var store in _stores) store.Dispose();
        InputDigests?.Dispose();
        OutputFiles?.Dispose();
    }
}
