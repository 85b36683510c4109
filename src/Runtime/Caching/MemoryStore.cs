using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>How the memory layer picks what to evict within a class of entries (measured side by side: bench/README.md, "Memory cache policies").</summary>
internal enum MemoryEviction
{
    /// <summary>Least recently used first: a sequential pass larger than the limit evicts every entry before a re-run reaches it.</summary>
    Lru,
    /// <summary>SIEVE (Zhang et al., NSDI '24): FIFO order with a visited bit; a hit sets it, the hand keeps visited entries and clears
    /// the bit. O(1), no list move on a hit.</summary>
    Sieve,
    /// <summary>S3-FIFO (Yang et al., SOSP '23): new entries enter a small FIFO (10% of the bytes) and leave it unless hit there; a
    /// ghost list of their keys lets a quick return go to the main FIFO, where a hit buys one more round. A scan of new
    /// entries only churns the small FIFO: entries a run has hit survive a sequential scan of any size.</summary>
    S3Fifo,
}

/// <summary>
/// The per-process memory layer: entries bounded by the bytes of their payloads. Entries are kept as they are (no copy):
/// payloads are immutable once built. Thread-safe (one lock; every operation is a dictionary lookup and a list splice).
/// <para>
/// Admission keeps what a repeat needs first (SPEC §3): entries of the stages <c>keptFirst</c> names (output entries, tens of
/// KB, which serve an input without reading any tensor) are one class; everything else (preprocess and inference tensors,
/// ~1.2 MB at 320²) is the other, kept only while it fits: a tensor evicts other tensors, never a kept-first entry, and is
/// not kept when only kept-first entries could make room. A kept-first entry evicts tensors before its own class. Within a
/// class <see cref="MemoryEviction"/> decides (S3-FIFO by default: it survives a sequential scan larger than the limit; bench/README.md has LRU, SIEVE and S3-FIFO side by side).
/// </para>
/// </summary>
internal sealed class MemoryStore : ICacheStore
{
    /// <summary>Default: output entries kept first (what a repeated run reads).</summary>
    internal static bool OutputsFirst(CacheStage stage) => stage == CacheStage.Output;

    private sealed class Node(CacheEntry entry, long size, bool keptFirst)
    {
        public CacheEntry Entry { get; } = entry;
        public long Size { get; } = size;
        public bool KeptFirst { get; } = keptFirst;
        /// <summary>SIEVE's visited bit; S3-FIFO's hit count (0 to 3).</summary>
        public int Hits;
        /// <summary>S3-FIFO: in the main FIFO (else the small one).</summary>
        public bool InMain;
        public Node? Newer, Older;
    }

    /// <summary>An intrusive list of nodes, newest first, with their bytes.</summary>
    private sealed class NodeList
    {
        public Node? Newest, Oldest;
        public long Bytes;
        public int Count;

        public void Add(Node node)
        {
            node.Older = Newest;
            node.Newer = null;
            if (Newest is not null) Newest.Newer = node;
            Newest = node;
            Oldest ??= node;
            Bytes += node.Size;
            Count++;
        }

        public void Remove(Node node)
        {
            if (node.Newer is { } newer) newer.Older = node.Older; else Newest = node.Older;
            if (node.Older is { } older) older.Newer = node.Newer; else Oldest = node.Newer;
            node.Newer = node.Older = null;
            Bytes -= node.Size;
            Count--;
        }
    }

    /// <summary>One class's entries under one <see cref="MemoryEviction"/>.</summary>
    private sealed class EvictionQueue(MemoryEviction policy)
    {
        private readonly NodeList _main = new();
        private readonly NodeList _small = new(); // S3-FIFO only
        private readonly HashSet<(CacheStage, string)> _ghost = [];
        private readonly Queue<(CacheStage, string)> _ghostOrder = new();
        private Node? _hand; // SIEVE: moves from the oldest towards the newest

        public long Bytes => _main.Bytes + _small.Bytes;

        public void Add(Node node)
        {
            node.Hits = 0;
            if (policy != MemoryEviction.S3Fifo) { _main.Add(node); return; }
            node.InMain = _ghost.Remove((node.Entry.Stage, node.Entry.Key));
            (node.InMain ? _main : _small).Add(node);
        }

        public void Touch(Node node)
        {
            switch (policy)
            {
                case MemoryEviction.Lru: _main.Remove(node); _main.Add(node); break;
                case MemoryEviction.Sieve: node.Hits = 1; break;
                default: node.Hits = Math.Min(3, node.Hits + 1); break;
            }
        }

        public void Remove(Node node)
        {
            if (_hand == node) _hand = node.Newer;
            (policy == MemoryEviction.S3Fifo && !node.InMain ? _small : _main).Remove(node);
        }

        /// <summary>The entry to evict next (not removed), or null when the class is empty.</summary>
        public Node? Victim()
        {
            switch (policy)
            {
                case MemoryEviction.Lru:
                    return _main.Oldest;
                case MemoryEviction.Sieve:
                {
                    var p = _hand ?? _main.Oldest;
                    // Ends: each visited entry passed has its bit cleared, so the second round finds one.
                    while (p is { Hits: > 0 })
                    {
                        p.Hits = 0;
                        p = p.Newer ?? _main.Oldest;
                    }
                    _hand = p?.Newer;
                    return p;
                }
                default:
                    while (true)
                    {
                        // Ends: every pass moves a node to main or lowers a hit count.
                        if (_small.Oldest is { } s && (_small.Bytes * 10 >= Bytes || _main.Oldest is null))
                        {
                            if (s.Hits == 0)
                            {
                                RememberGhost(s);
                                return s;
                            }
                            _small.Remove(s);
                            s.Hits = 0;
                            s.InMain = true;
                            _main.Add(s);
                            continue;
                        }
                        if (_main.Oldest is not { } m) return null;
                        if (m.Hits == 0) return m;
                        m.Hits--;
                        _main.Remove(m);
                        _main.Add(m);
                    }
            }
        }

        /// <summary>The key of an entry leaving the small FIFO unhit, for as many entries as main holds.</summary>
        private void RememberGhost(Node node)
        {
            var id = (node.Entry.Stage, node.Entry.Key);
            if (!_ghost.Add(id)) return;
            _ghostOrder.Enqueue(id);
            while (_ghostOrder.Count > Math.Max(64, _main.Count + _small.Count)) _ghost.Remove(_ghostOrder.Dequeue());
        }
    }

    private readonly object _gate = new();
    private readonly Dictionary<(CacheStage, string), Node> _index = [];
    private readonly EvictionQueue _tensors;
    private readonly EvictionQueue _keptFirst;
    private readonly ILogger _logger;
    private readonly Func<CacheStage, bool>? _accepts;
    private readonly Func<CacheStage, bool>? _isKeptFirst;
    private long _bytes;

    /// <summary>
    /// A layer of at most <paramref name="limitBytes"/> payload bytes keeping the stages <paramref name="accepts"/> names (null:
    /// every stage). <paramref name="keptFirst"/>: the stages a repeat needs first (default output entries; null: one class,
    /// no admission, as plain LRU caches do).
    /// </summary>
    public MemoryStore(long limitBytes, CacheLayerStatistics stats, ILogger logger, Func<CacheStage, bool>? accepts = null,
        MemoryEviction eviction = MemoryEviction.S3Fifo, Func<CacheStage, bool>? keptFirst = null, bool admission = true)
    {
        _accepts = accepts;
        _isKeptFirst = admission ? keptFirst ?? OutputsFirst : null;
        Eviction = eviction;
        _tensors = new EvictionQueue(eviction);
        _keptFirst = new EvictionQueue(eviction);
        LimitBytes = Math.Max(0, limitBytes);
        Statistics = stats;
        _logger = logger;
    }

    public string Layer => "memory";
    public bool IsPersistent => false;
    public StoreCapabilities Capabilities => StoreCapabilities.RetainsPayloads;
    public CacheLayerStatistics Statistics { get; }
    public MemoryEviction Eviction { get; }
    /// <summary>True when output entries are kept first (false: one class, as the plain LRU measured against it).</summary>
    public bool KeepsOutputsFirst => _isKeptFirst is not null;
    /// <summary>Most payload bytes held at once; an entry larger than this is never kept.</summary>
    public long LimitBytes { get; }
    public long Bytes { get { lock (_gate) return _bytes; } }
    public int Count { get { lock (_gate) return _index.Count; } }
    /// <summary>Entries not kept because only kept-first entries could have made room (admission).</summary>
    public long Refused { get { lock (_gate) return _refused; } }
    /// <summary>Kept-first entries evicted (their class alone outgrew the limit): a repeat of those inputs misses.</summary>
    public long EvictedKeptFirst { get { lock (_gate) return _evictedKeptFirst; } }
    private long _refused, _evictedKeptFirst;

    public bool Accepts(CacheStage stage) => _accepts?.Invoke(stage) ?? true;

    public StoreRead TryGet(CacheStage stage, string key)
    {
        lock (_gate)
        {
            if (!_index.TryGetValue((stage, key), out var node)) return StoreRead.Miss;
            Queue(node).Touch(node);
            return StoreRead.Hit(node.Entry);
        }
    }

    private EvictionQueue Queue(Node node) => node.KeptFirst ? _keptFirst : _tensors;

    public bool Put(CacheEntry entry)
    {
        long size = entry.Payload.Length;
        if (size > LimitBytes) return false;
        var keptFirst = _isKeptFirst?.Invoke(entry.Stage) ?? false;
        List<Node>? evicted = null;
        lock (_gate)
        {
            var id = (entry.Stage, entry.Key);
            if (_index.Remove(id, out var existing))
            {
                Queue(existing).Remove(existing);
                _bytes -= existing.Size;
            }
            // A tensor may only displace tensors; a kept-first entry displaces tensors first, then its own class.
            var room = LimitBytes - _bytes + _tensors.Bytes + (keptFirst ? _keptFirst.Bytes : 0);
            if (size > room)
            {
                _refused++;
                Statistics.SetBytes(_bytes);
                return false;
            }
            while (_bytes + size > LimitBytes)
            {
                var victim = _tensors.Victim() ?? _keptFirst.Victim()!;
                Queue(victim).Remove(victim);
                _index.Remove((victim.Entry.Stage, victim.Entry.Key));
                _bytes -= victim.Size;
                if (victim.KeptFirst && _isKeptFirst is not null) _evictedKeptFirst++;
                (evicted ??= []).Add(victim);
            }
            var node = new Node(entry, size, keptFirst);
            Queue(node).Add(node);
            _index[id] = node;
            _bytes += size;
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
            Queue(node).Remove(node);
            _bytes -= node.Size;
            Statistics.SetBytes(_bytes);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            foreach (var node in _index.Values) Queue(node).Remove(node);
            _index.Clear();
            _bytes = 0;
            Statistics.SetBytes(0);
        }
    }

    public void Dispose() => Clear();
}
