using ImageFlowIO.Caching;

namespace ImageFlowIO;

/// <summary>Why an input runs, or that it need not: the answer of the one up-to-date decision (<see cref="Pipeline.CheckUpToDate"/>).</summary>
public enum RunReason
{
    /// <summary>Its outputs are on disk as this input, config, model, labels and tool version made them: a run only stats them.</summary>
    UpToDate,
    /// <summary>No earlier run of it into this output folder is recorded (or there is no cache to record one).</summary>
    NewInput,
    /// <summary>The input's bytes changed (a touch does not count: inputs are compared by content).</summary>
    ContentChanged,
    /// <summary>The model file's bytes changed.</summary>
    ModelChanged,
    /// <summary>The labels file or the palette file changed (only postprocessing runs again).</summary>
    LabelsChanged,
    /// <summary>The preprocessing section (or input.autoOrient, or the model's layout) changed.</summary>
    PreprocessingChanged,
    /// <summary>The inference section (or the backend, or the model's tensor names) changed.</summary>
    InferenceChanged,
    /// <summary>The postprocessing section changed.</summary>
    PostprocessingChanged,
    /// <summary>The output section (save, saveRaw, writeMeta, file names), visualization, custom or model.name changed.</summary>
    OutputChanged,
    /// <summary>Another ImageFlowIO version made the outputs.</summary>
    ToolVersionChanged,
    /// <summary>An output file is missing or was changed on disk since it was written.</summary>
    OutputMissingOrChanged,
    /// <summary>The input's previous run failed.</summary>
    PreviousRunFailed,
    /// <summary>The host asked for every input to run (<see cref="PipelineOptions.Force"/>).</summary>
    Forced,
}

/// <summary>One input's up-to-date answer: the <see cref="Reason"/> and, for people, <see cref="Text"/> ("up to date" or "run, because …").</summary>
/// <param name="Input">The input's path as given.</param>
/// <param name="Reason">Up to date, or the first thing found changed (in the order of <see cref="RunReason"/>'s members).</param>
/// <param name="Detail">The reason in words ("its content changed", "output out/a.png is missing", …).</param>
public sealed record UpToDateDecision(string Input, RunReason Reason, string Detail)
{
    public bool IsUpToDate => Reason == RunReason.UpToDate;

    /// <summary>"up to date", or "run, because " and the <see cref="Detail"/>.</summary>
    public string Text => IsUpToDate ? "up to date" : "run, because " + Detail;

    /// <summary>The reason's name as summary.json and logs spell it (camelCase: "contentChanged").</summary>
    public string Code => (uint)Reason < (uint)Codes.Length ? Codes[(int)Reason] : CodeOf(Reason.ToString());

    /// <summary>Each reason's code, made once (summary.json lists one per input).</summary>
    private static readonly string[] Codes = [.. Enum.GetNames<RunReason>().Select(CodeOf)];

    private static string CodeOf(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    public override string ToString() => $"{Input}: {Text}";
}

/// <summary>
/// What one run of an input into one output folder was made of — each part that can send it to run again, as short
/// digests of the canonical forms the cache keys use (<see cref="CacheKeys"/>) — and whether it failed. Kept per input
/// by <see cref="OutputFileIndex"/>; compared part by part, it says which one changed.
/// </summary>
internal sealed record RunRecord(string Tool, string Content, string Model, string Labels, string Preprocessing, string Inference,
    string Postprocessing, string Output, string OutputKey, string Failure)
{
    internal const int FieldCount = 10;

    public string[] Fields() => [Tool, Content, Model, Labels, Preprocessing, Inference, Postprocessing, Output, OutputKey, Failure];

    /// <summary>A record read back from the index (untrusted): null unless it has exactly its fields, each bounded.</summary>
    public static RunRecord? TryParse(ReadOnlySpan<string> fields)
    {
        if (fields.Length != FieldCount) return null;
        foreach (var f in fields) if (f.Length > 128) return null;
        return new RunRecord(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], fields[7], fields[8], fields[9]);
    }
}

/// <summary>
/// The one up-to-date decision, with its reason (SPEC §3): built by a <see cref="Pipeline"/> from the same canonical
/// config sections, model and labels digests its cache keys use, it turns an input's current <see cref="RunRecord"/>,
/// its last one and the state of its recorded outputs into an <see cref="UpToDateDecision"/>.
/// </summary>
internal sealed class UpToDateCheck(string modelDigest, string labelsDigest, string preprocessSection, string inferenceSection, string postprocessingSection, string outputSection)
{
    private readonly string _model = Short(modelDigest);
    private readonly string _labels = Short(labelsDigest);
    private readonly string _preprocessing = Short(preprocessSection);
    private readonly string _inference = Short(inferenceSection);
    private readonly string _postprocessing = Short(postprocessingSection);
    private readonly string _output = Short(outputSection);

    /// <summary>A digest short enough to keep per input, long enough that a change never collides in practice.</summary>
    private static string Short(string text) => CacheKeys.Digest(text)[..16];

    /// <summary>What a run of an input with this content and output key is made of; <paramref name="failure"/>: its error code, when it failed.</summary>
    public RunRecord Record(string contentDigest, string outputKey, string? failure) =>
        new(CacheKeys.ToolVersion, contentDigest, _model, _labels, _preprocessing, _inference, _postprocessing, _output, outputKey, failure ?? "");

    /// <summary>True when <paramref name="last"/> equals what <see cref="Record"/> would make for these (without making it).</summary>
    public bool Describes(RunRecord last, string contentDigest, string outputKey, string? failure) =>
        last.Tool == CacheKeys.ToolVersion && last.Content == contentDigest && last.Model == _model && last.Labels == _labels
        && last.Preprocessing == _preprocessing && last.Inference == _inference && last.Postprocessing == _postprocessing
        && last.Output == _output && last.OutputKey == outputKey && last.Failure == (failure ?? "");

    /// <summary>
    /// Decides for an input whose outputs are not up to date (<paramref name="outputsProblem"/>: which recorded output is
    /// missing or changed, null when none is recorded for its current key): the first part of its last run that differs.
    /// </summary>
    public static UpToDateDecision Decide(string input, RunRecord current, RunRecord? last, string? outputsProblem)
    {
        UpToDateDecision Run(RunReason reason, string detail) => new(input, reason, detail);
        if (outputsProblem is not null) return Run(RunReason.OutputMissingOrChanged, outputsProblem);
        if (last is null) return Run(RunReason.NewInput, "it is new (no earlier run of it into this output folder is recorded)");
        if (last.Tool != current.Tool) return Run(RunReason.ToolVersionChanged, $"the tool version changed ({last.Tool} -> {current.Tool})");
        if (last.Content != current.Content) return Run(RunReason.ContentChanged, "its content changed");
        if (last.Model != current.Model) return Run(RunReason.ModelChanged, "the model changed");
        if (last.Labels != current.Labels) return Run(RunReason.LabelsChanged, "the labels or palette changed (postprocessing only)");
        if (last.Preprocessing != current.Preprocessing) return Run(RunReason.PreprocessingChanged, "config section preprocessing changed");
        if (last.Inference != current.Inference) return Run(RunReason.InferenceChanged, "config section inference changed");
        if (last.Postprocessing != current.Postprocessing) return Run(RunReason.PostprocessingChanged, "config section postprocessing changed");
        if (last.Output != current.Output || last.OutputKey != current.OutputKey) return Run(RunReason.OutputChanged, "config section output changed");
        if (last.Failure.Length > 0) return Run(RunReason.PreviousRunFailed, $"its previous run failed ({last.Failure})");
        // Same parts, no failure, outputs not recorded: they were not kept (too large to cache, or the index was lost).
        return Run(RunReason.OutputMissingOrChanged, "its outputs are not recorded");
    }

    public static UpToDateDecision UpToDate(string input) => new(input, RunReason.UpToDate, "up to date");
    public static UpToDateDecision Forced(string input) => new(input, RunReason.Forced, "a full run was asked for");
    public static UpToDateDecision NoCache(string input) => new(input, RunReason.NewInput, "nothing is recorded without a cache");
    public static UpToDateDecision Unreadable(string input, ImageFlowException error) => new(input, RunReason.ContentChanged, $"it cannot be read ({error.Code})");
}
