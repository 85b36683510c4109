using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Caching;

/// <summary>A temp folder with four images, a copied model and a disk-cached config: the setting of the cache tests.</summary>
public sealed class CacheScenario : IDisposable
{
    public static readonly string[] ImageNames = ["photo_160x120.png", "photo_64x48.png", "gradient_33x17.png", "jpeg_160x120.jpg"];
    public readonly TempDir Dir = new();

    public CacheScenario(string model = "invert_nchw.onnx")
    {
        foreach (var name in ImageNames) Dir.Copy(TestPaths.Image(name.Replace("jpeg_", "photo_", StringComparison.Ordinal)), Path.Combine("images", name));
        Dir.Copy(TestPaths.Model(model), "model.onnx");
        // Old stamps, so the mtime+size fast path may trust them (fresh files are never trusted).
        foreach (var file in Images) File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(-1));
        WriteConfig();
    }

    public string ConfigPath => Dir.Combine("imageflow.json");
    public string CacheDir => Dir.Combine("cache");
    public string OutDir => Dir.Combine("out");
    public IReadOnlyList<string> Images => ImageNames.Select(n => Dir.Combine("images", n)).ToList();
    public IReadOnlyList<InputItem> Inputs => Images.Select(p => new InputItem(p)).ToList();

    public void WriteConfig(string postprocessing = "\"denormalize\": { \"apply\": true, \"scale\": 255, \"dtype\": \"uint8\" }", string cache = "", string resize = "[24, 16]") =>
        File.WriteAllText(ConfigPath, $$"""
        {
          "model": { "path": "model.onnx" },
          "input": { "type": "image", "source": "images" },
          "preprocessing": {
            "resize": { "apply": true, "imageSize": {{resize}} },
            "format": { "dataType": "float32", "channels": 3 }
          },
          "postprocessing": { {{postprocessing}} },
          "execution": { "useCaching": "disk", "cacheDir": "cache"{{cache}} },
          "output": { "save": { "apply": true, "path": "out", "format": "png", "filename": "{name}.png" } }
        }
        """);

    public Pipeline Open(ListLoggerProvider? log = null, string? outDir = null, ImageFlowIO.Config.CacheMode? mode = null) =>
        Pipeline.FromConfig(ConfigPath, new PipelineOptions { LoggerFactory = log, OutputDirectory = outDir, MaxParallelism = 2, CacheMode = mode });

    /// <summary>Runs all images with a new pipeline (a fresh memory layer: as after a restart); returns outputs by file name.</summary>
    public async Task<(Dictionary<string, byte[]> Files, int InferenceRuns, ListLoggerProvider Log, BatchResult Batch)> RunAsync(string? outDir = null, ImageFlowIO.Config.CacheMode? mode = null)
    {
        var log = new ListLoggerProvider();
        using var pipeline = Open(log, outDir, mode);
        var batch = await pipeline.RunBatchAsync(Inputs);
        Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
        var files = batch.Items.SelectMany(i => i.Outputs).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        return (files, pipeline.InferenceRuns, log, batch);
    }

    public string[] EntryFiles(string extension) => Directory.Exists(CacheDir) ? Directory.GetFiles(CacheDir, "*" + extension) : [];

    public void Dispose() => Dir.Dispose();
}
