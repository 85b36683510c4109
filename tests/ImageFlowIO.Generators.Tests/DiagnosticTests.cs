using ImageFlowIO.Generators.Tests.Support;
using Microsoft.CodeAnalysis;

namespace ImageFlowIO.Generators.Tests;

/// <summary>Each diagnostic the generator reports, located at the offending token of the JSON (1-based line/column).</summary>
public sealed class DiagnosticTests
{
    public static TheoryData<string, string, int, int, DiagnosticSeverity, string> Cases => new()
    {
        // id, json, line, column, severity, words in the message
        { "IFIO0001", "{\n  \"model\": { \"path\": \"m.onnx\" }\n  \"input\": {}\n}", 3, 3, DiagnosticSeverity.Error, "JSON" },
        { "IFIO0002", "{\n  \"model\": { \"path\": \"m.onnx\" },\n  \"modle\": {}\n}", 3, 3, DiagnosticSeverity.Error, "did you mean 'model'" },
        { "IFIO0003", "{\n  \"model\": { \"path\": \"m.onnx\" },\n  \"input\": { \"batchSize\": \"four\" }\n}", 3, 27, DiagnosticSeverity.Error, "input.batchSize" },
        { "IFIO0004", "{\n  \"model\": { \"path\": \"m.onnx\", \"layout\": \"nhcw\" }\n}", 2, 42, DiagnosticSeverity.Error, "allowed: auto, nchw, nhwc" },
        { "IFIO0005", "{\n  \"model\": { \"name\": \"x\" }\n}", 2, 12, DiagnosticSeverity.Error, "model.path" },
        { "IFIO0006", "{\n  \"model\": { \"path\": \"m.onnx\" },\n  \"output\": { \"save\": { \"quality\": 200 } }\n}", 3, 36, DiagnosticSeverity.Error, "between 1 and 100" },
        { "IFIO0007", "{\n  \"model\": { \"path\": \"web/model.json\" }\n}", 2, 22, DiagnosticSeverity.Error, "ONNX" },
        { "IFIO0008", "{\n  \"model\": { \"path\": \"m.onnx\",\n    \"path\": \"n.onnx\" }\n}", 3, 5, DiagnosticSeverity.Error, "appears twice" },
        { "IFIO0009", "{\n  \"model\": { \"path\": \"m.onnx\" },\n  \"output\": { \"save\": { \"filename\": \"../{name}.png\" } }\n}", 3, 37, DiagnosticSeverity.Error, "'..'" },
        { "IFIO0010", "{\n  \"model\": { \"path\": \"m.onnx\" },\n  \"preprocessing\": {\n    \"format\": { \"dataType\": \"uint8\" },\n    \"normalize\": { \"apply\": true }\n  }\n}", 5, 18, DiagnosticSeverity.Error, "float tensors only" },
        { "IFIO0012", "{\n  \"model\": { \"path\": \"m.onnx\" },\n  \"custom\": { \"preprocessingFn\": \"pre.js\" }\n}", 3, 34, DiagnosticSeverity.Warning, "OnPreprocessing" },
        { "IFIO0013", "{\n  \"model\": { \"path\": \"m.onnx\" },\n  \"output\": { \"save\": { \"filename\": \"{timestamp}.png\" } }\n}", 3, 37, DiagnosticSeverity.Warning, "reproducible" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Diagnostic_is_located_at_the_bad_token(string id, string json, int line, int column, DiagnosticSeverity severity, string words)
    {
        var path = Path.Combine(Path.GetTempPath(), "app", "imageflow.json");
        var (result, _, _) = GeneratorHarness.Run(path, json);

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(severity, diagnostic.Severity);
        Assert.Contains(words, diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal(path, span.Path);
        Assert.Equal((line, column), (span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1));
        // Errors stop generation; warnings do not.
        Assert.Equal(severity == DiagnosticSeverity.Error ? 0 : 1, result.Results.Single().GeneratedSources.Length);
    }

    [Fact]
    public void Diagnostic_span_covers_the_token_in_the_json_text()
    {
        const string json = "{\n  \"model\": { \"path\": \"m.onnx\", \"layout\": \"nhcw\" }\n}";
        var (result, _, _) = GeneratorHarness.Run("/app/imageflow.json", json);

        var location = Assert.Single(result.Diagnostics).Location;
        Assert.Equal("\"nhcw\"", json.Substring(location.SourceSpan.Start, location.SourceSpan.Length));
    }

    [Fact]
    public void Every_error_is_reported_once_each()
    {
        const string json = "{\n  \"modle\": {},\n  \"input\": { \"batchSize\": 0, \"autoOrient\": \"yes\" }\n}";
        var (result, _, _) = GeneratorHarness.Run("/app/imageflow.json", json);

        Assert.Equal(["IFIO0002", "IFIO0003", "IFIO0005", "IFIO0006"], result.Diagnostics.Select(d => d.Id).Order(StringComparer.Ordinal));
        Assert.Empty(result.Results.Single().GeneratedSources);
    }

    [Fact]
    public void An_unreadable_config_reports_IFIO0011_at_the_file()
    {
        var driver = GeneratorHarness.CreateDriver([new GeneratorHarness.InMemoryText("/app/imageflow.json", null)]);
        var result = driver.RunGenerators(GeneratorHarness.CreateCompilation()).GetRunResult();

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("IFIO0011", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal("/app/imageflow.json", diagnostic.Location.GetLineSpan().Path);
        Assert.Empty(result.Results.Single().GeneratedSources);
    }

    [Fact]
    public void Implementing_the_hook_answers_IFIO0012()
    {
        const string json = "{ \"model\": { \"name\": \"my-model\", \"path\": \"m.onnx\" }, \"custom\": { \"preprocessingFn\": \"pre.js\", \"postprocessingFn\": \"post.js\" } }";
        var (result, _, _) = GeneratorHarness.Run("/app/imageflow.json", json,
            "namespace Consumer { public sealed partial class MyModelPipeline { partial void OnPostprocessing(ref ImageFlowIO.TensorData output) { } } }");

        var remaining = Assert.Single(result.Diagnostics);
        Assert.Equal("IFIO0012", remaining.Id);
        Assert.Contains("custom.preprocessingFn", remaining.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }
}
