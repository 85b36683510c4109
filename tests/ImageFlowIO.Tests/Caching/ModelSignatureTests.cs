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
            Assert.True(((OnnxBackend)cold.Backend).IsSessionCreated); // the first run asks the model
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
        Assert.True(((OnnxBackend)healed.Backend).IsSessionCreated);
        Assert.Equal("x", healed.ModelSignature.InputName);

        // So is a well-formed file that lacks a field or names an unknown type (another tool's, or a later edit).
        var remembered = File.ReadAllText(signatureFile);
        Assert.Contains("\"InputType\":\"Float32\"", remembered);
        foreach (var damaged in new[] { remembered.Replace("\"Layout\"", "\"Lay\""), remembered.Replace("Float32", "Float99"), remembered.Replace("\"InputShape\":[", "\"InputShape\":[\"3\",") })
        {
            File.WriteAllText(signatureFile, damaged);
            using var asked = Pipeline.FromConfig(s.ConfigPath, options);
            Assert.True(((OnnxBackend)asked.Backend).IsSessionCreated, damaged);
            Assert.Equal([-1, 3, -1, -1], asked.ModelSignature.InputShape.Select(d => d < 0 ? -1 : d));
        }
    }
}
