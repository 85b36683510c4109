using ImageFlowIO.Generators.Tests.Support;
using Microsoft.CodeAnalysis;

namespace ImageFlowIO.Generators.Tests;

/// <summary>The generated class for representative configs, compared with reviewed expected files in Snapshots/.</summary>
public sealed class GeneratedSourceTests
{
    internal const string HookSource = """
        using ImageFlowIO;
        namespace Consumer
        {
            public sealed partial class MyModelPipeline
            {
                public int PreprocessCalls;
                // Replaces the tensor by zeros of the same shape: visible in Preprocess's bytes.
                partial void OnPreprocessing(ref TensorData tensor)
                {
                    PreprocessCalls++;
                    tensor = new TensorData(tensor.ElementType, System.Linq.Enumerable.ToArray(tensor.Shape), new byte[tensor.Bytes.Length], tensor.Layout);
                }
                partial void OnPostprocessing(ref TensorData output) => output = TensorData.FromFloats(new[] { 1 }, new float[] { 42f });
            }
        }
        """;

    public static TheoryData<string, string, bool> Configs => new()
    {
        { "textdet/imageflow.json", "TextdetPipeline", false },
        { "minimal.imageflow.json", "MinimalPipeline", false },
        { "custom.imageflow.json", "MyModelPipeline", true },
        { "gray64.imageflow.json", "Gray64Pipeline", false },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Generated_source_matches_the_reviewed_snapshot_and_compiles(string config, string className, bool withHooks)
    {
        var (result, output) = GeneratorHarness.RunFile(Path.Combine(GeneratorHarness.ConfigsDirectory, config), withHooks ? HookSource : "class Unrelated { }");

        Assert.Empty(result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error));
        var generated = Assert.Single(result.Results.Single().GeneratedSources);
        Assert.StartsWith(className + ".", generated.HintName);
        Snapshot.Match(className + ".g.cs.expected", generated.SourceText.ToString());
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Fact]
    public void Class_name_is_the_pascal_case_of_the_model_name_or_of_the_config_stem()
    {
        Assert.Equal("MyModelPipeline", GeneratedClassName("{ \"model\": { \"name\": \"my-model\", \"path\": \"a.onnx\" } }", "/p/imageflow.json"));
        Assert.Equal("TextdetPipeline", GeneratedClassName("{ \"model\": { \"name\": \"textdet\", \"path\": \"a.onnx\" } }", "/p/imageflow.json"));
        Assert.Equal("DetectorPipeline", GeneratedClassName("{ \"model\": { \"path\": \"a.onnx\" } }", "/p/detector.imageflow.json"));
        Assert.Equal("ConfigPipeline", GeneratedClassName("{ \"model\": { \"path\": \"a.onnx\" } }", "/p/config.json"));
        Assert.Equal("Model3dUnetPipeline", GeneratedClassName("{ \"model\": { \"name\": \"3d_unet\", \"path\": \"a.onnx\" } }", "/p/imageflow.json"));
    }

    [Fact]
    public void Namespace_is_the_root_namespace_or_the_fallback()
    {
        static string NamespaceFor(string? root)
        {
            var driver = GeneratorHarness.CreateDriver([new GeneratorHarness.InMemoryText("/p/imageflow.json", "{ \"model\": { \"path\": \"a.onnx\" } }")], root)
                .RunGenerators(GeneratorHarness.CreateCompilation());
            var text = driver.GetRunResult().Results.Single().GeneratedSources.Single().SourceText.ToString();
            return text.Split('\n').Single(l => l.StartsWith("namespace ", StringComparison.Ordinal))["namespace ".Length..];
        }
        Assert.Equal("My.App", NamespaceFor("My.App"));
        Assert.Equal("my_app", NamespaceFor("my-app"));
        Assert.Equal("ImageFlowIO.Generated", NamespaceFor(null));
        Assert.Equal("ImageFlowIO.Generated", NamespaceFor(""));
    }

    [Fact]
    public void Only_config_files_or_files_marked_ImageFlowConfig_are_read()
    {
        const string json = "{ \"model\": { \"path\": \"a.onnx\" } }";
        var texts = new[]
        {
            new GeneratorHarness.InMemoryText("/p/imageflow.json", json.Replace("a.onnx", "one.onnx")),
            new GeneratorHarness.InMemoryText("/p/det.imageflow.json", json),
            new GeneratorHarness.InMemoryText("/p/appsettings.json", "{ \"Logging\": {} }"),
            new GeneratorHarness.InMemoryText("/p/pipelines/seg.json", json),
            new GeneratorHarness.InMemoryText("/p/sub/config.json", json),
        };
        var metadata = new Dictionary<string, string> { ["/p/pipelines/seg.json"] = "true", ["/p/sub/config.json"] = "false" };
        var result = GeneratorHarness.CreateDriver(texts, metadataByPath: metadata).RunGenerators(GeneratorHarness.CreateCompilation()).GetRunResult();

        Assert.Empty(result.Diagnostics);
        Assert.Equal(["DetPipeline.det.imageflow.json.g.cs", "ImageflowPipeline.imageflow.json.g.cs", "SegPipeline.seg.json.g.cs"],
            result.Results.Single().GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal));
    }

    public static TheoryData<string> CompatConfigs => new(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "compat"), "*.json").Select(Path.GetFileName).Order()!);

    /// <summary>Every example config of the original either generates a class that compiles or reports located errors; none crashes the generator.</summary>
    [Theory]
    [MemberData(nameof(CompatConfigs))]
    public void Every_compat_config_generates_compiling_code(string file)
    {
        var (result, output) = GeneratorHarness.RunFile(Path.Combine(AppContext.BaseDirectory, "compat", file));

        Assert.DoesNotContain(result.Diagnostics, d => d.Id is "CS8784" or "CS8785" or "IFIO0099");
        Assert.All(result.Diagnostics, d => Assert.StartsWith("IFIO", d.Id));
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        var source = Assert.Single(result.Results.Single().GeneratedSources).SourceText.ToString();
        Assert.Equal(errors.Count > 0, source.Contains("which has errors: a placeholder", StringComparison.Ordinal));
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    private static string GeneratedClassName(string json, string path)
    {
        var (result, _, _) = GeneratorHarness.Run(path, json);
        return result.Results.Single().GeneratedSources.Single().HintName.Split('.')[0];
    }
}
