using System.Collections.Concurrent;
using ImageFlowIO.Caching;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Caching;

/// <summary>The stage seam (issue 11): every stage goes through the one <see cref="StageCache"/> wrapper, and a store added to its list is used with no stage knowing.</summary>
public sealed class StageSeamTests
{
    /// <summary>A store that keeps entries in a dictionary and counts every call per stage.</summary>
    private sealed class CountingStore(string layer, bool persistent) : ICacheStore
    {
        public ConcurrentDictionary<(CacheStage, string), CacheEntry> Stored { get; } = new();
        public ConcurrentDictionary<(CacheStage Stage, string Op), int> Calls { get; } = new();
        public string Layer { get; } = layer;
        public bool IsPersistent { get; } = persistent;
        public CacheLayerStatistics Statistics { get; } = new();
        public bool Accepts(CacheStage stage) => true;
        public int Count(CacheStage stage, string op) => Calls.GetValueOrDefault((stage, op));
        public int Entries => Stored.Count;

        public StoreRead TryGet(CacheStage stage, string key)
        {
            Calls.AddOrUpdate((stage, "get"), 1, (_, n) => n + 1);
            return Stored.TryGetValue((stage, key), out var entry) ? StoreRead.Hit(entry) : StoreRead.Miss;
        }

        public bool Put(CacheEntry entry)
        {
            Calls.AddOrUpdate((entry.Stage, "put"), 1, (_, n) => n + 1);
            return Stored.TryAdd((entry.Stage, entry.Key), entry);
        }

        public void Discard(CacheStage stage, string key) => Stored.TryRemove((stage, key), out _);

        public void Dispose() { }
    }

    private static async Task<(BatchResult Batch, int InferenceRuns, Dictionary<string, byte[]> Files)> RunAsync(CacheScenario s, StageCache? cache, string outDir, ListLoggerProvider? log = null)
    {
        using var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions
        {
            Cache = cache, CacheMode = cache is null ? ImageFlowIO.Config.CacheMode.None : null, OutputDirectory = s.Dir.Combine(outDir), MaxParallelism = 2, LoggerFactory = log,
        });
        var batch = await pipeline.RunBatchAsync(s.Inputs);
        Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
        return (batch, pipeline.InferenceRuns, batch.Items.SelectMany(i => i.Outputs).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes));
    }

    [Fact]
    public async Task Each_stage_goes_through_the_wrapper_once_per_input()
    {
        using var s = new CacheScenario();
        var store = new CountingStore("counting", persistent: true);
        using var cache = new StageCache([store], null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        var cold = await RunAsync(s, cache, "cold");
        var n = s.Inputs.Count;
        Assert.Equal(n, cold.InferenceRuns);
        foreach (var stage in new[] { CacheStage.Preprocess, CacheStage.Inference, CacheStage.Output })
        {
            Assert.Equal(n, store.Count(stage, "get"));
            Assert.Equal(n, store.Count(stage, "put"));
        }
        Assert.Equal(3 * n, store.Entries);
        Assert.Equal(3 * n, cache.Statistics["counting"].Misses);
        Assert.Equal(3 * n, cache.Statistics["counting"].Writes);

        store.Calls.Clear();
        var warm = await RunAsync(s, cache, "warm");
        Assert.Equal(0, warm.InferenceRuns);
        // Warm: the inference entry is found, so preprocess is never asked; the output stage serves the files.
        Assert.Equal(0, store.Count(CacheStage.Preprocess, "get"));
        Assert.Equal(n, store.Count(CacheStage.Inference, "get"));
        Assert.Equal(n, store.Count(CacheStage.Output, "get"));
        Assert.DoesNotContain(store.Calls, c => c.Key.Op == "put");
        Assert.Equal(2 * n, cache.Statistics["counting"].Hits);
        Assert.Equal(cold.Files.Keys.Order(), warm.Files.Keys.Order());
        foreach (var (name, bytes) in cold.Files) Assert.Equal(bytes, warm.Files[name]);
    }

    [Fact]
    public async Task A_store_added_to_the_list_is_used_with_no_stage_changing()
    {
        using var s = new CacheScenario();
        var reference = await RunAsync(s, cache: null, "reference");
        var shared = new CountingStore("shared", persistent: true);

        // Machine A: a process-local first layer in front of the shared one; computed values go to the persistent store only.
        var localA = new CountingStore("local", persistent: false);
        using (var cacheA = new StageCache([localA, shared], null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
        {
            var a = await RunAsync(s, cacheA, "a");
            Assert.Equal(s.Inputs.Count, a.InferenceRuns);
            Assert.Equal(0, localA.Entries); // write-around: nothing computed is held locally
            Assert.Equal(3 * s.Inputs.Count, shared.Entries);
        }

        // Machine B: a fresh local layer; the shared store serves everything and each hit is promoted into the local one.
        var localB = new CountingStore("local", persistent: false);
        var log = new ListLoggerProvider();
        using var cacheB = new StageCache([localB, shared], null, log.CreateLogger("t"));
        var b = await RunAsync(s, cacheB, "b", log);
        Assert.Equal(0, b.InferenceRuns);
        Assert.Equal(2 * s.Inputs.Count, cacheB.Statistics["shared"].Hits);
        Assert.Equal(2 * s.Inputs.Count, localB.Entries);
        Assert.Equal(s.Inputs.Count, log.Lines.Count(l => l.Contains("cache/shared hit", StringComparison.Ordinal) && l.Contains("(inference)", StringComparison.Ordinal)));
        Assert.Equal(s.Inputs.Count, log.Lines.Count(l => l.Contains("cache/shared hit", StringComparison.Ordinal) && l.Contains("(output)", StringComparison.Ordinal)));
        Assert.Equal(2 * s.Inputs.Count, log.Count("cache/local write"));
        Assert.Equal(["local", "shared"], cacheB.Statistics.Layers.Select(l => l.Layer));
        foreach (var (name, bytes) in reference.Files) Assert.Equal(bytes, b.Files[name]);
    }

    [Fact]
    public async Task A_store_entry_that_fails_its_codec_is_a_logged_miss_and_is_recomputed()
    {
        using var s = new CacheScenario();
        var reference = await RunAsync(s, cache: null, "reference");
        var store = new CountingStore("counting", persistent: true);
        using (var fill = new StageCache([store], null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)) await RunAsync(s, fill, "fill");

        // Poison every output entry with a path that leaves the output folder (digests and lengths still valid).
        var poisoned = new CountingStore("counting", persistent: true);
        foreach (var entry in store.Stored.Values)
        {
            var info = entry.Info;
            if (entry.Stage == CacheStage.Output)
                info = info with { Files = [.. info.Files!.Select((f, i) => i == 0 ? f with { Path = "../../escaped-" + i + ".png" } : f)] };
            poisoned.Put(entry with { Info = info });
        }
        var log = new ListLoggerProvider();
        using var cache = new StageCache([poisoned], null, log.CreateLogger("t"));
        var run = await RunAsync(s, cache, "poisoned", log);
        Assert.Equal(s.Inputs.Count, log.Count("cache/counting corrupt"));
        // Rejected entries are discarded from their store and replaced by the recomputed ones: a second run finds no poison.
        var again = new ListLoggerProvider();
        using (var cache2 = new StageCache([poisoned], null, again.CreateLogger("t"))) await RunAsync(s, cache2, "again", again);
        Assert.Equal(0, again.Count("corrupt"));
        Assert.All(poisoned.Stored.Values.Where(e => e.Stage == CacheStage.Output), e => Assert.DoesNotContain(e.Info.Files!, f => f.Path.Contains("..", StringComparison.Ordinal)));
        Assert.Empty(Directory.GetFiles(s.Dir.Path, "escaped-*", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(s.Dir.Path)!, "escaped-0.png")));
        foreach (var (name, bytes) in reference.Files) Assert.Equal(bytes, run.Files[name]);
    }

    [Fact]
    public async Task Two_inputs_with_the_same_bytes_keep_their_own_raw_file_names()
    {
        using var s = new CacheScenario();
        File.WriteAllText(s.ConfigPath, """
            {
              "model": { "path": "model.onnx" },
              "preprocessing": { "resize": { "apply": true, "imageSize": [24, 16] } },
              "execution": { "useCaching": "disk", "cacheDir": "cache" },
              "output": { "save": { "apply": false }, "saveRaw": { "apply": true, "format": "npy", "path": "raw" } }
            }
            """);
        File.Copy(s.Images[0], s.Dir.Combine("images", "twin.png"));
        var inputs = new[] { new InputItem(s.Images[0]), new InputItem(s.Dir.Combine("images", "twin.png")) };
        foreach (var run in new[] { "cold", "warm" })
        {
            using var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { OutputDirectory = s.Dir.Combine(run), MaxParallelism = 1, KeepOutputTensors = false });
            var batch = await pipeline.RunBatchAsync(inputs);
            Assert.Equal(["photo_160x120.npy", "twin.npy"], batch.Items.Select(i => Path.GetFileName(Assert.Single(i.Outputs))).Order());
            Assert.True(File.Exists(s.Dir.Combine(run, "twin.npy")), run);
        }
    }
}
