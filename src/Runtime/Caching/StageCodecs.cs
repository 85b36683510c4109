using ImageFlowIO.Config;

namespace ImageFlowIO.Caching;

/// <summary>A cached tensor stage's value: the tensor and the size of the original input it came from.</summary>
internal sealed record StageValue(TensorData Tensor, int SourceWidth, int SourceHeight);

/// <summary>Codec of the tensor stages (preprocess, inference): the payload is the tensor's bytes, shared, not copied.</summary>
internal sealed class TensorCodec(CacheStage stage) : IStageCodec<StageValue>
{
    public static readonly TensorCodec Preprocess = new(CacheStage.Preprocess);
    public static readonly TensorCodec Inference = new(CacheStage.Inference);
    /// <summary>Rank and source sizes beyond these are not a tensor this pipeline wrote.</summary>
    private const int MaxRank = 8;
    private const int MaxSourceSide = 1 << 20;

    public CacheStage Stage { get; } = stage;

    public CacheEntry Encode(string key, StageValue value, string inputLabel) => new(Stage, key, new EntryInfo
    {
        DataType = value.Tensor.ElementType, Shape = [.. value.Tensor.Shape], Layout = value.Tensor.Layout,
        SourceWidth = value.SourceWidth, SourceHeight = value.SourceHeight, Input = Path.GetFileName(inputLabel),
    }, value.Tensor.UnsafeArray);

    public bool TryDecode(CacheEntry entry, out StageValue value, out string problem)
    {
        value = null!;
        var info = entry.Info;
        if (info.Files is not null || info.Facts is not null) { problem = "a tensor entry names files"; return false; }
        if (!Enum.IsDefined(info.DataType) || !Enum.IsDefined(info.Layout)) { problem = "unknown element type or layout"; return false; }
        if (info.Shape.Length is 0 or > MaxRank || info.Shape.Any(d => d <= 0)) { problem = $"bad shape [{string.Join(",", info.Shape)}]"; return false; }
        if (info.SourceWidth is < 0 or > MaxSourceSide || info.SourceHeight is < 0 or > MaxSourceSide) { problem = "bad source size"; return false; }
        try
        {
            value = new StageValue(new TensorData(info.DataType, info.Shape, entry.Payload, info.Layout), info.SourceWidth, info.SourceHeight);
            problem = "";
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            problem = $"shape does not match data ({ex.Message})";
            return false;
        }
    }
}

/// <summary>Codec of the output stage: the payload is the files' bytes one after another, described (path, length, SHA-256) in the metadata with the output's facts.</summary>
internal sealed class OutputCodec : IStageCodec<OutputBundle>
{
    public static readonly OutputCodec Instance = new();

    public CacheStage Stage => CacheStage.Output;

    public CacheEntry Encode(string key, OutputBundle value, string inputLabel) => new(Stage, key, new EntryInfo
    {
        DataType = TensorDataType.Uint8, Shape = [value.Payload.Length], SourceWidth = value.SourceWidth, SourceHeight = value.SourceHeight,
        Files = value.Files, Facts = value.Facts, Input = Path.GetFileName(inputLabel),
    }, value.Payload);

    public bool TryDecode(CacheEntry entry, out OutputBundle value, out string problem)
    {
        value = null!;
        if (entry.Info.Files is not { } files) { problem = "an output entry without its file list"; return false; }
        // Entries of older versions (no facts) live under other keys; one without them here is not ours.
        if (entry.Info.Facts is not { } facts) { problem = "an output entry without its facts"; return false; }
        if (entry.Info.SourceWidth is < 0 or > 1 << 20 || entry.Info.SourceHeight is < 0 or > 1 << 20) { problem = "bad source size"; return false; }
        if (!OutputBundle.TryValidate(files, entry.Payload, out problem)) return false;
        value = new OutputBundle(files, entry.Payload, entry.Info.SourceWidth, entry.Info.SourceHeight, facts);
        return true;
    }
}
