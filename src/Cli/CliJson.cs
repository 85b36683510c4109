using System.Text.Json.Serialization;

namespace ImageFlowIO.Cli;

/// <summary>One error or warning as <c>--errors json</c> prints it: one object per line on stderr.</summary>
internal sealed record JsonDiagnostic(
    [property: JsonPropertyName("severity")] string Severity,
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("file")] string? File,
    [property: JsonPropertyName("line")] int? Line,
    [property: JsonPropertyName("column")] int? Column,
    [property: JsonPropertyName("message")] string Message);

/// <summary>Compile-time JSON metadata for everything the CLI serialises (fast start, trimming/AOT friendly).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, GenerationMode = JsonSourceGenerationMode.Default)]
[JsonSerializable(typeof(JsonDiagnostic))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
