using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Tests.Caching;

/// <summary>
/// SPEC §3: the memory cache keeps what a repeat needs first and survives a sequential scan larger than its limit. A batch
/// whose tensors (3×320×320 float32, 1.2 MB each, two per image) are 6× the memory limit, run twice in one process: the
/// repeat is served from output entries for every input, with the same bytes, and no model run; the plain LRU it replaced
/// (one class, no admission) serves none of it.
/// </summary>
public sealed class MemoryCacheRepeatTests : IDisposable
{
    private const int Images = 24;
    private const long LimitBytes = 10L * 1024 * 1024; // tensors alone: 24 × 2 × 1.2 MB ≈ 59 MB
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private (string Config, List<InputItem> Inputs) Scenario()
    {
        _dir.Copy(TestPaths.Model("invert_nchw.onnx"), "model.onnx");
        var inputs = new List<InputItem>();
        for (var i = 0; i < Images; i++)
        {
            // Distinct content per input (keys are content digests): a gradient shifted by the index.
            using var image = new Image<Rgb24>(48, 40);
            for (var y = 0; y < image.Height; y++)
                for (var x = 0; x < image.Width; x++)
                    image[x, y] = new Rgb24((byte)(x * 5 + i * 7), (byte)(y * 6 + i * 3), (byte)(i * 11));
            var path = _dir.Combine("in", $"img{i:00}.png");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            image.SaveAsPng(path);
            inputs.Add(new InputItem(path));
        }
        var config = _dir.Write("imageflow.json", """
            { "model": { "path": "model.onnx" },
              "preprocessing": { "resize": { "apply": true, "imageSize": [320, 320] }, "format": { "dataType": "float32", "channels": 3 } },
              "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
              "execution": { "useCaching": "memory" },
              "output": { "save": { "apply": true, "path": "out", "format": "png", "filename": "{name}.png" } } }
            """);
        return (config, inputs);
    }

    private static async Task<(Dictionary<string, byte[]> Cold, Dictionary<string, byte[]> Repeat, string[] RepeatLog, int RepeatInferenceRuns, MemoryStore Store)>
        RunTwiceAsync(string config, List<InputItem> inputs, MemoryEviction eviction, bool admission)
    {
        var log = new ListLoggerProvider(); // the cache's own logger: its cache/... lines
        using var cache = StageCacheFactory.Create(LimitBytes, null, 0, CacheCompression.None, log.CreateLogger("cache"), null, eviction, admission);
        var store = cache.Stores.OfType<MemoryStore>().Single();
        Dictionary<string, byte[]> Files(BatchResult batch)
        {
            Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
            var files = batch.Items.SelectMany(i => i.Outputs).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
            foreach (var file in batch.Items.SelectMany(i => i.Outputs)) File.Delete(file); // else the repeat finds them up to date
            return files;
        }
        using (var pipeline = Pipeline.FromConfig(config, new PipelineOptions { Cache = cache, MaxParallelism = 1, KeepOutputTensors = false }))
        {
            var cold = Files(await pipeline.RunBatchAsync(inputs));
            Assert.True(store.Bytes <= LimitBytes, $"{store.Bytes} bytes held");
            var mark = log.Lines.Count;
            using var again = Pipeline.FromConfig(config, new PipelineOptions { Cache = cache, MaxParallelism = 1, KeepOutputTensors = false });
            var repeat = Files(await again.RunBatchAsync(inputs));
            return (cold, repeat, log.Lines.Skip(mark).ToArray(), again.InferenceRuns, store);
        }
    }

    [Fact]
    public async Task A_repeated_batch_larger_than_the_limit_is_served_from_output_entries_with_the_same_bytes()
    {
        var (config, inputs) = Scenario();
        var (cold, repeat, log, inferenceRuns, store) = await RunTwiceAsync(config, inputs, MemoryEviction.S3Fifo, admission: true);
        Assert.Equal(Images, cold.Count);
        Assert.Equal(cold.Keys.Order(), repeat.Keys.Order());
        foreach (var (name, bytes) in cold) Assert.True(bytes.AsSpan().SequenceEqual(repeat[name]), name + " differs");
        foreach (var input in inputs) Assert.Single(log, l => l == $"debug: cache/memory hit {input.Path} (output)");
        Assert.DoesNotContain(log, l => l.Contains("cache/memory miss", StringComparison.Ordinal));
        Assert.Equal(0, inferenceRuns);
        Assert.Equal(0, store.EvictedKeptFirst);
        Assert.True(store.Statistics.Evictions > 0, "the tensors outgrew the limit and were evicted, not the outputs");
    }

    [Fact]
    public async Task The_plain_LRU_it_replaced_serves_none_of_the_repeat()
    {
        var (config, inputs) = Scenario();
        var (cold, repeat, log, inferenceRuns, _) = await RunTwiceAsync(config, inputs, MemoryEviction.Lru, admission: false);
        Assert.DoesNotContain(log, l => l.Contains("cache/memory hit", StringComparison.Ordinal));
        Assert.Equal(Images, inferenceRuns);
        foreach (var (name, bytes) in cold) Assert.True(bytes.AsSpan().SequenceEqual(repeat[name]), name + " differs");
    }

    [Theory]
    [InlineData("S3Fifo")]
    [InlineData("Sieve")]
    public void Output_entries_that_were_hit_survive_a_scan_of_new_outputs_larger_than_the_limit(string policy)
    {
        var eviction = Enum.Parse<MemoryEviction>(policy);
        const int entry = 40 * 1024;
        var store = new MemoryStore(100 * entry, new CacheLayerStatistics(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, eviction: eviction);
        CacheEntry Output(string key) => new(CacheStage.Output, key, new EntryInfo { DataType = TensorDataType.Float32, Shape = [entry] }, new byte[entry]);
        for (var pass = 0; pass < 3; pass++)
            for (var i = 0; i < 20; i++)
                if (store.TryGet(CacheStage.Output, "hot" + i).Entry is null) store.Put(Output("hot" + i));
        for (var i = 0; i < 400; i++) store.Put(Output("scan" + i)); // 4× the limit, each seen once
        Assert.All(Enumerable.Range(0, 20), i => Assert.NotNull(store.TryGet(CacheStage.Output, "hot" + i).Entry));
        Assert.True(store.Bytes <= 100 * entry);

        var lru = new MemoryStore(100 * entry, new CacheLayerStatistics(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, eviction: MemoryEviction.Lru);
        for (var pass = 0; pass < 3; pass++)
            for (var i = 0; i < 20; i++)
                if (lru.TryGet(CacheStage.Output, "hot" + i).Entry is null) lru.Put(Output("hot" + i));
        for (var i = 0; i < 400; i++) lru.Put(Output("scan" + i));
        Assert.All(Enumerable.Range(0, 20), i => Assert.Null(lru.TryGet(CacheStage.Output, "hot" + i).Entry)); // what LRU does
    }

    [Fact]
    public void A_tensor_never_displaces_an_output_entry_and_is_not_kept_when_only_outputs_could_make_room()
    {
        var store = new MemoryStore(1000, new CacheLayerStatistics(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        CacheEntry Entry(CacheStage stage, string key, int bytes) => new(stage, key, new EntryInfo { DataType = TensorDataType.Float32, Shape = [bytes] }, new byte[bytes]);
        Assert.True(store.Put(Entry(CacheStage.Output, "o1", 600)));
        Assert.True(store.Put(Entry(CacheStage.Inference, "t1", 300)));
        Assert.True(store.Put(Entry(CacheStage.Preprocess, "t2", 350))); // evicts the tensor t1, not o1
        Assert.Null(store.TryGet(CacheStage.Inference, "t1").Entry);
        Assert.False(store.Put(Entry(CacheStage.Inference, "t3", 500))); // only o1 could make room: refused
        Assert.Equal(1, store.Refused);
        Assert.NotNull(store.TryGet(CacheStage.Output, "o1").Entry);
        Assert.True(store.Put(Entry(CacheStage.Output, "o2", 400))); // an output evicts tensors first
        Assert.Null(store.TryGet(CacheStage.Preprocess, "t2").Entry);
        Assert.NotNull(store.TryGet(CacheStage.Output, "o1").Entry);
        Assert.Equal(1000, store.Bytes);
    }
}
