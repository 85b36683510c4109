using ImageFlowIO.Caching;

namespace ImageFlowIO;

/// <summary>What one input produced: the model output, files written, timings and cache hits, or the error.</summary>
public sealed class PipelineResult
{
    public required string Input { get; init; }
    public bool Succeeded => Error is null;
    public ImageFlowException? Error { get; init; }
    /// <summary>The true model output tensor (float32), when the run succeeded and the host keeps tensors (<see cref="PipelineOptions.KeepOutputTensors"/>).</summary>
    public TensorData? Output { get; init; }
    /// <summary>Shape of the model output (also when the tensor itself was not kept).</summary>
    public IReadOnlyList<int> OutputShape { get; init; } = [];
    public IReadOnlyList<string> Outputs { get => _outputs; init => _outputs = value; }
    private IReadOnlyList<string> _outputs = [];
    public int SourceWidth { get; init; }
    public int SourceHeight { get; init; }
    /// <summary>Milliseconds per stage (decode, preprocess, inference, postprocess, save).</summary>
    public IReadOnlyDictionary<string, double> TimingsMs { get; init; } = new Dictionary<string, double>();
    /// <summary>Which layer served each cached stage ("memory", "disk", "remote" or "miss").</summary>
    public IReadOnlyDictionary<string, string> Cache { get; init; } = new Dictionary<string, string>();
    /// <summary>For classifier outputs with labels: top-k (label, score), best first.</summary>
    public IReadOnlyList<(string Label, float Score)> TopK { get; init; } = [];
    /// <summary>Min/max/mean per channel of the model output (<see cref="OutputChannelStatistics"/>), also when the output stage came from a cache (its entry carries them).</summary>
    public IReadOnlyList<ChannelStatistics> OutputStatistics { get; init; } = [];
    /// <summary>Width of the image <c>output.save</c> wrote for this input; 0 when it wrote none.</summary>
    public int SavedImageWidth { get; init; }
    /// <summary>Height of the image <c>output.save</c> wrote for this input; 0 when it wrote none.</summary>
    public int SavedImageHeight { get; init; }
    /// <summary>True when the model ran for this input (false when the inference stage came from a cache).</summary>
    public bool RanInference { get; init; }
    /// <summary>The up-to-date decision this run made for the input: up to date (served as it is on disk) or why it ran; null when it never got that far (an output collision).</summary>
    public UpToDateDecision? Reason { get; init; }
    /// <summary>With a chain (<c>chain</c> in the config): the lines of text found, in reading order; null without one.</summary>
    public IReadOnlyList<Chains.TextLine>? Lines { get; init; }
    /// <summary>The lines' text joined by <c>\n</c>; null without a chain.</summary>
    public string? Text => Lines is null ? null : string.Join("\n", Lines.Select(l => l.Text));
    /// <summary>The config's checks that fired for this input (<c>IFIO7###</c>).</summary>
    public IReadOnlyList<Chains.CheckFinding> Checks { get => _checks; init => _checks = value; }
    private IReadOnlyList<Chains.CheckFinding> _checks = [];

    /// <summary>A copy listing other output files (every other member kept, whatever members are added later).</summary>
    internal PipelineResult WithOutputs(IReadOnlyList<string> outputs)
    {
        var copy = (PipelineResult)MemberwiseClone();
        copy._outputs = outputs;
        return copy;
    }

    /// <summary>A copy with the checks that fired (every other member kept).</summary>
    internal PipelineResult WithChecks(IReadOnlyList<Chains.CheckFinding> checks)
    {
        if (checks.Count == 0) return this;
        var copy = (PipelineResult)MemberwiseClone();
        copy._checks = checks;
        return copy;
    }
}

/// <summary>The outcome of a batch: one result per input, in input order, and the cache statistics.</summary>
public sealed class BatchResult
{
    public required IReadOnlyList<PipelineResult> Items { get; init; }
    public required CacheStatistics Cache { get; init; }
    public double ElapsedMs { get; init; }
    public int Processed => Items.Count(i => i.Succeeded);
    public int Failed => Items.Count(i => !i.Succeeded);
    /// <summary>Inputs whose inference stage came from a cache.</summary>
    public int FromCache => Items.Count(i => i.Succeeded && !i.RanInference);
}
