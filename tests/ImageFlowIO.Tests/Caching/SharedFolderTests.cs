using System.Diagnostics;
using System.Globalization;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Tests.Caching;

/// <summary>Issue 27: one disk cache folder, several writers: its limit holds for the folder, not per process.</summary>
public sealed class SharedFolderTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static CacheEntry Entry(string key, int floats, float fill) =>
        new TensorCodec(CacheStage.Inference).Encode(key, new StageValue(TensorData.FromFloats([floats], Enumerable.Repeat(fill, floats).ToArray()), 1, 1), key + ".png");

    private static long EntryBytes(string folder) => DiskCacheFolder.Scan(folder, readMetadata: false).Sum(e => e.Bytes);

    /// <summary>Every file under the folder (entries, indexes, the lock, remembered models): what a user's <c>du</c> sees.</summary>
    internal static long FolderBytes(string folder) => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    [Fact]
    public void TwoWritersOnOneFolderHoldItsLimitAfterEveryWrite()
    {
        using var dir = new TempDir();
        const long limit = 64 * 1024;
        // Two stores on one folder, as two processes would have: each counted only its own writes before (2x the limit).
        var a = DiskStore.Open(dir.Path, limit, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!;
        var b = DiskStore.Open(dir.Path, limit, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!;
        var largest = 0L;
        for (var i = 0; i < 80; i++)
        {
            var entry = Entry(CacheKeys.Digest("k", i.ToString(CultureInfo.InvariantCulture)), 1000 + 10 * i, i);
            largest = Math.Max(largest, entry.Payload.Length + 1024);
            Assert.True((i % 2 == 0 ? a : b).Put(entry));
            var onDisk = EntryBytes(dir.Path);
            Assert.True(onDisk <= limit + largest, $"write {i}: {onDisk} bytes of entries for a {limit}-byte limit");
            Assert.Equal(onDisk, (i % 2 == 0 ? a : b).Bytes); // the shared record is the folder, not one writer's count
        }
        Assert.True(a.Statistics.Evictions > 5 && b.Statistics.Evictions > 5, $"{a.Statistics.Evictions} and {b.Statistics.Evictions} evictions");
    }

    [Fact]
    public void OpeningReadsTheRecordOnlyAndTheFirstWriteRecountsTheFolder()
    {
        using var dir = new TempDir();
        var writer = DiskStore.Open(dir.Path, long.MaxValue, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!;
        var kept = Entry(CacheKeys.Digest("kept"), 5000, 1);
        Assert.True(writer.Put(kept));
        var entryBytes = EntryBytes(dir.Path);
        // A writer killed after its rename but before its record, and data whose metadata never came (an hour old).
        var unrecorded = Entry(CacheKeys.Digest("unrecorded"), 7000, 2);
        Assert.True(DiskStore.Open(dir.Path, long.MaxValue, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!.Put(unrecorded));
        var orphan = Path.Combine(dir.Path, CacheKeys.Digest("orphan") + DiskCacheFolder.DataExtension);
        File.WriteAllBytes(orphan, new byte[3000]);
        File.SetLastWriteTimeUtc(orphan, DateTime.UtcNow.AddHours(-1));
        File.WriteAllText(Path.Combine(dir.Path, DiskCacheLedger.FileName), entryBytes.ToString("D20", CultureInfo.InvariantCulture) + "\n");

        // A reader: the record's bytes, a hit, and no scan (the orphan stays, the record is not corrected).
        var reader = DiskStore.Open(dir.Path, long.MaxValue, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!;
        Assert.Equal(entryBytes, reader.Bytes);
        Assert.NotNull(reader.TryGet(kept.Stage, kept.Key).Entry);
        Assert.True(File.Exists(orphan));
        Assert.Equal(entryBytes, reader.Bytes);

        // Its first write counts the folder first: the unrecorded entry is in the record, the orphan is gone.
        Assert.True(reader.Put(Entry(CacheKeys.Digest("third"), 1000, 3)));
        Assert.False(File.Exists(orphan));
        Assert.Equal(EntryBytes(dir.Path), reader.Bytes);
        Assert.True(reader.Bytes > entryBytes + 7000);
    }

    [Fact]
    public void AnEntryAnotherProcessEvictsOrHalfDeletesReadsAsAMissNeverCorrupt()
    {
        using var dir = new TempDir();
        var reader = DiskStore.Open(dir.Path, long.MaxValue, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!;
        var evicted = CacheKeys.Digest("evicted");
        var halfGone = CacheKeys.Digest("half");
        Assert.True(reader.Put(Entry(evicted, 500, 1)));
        Assert.True(reader.Put(Entry(halfGone, 500, 2)));
        Assert.NotNull(reader.TryGet(CacheStage.Inference, evicted).Entry);

        // Another process's eviction: metadata first, then data; a reader between the two sees metadata without data.
        File.Delete(Path.Combine(dir.Path, halfGone + DiskCacheFolder.DataExtension));
        var half = reader.TryGet(CacheStage.Inference, halfGone);
        Assert.Null(half.Entry);
        Assert.Null(half.Problem); // a miss, not "corrupt"
        Assert.True(DiskCacheFolder.Prune(dir.Path, 0).Removed >= 1);
        var gone = reader.TryGet(CacheStage.Inference, evicted);
        Assert.Null(gone.Entry);
        Assert.Null(gone.Problem);

        // An entry evicted while its data is open keeps reading whole (the unlinked file lives until closed).
        var open = CacheKeys.Digest("open");
        Assert.True(reader.Put(Entry(open, 4000, 3)));
        var data = Path.Combine(dir.Path, open + DiskCacheFolder.DataExtension);
        var expected = File.ReadAllBytes(data);
        using var stream = new FileStream(data, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        DiskCacheFolder.Prune(dir.Path, 0);
        Assert.False(File.Exists(data));
        var read = new byte[expected.Length];
        stream.ReadExactly(read);
        Assert.Equal(expected, read);
    }

    [Fact]
    public async Task PruneTakesTheFolderLockAndRecordsWhatRemainsForTheWriters()
    {
        using var dir = new TempDir();
        var store = DiskStore.Open(dir.Path, long.MaxValue, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!;
        for (var i = 0; i < 10; i++) store.Put(Entry(CacheKeys.Digest("p", i.ToString(CultureInfo.InvariantCulture)), 2000, i));
        var before = EntryBytes(dir.Path);
        Task<(int Removed, long RemainingBytes)> prune;
        // Hold the lock as a writer in the middle of an eviction would: prune waits for it.
        using (new FileStream(Path.Combine(dir.Path, DiskCacheLedger.FileName), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            prune = Task.Run(() => DiskCacheFolder.Prune(dir.Path, before / 2));
            Thread.Sleep(300);
            Assert.False(prune.IsCompleted, "prune ran without the folder's lock");
            Assert.Equal(before, EntryBytes(dir.Path));
        }
        var (removed, remaining) = await prune;
        Assert.True(removed >= 4, $"{removed} removed");
        Assert.Equal(EntryBytes(dir.Path), remaining);
        Assert.True(remaining <= before / 2);
        // The next write starts from what prune left, not from what the writer remembered.
        store.Put(Entry(CacheKeys.Digest("after"), 2000, 99));
        Assert.Equal(EntryBytes(dir.Path), store.Bytes);
    }

    /// <summary>Distinct photos (one pixel differs each), so no two inputs share a cache entry.</summary>
    internal static void WritePhotos(string folder, int count, int width = 160, int height = 120, string prefix = "img")
    {
        Directory.CreateDirectory(folder);
        using var source = Image.Load<Rgb24>(TestPaths.Image("photo_160x120.png"));
        source.Mutate(x => x.Resize(width, height));
        for (var i = 0; i < count; i++)
        {
            using var copy = source.Clone();
            copy[i % width, i / width % height] = new Rgb24((byte)(i * 7), (byte)(i * 13), (byte)(i * 29));
            var file = Path.Combine(folder, $"{prefix}{i:000}.png");
            copy.SaveAsPng(file);
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(-1));
        }
    }

    internal static string WriteConfig(TempDir dir, string cache = "", string size = "[128, 128]")
    {
        dir.Copy(TestPaths.Model("invert_nchw.onnx"), "model.onnx");
        return dir.Write("imageflow.json", $$"""
        {
          "model": { "path": "model.onnx" },
          "input": { "type": "image", "source": "images" },
          "preprocessing": { "resize": { "apply": true, "imageSize": {{size}} }, "format": { "dataType": "float32", "channels": 3 } },
          "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
          "execution": { "useCaching": "disk"{{cache}} },
          "output": {
            "save": { "apply": true, "path": "out", "format": "png", "filename": "{name}.png" },
            "saveRaw": { "apply": true, "path": "out/raw", "format": "npy" }
          }
        }
        """);
    }

    internal static Process StartCli(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ImageFlowIO.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_TieredPGO"] = "0";
        return Process.Start(info)!;
    }

    internal static async Task<(int ExitCode, string Stdout, string Stderr)> Finish(Process p)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout, await stderr);
    }

    internal static Dictionary<string, byte[]> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "summary.json")
            .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    [Fact]
    [Trait("Surface", "cli")]
    public async Task FourProcessesAtOnceWithALimitBelowTheBatchKeepTheFolderWithinIt()
    {
        using var dir = new TempDir();
        WritePhotos(dir.Combine("images"), 12);
        const int limitMb = 2;
        var config = WriteConfig(dir, cache: $$""", "cache": { "diskLimitMB": {{limitMb}} }""");
        var reference = await CliRunner.RunAsync("--config", config, "--cache", "none", "--output", dir.Combine("ref"), "--no-progress");
        Assert.True(reference.ExitCode == 0, reference.Stderr);
        var expected = Files(dir.Combine("ref"));
        Assert.Equal(24, expected.Count);
        // The output entries alone (the files' bytes) exceed the limit; inference entries come on top.
        Assert.True(expected.Values.Sum(f => (long)f.Length) > limitMb * 1024L * 1024, "the batch fits the limit: the test proves nothing");
        var cache = dir.Combine("shared-cache");
        // Round 1 starts on an empty folder, round 2 on a full one.
        for (var round = 0; round < 2; round++)
        {
            var processes = Enumerable.Range(0, 4).Select(i => StartCli("--config", config, "--cache-dir", cache,
                "--output", dir.Combine($"r{round}p{i}"), "--log-level", "debug", "--no-progress", "--concurrency", "2")).ToList();
            var runs = await Task.WhenAll(processes.Select(Finish));
            foreach (var (code, stdout, stderr) in runs)
            {
                Assert.True(code == 0, stderr);
                Assert.Contains("12 processed", stdout, StringComparison.Ordinal);
                Assert.DoesNotContain("cache/disk corrupt", stderr, StringComparison.Ordinal);
                Assert.DoesNotContain("xception", stderr, StringComparison.Ordinal);
            }
            for (var i = 0; i < 4; i++) Assert.Equal(expected, Files(dir.Combine($"r{round}p{i}")));
            if (round == 0) Assert.Contains(runs, r => r.Stderr.Contains("cache/evict", StringComparison.Ordinal));
            var folder = FolderBytes(cache);
            output.WriteLine($"round {round}: folder {folder} bytes (entries {EntryBytes(cache)}) for a limit of {limitMb * 1024L * 1024}; evictions logged: {runs.Sum(r => r.Stderr.Split('\n').Count(l => l.Contains("cache/evict", StringComparison.Ordinal)))}");
            Assert.True(folder <= limitMb * 1024L * 1024 * 11 / 10, $"round {round}: the folder holds {folder} bytes for a {limitMb} MB limit");
            Assert.True(folder >= limitMb * 1024L * 1024 / 2, $"round {round}: the folder holds only {folder} bytes");
        }
    }
}
