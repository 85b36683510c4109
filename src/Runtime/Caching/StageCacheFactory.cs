using ImageFlowIO.Config;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>Builds the cache layers a config and its host ask for.</summary>
public static class StageCacheFactory
{
    /// <summary>Default disk cache folder: <c>IMAGEFLOWIO_CACHE_DIR</c>, else <c>.imageflowio-cache</c> beside the config.</summary>
    public static string DefaultCacheDirectory(PipelineConfig config) =>
        Environment.GetEnvironmentVariable("IMAGEFLOWIO_CACHE_DIR") is { Length: > 0 } env
            ? Path.GetFullPath(env)
            : config.ResolvePath(".imageflowio-cache");

    public static IStageCache Create(PipelineConfig config, PipelineOptions options, ILogger logger)
    {
        var mode = options.CacheMode ?? config.Execution.UseCaching;
        if (mode == CacheMode.None) return new NullStageCache();
        // TODO(issue 5): memory LRU and disk cache layers.
        return new NullStageCache();
    }
}
