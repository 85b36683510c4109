using System.Text.Json;
using System.Text.Json.Serialization;
using ImageFlowIO.Output;

namespace ImageFlowIO.Inference;

/// <summary>A model's signature remembered on disk (beside the disk cache). Unreadable or missing means "ask the model".</summary>
internal static class ModelSignatureFile
{
    public static ModelSignature? TryRead(string path)
    {
        try { return JsonSerializer.Deserialize(File.ReadAllBytes(path), ModelSignatureJson.Default.ModelSignature); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or NotSupportedException) { return null; }
    }

    public static void TryWrite(string path, ModelSignature signature)
    {
        // Written like any output (temp + rename): a reader never sees half a file. Failing to remember is harmless.
        try { AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(signature, ModelSignatureJson.Default.ModelSignature)); }
        catch (ImageFlowException) { }
    }
}

[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(ModelSignature))]
internal sealed partial class ModelSignatureJson : JsonSerializerContext;
