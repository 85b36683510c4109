using System.Text.Json;

namespace ImageFlowIO.Caching;

/// <summary>
/// What hosts report about one input's model output besides its files — the output shape, per-channel statistics,
/// top-k and the saved image's size — carried by its output-stage entry and its up-to-date record, so a run served
/// from them (writeMeta, summary.json, the asset catalogue) needs no inference entry and no model session. Read back
/// from a cache it is untrusted: <see cref="Read(ReadOnlySpan{byte})"/> bounds every list and value.
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

    /// <summary>True when these facts fit the bounds <see cref="Read(ReadOnlySpan{byte})"/> accepts (a larger output is not cached as an entry).</summary>
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
    public static OutputFacts Read(JsonElement e) => Read(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(e));

    public static OutputFacts FromJson(string json) => Read(System.Text.Encoding.UTF8.GetBytes(json));

    /// <summary>
    /// Reads facts from their JSON (UTF-8) in one pass, allocating only what it returns: the up-to-date index holds one
    /// per output set, and a fully cached run reads them all. Same rules as a document read: properties in any order,
    /// unknown ones skipped, every list and value bounded; throws as <see cref="Read(JsonElement)"/> does.
    /// </summary>
    public static OutputFacts Read(ReadOnlySpan<byte> json)
    {
        try
        {
            var r = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            Expect(ref r, JsonTokenType.StartObject);
            int[]? dims = null;
            ChannelStatistics[]? stats = null;
            (string, float)[]? scores = null;
            int? width = null, height = null;
            while (Next(ref r) == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("outputShape"u8)) dims = ReadShape(ref r);
                else if (r.ValueTextEquals("channels"u8)) stats = ReadChannels(ref r);
                else if (r.ValueTextEquals("topK"u8)) scores = ReadTopK(ref r);
                else if (r.ValueTextEquals("savedWidth"u8)) width = ReadInt(ref r);
                else if (r.ValueTextEquals("savedHeight"u8)) height = ReadInt(ref r);
                else
                {
                    Next(ref r);
                    r.Skip();
                }
            }
            if (r.TokenType != JsonTokenType.EndObject || r.Read()) throw new FormatException("not one facts object");
            if (dims is null || stats is null || scores is null || width is not { } w || height is not { } h) throw new KeyNotFoundException("a fact is missing");
            if (w is < 0 or > MaxSide || h is < 0 or > MaxSide) throw new FormatException("bad saved image size");
            return new OutputFacts(dims, stats, scores, w, h);
        }
        catch (JsonException ex) { throw new FormatException("facts unreadable: " + ex.Message, ex); }
    }

    private static JsonTokenType Next(ref Utf8JsonReader r) => r.Read() ? r.TokenType : throw new FormatException("facts cut off");

    private static void Expect(ref Utf8JsonReader r, JsonTokenType token)
    {
        if (Next(ref r) != token) throw new FormatException($"expected {token}, found {r.TokenType}");
    }

    private static int ReadInt(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.Number);
        return r.GetInt32();
    }

    private static int[] ReadShape(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.StartArray);
        Span<int> dims = stackalloc int[MaxRank];
        var count = 0;
        while (Next(ref r) != JsonTokenType.EndArray)
        {
            if (count == MaxRank || r.TokenType != JsonTokenType.Number) throw new FormatException("bad output shape");
            if ((dims[count++] = r.GetInt32()) <= 0) throw new FormatException("bad output shape");
        }
        if (count == 0) throw new FormatException("bad output shape");
        return dims[..count].ToArray();
    }

    private static ChannelStatistics[] ReadChannels(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.StartArray);
        var stats = new List<ChannelStatistics>(4);
        while (Next(ref r) != JsonTokenType.EndArray)
        {
            if (stats.Count == MaxChannels) throw new FormatException("too many channels");
            if (r.TokenType != JsonTokenType.StartArray) throw new FormatException("bad channel statistics");
            var min = Number(ref r, "bad channel statistics");
            var max = Number(ref r, "bad channel statistics");
            var mean = Number(ref r, "bad channel statistics");
            if (Next(ref r) != JsonTokenType.EndArray) throw new FormatException("bad channel statistics");
            stats.Add(new ChannelStatistics(min, max, mean));
        }
        return [.. stats];
    }

    private static (string, float)[] ReadTopK(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.StartArray);
        var scores = new List<(string, float)>();
        while (Next(ref r) != JsonTokenType.EndArray)
        {
            if (scores.Count == MaxTopK) throw new FormatException("too many top-k entries");
            if (r.TokenType != JsonTokenType.StartArray) throw new FormatException("bad top-k entry");
            if (Next(ref r) != JsonTokenType.String) throw new FormatException("top-k entry without a label");
            var label = r.GetString()!;
            if (label.Length > MaxLabelLength) throw new FormatException("label too long");
            var score = Number(ref r, "bad top-k entry");
            if (Next(ref r) != JsonTokenType.EndArray) throw new FormatException("bad top-k entry");
            scores.Add((label, score));
        }
        return [.. scores];
    }

    /// <summary>The next value as a float: a number, or NaN/±Infinity written as strings.</summary>
    private static float Number(ref Utf8JsonReader r, string problem) => Next(ref r) switch
    {
        JsonTokenType.Number => r.GetSingle(),
        JsonTokenType.String when r.ValueTextEquals("NaN"u8) => float.NaN,
        JsonTokenType.String when r.ValueTextEquals("Infinity"u8) => float.PositiveInfinity,
        JsonTokenType.String when r.ValueTextEquals("-Infinity"u8) => float.NegativeInfinity,
        JsonTokenType.String => throw new FormatException("bad number"),
        _ => throw new FormatException(problem),
    };

    // JSON has no NaN or infinity; a model output can hold them, so they travel as strings. Floats round-trip exactly.
    private static void Number(Utf8JsonWriter w, float value)
    {
        if (float.IsFinite(value)) w.WriteNumberValue(value);
        else w.WriteStringValue(float.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }
}
