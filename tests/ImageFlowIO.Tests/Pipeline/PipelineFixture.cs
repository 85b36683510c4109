using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.PipelineStages;

/// <summary>Writes a config (JSON text) into a temp folder beside copies of test models and images, and runs it.</summary>
public sealed class PipelineFixture : IDisposable
{
    public TempDir Dir { get; } = new();

    /// <summary>Copies test images into <c>in/</c> and returns their paths.</summary>
    public string[] Images(params string[] names) => names.Select(n => Dir.Copy(TestPaths.Image(n), Path.Combine("in", n))).ToArray();

    public string Model(string name) => Dir.Copy(TestPaths.Model(name), Path.Combine("models", name));

    public string Config(string json, string name = "imageflow.json") => Dir.Write(name, json);

    public PipelineConfig Parse(string json)
    {
        var path = Config(json, "cfg-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        var parsed = ConfigParser.ParseFile(path);
        Assert.True(parsed.Config is not null, string.Join("\n", parsed.Diagnostics));
        return parsed.Config!;
    }

    public ImageFlowIO.Pipeline Create(string json, PipelineOptions? options = null) => ImageFlowIO.Pipeline.Create(Parse(json), options);

    public void Dispose() => Dir.Dispose();

    /// <summary>Largest absolute difference between two float tensors of the same shape.</summary>
    public static float MaxDiff(TensorData a, TensorData b)
    {
        Assert.Equal(a.Shape, b.Shape);
        var x = a.AsFloat32();
        var y = b.AsFloat32();
        var max = 0f;
        for (var i = 0; i < x.Length; i++) max = MathF.Max(max, MathF.Abs(x[i] - y[i]));
        return max;
    }
}
