using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>
/// The per-process memory layer: stage results bounded by the bytes of their tensors, least recently used evicted
/// first. Thread-safe (one lock; every operation is a dictionary lookup and a list splice).
/// </summary>
public sealed class MemoryStageCache
{
    private sealed record Entry(CacheStage Stage, string Key, StageValue Value, string InputLabel, long Size);

    private readonly object _gate = new();
    private readonly Dictionary<(CacheStage, string), LinkedListNode<Entry>> _index = [];
    private readonly LinkedList<Entry> _recency = new(); // first = most recently used
    private readonly CacheLayerStatistics _stats;
    private readonly ILogger _logger;
    private long _bytes;

    public MemoryStageCache(long limitBytes, CacheLayerStatistics stats, ILogger logger)
    {
        LimitBytes = Math.Max(0, limitBytes);
        _stats = stats;
        _logger = logger;
    }

    /// <summary>Most tensor bytes held at once; an entry larger than this is never kept.</summary>
    public long LimitBytes { get; }

    public long Bytes { get { lock (_gate) return _bytes; } }

    public int Count { get { lock (_gate) return _index.Count; } }

    public StageValue? TryGet(CacheStage stage, string key, string inputLabel)
    {
        StageValue? value = null;
        lock (_gate)
        {
            if (_index.TryGetValue((stage, key), out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                value = node.Value.Value;
            }
        }
        if (value is null)
        {
            _stats.Miss();
            _logger.LogDebug("cache/memory miss {Input} ({Stage})", inputLabel, StageName(stage));
        }
        else
        {
            _stats.Hit();
            _logger.LogDebug("cache/memory hit {Input} ({Stage})", inputLabel, StageName(stage));
        }
        return value;
    }

    /// <summary>Stores a value; returns false when it alone is larger than the limit (then nothing is kept).</summary>
    public bool Put(CacheStage stage, string key, StageValue value, string inputLabel)
    {
        long size = value.Tensor.Bytes.Length;
        if (size > LimitBytes) return false;
        List<Entry>? evicted = null;
        lock (_gate)
        {
            if (_index.TryGetValue((stage, key), out var existing))
            {
                _recency.Remove(existing);
                _bytes -= existing.Value.Size;
            }
            var node = _recency.AddFirst(new Entry(stage, key, value, inputLabel, size));
            _index[(stage, key)] = node;
            _bytes += size;
            while (_bytes > LimitBytes && _recency.Last is { } oldest && oldest != node)
            {
                _recency.RemoveLast();
                _index.Remove((oldest.Value.Stage, oldest.Value.Key));
                _bytes -= oldest.Value.Size;
                (evicted ??= []).Add(oldest.Value);
            }
            _stats.SetBytes(_bytes);
        }
        _stats.Write();
        if (evicted is not null)
            foreach (var e in evicted)
            {
                _stats.Evict();
                _logger.LogDebug("cache/evict {Input} ({Stage}, memory, {Bytes} bytes)", e.InputLabel, StageName(e.Stage), e.Size);
            }
        return true;
    }

    public void Clear()
    {
        lock (_gate)
        {
            _index.Clear();
            _recency.Clear();
            _bytes = 0;
            _stats.SetBytes(0);
        }
    }

    internal static string StageName(CacheStage stage) => stage switch
    {
        CacheStage.Preprocess => "preprocess",
        CacheStage.Inference => "inference",
        _ => "output",
    };
}
