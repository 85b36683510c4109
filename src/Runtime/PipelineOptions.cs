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
    /// <summary>Shared remote cache URL (CLI <c>--remote-cache</c>, MSBuild <c>ImageFlowRemoteCache</c>); overrides <c>execution.cache.remote.url</c> and <c>IMAGEFLOWIO_REMOTE_CACHE</c>.</summary>
    public string? RemoteCache { get; init; }
    /// <summary>Only read from the remote cache; null: the config's <c>readOnly</c>.</summary>
    public bool? RemoteCacheReadOnly { get; init; }
    /// <summary>Images processed at once in a batch.</summary>
    public int MaxParallelism { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// Workers for a batch of <paramref name="inputs"/>: never more than it has images, so the cores of workers a small
    /// batch leaves idle go to ONNX Runtime's intra-op threads (cores / workers) instead; the outputs are the same bytes.
    /// </summary>
    internal static int WorkersFor(int requested, int inputs) => Math.Max(1, Math.Min(requested, inputs));
    /// <summary>ONNX Runtime intra-op threads; null: the config's threads, else cores / parallelism.</summary>
    public int? IntraOpThreads { get; init; }
    /// <summary>
    /// The environment the cache settings are read from (IMAGEFLOWIO_CACHE_DIR, IMAGEFLOWIO_REMOTE_CACHE…); null: this
    /// process's. The build server runs each build with the variables of the build that asked, not its own.
    /// </summary>
    internal Func<string, string?>? EnvironmentVariables { get; init; }
    /// <summary>
    /// Whether batch results keep each input's output tensor. Hosts that only need the files (CLI, MSBuild task) turn it
    /// off so a batch's memory stays flat in the number of inputs.
    /// </summary>
    public bool KeepOutputTensors { get; init; } = true;
    /// <summary>
    /// Runs every input even when its outputs are up to date (the decision says <see cref="RunReason.Forced"/>): outputs
    /// are written again, from the caches where they have them.
    /// </summary>
    public bool Force { get; init; }
    /// <summary>
    /// Where the up-to-date record (the input digests and the outputs each run wrote, <c>inputs.idx</c>, <c>outputs.idx</c>)
    /// is kept, whatever the cache mode: the MSBuild build keeps it in obj/ so a build is incremental with
    /// <c>ImageFlowCacheMode</c> none or memory too (the cache mode governs stage results, not this record). Null: in the
    /// disk cache folder, or this process's memory without one.
    /// </summary>
    internal string? RecordDirectory { get; init; }
    /// <summary>The host only decides (CLI <c>--dry-run --explain</c>): nothing is looked up, so no cache store warms up.</summary>
    internal bool DecideOnly { get; init; }
    /// <summary>A cache to use instead of the one the config describes (shared across pipelines by a host).</summary>
    public StageCache? Cache { get; init; }
    /// <summary>Custom preprocessing run on each tensor the preprocess stage writes, before it is cached (generated <c>OnPreprocessing</c>).</summary>
    public Func<TensorData, TensorData>? PreprocessHook { get => _preprocessHook; init => _preprocessHook = value; }
    /// <summary>Custom postprocessing run on each model output before the config's postprocessing (generated <c>OnPostprocessing</c>).</summary>
    public Func<TensorData, TensorData>? PostprocessHook { get => _postprocessHook; init => _postprocessHook = value; }
    private Func<TensorData, TensorData>? _preprocessHook;
    private Func<TensorData, TensorData>? _postprocessHook;

    /// <summary>A copy of these options with the given hooks (generated pipeline classes wire their partial methods here).</summary>
    public PipelineOptions WithHooks(Func<TensorData, TensorData>? preprocess, Func<TensorData, TensorData>? postprocess)
    {
        var copy = (PipelineOptions)MemberwiseClone();
        copy._preprocessHook = preprocess;
        copy._postprocessHook = postprocess;
        return copy;
    }
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
