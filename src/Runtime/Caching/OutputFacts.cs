using System.Text.Json;

namespace ImageFlowIO.Caching;

/// <summary>
/// What hosts report about one input's model output besides its files — the output shape, per-channel statistics,
/// top-k and the saved image's size — carried by its output-stage entry and its up-to-date record, so a run served
/// from them (writeMeta, summary.json, the asset catalogue) needs no inference entry and no model session. Read back
/// from a cache it is untrusted: <see cref="Read"/> bounds every list and value.
/// </summary>
internal sealed record OutputFacts(
    IReadOnlyList<int> OutputShape,
    IReadOnlyList<ChannelStatistics> Channels,
    IReadOnlyList<(string Label, float Score)> TopK,
    int SavedWidth,
    int SavedHeight)
{
    private const int MaxRank = 8;
    private const int MaxChannels = 4096;
    private const int MaxTopK = 64;
    private const int MaxLabelLength = 1024;
    private const int MaxSide = 1 << 20;

    /// <summary>True when these facts fit the bounds <see cref="Read"/> accepts (a larger output is not cached as an entry).</summary>
    public bool IsStorable => OutputShape.Count is > 0 and <= MaxRank && OutputShape.All(d => d > 0) && Channels.Count <= MaxChannels
        && TopK.Count <= MaxTopK && TopK.All(k => k.Label.Length <= MaxLabelLength)
        && SavedWidth is >= 0 and <= MaxSide && SavedHeight is >= 0 and <= MaxSide;

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("outputShape");
        foreach (var d in OutputShape) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteStartArray("channels");
        foreach (var c in Channels)
        {
            w.WriteStartArray();
            Number(w, c.Min);
            Number(w, c.Max);
            Number(w, c.Mean);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteStartArray("topK");
        foreach (var (label, score) in TopK)
        {
            w.WriteStartArray();
            w.WriteStringValue(label);
            Number(w, score);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteNumber("savedWidth", SavedWidth);
        w.WriteNumber("savedHeight", SavedHeight);
        w.WriteEndObject();
    }

    /// <summary>The compact JSON form (no tabs or line breaks: the up-to-date index keeps it in one column).</summary>
    public string ToJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer)) Write(w);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads facts back; throws <see cref="FormatException"/>, <see cref="InvalidOperationException"/> or <see cref="KeyNotFoundException"/> on anything malformed or out of bounds.</summary>
    public static OutputFacts Read(JsonElement e)
    {
        var shape = e.GetProperty("outputShape");
        if (shape.GetArrayLength() is 0 or > MaxRank) throw new FormatException("bad output shape");
        int[] dims = [.. shape.EnumerateArray().Select(d => d.GetInt32())];
        if (dims.Any(d => d <= 0)) throw new FormatException("bad output shape");
        var channels = e.GetProperty("channels");
        if (channels.GetArrayLength() > MaxChannels) throw new FormatException("too many channels");
        var stats = channels.EnumerateArray().Select(c =>
        {
            if (c.GetArrayLength() != 3) throw new FormatException("bad channel statistics");
            return new ChannelStatistics(ReadNumber(c[0]), ReadNumber(c[1]), ReadNumber(c[2]));
        }).ToArray();
        var topK = e.GetProperty("topK");
        if (topK.GetArrayLength() > MaxTopK) throw new FormatException("too many top-k entries");
        var scores = topK.EnumerateArray().Select(k =>
        {
            if (k.GetArrayLength() != 2) throw new FormatException("bad top-k entry");
            var label = k[0].GetString() ?? throw new FormatException("top-k entry without a label");
            if (label.Length > MaxLabelLength) throw new FormatException("label too long");
            return (label, ReadNumber(k[1]));
        }).ToArray();
        var width = e.GetProperty("savedWidth").GetInt32();
        var height = e.GetProperty("savedHeight").GetInt32();
        if (width is < 0 or > MaxSide || height is < 0 or > MaxSide) throw new FormatException("bad saved image size");
        return new OutputFacts(dims, stats, scores, width, height);
    }

    public static OutputFacts FromJson(string json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 4 });
        return Read(document.RootElement);
    }

    // JSON has no NaN or infinity; a model output can hold them, so they travel as strings. Floats round-trip exactly.
    private static void Number(Utf8JsonWriter w, float value)
    {
        if (float.IsFinite(value)) w.WriteNumberValue(value);
        else w.WriteStringValue(float.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }

    private static float ReadNumber(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? e.GetString() switch
        {
            "NaN" => float.NaN,
            "Infinity" => float.PositiveInfinity,
            "-Infinity" => float.NegativeInfinity,
            _ => throw new FormatException("bad number"),
        }
        : e.GetSingle();
}
