using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageFlowIO.Tests.Caching;

/// <summary>Up-to-date outputs are only stat-ed (OutputFileIndex): a fully cached re-run reads no cached payload and writes nothing.</summary>
public sealed class UpToDateOutputTests
{
    /// <summary>One run as a new process would do it (a cache opened on the folder and disposed after), keeping no tensors like the CLI.</summary>
    private static async Task<(BatchResult Batch, long StatOnly, long Hashed)> RunAsync(CacheScenario s)
    {
        using var cache = StageCacheFactory.Create(64 << 20, s.CacheDir, 64 << 20, CacheCompression.None, NullLogger.Instance);
        using var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { Cache = cache, OutputDirectory = s.OutDir, KeepOutputTensors = false, MaxParallelism = 2 });
        var batch = await pipeline.RunBatchAsync(s.Inputs);
        Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
        return (batch, cache.OutputFiles!.StatOnlyHits, cache.OutputFiles.FilesHashed);
    }

    private static Dictionary<string, (byte[] Bytes, DateTime Time)> Outputs(CacheScenario s) =>
        Directory.GetFiles(s.OutDir).ToDictionary(f => Path.GetFileName(f), f => (File.ReadAllBytes(f), File.GetLastWriteTimeUtc(f)));

    [Fact]
    public async Task AFullyCachedRerunReadsNoCachedBytesAndWritesNothing()
    {
        using var s = new CacheScenario();
        var cold = await RunAsync(s);
        Assert.True(cold.Batch.Cache.Disk.BytesWritten > 0);
        var written = Outputs(s);
        Assert.Equal(4, written.Count);
        Assert.True(File.Exists(Path.Combine(s.CacheDir, OutputFileIndex.FileName)));

        // Just written, the records are racy: the second run hashes each file once (never the cache) and then trusts it.
        Thread.Sleep(1100);
        var second = await RunAsync(s);
        Assert.Equal(0, second.Batch.Cache.Disk.BytesRead);
        Assert.Equal(0, second.Batch.Cache.Disk.BytesWritten);
        // Each input served by the up-to-date index counts as a hit of the disk layer that keeps it (the seed's contract).
        Assert.Equal(4, second.Batch.Cache.Disk.Hits);
        Assert.Equal(0, second.Batch.Cache.Disk.Misses);
        Assert.Equal(4, second.Hashed);
        Assert.All(second.Batch.Items, i => Assert.Equal("up-to-date", i.Cache["output"]));
        Assert.All(second.Batch.Items, i => Assert.False(i.RanInference));
        Assert.Equal(4, second.Batch.FromCache);
        Assert.Equal(written.Keys.Order(), second.Batch.Items.SelectMany(i => i.Outputs).Select(Path.GetFileName).Order());
        Assert.Equal(written.Select(kv => (kv.Key, kv.Value.Time)).Order(), Outputs(s).Select(kv => (kv.Key, kv.Value.Time)).Order());

        // Now the records are older than the files by more than the racy window: a stat is all a re-run does.
        var third = await RunAsync(s);
        Assert.Equal(4, third.StatOnly);
        Assert.Equal(0, third.Hashed);
        Assert.Equal(0, third.Batch.Cache.Disk.BytesRead);
        Assert.Equal(0, third.Batch.Cache.Disk.BytesWritten);
        foreach (var (name, (bytes, time)) in Outputs(s))
        {
            Assert.Equal(written[name].Bytes, bytes);
            Assert.Equal(written[name].Time, time);
        }
    }

    [Fact]
    public async Task AChangedOrMissingOutputIsWrittenAgainFromTheCache()
    {
        using var s = new CacheScenario();
        await RunAsync(s);
        var written = Outputs(s);
        var changed = Path.Combine(s.OutDir, "photo_64x48.png");
        File.WriteAllBytes(changed, [1, 2, 3]);
        File.Delete(Path.Combine(s.OutDir, "gradient_33x17.png"));

        var rerun = await RunAsync(s);
        Assert.Equal(4, rerun.Batch.Cache.Disk.Hits); // the two up-to-date outputs, and the two output entries read back and written
        Assert.Equal(0, rerun.Batch.Cache.Disk.Misses);
        Assert.Equal(0, rerun.Batch.Cache.Disk.BytesWritten);
        Assert.Equal(2, rerun.Batch.Items.Count(i => i.Cache["output"] == "up-to-date"));
        Assert.Equal(2, rerun.Batch.Items.Count(i => i.Cache["output"] == "hit"));
        foreach (var (name, (bytes, _)) in Outputs(s)) Assert.Equal(written[name].Bytes, bytes);
        Assert.Equal(4, Outputs(s).Count);
    }

    [Fact]
    public async Task ASameSizeSameTimeChangeRightAfterTheWriteIsCaughtByItsDigest()
    {
        using var s = new CacheScenario();
        await RunAsync(s);
        var written = Outputs(s);
        // Another process overwrites a just-written file with as many bytes and restores its time: its stat is what was recorded.
        var path = Path.Combine(s.OutDir, "photo_160x120.png");
        var (bytes, time) = written["photo_160x120.png"];
        var tampered = bytes.ToArray();
        tampered[^20] ^= 0xFF;
        File.WriteAllBytes(path, tampered);
        File.SetLastWriteTimeUtc(path, time);

        var rerun = await RunAsync(s);
        Assert.Equal("hit", rerun.Batch.Items.Single(i => i.Input.EndsWith("photo_160x120.png", StringComparison.Ordinal)).Cache["output"]);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }
    [Fact]
    public void The_index_is_untrusted_a_line_that_does_not_parse_is_skipped_and_the_others_serve()
    {
        using var dir = new TempDir();
        var folder = dir.Combine("out");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "a.png");
        File.WriteAllBytes(file, [1, 2, 3]);
        var ticks = File.GetLastWriteTimeUtc(file).Ticks;
        var recorded = ticks + TimeSpan.FromSeconds(5).Ticks; // well after the write: a stat is enough
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([1, 2, 3]));
        const string facts = """{"outputShape":[1,3,2,2],"channels":[[0,1,0.5]],"topK":[],"savedWidth":2,"savedHeight":2}""";
        string Key(char c) => new(c, 43);
        string Set(char key, string width = "4", string recordedText = "", string factsText = facts, string path = "a.png", string length = "3") =>
            $"{Key(key)}\t{folder}\t{width}\t3\t{(recordedText.Length > 0 ? recordedText : recorded.ToString(System.Globalization.CultureInfo.InvariantCulture))}\t{factsText}\t{sha}\t{length}\t{ticks}\t{path}";
        string Run(string input, int fields) => $"r\t{input}\t{folder}\t" + string.Join("\t", Enumerable.Range(0, fields).Select(i => "f" + i));
        File.WriteAllText(dir.Combine(OutputFileIndex.FileName), string.Join("\n",
            "imageflowio-output-index 2",
            Set('a'),
            Set('b', width: "4x"), Set('c', width: "-4"), Set('d', recordedText: "+5"), Set('e', factsText: "{\"outputShape\":[1]}"),
            Set('f', path: "../a.png"), Set('g', length: "3 "), Set('h') + "\tdeadbeef", // a file cut short
            "not a key\t" + folder + "\t4\t3\t1\t" + facts,
            Run(dir.Combine("in.jpg"), 10), Run(dir.Combine("short.jpg"), 9), Run(dir.Combine("long.jpg"), 11)) + "\r\n");

        using var index = new OutputFileIndex(dir.Combine(OutputFileIndex.FileName));
        Assert.True(index.TryGetUpToDate(Key('a'), folder, out var found));
        Assert.Equal((4, 3), (found.SourceWidth, found.SourceHeight));
        Assert.Equal([file], found.Files);
        Assert.Equal([1, 3, 2, 2], found.Facts.OutputShape);
        foreach (var bad in "bcdefgh") Assert.False(index.TryGetUpToDate(Key(bad), folder, out _), $"set {bad} was trusted");
        Assert.Equal("f9", index.LastRun(dir.Combine("in.jpg"), folder)?.Failure);
        Assert.Null(index.LastRun(dir.Combine("short.jpg"), folder));
        Assert.Null(index.LastRun(dir.Combine("long.jpg"), folder));
    }

    [Fact]
    public void Run_records_that_share_values_each_read_back_their_own_fields()
    {
        using var dir = new TempDir();
        var folder = dir.Combine("out");
        string Run(string input, params string[] fields) => $"r\t{dir.Combine(input)}\t{folder}\t" + string.Join("\t", fields);
        string[] Fields(string content, string model, string key, string failure = "") => ["0.1.0", content, model, "l", "p", "i", "q", "o", key, failure];
        File.WriteAllText(dir.Combine(OutputFileIndex.FileName), string.Join("\n",
            "imageflowio-output-index 2",
            Run("a.jpg", Fields("c1", "m1", "k1")), Run("b.jpg", Fields("c2", "m1", "k2")), Run("c.jpg", Fields("c3", "m2", "k3", "IFIO2001")),
            Run("d.jpg", Fields("c4", "m1", "k4"))) + "\n");

        using var index = new OutputFileIndex(dir.Combine(OutputFileIndex.FileName));
        Assert.Equal(new RunRecord("0.1.0", "c1", "m1", "l", "p", "i", "q", "o", "k1", ""), index.LastRun(dir.Combine("a.jpg"), folder));
        Assert.Equal(new RunRecord("0.1.0", "c2", "m1", "l", "p", "i", "q", "o", "k2", ""), index.LastRun(dir.Combine("b.jpg"), folder));
        Assert.Equal(new RunRecord("0.1.0", "c3", "m2", "l", "p", "i", "q", "o", "k3", "IFIO2001"), index.LastRun(dir.Combine("c.jpg"), folder));
        Assert.Equal(new RunRecord("0.1.0", "c4", "m1", "l", "p", "i", "q", "o", "k4", ""), index.LastRun(dir.Combine("d.jpg"), folder));
    }

    [Fact]
    public void The_input_index_is_untrusted_a_line_that_does_not_parse_is_skipped_and_the_others_serve()
    {
        using var dir = new TempDir();
        var files = "abcdefg".Select(c => dir.Combine(c + ".jpg")).ToArray();
        foreach (var f in files)
        {
            File.WriteAllBytes(f, [1, 2, 3]);
            File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddMinutes(-5));
        }
        var ticks = File.GetLastWriteTimeUtc(files[0]).Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var remembered = new string('a', 64); // not the files' digest: served only from the index
        File.WriteAllText(dir.Combine(InputDigestIndex.FileName), string.Join("\n",
            "imageflowio-input-index 1",
            $"{remembered}\t3\t{ticks}\t{files[0]}",
            $"{remembered.ToUpperInvariant()}\t3\t{ticks}\t{files[1]}", // not a digest as written
            $"{remembered[..63]}\t3\t{ticks}\t{files[2]}",
            $"{remembered}\t-3\t{ticks}\t{files[3]}",
            $"{remembered}\t3\t{ticks}x\t{files[4]}",
            $"{remembered}\t3\t{ticks}", // no path
            $"{remembered}\t3\t{ticks}\t{files[5]}\textra", // a path with a tab in it: another file
            $"{remembered}\t4\t{ticks}\t{files[6]}") + "\r\n"); // another size than the file's

        using var index = new InputDigestIndex(dir.Combine(InputDigestIndex.FileName));
        Assert.Equal(remembered, index.GetDigest(files[0], File.ReadAllBytes, out var content));
        Assert.Null(content);
        var digest = CacheKeys.ContentDigest([1, 2, 3]);
        foreach (var f in files.Skip(1)) Assert.Equal(digest, index.GetDigest(f, File.ReadAllBytes, out _));
        Assert.Equal((1, 6), (index.FastPathHits, index.FilesHashed));
    }
}
