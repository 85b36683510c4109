using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Inference;
using ImageFlowIO.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Tests.Caching;

public sealed class DiskCacheTests
{
    private static int Lines(ListLoggerProvider log, string what, string stage) => log.Lines.Count(l => l.Contains(what, StringComparison.Ordinal) && l.Contains($"({stage}", StringComparison.Ordinal));

    [Fact]
    public async Task RestartHitsTheDiskCacheForEveryImageAndWritesIdenticalOutputs()
    {
        using var s = new CacheScenario();
        var reference = await s.RunAsync(s.Dir.Combine("ref"), CacheMode.None);
        var cold = await s.RunAsync();
        Assert.Equal(4, cold.InferenceRuns);
        Assert.Equal(4, Lines(cold.Log, "cache/disk write", "inference"));
        // The disk layer keeps inference and output entries, not preprocess tensors (StageCacheFactory.DiskBackedKeeps).
        Assert.Equal(0, Lines(cold.Log, "cache/disk write", "preprocess"));
        Assert.Equal(4, Lines(cold.Log, "cache/disk write", "output"));
        Assert.Equal(8, s.EntryFiles(".json").Length);
        Assert.Equal(8, s.EntryFiles(".bin").Length);
        foreach (var (name, bytes) in reference.Files) Assert.Equal(bytes, cold.Files[name]);

        foreach (var file in Directory.GetFiles(s.OutDir)) File.Delete(file);
        var warm = await s.RunAsync();
        Assert.Equal(0, warm.InferenceRuns);
        foreach (var image in s.Images)
        {
            Assert.Single(warm.Log.Lines, l => l.Contains("cache/disk hit " + image + " (inference)", StringComparison.Ordinal));
            Assert.Single(warm.Log.Lines, l => l.Contains("cache/memory miss " + image + " (inference)", StringComparison.Ordinal));
        }
        Assert.Equal(4, Lines(warm.Log, "cache/disk hit", "output"));
        Assert.Equal(0, warm.Log.Count("cache/disk write"));
        Assert.Equal(0, warm.Log.Count("cache/disk miss"));
        Assert.Equal(reference.Files.Keys.Order(), warm.Files.Keys.Order());
        foreach (var (name, bytes) in reference.Files) Assert.Equal(bytes, warm.Files[name]);
        Assert.Equal(8, warm.Batch.Cache.Disk.Hits);
        Assert.Equal(4, warm.Batch.FromCache);
        Assert.Contains(warm.Log.Lines, l => l.StartsWith("information: cache statistics: memory: ", StringComparison.Ordinal) && l.Contains("disk: 8 hits, 0 misses, 0 writes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InProcessRerunsReadDiskOnceThenMemory()
    {
        // Disk mode writes around memory (a cold batch would otherwise fill it), and promotes what it reads back.
        using var s = new CacheScenario();
        var log = new ListLoggerProvider();
        using var pipeline = s.Open(log);
        await pipeline.RunBatchAsync(s.Inputs);
        Assert.DoesNotContain(log.Lines, l => l.Contains("cache/memory hit", StringComparison.Ordinal));

        var before = log.Lines.Count;
        var second = await pipeline.RunBatchAsync(s.Inputs);
        var secondLines = log.Lines.Skip(before).ToList();
        Assert.Equal(4, secondLines.Count(l => l.Contains("cache/disk hit", StringComparison.Ordinal) && l.Contains("(inference)", StringComparison.Ordinal)));
        Assert.All(second.Items, i => Assert.False(i.RanInference));

        before = log.Lines.Count;
        var third = await pipeline.RunBatchAsync(s.Inputs);
        var thirdLines = log.Lines.Skip(before).ToList();
        Assert.Equal(4, pipeline.InferenceRuns);
        Assert.Equal(4, thirdLines.Count(l => l.Contains("cache/memory hit", StringComparison.Ordinal) && l.Contains("(inference)", StringComparison.Ordinal)));
        // The only disk lines are the seed's hit lines of the up-to-date outputs (the index lives in the disk folder).
        Assert.DoesNotContain(thirdLines, l => l.Contains("cache/disk", StringComparison.Ordinal) && !l.Contains("(outputs up to date)", StringComparison.Ordinal));
        Assert.Equal(4, thirdLines.Count(l => l.Contains("cache/disk hit", StringComparison.Ordinal) && l.Contains("(outputs up to date)", StringComparison.Ordinal)));
        Assert.All(third.Items, i => Assert.False(i.RanInference));
    }

    [Fact]
    public async Task MemoryModeWritesNothingToDisk()
    {
        using var s = new CacheScenario();
        var log = new ListLoggerProvider();
        using var pipeline = s.Open(log, mode: CacheMode.Memory);
        await pipeline.RunBatchAsync(s.Inputs);
        await pipeline.RunBatchAsync(s.Inputs);
        Assert.Equal(4, pipeline.InferenceRuns);
        Assert.False(Directory.Exists(s.CacheDir));
        Assert.Equal(4, Lines(log, "cache/memory hit", "inference"));
        Assert.Equal(0, log.Count("cache/disk"));
    }

    [Fact]
    public async Task TouchRecomputesNothingAndUnchangedInputsAreNotReread()
    {
        using var s = new CacheScenario();
        await s.RunAsync();
        Assert.True(File.Exists(Path.Combine(s.CacheDir, InputDigestIndex.FileName)));

        using (var cache = StageCacheFactory.Create(64 << 20, s.CacheDir, 64 << 20, CacheCompression.None, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
        using (var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { Cache = cache, MaxParallelism = 2 }))
        {
            await pipeline.RunBatchAsync(s.Inputs);
            Assert.Equal(0, pipeline.InferenceRuns);
            Assert.Equal(4 + 1, cache.InputDigests!.FastPathHits); // the 4 inputs and the model (its digest names the session and keys)
            Assert.Equal(0, cache.InputDigests!.FilesHashed);
        }

        foreach (var file in s.Images) File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(-5));
        using (var cache = StageCacheFactory.Create(64 << 20, s.CacheDir, 64 << 20, CacheCompression.None, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
        using (var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { Cache = cache, MaxParallelism = 2 }))
        {
            var batch = await pipeline.RunBatchAsync(s.Inputs);
            Assert.Equal(0, pipeline.InferenceRuns);
            Assert.Equal(4, cache.InputDigests!.FilesHashed); // re-hashed once, same digest, same keys
            Assert.Equal(0, cache.Statistics.Disk.Writes);
            Assert.All(batch.Items, i => Assert.Equal("hit", i.Cache["inference"]));
        }
    }

    [Fact]
    public async Task OnePixelEditRecomputesThatImageOnly()
    {
        using var s = new CacheScenario();
        var cold = await s.RunAsync();
        var edited = s.Dir.Combine("images", "photo_64x48.png");
        using (var image = Image.Load<Rgb24>(edited))
        {
            image[10, 10] = new Rgb24((byte)(image[10, 10].R ^ 0x80), image[10, 10].G, image[10, 10].B);
            image.SaveAsPng(edited);
        }
        var after = await s.RunAsync();
        Assert.Equal(1, after.InferenceRuns);
        var writes = after.Log.Lines.Where(l => l.Contains("cache/disk write", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, writes.Count); // inference and output of the edited image (the disk layer keeps no preprocess tensors)
        Assert.All(writes, l => Assert.Contains(edited, l, StringComparison.Ordinal));
        Assert.NotEqual(cold.Files["photo_64x48.png"], after.Files["photo_64x48.png"]);
        Assert.Equal(cold.Files["photo_160x120.png"], after.Files["photo_160x120.png"]);
    }

    [Fact]
    public async Task PostprocessingOnlyChangeRunsNoInference()
    {
        using var s = new CacheScenario();
        await s.RunAsync();
        s.WriteConfig(postprocessing: "\"denormalize\": { \"apply\": true, \"scale\": 128, \"dtype\": \"uint8\" }");
        var changed = await s.RunAsync(s.Dir.Combine("out2"));
        var reference = await s.RunAsync(s.Dir.Combine("ref"), CacheMode.None);
        Assert.Equal(0, changed.InferenceRuns);
        Assert.Equal(4, Lines(changed.Log, "cache/disk hit", "inference"));
        Assert.Equal(4, Lines(changed.Log, "cache/disk miss", "output"));
        Assert.Equal(0, Lines(changed.Log, "cache/disk", "preprocess"));
        Assert.Equal(4, reference.InferenceRuns);
        foreach (var (name, bytes) in reference.Files) Assert.Equal(bytes, changed.Files[name]);
    }

    [Fact]
    public async Task ModelChangeRecomputesFromTheImageAndGetsANewSession()
    {
        using var s = new CacheScenario();
        var before = await s.RunAsync();
        var sessions = SessionCache.SessionsCreated;
        File.Copy(TestPaths.Model("identity_nchw.onnx"), s.Dir.Combine("model.onnx"), overwrite: true);
        var after = await s.RunAsync();
        Assert.Equal(4, after.InferenceRuns);
        Assert.True(SessionCache.SessionsCreated > sessions);
        // A disk-backed cache keeps no preprocess tensors: a new model decodes again (cheaper than writing 1.2 MB per image).
        Assert.Equal(0, Lines(after.Log, "cache/", "preprocess"));
        Assert.Equal(4, Lines(after.Log, "cache/disk miss", "inference"));
        Assert.Equal(4, Lines(after.Log, "cache/disk write", "inference"));
        // invert vs identity: different pixels, from the new model
        Assert.NotEqual(before.Files["photo_64x48.png"], after.Files["photo_64x48.png"]);
    }

    [Fact]
    public async Task DiskLayerHoldsNoPreprocessEntriesWhileAMemoryOnlyCacheReusesThemAcrossAModelChange()
    {
        using var s = new CacheScenario();
        using (var disk = StageCacheFactory.Create(64 << 20, s.CacheDir, 64 << 20, CacheCompression.None, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
        {
            using var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { Cache = disk, OutputDirectory = s.OutDir });
            var batch = await pipeline.RunBatchAsync(s.Inputs);
            Assert.All(batch.Items, i => Assert.True(i.Succeeded));
            var stages = DiskCacheFolder.Scan(s.CacheDir).Select(e => e.Stage).ToList();
            Assert.Equal(4, stages.Count(st => st == CacheStage.Inference));
            Assert.Equal(4, stages.Count(st => st == CacheStage.Output));
            Assert.DoesNotContain(CacheStage.Preprocess, stages);
            // Nor in the memory layer in front of it: a cold batch's memory stays flat in the number of images.
            Assert.Equal(0, disk.Stores.OfType<MemoryStore>().Single().Count);
        }

        var log = new ListLoggerProvider();
        using var memoryOnly = StageCacheFactory.Create(64 << 20, null, 0, CacheCompression.None, log.CreateLogger("cache"));
        using (var first = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { Cache = memoryOnly, OutputDirectory = s.Dir.Combine("m1") }))
            await first.RunBatchAsync(s.Inputs);
        // 4 preprocess + 4 inference + 4 output entries, all in memory.
        Assert.Equal(12, memoryOnly.Stores.OfType<MemoryStore>().Single().Count);
        File.Copy(TestPaths.Model("identity_nchw.onnx"), s.Dir.Combine("model.onnx"), overwrite: true);
        var before = Lines(log, "cache/memory hit", "preprocess");
        using (var second = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { Cache = memoryOnly, OutputDirectory = s.Dir.Combine("m2") }))
        {
            var batch = await second.RunBatchAsync(s.Inputs);
            Assert.All(batch.Items, i => Assert.Equal("hit", i.Cache["preprocess"]));
            Assert.Equal(4, second.InferenceRuns);
        }
        Assert.Equal(0, before);
        Assert.Equal(4, Lines(log, "cache/memory hit", "preprocess"));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task FlippedByteInABinIsDetectedAndHealed(string compression)
    {
        using var s = new CacheScenario();
        s.WriteConfig(cache: $", \"cache\": {{ \"compression\": \"{compression}\" }}");
        var cold = await s.RunAsync();
        var target = s.EntryFiles(".json").Select(File.ReadAllText).Single(j => j.Contains("\"inference\"", StringComparison.Ordinal) && j.Contains("jpeg_160x120.jpg", StringComparison.Ordinal));
        Assert.Contains($"\"compression\": \"{compression}\"", target, StringComparison.Ordinal);
        var key = System.Text.Json.JsonDocument.Parse(target).RootElement.GetProperty("key").GetString()!;
        var bin = Path.Combine(s.CacheDir, key + ".bin");
        var bytes = File.ReadAllBytes(bin);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(bin, bytes);
        // Drop the output entries so the corrupt inference entry is what the run must read.
        foreach (var json in s.EntryFiles(".json").Where(f => File.ReadAllText(f).Contains("\"output\"", StringComparison.Ordinal))) File.Delete(json);

        var healed = await s.RunAsync();
        Assert.Equal(1, healed.InferenceRuns);
        Assert.Single(healed.Log.Lines, l => l.Contains("cache/disk corrupt " + s.Dir.Combine("images", "jpeg_160x120.jpg") + " (inference)", StringComparison.Ordinal));
        Assert.Equal(1, healed.Batch.Cache.Disk.Corrupt);
        foreach (var (name, b) in cold.Files) Assert.Equal(b, healed.Files[name]);

        var again = await s.RunAsync();
        Assert.Equal(0, again.InferenceRuns);
        Assert.Equal(0, again.Log.Count("cache/disk corrupt"));
    }

    [Fact]
    public async Task UnwritableCacheFolderWarnsOnceAndTheRunSucceeds()
    {
        using var s = new CacheScenario();
        File.WriteAllText(s.CacheDir, "a file where the cache folder should be");
        var run = await s.RunAsync();
        Assert.Equal(4, run.InferenceRuns);
        Assert.Single(run.Log.Lines, l => l.StartsWith("warning: ", StringComparison.Ordinal) && l.Contains(ErrorCodes.CacheUnavailable, StringComparison.Ordinal));
        Assert.Equal(0, run.Log.Count("cache/disk"));
        Assert.Equal(4, run.Files.Count);
    }

    [Fact]
    public void CacheDirectoryPrecedence()
    {
        using var s = new CacheScenario();
        var config = ConfigParser.ParseFile(s.ConfigPath).Config!;
        Assert.Equal(s.Dir.Combine("x"), StageCacheFactory.ResolveCacheDirectory(config, new PipelineOptions { CacheDirectory = s.Dir.Combine("x") }));
        Assert.Equal(s.CacheDir, StageCacheFactory.ResolveCacheDirectory(config, new PipelineOptions()));
        var noDir = ConfigParser.Parse("{ \"model\": { \"path\": \"m.onnx\" } }", s.Dir.Combine("c.json"), s.Dir.Path).Config!;
        Assert.Equal(Environment.GetEnvironmentVariable(StageCacheFactory.EnvironmentVariable) is { Length: > 0 } env ? Path.GetFullPath(env) : s.Dir.Combine(".imageflowio-cache"),
            StageCacheFactory.ResolveCacheDirectory(noDir, new PipelineOptions()));
    }
}
