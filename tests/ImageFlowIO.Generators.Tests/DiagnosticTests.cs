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
        // Errors generate the placeholder class instead of the pipeline; warnings do not stop generation.
        var source = Assert.Single(result.Results.Single().GeneratedSources).SourceText.ToString();
        Assert.Equal(severity == DiagnosticSeverity.Error, source.Contains("which has errors: a placeholder", StringComparison.Ordinal));
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
        // The placeholder names every error code in what its members throw.
        Assert.Contains("imageflow.json has errors (IFIO0002, IFIO0003, IFIO0005, IFIO0006)", Assert.Single(result.Results.Single().GeneratedSources).SourceText.ToString());
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
        Assert.Equal("ImageflowPipeline.imageflow.json.g.cs", Assert.Single(result.Results.Single().GeneratedSources).HintName);
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

    private const string UserCode = """
        namespace Consumer
        {
            public static class App
            {
                public static async System.Threading.Tasks.Task<int> Run()
                {
                    using var pipeline = new MyModelPipeline();
                    var result = await pipeline.RunAsync("photo.png");
                    return result.Succeeded ? 0 : 1;
                }
            }

            public sealed partial class MyModelPipeline
            {
                partial void OnPreprocessing(ref ImageFlowIO.TensorData tensor) { }
            }
        }
        """;

    [Fact]
    public void A_config_with_errors_still_gives_user_code_its_class_so_the_located_error_is_the_only_one()
    {
        // model.name is readable although input.batchSize is wrong: the placeholder keeps the name user code uses.
        const string json = "{\n  \"model\": { \"name\": \"my-model\", \"path\": \"m.onnx\" },\n  \"input\": { \"batchSize\": \"four\" }\n}";
        var (result, output, _) = GeneratorHarness.Run("/app/imageflow.json", json, UserCode);

        Assert.Equal("IFIO0003", Assert.Single(result.Diagnostics).Id);
        // Without the placeholder the same user code fails (no RunAsync, no hook declaration): the test would catch its loss.
        Assert.Contains(GeneratorHarness.CreateCompilation(UserCode).GetDiagnostics(), d => d.Id == "CS1061");
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));

        // At run time the placeholder says what is wrong instead of running anything.
        var assembly = GeneratorHarness.Load(output, out var context);
        try
        {
            var type = assembly.GetType("Consumer.MyModelPipeline")!;
            using var instance = (IDisposable)Activator.CreateInstance(type, [null])!;
            var error = Assert.Throws<System.Reflection.TargetInvocationException>(() => type.GetMethod("Preprocess")!.Invoke(instance, ["x.png"]));
            var inner = Assert.IsType<InvalidOperationException>(error.InnerException);
            Assert.Equal("imageflow.json has errors (IFIO0003); fix them and rebuild", inner.Message);
            Assert.Null(type.GetField("InputChannels")); // no value of a broken config is trusted
        }
        finally { context.Unload(); }
    }

    [Fact]
    public void A_config_that_is_not_even_json_gets_its_placeholder_from_the_file_name()
    {
        const string use = "class Use { Consumer.DetectorPipeline? P; }";
        var (result, output, _) = GeneratorHarness.Run("/app/detector.imageflow.json", "{ \"model\": ", use);
        Assert.Contains(GeneratorHarness.CreateCompilation(use).GetDiagnostics(), d => d.Id == "CS0246");

        Assert.Equal("IFIO0001", Assert.Single(result.Diagnostics).Id);
        Assert.Equal("DetectorPipeline.detector.imageflow.json.g.cs", Assert.Single(result.Results.Single().GeneratedSources).HintName);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Two_configs_naming_one_class_give_IFIO0098_at_the_second_ones_name_instead_of_CS0101(bool secondHasErrors)
    {
        const string first = "{ \"model\": { \"name\": \"detector\", \"path\": \"a.onnx\" } }";
        var second = "{\n  \"model\": {\n    \"path\": \"b.onnx\",\n    \"name\": \"Detector\"\n  }" + (secondHasErrors ? ",\n  \"modle\": 1" : "") + "\n}";
        var texts = new[] { new GeneratorHarness.InMemoryText("/app/b.imageflow.json", second), new GeneratorHarness.InMemoryText("/app/a.imageflow.json", first) };
        var driver = GeneratorHarness.CreateDriver(texts).RunGeneratorsAndUpdateCompilation(
            GeneratorHarness.CreateCompilation("class Use { Consumer.DetectorPipeline? P; }"), out var output, out _);
        var result = driver.GetRunResult();

        var clash = Assert.Single(result.Diagnostics, d => d.Id == "IFIO0098");
        Assert.Equal(DiagnosticSeverity.Error, clash.Severity);
        var span = clash.Location.GetLineSpan();
        Assert.Equal("/app/b.imageflow.json", span.Path);
        Assert.Equal((4, 13), (span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1));
        Assert.Contains("'Consumer.DetectorPipeline', which '/app/a.imageflow.json' already generates", clash.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(secondHasErrors ? ["IFIO0002", "IFIO0098"] : ["IFIO0098"], result.Diagnostics.Select(d => d.Id).Order(StringComparer.Ordinal));
        // Only the first config's class is generated: the compiler has nothing to report twice.
        Assert.Equal("DetectorPipeline.a.imageflow.json.g.cs", Assert.Single(result.Results.Single().GeneratedSources).HintName);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }
}
