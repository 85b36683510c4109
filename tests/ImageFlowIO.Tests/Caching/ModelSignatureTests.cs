using ImageFlowIO.Inference;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Caching;

/// <summary>A run served entirely by the disk cache never needs ONNX Runtime: the model's signature is remembered there.</summary>
public class ModelSignatureTests
{
    [Fact]
    public async Task A_fully_cached_rerun_validates_from_the_remembered_signature_and_opens_no_session()
    {
        using var s = new CacheScenario();
        var options = new PipelineOptions { CacheDirectory = s.CacheDir, OutputDirectory = s.OutDir, KeepOutputTensors = false, MaxParallelism = 2 };

        using (var cold = Pipeline.FromConfig(s.ConfigPath, options))
        {
            // The signature comes from the model file's own protobuf: the session opens on the first inference.
            Assert.False(((OnnxBackend)cold.Backend).IsSessionCreated);
            var first = await cold.RunBatchAsync(s.Inputs);
            Assert.Equal(4, first.Processed);
        }
        var signatureFile = Assert.Single(Directory.GetFiles(Path.Combine(s.CacheDir, "models"), "*.signature.json"));
        var firstBytes = Directory.GetFiles(s.OutDir, "*.png").ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

        using var warm = Pipeline.FromConfig(s.ConfigPath, options);
        var backend = (OnnxBackend)warm.Backend;
        Assert.False(backend.IsSessionCreated);
        Assert.Equal("x", warm.ModelSignature.InputName);
        Assert.Equal([-1, 3, -1, -1], warm.ModelSignature.InputShape.Select(d => d < 0 ? -1 : d));
        var again = await warm.RunBatchAsync(s.Inputs);
        Assert.Equal(4, again.FromCache);
        Assert.False(backend.IsSessionCreated);
        foreach (var (name, bytes) in firstBytes) Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(s.OutDir, name!)));

        // A damaged signature file is ignored (the model is asked again), never trusted.
        File.WriteAllText(signatureFile, "{ not json");
        using var healed = Pipeline.FromConfig(s.ConfigPath, options);
        Assert.False(((OnnxBackend)healed.Backend).IsSessionCreated); // asked the model file, not ONNX Runtime
        Assert.Equal("x", healed.ModelSignature.InputName);

        // So is a well-formed file that lacks a field or names an unknown type (another tool's, or a later edit).
        var remembered = File.ReadAllText(signatureFile);
        Assert.Contains("\"InputType\":\"Float32\"", remembered);
        foreach (var damaged in new[] { remembered.Replace("\"Layout\"", "\"Lay\""), remembered.Replace("Float32", "Float99"), remembered.Replace("\"InputShape\":[", "\"InputShape\":[\"3\",") })
        {
            File.WriteAllText(signatureFile, damaged);
            using var asked = Pipeline.FromConfig(s.ConfigPath, options);
            Assert.False(((OnnxBackend)asked.Backend).IsSessionCreated, damaged);
            Assert.Equal([-1, 3, -1, -1], asked.ModelSignature.InputShape.Select(d => d < 0 ? -1 : d));
            Assert.Equal(remembered, File.ReadAllText(signatureFile)); // remembered again, as the model says
        }
    }

    /// <summary>Every model the tests and samples use: the signature read from the file's protobuf is the one ONNX Runtime reports.</summary>
    [Fact]
    public void The_signature_read_from_the_model_file_is_the_one_onnx_runtime_reports()
    {
        var models = Directory.GetFiles(TestPaths.Models, "*.onnx").Where(m => !m.EndsWith("not_a_model.onnx", StringComparison.Ordinal)).Concat(Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "samples"), "*.onnx", SearchOption.AllDirectories)).ToList();
        Assert.True(models.Count >= 5, string.Join(", ", models));
        foreach (var model in models)
        {
            var fromFile = OnnxModelHeader.TryRead(File.ReadAllBytes(model), new global::ImageFlowIO.Config.ModelConfig { Path = model });
            Assert.True(fromFile is not null, model);
            using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model);
            var input = session.InputMetadata[session.InputNames[0]];
            var output = session.OutputMetadata[session.OutputNames[0]];
            Assert.Equal(session.InputNames[0], fromFile.InputName);
            Assert.Equal(session.OutputNames[0], fromFile.OutputName);
            Assert.Equal(input.Dimensions.Select(d => (long)d), fromFile.InputShape);
            Assert.Equal(output.Dimensions.Select(d => (long)d), fromFile.OutputShape);
        }
        Assert.Null(OnnxModelHeader.TryRead(File.ReadAllBytes(TestPaths.Model("not_a_model.onnx")), new global::ImageFlowIO.Config.ModelConfig { Path = "x.onnx" }));
        // Not an ONNX model, or a truncated one: null (the backend then asks ONNX Runtime, which reports it).
        Assert.Null(OnnxModelHeader.TryRead("not a model"u8, new global::ImageFlowIO.Config.ModelConfig { Path = "x.onnx" }));
        var real = File.ReadAllBytes(models[0]);
        Assert.Null(OnnxModelHeader.TryRead(real.AsSpan(0, 40), new global::ImageFlowIO.Config.ModelConfig { Path = "x.onnx" }));
    }
}
