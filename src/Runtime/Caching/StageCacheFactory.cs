using ImageFlowIO.Config;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>Builds the stores a config and its host ask for, in lookup order: memory → disk (→ remote).</summary>
public static class StageCacheFactory
{
    public const string EnvironmentVariable = "IMAGEFLOWIO_CACHE_DIR";
    public const string DefaultFolderName = ".imageflowio-cache";

    /// <summary>Default disk cache folder: <c>IMAGEFLOWIO_CACHE_DIR</c>, else <c>.imageflowio-cache</c> beside the config.</summary>
    internal static string DefaultCacheDirectory(PipelineConfig config, Func<string, string?> environment) =>
        environment(EnvironmentVariable) is { Length: > 0 } env
            ? Path.GetFullPath(env)
            : config.ResolvePath(DefaultFolderName);

    /// <summary>The disk cache folder: the host's (CLI <c>--cache-dir</c>) &gt; <c>execution.cacheDir</c> (against the config folder) &gt; <see cref="DefaultCacheDirectory"/>.</summary>
    internal static string ResolveCacheDirectory(PipelineConfig config, PipelineOptions options) =>
        options.CacheDirectory is { Length: > 0 } fromHost ? Path.GetFullPath(fromHost)
        : config.Execution.CacheDir is { Length: > 0 } fromConfig ? config.ResolvePath(fromConfig)
        : DefaultCacheDirectory(config, EnvironmentOf(options));

    /// <summary>Where the cache settings' variables come from: the host's (the build server's requesting build), else this process's.</summary>
    private static Func<string, string?> EnvironmentOf(PipelineOptions options) => options.EnvironmentVariables ?? Environment.GetEnvironmentVariable;

    /// <summary>
    /// The cache a config describes (<c>execution.useCaching</c>, limits, compression, <c>execution.cache.remote</c>)
    /// with the host's overrides. A remote URL the host names explicitly turns caching on (memory) when it is off.
    /// </summary>
    public static StageCache Create(PipelineConfig config, PipelineOptions options, ILogger logger)
    {
        var mode = options.CacheMode ?? config.Execution.UseCaching;
        if (mode == CacheMode.None && options.RemoteCache is { Length: > 0 } && options.CacheMode is null) mode = CacheMode.Memory;
        if (mode == CacheMode.None) return options.RecordDirectory is { } record ? StageCache.RecordOnly(RecordFolder(record), logger) : StageCache.None();
        var limits = config.Execution.Cache;
        var folder = mode == CacheMode.Disk ? ResolveCacheDirectory(config, options) : null;
        var remote = CreateRemote(config, options, logger, EnvironmentOf(options));
        var cache = Create(limits.MemoryLimitMB * 1024L * 1024, folder, limits.DiskLimitMB * 1024L * 1024, limits.Compression, logger, remote,
            recordFolder: options.RecordDirectory is { } recordDirectory ? RecordFolder(recordDirectory) : null);
        logger.LogDebug("cache: mode {Mode}, memory limit {MemoryMB} MB{Disk}{Remote}", mode.ToString().ToLowerInvariant(), limits.MemoryLimitMB,
            cache.Stores.FirstOrDefault(s => s.Folder is not null) is { } d ? $", disk {d.Folder} (limit {limits.DiskLimitMB} MB, compression {limits.Compression.ToString().ToLowerInvariant()})" : "",
            remote is null ? "" : $", remote {remote.Display}{(remote.ReadOnly ? " (read-only)" : "")}");
        return cache;
    }

    /// <summary>The remote layer the host, config or environment names (<see cref="RemoteCacheSettings.Resolve"/>), or null; a bad URL is one IFIO4002 warning.</summary>
    internal static RemoteStore? CreateRemote(PipelineConfig config, PipelineOptions options, ILogger logger, Func<string, string?> environment)
    {
        var settings = RemoteCacheSettings.Resolve(config, options, environment, out var problem);
        if (problem is not null)
            logger.LogWarning(CacheEvents.RemoteUnavailable, "{Problem}; running without the remote cache. Check --remote-cache, execution.cache.remote.url or {Variable}", problem, RemoteCacheSettings.UrlVariable);
        return settings is null ? null : new RemoteStore(settings, new CacheLayerStatistics(), logger);
    }

    /// <summary>
    /// What a disk-backed cache keeps, by what an entry saves per byte written (measured, bench/README.md): an output
    /// entry (≈ 150 KB of PNG) saves the whole pipeline; an inference entry (the raw model output) saves the model run
    /// and lets a postprocessing change skip it (written when worth its bytes: <see cref="DiskAdmission"/>); a preprocess tensor (1.2 MB of float32 for 320², ≈ 8× the encoded
    /// image) saves only a decode and a resize that cost less than writing and reading it back, so it is not kept
    /// there — nor in the memory layer in front of it, where it would only grow a cold batch's memory with the
    /// number of images. The remote layer chose the same by its own measurement (<see cref="RemoteStore.DefaultAccepts"/>).
    /// A memory-only cache keeps every stage (a model change in one process reuses preprocess).
    /// </summary>
    internal static bool DiskBackedKeeps(CacheStage stage) => stage != CacheStage.Preprocess;

    /// <summary>A memory layer (when its limit is above 0) in front of a disk layer (when a folder is given and writable), for hosts that share one cache across pipelines.</summary>
    public static StageCache Create(long memoryLimitBytes, string? diskFolder, long diskLimitBytes, CacheCompression compression, ILogger logger) =>
        Create(memoryLimitBytes, diskFolder, diskLimitBytes, compression, logger, remote: null);

    /// <summary>Memory → disk → remote (each when given).</summary>
    /// <remarks><paramref name="eviction"/> and <paramref name="admission"/> choose the memory layer's policy (the benchmark measures the plain LRU against the default).</remarks>
    internal static StageCache Create(long memoryLimitBytes, string? diskFolder, long diskLimitBytes, CacheCompression compression, ILogger logger, ICacheStore? remote,
        MemoryEviction eviction = MemoryEviction.S3Fifo, bool admission = true, string? recordFolder = null)
    {
        var stores = new List<ICacheStore>();
        var disk = diskFolder is null ? null : DiskStore.Open(diskFolder, diskLimitBytes, compression, new CacheLayerStatistics(), logger, DiskBackedKeeps);
        if (memoryLimitBytes > 0) stores.Add(new MemoryStore(memoryLimitBytes, new CacheLayerStatistics(), logger, disk is null ? null : DiskBackedKeeps, eviction, admission: admission));
        if (disk is not null) stores.Add(disk);
        if (remote is not null) stores.Add(remote);
        var (index, outputs) = Records(recordFolder ?? disk?.Folder);
        return new StageCache(stores, index, logger, outputs);
    }

    /// <summary>The up-to-date record's two indexes, kept in <paramref name="folder"/> (null: in memory only).</summary>
    internal static (InputDigestIndex Inputs, OutputFileIndex Outputs) Records(string? folder) =>
        (new InputDigestIndex(folder is null ? null : Path.Combine(folder, InputDigestIndex.FileName)),
         new OutputFileIndex(folder is null ? null : Path.Combine(folder, OutputFileIndex.FileName)));

    /// <summary>The host's record folder, created (an unwritable one only costs the record: every input then runs).</summary>
    private static string RecordFolder(string folder)
    {
        var full = Path.GetFullPath(folder);
        try { Directory.CreateDirectory(full); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException) { }
        return full;
    }
}
