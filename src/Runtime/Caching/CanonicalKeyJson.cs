using System.Buffers;
using System.Text;
using System.Text.Json;
using ImageFlowIO.Config;

namespace ImageFlowIO.Caching;

/// <summary>
/// Writes the canonical JSON of a stage key's config sections by hand: every property in declaration order, PascalCase
/// names, enums by name, <c>null</c> kept. Byte for byte what System.Text.Json writes for the same records (a test
/// holds the two together over fuzzed configs), without its per-type metadata: that metadata is ~2 000 generic methods
/// the JIT compiles on every start, most of a fully cached run's cost.
/// </summary>
internal static class CanonicalKeyJson
{
    public static string Write(PreprocessKeyParts parts) => Write(parts, static (w, p) =>
    {
        w.WriteStartObject();
        w.WritePropertyName("Preprocessing"); Preprocessing(w, p.Preprocessing);
        w.WriteBoolean("AutoOrient", p.AutoOrient);
        Enum(w, "Layout", p.Layout);
        w.WriteEndObject();
    });

    public static string Write(InferenceKeyParts parts) => Write(parts, static (w, p) =>
    {
        w.WriteStartObject();
        w.WritePropertyName("Inference"); Inference(w, p.Inference);
        Enum(w, "Backend", p.Backend);
        w.WriteString("InputName", p.InputName);
        w.WriteString("OutputName", p.OutputName);
        w.WriteEndObject();
    });

    public static string Write(OutputKeyParts parts) => Write(parts, static (w, p) =>
    {
        w.WriteStartObject();
        w.WritePropertyName("Postprocessing"); Postprocessing(w, p.Postprocessing);
        w.WritePropertyName("Output"); Output(w, p.Output);
        w.WritePropertyName("Visualization"); Visualization(w, p.Visualization);
        w.WritePropertyName("Custom"); Custom(w, p.Custom);
        w.WriteString("ModelName", p.ModelName);
        NullableString(w, "LabelsDigest", p.LabelsDigest);
        w.WriteEndObject();
    });

    public static string WritePostprocessing(PostprocessingConfig section) => Write(section, static (w, p) => Postprocessing(w, p));

    /// <summary>The output key's sections besides postprocessing and the labels (for the up-to-date decision's reason).</summary>
    public static string WriteOutputFiles(OutputKeyParts parts) => Write(parts, static (w, p) =>
    {
        w.WriteStartObject();
        w.WritePropertyName("Output"); Output(w, p.Output);
        w.WritePropertyName("Visualization"); Visualization(w, p.Visualization);
        w.WritePropertyName("Custom"); Custom(w, p.Custom);
        w.WriteString("ModelName", p.ModelName);
        w.WriteEndObject();
    });

    private static string Write<T>(T parts, Action<Utf8JsonWriter, T> body) where T : class
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
            body(writer, parts);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Preprocessing(Utf8JsonWriter w, PreprocessingConfig c)
    {
        w.WriteStartObject();
        w.WritePropertyName("Resize");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.Resize.Apply);
        w.WritePropertyName("ImageSize"); if (c.Resize.ImageSize is { } size) Size(w, size); else w.WriteNullValue();
        w.WriteBoolean("KeepAspectRatio", c.Resize.KeepAspectRatio);
        Enum(w, "ResizeMode", c.Resize.ResizeMode);
        Enum(w, "Kernel", c.Resize.Kernel);
        w.WritePropertyName("PadColor"); Rgb(w, c.Resize.PadColor);
        Enum(w, "EffectiveMode", c.Resize.EffectiveMode);
        w.WriteEndObject();

        w.WritePropertyName("CenterCrop");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.CenterCrop.Apply);
        w.WritePropertyName("Size"); if (c.CenterCrop.Size is { } crop) Size(w, crop); else w.WriteNullValue();
        w.WriteEndObject();

        w.WritePropertyName("Grayscale");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.Grayscale.Apply);
        w.WriteEndObject();

        var a = c.Augmentations;
        w.WritePropertyName("Augmentations");
        w.WriteStartObject();
        w.WriteBoolean("Apply", a.Apply);
        w.WriteStartArray("Methods");
        foreach (var method in a.Methods) EnumValue(w, method);
        w.WriteEndArray();
        Enum(w, "FlipAxis", a.FlipAxis);
        w.WriteNumber("RotateAngle", a.RotateAngle);
        w.WriteNumber("Brightness", a.Brightness);
        w.WriteNumber("Saturation", a.Saturation);
        w.WriteNumber("Hue", a.Hue);
        w.WriteEndObject();

        w.WritePropertyName("Format");
        w.WriteStartObject();
        Enum(w, "DataType", c.Format.DataType);
        w.WriteNumber("Channels", c.Format.Channels);
        Enum(w, "ChannelOrder", c.Format.ChannelOrder);
        w.WriteEndObject();

        w.WritePropertyName("Normalize");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.Normalize.Apply);
        Numbers(w, "Mean", c.Normalize.Mean);
        Numbers(w, "Std", c.Normalize.Std);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Inference(Utf8JsonWriter w, InferenceConfig c)
    {
        w.WriteStartObject();
        w.WriteNumber("BatchSize", c.BatchSize);
        w.WritePropertyName("Tiling");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.Tiling.Apply);
        w.WritePropertyName("TileSize"); Size(w, c.Tiling.TileSize);
        w.WriteNumber("Overlap", c.Tiling.Overlap);
        Enum(w, "PadMode", c.Tiling.PadMode);
        Enum(w, "Blend", c.Tiling.Blend);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Postprocessing(Utf8JsonWriter w, PostprocessingConfig c)
    {
        w.WriteStartObject();
        w.WritePropertyName("Activation");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.Activation.Apply);
        Enum(w, "Type", c.Activation.Type);
        w.WriteEndObject();

        w.WritePropertyName("Clamp");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.Clamp.Apply);
        w.WriteNumber("Min", c.Clamp.Min);
        w.WriteNumber("Max", c.Clamp.Max);
        w.WriteEndObject();

        w.WritePropertyName("Denormalize");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.Denormalize.Apply);
        w.WriteNumber("Scale", c.Denormalize.Scale);
        Enum(w, "Dtype", c.Denormalize.Dtype);
        w.WriteEndObject();

        w.WritePropertyName("ToneMap");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.ToneMap.Apply);
        Enum(w, "Method", c.ToneMap.Method);
        w.WriteNumber("Exposure", c.ToneMap.Exposure);
        w.WriteNumber("Gamma", c.ToneMap.Gamma);
        w.WriteEndObject();

        w.WritePropertyName("ColorMap");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.ColorMap.Apply);
        Enum(w, "Mode", c.ColorMap.Mode);
        w.WriteNumber("Channel", c.ColorMap.Channel);
        w.WriteEndObject();

        var p = c.PaletteMap;
        w.WritePropertyName("PaletteMap");
        w.WriteStartObject();
        w.WriteBoolean("Apply", p.Apply);
        Enum(w, "Source", p.Source);
        w.WriteNumber("Channel", p.Channel);
        w.WritePropertyName("Palette");
        w.WriteStartObject();
        Enum(w, "Mode", p.Palette.Mode);
        w.WriteString("Preset", p.Palette.Preset);
        NullableString(w, "File", p.Palette.File);
        w.WriteStartArray("Inline");
        foreach (var colour in p.Palette.Inline) Rgb(w, colour);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WritePropertyName("Outline");
        w.WriteStartObject();
        w.WriteBoolean("Apply", p.Outline.Apply);
        w.WritePropertyName("Color"); Rgb(w, p.Outline.Color);
        w.WriteNumber("Thickness", p.Outline.Thickness);
        w.WriteEndObject();
        w.WriteEndObject();

        w.WritePropertyName("ResizeTo");
        w.WriteStartObject();
        Enum(w, "Kind", c.ResizeTo.Kind);
        w.WritePropertyName("Size"); Size(w, c.ResizeTo.Size);
        w.WriteEndObject();

        w.WritePropertyName("BlendOverlay");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.BlendOverlay.Apply);
        w.WriteNumber("Alpha", c.BlendOverlay.Alpha);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Output(Utf8JsonWriter w, OutputConfig c)
    {
        var s = c.Save;
        w.WriteStartObject();
        w.WritePropertyName("Save");
        w.WriteStartObject();
        w.WriteBoolean("Apply", s.Apply);
        w.WriteString("Path", s.Path);
        Enum(w, "Format", s.Format);
        w.WritePropertyName("BitDepth"); if (s.BitDepth is { } bits) w.WriteNumberValue(bits); else w.WriteNullValue();
        Enum(w, "ColorSpace", s.ColorSpace);
        w.WriteBoolean("LinearToSRGB", s.LinearToSRGB);
        w.WriteBoolean("SplitChannels", s.SplitChannels);
        w.WriteStartArray("ChannelNames");
        foreach (var name in s.ChannelNames) w.WriteStringValue(name);
        w.WriteEndArray();
        NullableString(w, "Filename", s.Filename);
        w.WriteNumber("Quality", s.Quality);
        w.WriteNumber("CompressionLevel", s.CompressionLevel);
        w.WriteEndObject();

        w.WritePropertyName("SaveRaw");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.SaveRaw.Apply);
        Enum(w, "Format", c.SaveRaw.Format);
        Enum(w, "Dtype", c.SaveRaw.Dtype);
        w.WriteString("Path", c.SaveRaw.Path);
        w.WriteEndObject();

        w.WritePropertyName("WriteMeta");
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.WriteMeta.Apply);
        NullableString(w, "JsonPath", c.WriteMeta.JsonPath);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Visualization(Utf8JsonWriter w, VisualizationConfig c)
    {
        w.WriteStartObject();
        w.WriteBoolean("Apply", c.Apply);
        Enum(w, "Type", c.Type);
        NullableString(w, "OutputPath", c.OutputPath);
        w.WriteNumber("Alpha", c.Alpha);
        w.WriteEndObject();
    }

    private static void Custom(Utf8JsonWriter w, CustomConfig c)
    {
        w.WriteStartObject();
        NullableString(w, "PreprocessingFn", c.PreprocessingFn);
        NullableString(w, "PostprocessingFn", c.PostprocessingFn);
        w.WriteEndObject();
    }

    private static void Size(Utf8JsonWriter w, Size2 size)
    {
        w.WriteStartObject();
        w.WriteNumber("Width", size.Width);
        w.WriteNumber("Height", size.Height);
        w.WriteEndObject();
    }

    private static void Rgb(Utf8JsonWriter w, Rgb8 colour)
    {
        w.WriteStartObject();
        w.WriteNumber("R", colour.R);
        w.WriteNumber("G", colour.G);
        w.WriteNumber("B", colour.B);
        w.WriteEndObject();
    }

    private static void Numbers(Utf8JsonWriter w, string name, IReadOnlyList<double> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values) w.WriteNumberValue(value);
        w.WriteEndArray();
    }

    private static void NullableString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteString(name, value);
    }

    private static void Enum(Utf8JsonWriter w, string name, System.Enum value)
    {
        w.WritePropertyName(name);
        EnumValue(w, value);
    }

    // As System.Text.Json's string enum converter: the declared name, or the number for a value no name stands for.
    private static void EnumValue(Utf8JsonWriter w, System.Enum value)
    {
        var text = value.ToString();
        if (text.Length > 0 && (char.IsDigit(text[0]) || text[0] == '-')) w.WriteNumberValue(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
        else w.WriteStringValue(text);
    }
}
