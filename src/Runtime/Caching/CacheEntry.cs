using ImageFlowIO.Config;

namespace ImageFlowIO.Caching;

/// <summary>
/// One stage result as every store keeps it: typed metadata the stores persist and an opaque payload they never
/// interpret. A stage's codec (<see cref="IStageCodec{T}"/>) turns its value into an entry and back.
/// </summary>
/// <param name="Stage">The stage that computed it (also a namespace for the key).</param>
/// <param name="Key">The content key (43 Base64URL characters).</param>
/// <param name="Info">What the payload is: element type and shape, the source image size, output files.</param>
/// <param name="Payload">Tensor bytes, or the output files' bytes one after another.</param>
internal sealed record CacheEntry(CacheStage Stage, string Key, EntryInfo Info, byte[] Payload);

/// <summary>Typed metadata of a cache entry. Read back from a persistent store it is untrusted input: codecs validate it.</summary>
internal sealed record EntryInfo
{
    public required TensorDataType DataType { get; init; }
    public required int[] Shape { get; init; }
    public TensorLayout Layout { get; init; }
    public int SourceWidth { get; init; }
    public int SourceHeight { get; init; }
    /// <summary>Output-stage entries: the files, in payload order.</summary>
    public IReadOnlyList<OutputFileInfo>? Files { get; init; }
    /// <summary>Output-stage entries: what hosts report about the model output (shape, statistics, top-k, saved size).</summary>
    public OutputFacts? Facts { get; init; }
    /// <summary>The input's file name, for people reading a cache folder (never part of a decision).</summary>
    public string? Input { get; init; }
}

/// <summary>One file of an output-stage entry: its path relative to the input's output folder, length and SHA-256 (hex).</summary>
internal sealed record OutputFileInfo(string Path, long Length, string Sha256);

/// <summary>What a store's lookup found: an entry, nothing (a miss), or a bad entry it has already discarded.</summary>
internal readonly record struct StoreRead(CacheEntry? Entry, string? Problem, bool Untrusted = false)
{
    public static StoreRead Miss => default;
    public static StoreRead Hit(CacheEntry entry) => new(entry, null);
    public static StoreRead Corrupt(string problem) => new(null, problem);
    /// <summary>An entry without a valid signature (remote stores with a signing key).</summary>
    public static StoreRead NotTrusted(string problem) => new(null, problem, Untrusted: true);
}

/// <summary>
/// A place stage results are kept (memory, disk, remote). Stores keep opaque entries, count their own bytes,
/// evictions and bad entries, and never throw for I/O trouble; the <see cref="StageCache"/> wrapper decides when to
/// read and write them, counts hits, misses and writes, and logs the <c>cache/...</c> lines.
/// </summary>
internal interface ICacheStore : IDisposable
{
    /// <summary>The layer name in logs and statistics: memory, disk or remote.</summary>
    string Layer { get; }
    /// <summary>True for stores that outlive the process (a computed result is written to these, around memory).</summary>
    bool IsPersistent { get; }
    /// <summary>What else the store can do, for the decisions that depend on it (no code tests a store's concrete type). Unknown stores keep payloads.</summary>
    StoreCapabilities Capabilities => StoreCapabilities.RetainsPayloads;
    /// <summary>The folder a local store keeps its entries in; null for others.</summary>
    string? Folder => null;
    CacheLayerStatistics Statistics { get; }
    /// <summary>Whether this store keeps results of <paramref name="stage"/> at all.</summary>
    bool Accepts(CacheStage stage);
    StoreRead TryGet(CacheStage stage, string key);
    /// <summary>Stores an entry (best effort); false when it was not kept (too large, store off, already there, or queued for later).</summary>
    bool Put(CacheEntry entry);
    /// <summary>Waits (bounded) for writes still in flight, so statistics are final at the end of a batch; local stores write synchronously.</summary>
    void Flush() { }
    /// <summary>Drops an entry the stage's codec rejected, so it is not read (and reported) again; a no-op where entries cannot be removed.</summary>
    void Discard(CacheStage stage, string key) { }
    /// <summary>Lookups are coming: a store whose first read costs a start-up (a remote's connection) begins it now, in the background; a no-op for the others.</summary>
    void WarmUp() { }
}

/// <summary>What a store states about itself (<see cref="ICacheStore.Capabilities"/>).</summary>
[Flags]
internal enum StoreCapabilities
{
    None = 0,
    /// <summary>Keeps entries in a folder of this machine, written before Put returns (disk): disk admission applies to it, and the up-to-date index lives beside it.</summary>
    LocalFolder = 1,
    /// <summary>May still reference a payload array after Put returns (memory keeps it, a remote queues it for upload), so the pipeline must not rent it out again.</summary>
    RetainsPayloads = 2,
    /// <summary>Shared with other machines (remote).</summary>
    Shared = 4,
}

/// <summary>Turns one stage's value into a <see cref="CacheEntry"/> and back; decoding validates everything it reads.</summary>
internal interface IStageCodec<T>
{
    CacheStage Stage { get; }
    CacheEntry Encode(string key, T value, string inputLabel);
    /// <summary>False (with why) when the entry is not a valid value of this stage.</summary>
    bool TryDecode(CacheEntry entry, out T value, out string problem);
}
