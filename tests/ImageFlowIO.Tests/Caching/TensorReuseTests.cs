using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageFlowIO.Tests.Caching;

/// <summary>
/// Per-image tensor arrays go back to <see cref="TensorBuffers"/> only when nothing else holds them (issue 15): reuse
/// must never change an output file or a cached entry, and a layer that keeps payloads must never see its arrays reused.
/// </summary>
public sealed class TensorReuseTests
{
    private static async Task<Dictionary<string, byte[]>> Run(CacheScenario s, string outName, CacheMode mode, bool keepTensors, Pipeline? pipeline = null)
    {
        var outDir = s.Dir.Combine(outName);
        var own = pipeline is null;
        pipeline ??= Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { CacheMode = mode, KeepOutputTensors = keepTensors, OutputDirectory = outDir, MaxParallelism = 2 });
        try
        {
            var batch = await pipeline.RunBatchAsync(s.Inputs);
            Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
            return batch.Items.SelectMany(i => i.Outputs).ToDictionary(p => Path.GetFileName(p), File.ReadAllBytes);
        }
        finally { if (own) pipeline.Dispose(); }
    }

    private static void AssertSame(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual, string what)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(actual[name]), $"{what}: {name} differs");
    }

    [Fact]
    public async Task Reused_arrays_never_change_an_output_and_a_memory_layer_keeps_its_own()
    {
        using var s = new CacheScenario();
        s.WriteConfig(resize: "[160, 120]"); // 225 KB float tensors: pooled sizes
        // The reference keeps every tensor in its results, so none of its arrays is ever given back.
        var reference = await Run(s, "ref", CacheMode.None, keepTensors: true);

        var returnedBefore = TensorBuffers.Returned;
        for (var round = 0; round < 3; round++)
            AssertSame(reference, await Run(s, "none" + round, CacheMode.None, keepTensors: false), $"no cache, round {round}");
        Assert.True(TensorBuffers.Returned > returnedBefore, "a run with no cache gave no tensor array back");

        // A memory layer keeps the payload arrays, so they are never given back: its entries must stay exact while
        // other runs rent pooled arrays and overwrite them.
        using var shared = StageCacheFactory.Create(64L << 20, null, 0, CacheCompression.None, NullLogger.Instance);
        Pipeline Open(string outName) => Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { Cache = shared, KeepOutputTensors = false, OutputDirectory = s.Dir.Combine(outName), MaxParallelism = 2 });
        using (var cold = Open("mem-cold")) AssertSame(reference, await Run(s, "mem-cold", CacheMode.Memory, false, cold), "memory, cold");
        AssertSame(reference, await Run(s, "disk-cold", CacheMode.Disk, keepTensors: false), "disk, cold");
        AssertSame(reference, await Run(s, "none-again", CacheMode.None, keepTensors: false), "no cache after memory");
        AssertSame(reference, await Run(s, "disk-warm", CacheMode.Disk, keepTensors: false), "disk, warm");

        // Another postprocessing: the same inference keys, new output keys, so the model outputs now come from the arrays
        // the memory layer kept; any reuse of them would show in these files.
        s.WriteConfig(postprocessing: "\"denormalize\": { \"apply\": true, \"scale\": 200, \"dtype\": \"uint8\" }", resize: "[160, 120]");
        var reference2 = await Run(s, "ref2", CacheMode.None, keepTensors: true);
        using var warm = Open("mem-warm");
        AssertSame(reference2, await Run(s, "mem-warm", CacheMode.Memory, false, warm), "memory, warm (outputs from kept model outputs)");
        Assert.Equal(0, warm.InferenceRuns);
    }

    [Fact]
    public void Only_layers_that_keep_payloads_after_put_block_reuse()
    {
        using var dir = new TempDir();
        var logger = NullLogger.Instance;
        using (var none = StageCache.None())
        {
            Assert.False(none.RetainsPayloads(CacheStage.Preprocess));
            Assert.False(none.RetainsPayloads(CacheStage.Inference));
        }
        using (var memoryOnly = StageCacheFactory.Create(64L << 20, null, 0, CacheCompression.None, logger))
        {
            Assert.True(memoryOnly.RetainsPayloads(CacheStage.Preprocess));
            Assert.True(memoryOnly.RetainsPayloads(CacheStage.Inference));
        }
        // Memory in front of disk writes around memory, and disk writes before Put returns.
        using (var disk = StageCacheFactory.Create(64L << 20, dir.Combine("cache"), 1L << 30, CacheCompression.None, logger))
        {
            Assert.False(disk.RetainsPayloads(CacheStage.Preprocess));
            Assert.False(disk.RetainsPayloads(CacheStage.Inference));
        }
        // A remote layer queues the payload for a background upload.
        var settings = RemoteCacheSettings.Create("http://127.0.0.1:9/", null, false, 1000, null, out var problem)!;
        Assert.Null(problem);
        using var remote = StageCacheFactory.Create(64L << 20, dir.Combine("cache2"), 1L << 30, CacheCompression.None, logger, new RemoteStore(settings, new CacheLayerStatistics(), logger));
        Assert.False(remote.RetainsPayloads(CacheStage.Preprocess));
        Assert.True(remote.RetainsPayloads(CacheStage.Inference));
    }
}
