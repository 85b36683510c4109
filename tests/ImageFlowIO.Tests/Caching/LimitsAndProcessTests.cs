using System.Diagnostics;
using ImageFlowIO.CacheCrashChild;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageFlowIO.Tests.Caching;

// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class LimitsAndProcessTests
{
    private static StageValue Value(int floats, float fill) => new(TensorData.FromFloats([floats], Enumerable.Repeat(fill, floats).ToArray()), 1, 1);
    private static CacheEntry Entry(CacheStage stage, string key, StageValue value, string input) => new TensorCodec(stage).Encode(key, value, input);

    [Fact]
    public void MemoryLayerStaysWithinItsLimitAndEvictsTheLeastRecentlyUsed()
    {
        var log = new ListLoggerProvider();
        var stats = new CacheLayerStatistics();
        var memory = new MemoryStore(10_000, stats, log.CreateLogger("t"));
        var random = new Random(1);
        for (var i = 0; i < 200; i++)
        {
            memory.Put(Entry(CacheStage.Inference, "k" + i, Value(random.Next(50, 900), i), "in" + i));
            Assert.True(memory.Bytes <= 10_000, $"{memory.Bytes} bytes held");
            Assert.Equal(memory.Bytes, stats.Bytes);
            memory.TryGet(CacheStage.Inference, "k0"); // kept hot: never evicted
        }
        Assert.NotNull(memory.TryGet(CacheStage.Inference, "k0").Entry);
        Assert.Null(memory.TryGet(CacheStage.Inference, "k1").Entry);
        Assert.True(stats.Evictions > 100);
        Assert.Equal(stats.Evictions, log.Count("cache/evict"));
        Assert.Contains(log.Lines, l => l.Contains("cache/evict in1 (inference, memory", StringComparison.Ordinal));
        Assert.False(memory.Put(Entry(CacheStage.Inference, "huge", Value(5000, 1), "huge"))); // larger than the limit: not kept
    }

    [Fact]
    public void DiskLayerStaysWithinItsLimitByAtMostOneEntryAndEvictsTheLeastRecentlyUsed()
    {
        using var dir = new TempDir();
        var log = new ListLoggerProvider();
        var stats = new CacheLayerStatistics();
        const long limit = 64 * 1024;
        var disk = DiskStore.Open(dir.Path, limit, CacheCompression.None, stats, log.CreateLogger("t"))!;
        var hot = CacheKeys.Digest("hot");
        disk.Put(Entry(CacheStage.Preprocess, hot, Value(1000, 7), "hot.png"));
        var random = new Random(2);
        long largest = 0;
        for (var i = 0; i < 120; i++)
        {
            var value = Value(random.Next(200, 3000), i);
            disk.Put(Entry(CacheStage.Inference, CacheKeys.Digest("k", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), value, $"in{i}.png"));
            largest = Math.Max(largest, value.Tensor.Bytes.Length + 700);
            var onDisk = Directory.GetFiles(dir.Path).Sum(f => new FileInfo(f).Length);
            Assert.True(onDisk <= limit + largest, $"{onDisk} bytes on disk");
            Thread.Sleep(1); // distinct access times
            Assert.NotNull(disk.TryGet(CacheStage.Preprocess, hot).Entry);
        }
        Assert.True(stats.Evictions > 50);
        Assert.Equal(stats.Evictions, log.Count("cache/evict"));
        var evicted = disk.TryGet(CacheStage.Inference, CacheKeys.Digest("k", "0"));
        Assert.Null(evicted.Entry);
        Assert.Null(evicted.Problem);
    }

    [Fact]
    public async Task CliRunsTwiceAndTheSecondRunComesFromTheDiskCache()
    {
        using var s = new CacheScenario();
        var cache = s.Dir.Combine("cli-cache");
        var first = await CliRunner.RunAsync("--config", s.ConfigPath, "--cache", "disk", "--cache-dir", cache, "--output", s.Dir.Combine("o1"), "--no-progress");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("4 processed, 0 from cache", first.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(s.CacheDir)); // --cache-dir wins over execution.cacheDir
        Directory.Move(s.Dir.Combine("o1"), s.Dir.Combine("o1-first"));
        var second = await CliRunner.RunAsync("--config", s.ConfigPath, "--cache", "disk", "--cache-dir", cache, "--output", s.Dir.Combine("o1"), "--log-level", "debug", "--no-progress");
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("4 processed, 4 from cache", second.Stdout, StringComparison.Ordinal);
        // The CLI keeps no tensors, so a cached output stage is all it reads: not even the inference entry.
        Assert.Equal(4, second.Stderr.Split('\n').Count(l => l.Contains("cache/disk hit", StringComparison.Ordinal) && l.Contains("(output)", StringComparison.Ordinal)));
        Assert.DoesNotContain(second.Stderr.Split('\n'), l => l.Contains("(inference)", StringComparison.Ordinal) || l.Contains("(preprocess)", StringComparison.Ordinal));
        Assert.Equal(4, Directory.GetFiles(s.Dir.Combine("o1-first"), "*.png").Length);
        foreach (var file in Directory.GetFiles(s.Dir.Combine("o1-first"), "*.png"))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(s.Dir.Combine("o1", Path.GetFileName(file))));
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(s.Dir.Combine("o1", "summary.json")));
        var disk = summary.RootElement.GetProperty("cache").GetProperty("disk");
        Assert.Equal(4, disk.GetProperty("hits").GetInt32());
        Assert.Equal(0, disk.GetProperty("writes").GetInt32());
        Assert.True(disk.GetProperty("bytes").GetInt64() > 0);

        var none = await CliRunner.RunAsync("--config", s.ConfigPath, "--cache", "none", "--output", s.Dir.Combine("o3"), "--no-progress");
        Assert.Contains("4 processed, 0 from cache", none.Stdout, StringComparison.Ordinal);

        var stats = await CliRunner.RunAsync("cache", "stats", "--cache-dir", cache);
        Assert.Equal(0, stats.ExitCode);
        // The disk layer keeps inference and output entries, no preprocess tensors (StageCacheFactory.DiskBackedKeeps).
        Assert.Contains("entries: 8 (0 preprocess, 4 inference)", stats.Stdout, StringComparison.Ordinal);
        var prune = await CliRunner.RunAsync("cache", "prune", "--cache-dir", cache, "--max-mb", "0");
        Assert.Contains("removed 8 entries, 0.0 MB remain", prune.Stdout, StringComparison.Ordinal);
        var third = await CliRunner.RunAsync("--config", s.ConfigPath, "--cache", "disk", "--cache-dir", cache, "--output", s.Dir.Combine("o4"), "--no-progress");
        Assert.Contains("4 processed, 0 from cache", third.Stdout, StringComparison.Ordinal);
        var clear = await CliRunner.RunAsync("cache", "clear", "--cache-dir", cache);
        Assert.Contains("removed 8 entries", clear.Stdout, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(cache, "*.json"));
    }

    private static Process StartDotnet(string dll, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_TieredPGO"] = "0";
        return Process.Start(info)!;
    }

    [Fact]
    public async Task FourProcessesOnOneCacheFolderAgree()
    {
        using var s = new CacheScenario();
        var reference = await s.RunAsync(s.Dir.Combine("ref"), CacheMode.None);
        var cache = s.Dir.Combine("shared-cache");
        var processes = Enumerable.Range(0, 4).Select(i => StartDotnet("ImageFlowIO.Cli.dll",
            ["--config", s.ConfigPath, "--cache", "disk", "--cache-dir", cache, "--output", s.Dir.Combine($"p{i}"), "--log-level", "debug", "--no-progress", "--concurrency", "2"])).ToList();
        var outputs = await Task.WhenAll(processes.Select(async p =>
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            return (p.ExitCode, Out: await stdout, Err: await stderr);
        }));
        foreach (var (code, stdout, stderr) in outputs)
        {
            Assert.True(code == 0, stderr);
            Assert.Contains("4 processed", stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("corrupt", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("xception", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("warning", stderr, StringComparison.Ordinal);
        }
        for (var i = 0; i < 4; i++)
            foreach (var (name, bytes) in reference.Files)
                Assert.Equal(bytes, File.ReadAllBytes(s.Dir.Combine($"p{i}", name)));
        var disk = DiskStore.Open(cache, long.MaxValue, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!;
        foreach (var entry in DiskCacheFolder.Scan(cache))
        {
            var read = disk.TryGet(entry.Stage!.Value, entry.Key);
            Assert.True(read.Entry is not null, read.Problem);
        }
        // inference + output (no preprocess on disk); output entries hold relative paths: one serves every destination folder
        Assert.Equal(4 + 4, DiskCacheFolder.Scan(cache).Count());
    }

    [Fact]
    public async Task ChildrenKilledWithSigkillNeverLeaveATornOrWrongEntry()
    {
        using var s = new CacheScenario(model: "invert_nchw.onnx");
        var configs = s.Dir.Combine("configs");
        Directory.CreateDirectory(Path.Combine(configs, "images"));
        foreach (var image in s.Images.Take(2)) File.Copy(image, Path.Combine(configs, "images", Path.GetFileName(image)));
        for (var v = 0; v < 4; v++)
        {
            s.WriteConfig(resize: $"[{8 + 4 * v}, {8 + 2 * v}]");
            File.Copy(s.ConfigPath, Path.Combine(configs, $"variant{v}.json"));
            File.Copy(s.Dir.Combine("model.onnx"), Path.Combine(configs, "model.onnx"), overwrite: true);
        }
        var cache = s.Dir.Combine("crash-cache");
        const int kills = 100, lanes = 4;
        var random = new Random(42);
        var seeds = Enumerable.Range(0, kills).ToList();
        var killedWhileRunning = 0;
        // Plain threads and blocking calls: continuations on xunit's limited synchronization context starve with 4 lanes.
        Parallel.ForEach(seeds, new ParallelOptions { MaxDegreeOfParallelism = lanes }, seed =>
        {
            int delay;
            lock (random) delay = random.Next(20, 200);
            using var child = StartDotnet("ImageFlowIO.CacheCrashChild.dll", [cache, configs, s.Dir.Combine("child-out"), seed.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            var ready = child.StandardOutput.ReadLine();
            if (ready != "ready") { child.Kill(); throw new InvalidOperationException("child did not start: " + child.StandardError.ReadToEnd()); }
            // Start the clock at the first write, so a slow (loaded) machine still kills children mid-write.
            if (child.StandardOutput.ReadLine() != "wrote") { child.Kill(); throw new InvalidOperationException("child wrote nothing: " + child.StandardError.ReadToEnd()); }
            Thread.Sleep(delay);
            if (!child.HasExited) { child.Kill(); Interlocked.Increment(ref killedWhileRunning); } // SIGKILL on Unix
            if (!child.WaitForExit(30_000)) throw new TimeoutException("killed child did not exit");
        });
        Assert.Equal(kills, killedWhileRunning);

        // Every entry that reads as valid holds exactly what was written; nothing reads as corrupt.
        var disk = DiskStore.Open(cache, long.MaxValue, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!;
        var synthetic = Enumerable.Range(0, CrashEntries.Count).ToDictionary(CrashEntries.Key);
        var valid = 0;
        foreach (var entry in DiskCacheFolder.Scan(cache))
        {
            var read = disk.TryGet(entry.Stage!.Value, entry.Key);
            Assert.True(read.Entry is not null, read.Problem ?? "entry listed but not readable");
            valid++;
            if (synthetic.TryGetValue(entry.Key, out var n))
            {
                Assert.True(TensorCodec.Inference.TryDecode(read.Entry, out var value, out var problem), problem);
                var expected = CrashEntries.Value(n);
                Assert.Equal(expected.Tensor.Bytes.ToArray(), value.Tensor.Bytes.ToArray());
                Assert.Equal((n, n + 1), (value.SourceWidth, value.SourceHeight));
            }
        }
        Assert.True(valid >= 5, $"only {valid} entries survived");

        // The next run on the abused folder gives the outputs of an uncached run.
        foreach (var variant in Directory.GetFiles(configs, "*.json"))
        {
            var inputs = Directory.GetFiles(Path.Combine(configs, "images")).Select(p => new InputItem(p)).ToList();
            using var cached = Pipeline.FromConfig(variant, new PipelineOptions { CacheDirectory = cache, OutputDirectory = s.Dir.Combine("after") });
            using var uncached = Pipeline.FromConfig(variant, new PipelineOptions { CacheMode = CacheMode.None, OutputDirectory = s.Dir.Combine("clean") });
            var a = await cached.RunBatchAsync(inputs);
            var b = await uncached.RunBatchAsync(inputs);
            Assert.Equal(0, a.Cache.Disk.Corrupt);
            for (var i = 0; i < inputs.Count; i++)
            {
                Assert.True(a.Items[i].Succeeded && b.Items[i].Succeeded);
                Assert.Equal(File.ReadAllBytes(b.Items[i].Outputs[0]), File.ReadAllBytes(a.Items[i].Outputs[0]));
                Assert.Equal(b.Items[i].Output!.Bytes.ToArray(), a.Items[i].Output!.Bytes.ToArray());
            }
        }
    }
}
