using System.Reflection;
using System.Runtime.Loader;
using ImageFlowIO.Generators.Tests.Support;

namespace ImageFlowIO.Generators.Tests;

/// <summary>The generated class, compiled in memory and loaded, runs the same pipeline as <c>Pipeline.FromConfig</c>.</summary>
public sealed class GeneratedPipelineRuntimeTests
{
    private static string Image(string name) => Path.Combine(AppContext.BaseDirectory, "images", name);

    [Theory]
    [InlineData("textdet/imageflow.json", "TextdetPipeline", "photo_160x120.jpg")]
    [InlineData("gray64.imageflow.json", "Gray64Pipeline", "photo_64x48.png")]
    public void Generated_Preprocess_gives_the_same_tensor_as_Pipeline_FromConfig(string config, string className, string image)
    {
        var configPath = Path.Combine(GeneratorHarness.ConfigsDirectory, config);
        var (_, output) = GeneratorHarness.RunFile(configPath, "class Unrelated { }");
        var assembly = GeneratorHarness.Load(output, out var context);
        try
        {
            var type = assembly.GetType("Consumer." + className, throwOnError: true)!;
            using var generated = (IDisposable)Activator.CreateInstance(type, [null])!;
            var fromGenerated = (TensorData)type.GetMethod("Preprocess")!.Invoke(generated, [Image(image)])!;
            using var untyped = Pipeline.FromConfig(configPath);
            var fromConfig = untyped.Preprocess(Image(image));

            Assert.Equal(fromConfig.Shape, fromGenerated.Shape);
            Assert.Equal(fromConfig.ElementType, fromGenerated.ElementType);
            Assert.True(fromConfig.Bytes.SequenceEqual(fromGenerated.Bytes), "tensor bytes differ");
            var (channels, height, width) = fromGenerated.ImageDims;
            Assert.Equal(Constant(type, "InputChannels"), channels);
            if (type.GetField("InputWidth") is not null) Assert.Equal((Constant(type, "InputWidth"), Constant(type, "InputHeight")), (width, height));
            Assert.Equal(AppContext.BaseDirectory, ((Config.PipelineConfig)type.GetProperty("Config")!.GetValue(null)!).BaseDirectory);
        }
        finally { context.Unload(); }
    }

    [Fact]
    public async Task Implemented_hooks_run_in_Preprocess_and_RunAsync()
    {
        var configPath = Path.Combine(GeneratorHarness.ConfigsDirectory, "custom.imageflow.json");
        var (_, output) = GeneratorHarness.RunFile(configPath, GeneratedSourceTests.HookSource);
        var assembly = GeneratorHarness.Load(output, out var context);
        try
        {
            var type = assembly.GetType("Consumer.MyModelPipeline", throwOnError: true)!;
            using var generated = (IDisposable)Activator.CreateInstance(type, [null])!;
            using var untyped = Pipeline.FromConfig(configPath);
            var plain = untyped.Preprocess(Image("photo_64x48.png"));

            var hooked = (TensorData)type.GetMethod("Preprocess")!.Invoke(generated, [Image("photo_64x48.png")])!;
            Assert.Equal([1, 3, 24, 32], hooked.Shape);
            Assert.Contains(plain.ToFloatArray(), v => v != 0);
            Assert.All(hooked.ToFloatArray(), v => Assert.Equal(0f, v));
            Assert.Equal(1, (int)type.GetField("PreprocessCalls")!.GetValue(generated)!);

            await using var stream = File.OpenRead(Image("photo_64x48.png"));
            var run = (Task<PipelineResult>)type.GetMethod("RunAsync", [typeof(Stream), typeof(string), typeof(CancellationToken)])!
                .Invoke(generated, [stream, "photo.png", CancellationToken.None])!;
            var result = await run;
            Assert.True(result.Succeeded, result.Error?.ToString());
            Assert.Equal([1], result.Output!.Shape);
            Assert.Equal(42f, result.Output.AsFloat32()[0]);
        }
        finally { context.Unload(); }
    }

    [Fact]
    public void A_chain_and_its_checks_are_bound_into_the_generated_config()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ifio-gen-chain-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            var configPath = Path.Combine(folder, "ocr.imageflow.json");
            File.WriteAllText(configPath, """
                {
                  "model": { "name": "ocr", "path": "det.onnx" },
                  "preprocessing": { "resize": { "apply": true, "imageSize": [640, 480] } },
                  "chain": {
                    "regions": { "unclipRatio": 2.0 },
                    "perRegion": [
                      { "kind": "orientation", "path": "cls.onnx", "minScore": 0.8 },
                      { "kind": "recognizer", "path": "rec.onnx", "dictionary": "keys.txt", "inputSize": [96, 48] }
                    ]
                  },
                  "checks": [ { "id": "placeholder", "severity": "error", "textMatches": "(?i)lorem" } ]
                }
                """);
            var (_, output) = GeneratorHarness.RunFile(configPath, "class Unrelated { }");
            var assembly = GeneratorHarness.Load(output, out var context);
            try
            {
                var type = assembly.GetType("Consumer.OcrPipeline", throwOnError: true)!;
                var generated = (Config.PipelineConfig)type.GetProperty("Config")!.GetValue(null)!;
                var parsed = Config.ConfigParser.ParseFile(configPath).Config!;
                Assert.Equal(2.0, generated.Chain!.Regions.UnclipRatio);
                Assert.Equal(parsed.Chain!.PerRegion.Select(s => (s.Kind, s.Path, s.Dictionary, s.InputSize, s.MinScore)),
                    generated.Chain.PerRegion.Select(s => (s.Kind, s.Path, s.Dictionary, s.InputSize, s.MinScore)));
                var check = Assert.Single(generated.Checks);
                Assert.Equal(("placeholder", Config.CheckSeverity.Error, "(?i)lorem"), (check.Id, check.Severity, check.TextMatches));
            }
            finally { context.Unload(); }
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    private static int Constant(Type type, string name) => (int)type.GetField(name, BindingFlags.Public | BindingFlags.Static)!.GetRawConstantValue()!;
}
