using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO;

/// <summary>How a host (CLI, MSBuild task, app) runs a config: overrides of config values and shared services.</summary>
public sealed class PipelineOptions
{
    public ILoggerFactory? LoggerFactory { get; init; }
    /// <summary>Re-roots every output (images, raw, meta, visualisations) under this folder.</summary>
    public string? OutputDirectory { get; init; }
    public BackendKind? Backend { get; init; }
    public CacheMode? CacheMode { get; init; }
    public string? CacheDirectory { get; init; }
    /// <summary>Images processed at once in a batch.</summary>
    public int MaxParallelism { get; init; } = Math.Max(1, Environment.ProcessorCount);
    /// <summary>ONNX Runtime intra-op threads; null: the config's threads, else cores / parallelism.</summary>
    public int? IntraOpThreads { get; init; }
    /// <summary>A cache to use instead of the one the config describes (shared across pipelines by a host).</summary>
    public IStageCache? Cache { get; init; }
}

/// <summary>Per-input overrides within a batch (the MSBuild task keeps each item's relative folder).</summary>
public sealed class InputItem(string path)
{
    public string Path { get; } = path;
    /// <summary>Where this input's outputs go; null: the pipeline's output folder.</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Value of the {index} file name token; null: the position in the batch.</summary>
    public int? Index { get; init; }
}
