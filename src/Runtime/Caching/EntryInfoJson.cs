using System.Text.Json;
using ImageFlowIO.Config;

namespace ImageFlowIO.Caching;

/// <summary>The JSON form of <see cref="EntryInfo"/>, shared by the disk entry metadata and the remote manifest. Reading validates and bounds what it reads.</summary>
internal static class EntryInfoJson
{
    /// <summary>An entry names at most this many output files (untrusted input stays bounded).</summary>
    public const int MaxFiles = 4096;
    private const int MaxRank = 16;

    /// <summary>Writes the fields into the object being written (dtype, shape, layout, source size, input, files).</summary>
    public static void Write(Utf8JsonWriter w, EntryInfo info, bool withImageSize = false)
    {
        w.WriteString("dtype", info.DataType.ToString().ToLowerInvariant());
        w.WriteStartArray("shape");
        foreach (var d in info.Shape) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteString("layout", info.Layout.ToString().ToLowerInvariant());
        if (withImageSize && info.Shape.Length == 4)
        {
            // For people reading a cache folder: the tensor's image size whatever the layout.
            var nhwc = info.Layout == TensorLayout.Nhwc;
            w.WriteNumber("width", nhwc ? info.Shape[2] : info.Shape[3]);
            w.WriteNumber("height", nhwc ? info.Shape[1] : info.Shape[2]);
            w.WriteNumber("channels", nhwc ? info.Shape[3] : info.Shape[1]);
        }
        w.WriteNumber("sourceWidth", info.SourceWidth);
        w.WriteNumber("sourceHeight", info.SourceHeight);
        if (info.Input is not null) w.WriteString("input", info.Input);
        if (info.Facts is { } facts)
        {
            w.WritePropertyName("facts");
            facts.Write(w);
        }
        if (info.Files is not { } files) return;
        w.WriteStartArray("files");
        foreach (var f in files)
        {
            w.WriteStartObject();
            w.WriteString("path", f.Path);
            w.WriteNumber("length", f.Length);
            w.WriteString("sha256", f.Sha256);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Reads the fields back; throws <see cref="FormatException"/>, <see cref="KeyNotFoundException"/> or <see cref="InvalidOperationException"/> on anything malformed.</summary>
    public static EntryInfo Read(JsonElement e)
    {
        List<OutputFileInfo>? files = null;
        if (e.TryGetProperty("files", out var list))
        {
            if (list.GetArrayLength() > MaxFiles) throw new FormatException("too many files");
            files = [.. list.EnumerateArray().Select(f => new OutputFileInfo(
                f.GetProperty("path").GetString() ?? throw new FormatException("file without path"),
                f.GetProperty("length").GetInt64(),
                f.GetProperty("sha256").GetString() ?? throw new FormatException("file without sha256")))];
        }
        var shape = e.GetProperty("shape");
        if (shape.GetArrayLength() > MaxRank) throw new FormatException("too many dimensions");
        return new EntryInfo
        {
            DataType = Enum.Parse<TensorDataType>(e.GetProperty("dtype").GetString() ?? "", ignoreCase: true),
            Shape = [.. shape.EnumerateArray().Select(d => d.GetInt32())],
            Layout = Enum.Parse<TensorLayout>(e.GetProperty("layout").GetString() ?? "", ignoreCase: true),
            SourceWidth = e.GetProperty("sourceWidth").GetInt32(),
            SourceHeight = e.GetProperty("sourceHeight").GetInt32(),
            Input = e.TryGetProperty("input", out var input) ? input.GetString() : null,
            Files = files,
            Facts = e.TryGetProperty("facts", out var facts) ? OutputFacts.Read(facts) : null,
        };
    }
}
