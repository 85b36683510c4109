using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>
/// The per-process memory layer: entries bounded by the bytes of their payloads, least recently used evicted first.
/// Entries are kept as they are (no copy): payloads are immutable once built. Thread-safe (one lock; every operation
/// is a dictionary lookup and a list splice).
/// </summary>
internal sealed class MemoryStore : ICacheStore
{
    private sealed record Node(CacheEntry Entry, long Size);

    private readonly object _gate = new();
    private readonly Dictionary<(CacheStage, string), LinkedListNode<Node>> _index = [];
    private readonly LinkedList<Node> _recency = new(); // first = most recently used
    private readonly ILogger _logger;
    private readonly Func<CacheStage, bool>? _accepts;
    private long _bytes;

    /// <summary>A layer of at most <paramref name="limitBytes"/> payload bytes keeping the stages <paramref name="accepts"/> names (null: every stage).</summary>
    public MemoryStore(long limitBytes, CacheLayerStatistics stats, ILogger logger, Func<CacheStage, bool>? accepts = null)
    {
        _accepts = accepts;
        LimitBytes = Math.Max(0, limitBytes);
        Statistics = stats;
        _logger = logger;
    }

    public string Layer => "memory";
    public bool IsPersistent => false;
    public StoreCapabilities Capabilities => StoreCapabilities.RetainsPayloads;
    public CacheLayerStatistics Statistics { get; }
    /// <summary>Most payload bytes held at once; an entry larger than this is never kept.</summary>
    public long LimitBytes { get; }
    public long Bytes { get { lock (_gate) return _bytes; } }
    public int Count { get { lock (_gate) return _index.Count; } }

    public bool Accepts(CacheStage stage) => _accepts?.Invoke(stage) ?? true;

    public StoreRead TryGet(CacheStage stage, string key)
    {
        lock (_gate)
        {
            if (!_index.TryGetValue((stage, key), out var node)) return StoreRead.Miss;
            _recency.Remove(node);
            _recency.AddFirst(node);
            return StoreRead.Hit(node.Value.Entry);
        }
    }

    public bool Put(CacheEntry entry)
    {
        long size = entry.Payload.Length;
        if (size > LimitBytes) return false;
        List<Node>? evicted = null;
        lock (_gate)
        {
            var id = (entry.Stage, entry.Key);
            if (_index.TryGetValue(id, out var existing))
            {
                _recency.Remove(existing);
                _bytes -= existing.Value.Size;
            }
            var node = _recency.AddFirst(new Node(entry, size));
            _index[id] = node;
            _bytes += size;
            while (_bytes > LimitBytes && _recency.Last is { } oldest && oldest != node)
            {
                _recency.RemoveLast();
                _index.Remove((oldest.Value.Entry.Stage, oldest.Value.Entry.Key));
                _bytes -= oldest.Value.Size;
                (evicted ??= []).Add(oldest.Value);
            }
            Statistics.SetBytes(_bytes);
        }
        if (evicted is not null)
            foreach (var e in evicted)
            {
                Statistics.Evict();
                _logger.LogDebug("cache/evict {Input} ({Stage}, memory, {Bytes} bytes)", e.Entry.Info.Input ?? e.Entry.Key, StageCache.StageName(e.Entry.Stage), e.Size);
            }
        return true;
    }

    public void Discard(CacheStage stage, string key)
    {
        lock (_gate)
        {
            if (!_index.Remove((stage, key), out var node)) return;
            _recency.Remove(node);
            _bytes -= node.Value.Size;
            Statistics.SetBytes(_bytes);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _index.Clear();
            _recency.Clear();
            _bytes = 0;
            Statistics.SetBytes(0);
        }
    }

    public void Dispose() => Clear();
}
