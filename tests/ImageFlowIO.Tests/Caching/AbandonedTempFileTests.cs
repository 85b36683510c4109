using System.Diagnostics;
using ImageFlowIO.Output;
using ImageFlowIO.Tests.Support;
using Xunit.Abstractions;

namespace ImageFlowIO.Tests.Caching;

/// <summary>Issue 22, item 5: temp files say who wrote them; a run removes those whose writer is gone, never a live writer's.</summary>
public sealed partial class AbandonedTempFileTests(ITestOutputHelper output)
{
    [System.Text.RegularExpressions.GeneratedRegex(@"(?:cache|output)/leftovers (\d+) removed")]
    private static partial System.Text.RegularExpressions.Regex LeftoversLine();

    /// <summary>A CLI log line that says the run is writing (an output file, or a cache entry).</summary>
    private static bool Working(string line) =>
        line.Contains("output/image", StringComparison.Ordinal) || line.Contains("output/raw", StringComparison.Ordinal) || line.Contains("cache/disk", StringComparison.Ordinal);

    private static (int Pid, string Token) DeadWriter()
    {
        using var child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        var token = TempFileOwner.TokenOf(child.Id)!;
        child.Kill();
        child.WaitForExit();
        return (child.Id, token);
    }

    private static string[] TempFiles(params string[] folders) =>
        folders.Where(Directory.Exists).SelectMany(f => Directory.EnumerateFiles(f, "*.tmp", SearchOption.AllDirectories)).Order().ToArray();

    [Fact]
    public void ATempFileIsAbandonedOnlyWhenItsWriterIsProvablyGone()
    {
        var now = DateTime.UtcNow;
        var (deadPid, deadToken) = DeadWriter();
        Assert.Null(TempFileOwner.TokenOf(deadPid));
        Assert.False(TempFileOwner.IsAbandoned($".a.png.{TempFileOwner.Token}.0a1b2c.tmp", now.AddDays(-3), now)); // this process: live, however old
        Assert.True(TempFileOwner.IsAbandoned($".a.png.{deadToken}.0a1b2c.tmp", now, now)); // its writer was killed a moment ago
        // The same pid with another start time is another (reused) process: its writer is gone too.
        var self = TempFileOwner.Token.Split('-');
        Assert.True(TempFileOwner.IsAbandoned($".a.png.{self[0]}-{self[1]}-{long.Parse(self[2]) + 1000}.0a1b2c.tmp", now, now));
        // Another host (a shared folder) or a name without an owner (older versions): only past the margin.
        Assert.False(TempFileOwner.IsAbandoned($".a.png.00000000-{deadPid}-1.0a1b2c.tmp", now.AddMinutes(-9), now));
        Assert.True(TempFileOwner.IsAbandoned($".a.png.00000000-{deadPid}-1.0a1b2c.tmp", now.AddMinutes(-11), now));
        Assert.False(TempFileOwner.IsAbandoned(".img032.png.2cadfa76.tmp", now.AddMinutes(-1), now));
        Assert.True(TempFileOwner.IsAbandoned(".img032.png.2cadfa76.tmp", now.AddMinutes(-11), now));
        Assert.False(TempFileOwner.IsAbandoned("notes.txt", now.AddDays(-3), now));
    }

    [Fact]
    public void AtomicWritesNameTheirWriterAndTheSweepKeepsLiveOnes()
    {
        using var dir = new TempDir();
        string[] during = [];
        AtomicFile.Write(dir.Combine("a.png"), s => { during = Directory.GetFiles(dir.Path, "*.tmp"); s.WriteByte(1); });
        Assert.Equal([$".a.png.{TempFileOwner.Token}."], during.Select(f => Path.GetFileName(f)[..^10]));
        var (_, deadToken) = DeadWriter();
        var dead = dir.Write($".b.png.{deadToken}.0a1b2c.tmp", "torn");
        var live = dir.Write(Path.GetFileName(TempFileOwner.TempPath(dir.Combine("c.png"))), "in flight");
        Assert.Equal(1, TempFileOwner.Sweep(dir.Path));
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(dir.Combine("a.png")));
    }

    [Fact]
    [Trait("Surface", "cli")]
    public async Task AfterTwentyFiveKilledRunsOneRunLeavesNoTempFileAndASecondWriterKeepsItsOwn()
    {
        using var dir = new TempDir();
        SharedFolderTests.WritePhotos(dir.Combine("images"), 60);
        SharedFolderTests.WritePhotos(dir.Combine("others"), 30, 120, 160, "other");
        var config = SharedFolderTests.WriteConfig(dir, size: "[256, 256]");
        var others = dir.Write("others.json", File.ReadAllText(config).Replace("\"source\": \"images\"", "\"source\": \"others\"", StringComparison.Ordinal));
        string[] Run(string cfg, string output, string cacheMode = "disk") =>
            ["--config", cfg, "--cache", cacheMode, "--cache-dir", dir.Combine("cache"), "--output", output, "--log-level", "debug", "--no-progress", "--concurrency", "1"];
        var reference = await CliRunner.RunAsync(Run(config, dir.Combine("ref"), "none"));
        Assert.True(reference.ExitCode == 0, reference.Stderr);
        var referenceOthers = await CliRunner.RunAsync(Run(others, dir.Combine("ref-others"), "none"));
        Assert.True(referenceOthers.ExitCode == 0, referenceOthers.Stderr);

        // 25 runs killed (SIGKILL) mid-run, two at a time, each once it has started writing.
        var random = new Random(22);
        var killed = 0;
        var deadWriters = new System.Collections.Concurrent.ConcurrentBag<string>();
        var cleanedByLaterRuns = 0;
        var leftByKills = 0;
        Parallel.ForEach(Enumerable.Range(0, 25), new ParallelOptions { MaxDegreeOfParallelism = 2 }, kill =>
        {
            int delay;
            lock (random) delay = random.Next(0, 400);
            using var child = SharedFolderTests.StartCli(Run(config, dir.Combine("out")));
            if (TempFileOwner.TokenOf(child.Id) is { } token) deadWriters.Add(token);
            var seen = new System.Text.StringBuilder();
            string? line;
            while ((line = child.StandardError.ReadLine()) is not null && seen.AppendLine(line) is var _ && !Working(line)) { }
            // Drained meanwhile, so the child never waits on a full pipe: it is killed while working.
            var rest = child.StandardError.ReadToEndAsync();
            if (kill % 2 == 0) Thread.Sleep(delay);
            else
            {
                // Every other kill lands while one of its temp files exists (the moment one is seen), as a kill inside a write does.
                var until = Environment.TickCount64 + 3000;
                while (!child.HasExited && Environment.TickCount64 < until && !Directory.EnumerateFiles(dir.Combine("out"), $"*-{child.Id}-*.tmp", SearchOption.AllDirectories).Any())
                    Thread.Yield();
            }
            if (!child.HasExited) { child.Kill(); Interlocked.Increment(ref killed); }
            child.WaitForExit();
            Interlocked.Add(ref leftByKills, TempFiles(dir.Combine("out"), dir.Combine("cache")).Count(f => f.Contains($"-{child.Id}-", StringComparison.Ordinal)));
            // What this run removed of the runs before it (the kill cut its log short wherever it was).
            foreach (var logged in (seen + rest.GetAwaiter().GetResult()).Split('\n'))
                if (LeftoversLine().Match(logged) is { Success: true } m) Interlocked.Add(ref cleanedByLaterRuns, int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        });
        var litter = TempFiles(dir.Combine("out"), dir.Combine("cache"));
        output.WriteLine($"{killed} of 25 runs killed mid-run, leaving {leftByKills} temp files; later killed runs logged removing {cleanedByLaterRuns} leftovers of earlier ones; {litter.Length} temp files left: {string.Join(", ", litter.Select(Path.GetFileName))}");
        Assert.True(killed >= 20, $"only {killed} runs were still running when killed");
        Assert.True(leftByKills >= 1, "no kill landed inside a write: the test would prove nothing about real litter");
        // Each run cleans what the runs before it left, so the last kills decide what is left: make sure every folder
        // holds a temp file of a killed writer (its real identity), as a kill inside a write leaves one.
        string[] folders = [dir.Combine("out"), dir.Combine("out", "raw"), dir.Combine("cache"), dir.Combine("cache", "models")];
        var planted = deadWriters.Select((token, i) => Path.Combine(folders[i % folders.Length], $".img{i:000}.png.{token}.0a1b2c.tmp")).ToList();
        foreach (var file in planted) { Directory.CreateDirectory(Path.GetDirectoryName(file)!); File.WriteAllText(file, "torn"); }
        Assert.Equal(25, planted.Count);

        // A live writer's temp files (this test process's) in every folder the run cleans.
        string[] live = [dir.Combine("out", "img000.png"), dir.Combine("out", "raw", "img000.npy"), dir.Combine("cache", "entry"), dir.Combine("cache", "models", "model")];
        live = live.Select(TempFileOwner.TempPath).ToArray();
        foreach (var file in live) { Directory.CreateDirectory(Path.GetDirectoryName(file)!); File.WriteAllText(file, "in flight"); }

        // A second process writes into the same output and cache folders while the run starts.
        using var second = SharedFolderTests.StartCli(Run(others, dir.Combine("out")));
        var secondErr = new System.Text.StringBuilder();
        string? first;
        while ((first = second.StandardError.ReadLine()) is not null && secondErr.AppendLine(first) is var _ && !Working(first)) { }
        var secondRest = SharedFolderTests.Finish(second);
        var run = await CliRunner.RunAsync(Run(config, dir.Combine("out")));
        var (secondCode, secondOut, secondTail) = await secondRest;
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.True(secondCode == 0, secondErr + secondTail);
        Assert.Contains("30 processed", secondOut, StringComparison.Ordinal);
        Assert.Contains(", 0 failed", secondOut, StringComparison.Ordinal);

        // The second process started first: it cleans what it finds too.
        var removedByTheRun = (run.Stderr + "\n" + secondErr + secondTail).Split('\n').Select(l => LeftoversLine().Match(l)).Where(m => m.Success).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        output.WriteLine($"the run and the second writer removed {removedByTheRun} leftovers ({planted.Count} planted for the killed writers, {litter.Length} left by the kills)");
        Assert.True(removedByTheRun >= planted.Count, $"the run logged {removedByTheRun} leftovers removed");
        Assert.All(live, f => Assert.True(File.Exists(f), f + " (a live writer's) was removed"));
        foreach (var file in live) File.Delete(file);
        Assert.Empty(TempFiles(dir.Combine("out"), dir.Combine("cache")));
        var outputs = SharedFolderTests.Files(dir.Combine("out"));
        foreach (var (name, bytes) in SharedFolderTests.Files(dir.Combine("ref")).Concat(SharedFolderTests.Files(dir.Combine("ref-others"))))
            Assert.True(outputs.TryGetValue(name, out var actual) && actual.AsSpan().SequenceEqual(bytes), name + " differs from a clean run");
    }
}
