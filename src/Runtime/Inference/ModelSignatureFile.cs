using System.Buffers;
using System.Text.Json;
using ImageFlowIO.Config;
using ImageFlowIO.Output;

namespace ImageFlowIO.Inference;

/// <summary>
/// A model's signature remembered on disk (beside the disk cache). Unreadable, incomplete or missing means "ask the
/// model". Read and written by hand: a fully cached run reads it on every start, and serializer metadata would cost
/// more JIT time than the whole read.
/// </summary>
internal static class ModelSignatureFile
{
    public static ModelSignature? TryRead(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 4 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            var inputName = Text(root, "InputName");
            var outputName = Text(root, "OutputName");
            var inputShape = Shape(root, "InputShape");
            var outputShape = Shape(root, "OutputShape");
            if (inputName is null || outputName is null || inputShape is null || outputShape is null
                || !TryEnum(root, "InputType", out TensorDataType inputType) || !TryEnum(root, "Layout", out TensorLayout layout))
                return null; // written by an older or foreign tool, or damaged: ask the model
            return new ModelSignature(inputName, inputType, inputShape, outputName, outputShape, layout);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException) { return null; }
    }

    public static void TryWrite(string path, ModelSignature signature)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("InputName", signature.InputName);
            w.WriteString("InputType", signature.InputType.ToString());
            WriteShape(w, "InputShape", signature.InputShape);
            w.WriteString("OutputName", signature.OutputName);
            WriteShape(w, "OutputShape", signature.OutputShape);
            w.WriteString("Layout", signature.Layout.ToString());
            w.WriteEndObject();
        }
        // Written like any output (temp + rename): a reader never sees half a file. Failing to remember is harmless.
        try { AtomicFile.Write(path, s => s.Write(buffer.WrittenSpan)); }
        catch (ImageFlowException) { }
    }

    private static void WriteShape(Utf8JsonWriter w, string name, IReadOnlyList<long> shape)
    {
        w.WriteStartArray(name);
        for (var i = 0; i < shape.Count; i++) w.WriteNumberValue(shape[i]);
        w.WriteEndArray();
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long[]? Shape(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > 8) return null;
        var shape = new long[value.GetArrayLength()];
        var i = 0;
        foreach (var dim in value.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var d)) return null;
            shape[i++] = d;
        }
        return shape;
    }

    private static bool TryEnum<T>(JsonElement root, string name, out T value) where T : struct, Enum
    {
        value = default;
        var text = Text(root, name);
        // Names only (no numbers, no case folding), as written above.
        return text is not null && text.Length > 0 && char.IsUpper(text[0]) && Enum.TryParse(text, ignoreCase: false, out value) && Enum.IsDefined(value);
    }
}
