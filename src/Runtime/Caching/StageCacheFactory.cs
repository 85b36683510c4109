using ImageFlowIO.Config;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>Builds the cache layers a config and its host ask for.</summary>
public static class StageCacheFactory
{
    public const string EnvironmentVariable = "IMAGEFLOWIO_CACHE_DIR";
    public const string DefaultFolderName = ".imageflowio-cache";

    /// <summary>Default disk cache folder: <c>IMAGEFLOWIO_CACHE_DIR</c>, else <c>.imageflowio-cache</c> beside the config.</summary>
    public static string DefaultCacheDirectory(PipelineConfig config) =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env
            ? Path.GetFullPath(env)
            : config.ResolvePath(DefaultFolderName);

    /// <summary>The disk cache folder: the host's (CLI <c>--cache-dir</c>) &gt; <c>execution.cacheDir</c> (against the config folder) &gt; <see cref="DefaultCacheDirectory"/>.</summary>
    public static string ResolveCacheDirectory(PipelineConfig config, PipelineOptions options) =>
        options.CacheDirectory is { Length: > 0 } fromHost ? Path.GetFullPath(fromHost)
        : config.Execution.CacheDir is { Length: > 0 } fromConfig ? config.ResolvePath(fromConfig)
        : DefaultCacheDirectory(config);

    public static IStageCache Create(PipelineConfig config, PipelineOptions options, ILogger logger)
    {
        var mode = options.CacheMode ?? config.Execution.UseCaching;
        if (mode == CacheMode.None) return new NullStageCache();
        var limits = config.Execution.Cache;
        var folder = mode == CacheMode.Disk ? ResolveCacheDirectory(config, options) : null;
        var cache = LayeredStageCache.Create(limits.MemoryLimitMB * 1024L * 1024, folder, limits.DiskLimitMB * 1024L * 1024, limits.Compression, logger);
        logger.LogDebug("cache: mode {Mode}, memory limit {MemoryMB} MB{Disk}", mode.ToString().ToLowerInvariant(), limits.MemoryLimitMB,
            cache.Disk is { } d ? $", disk {d.Folder} (limit {limits.DiskLimitMB} MB, compression {limits.Compression.ToString().ToLowerInvariant()})" : "");
        return cache;
    }
}
