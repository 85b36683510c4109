using ImageFlowIO.Caching;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Caching;

/// <summary>Which inference entries the disk layer gets (<see cref="DiskAdmission"/>): thresholds are fixed here, so nothing depends on timing.</summary>
public sealed class DiskAdmissionTests
{
    private const long OneMiB = 1024 * 1024;

    [Fact]
    public void SmallEntriesAreAlwaysKeptLargeOnesByTheCheapestCostPerMiBSeen()
    {
        var admission = new DiskAdmission();
        Assert.True(admission.KeepInference(DiskAdmission.AlwaysKeptBytes, 0, out _));
        Assert.True(double.IsPositiveInfinity(admission.CheapestMsPerMiB)); // small entries teach it nothing

        Assert.True(admission.KeepInference(2 * OneMiB, 400, out var perMiB));
        Assert.Equal(200, perMiB);
        Assert.False(admission.KeepInference(2 * OneMiB, 100, out perMiB));
        Assert.Equal(50, perMiB);
        // A later slow (contended) measurement is judged by the cheapest one seen.
        Assert.False(admission.KeepInference(2 * OneMiB, 1000, out perMiB));
        Assert.Equal(50, perMiB);
        Assert.Equal(50, admission.CheapestMsPerMiB);
    }

    private static Pipeline Open(CacheScenario s, ListLoggerProvider log, string outDir, bool keepTensors, double threshold)
    {
        var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { LoggerFactory = log, OutputDirectory = outDir, MaxParallelism = 2, KeepOutputTensors = keepTensors });
        pipeline.DiskAdmission.MinSavedMsPerMiB = threshold;
        return pipeline;
    }

    private static async Task<(BatchResult Batch, int InferenceRuns, Dictionary<string, byte[]> Files)> RunAsync(CacheScenario s, ListLoggerProvider log, string outDir, bool keepTensors, double threshold)
    {
        using var pipeline = Open(s, log, outDir, keepTensors, threshold);
        var batch = await pipeline.RunBatchAsync(s.Inputs);
        Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
        return (batch, pipeline.InferenceRuns, batch.Items.SelectMany(i => i.Outputs).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes));
    }

    private static int Lines(ListLoggerProvider log, string what, string stage) => log.Lines.Count(l => l.Contains(what, StringComparison.Ordinal) && l.Contains($"({stage}", StringComparison.Ordinal));

    [Fact]
    public async Task AHostThatKeepsNoTensorsSkipsCheapLargeInferenceEntriesAndItsOutputEntriesServeTheRerun()
    {
        using var s = new CacheScenario();
        s.WriteConfig(resize: "[320, 320]"); // 1.2 MB float32 model outputs: over the always-kept size
        var reference = await RunAsync(s, new ListLoggerProvider(), s.Dir.Combine("ref"), keepTensors: false, threshold: double.MaxValue);
        Directory.Delete(s.CacheDir, recursive: true);

        var log = new ListLoggerProvider();
        var cold = await RunAsync(s, log, s.Dir.Combine("out-a"), keepTensors: false, threshold: double.MaxValue);
        Assert.Equal(4, cold.InferenceRuns);
        Assert.Equal(4, Lines(log, "cache/disk skip", "inference"));
        Assert.Equal(0, Lines(log, "cache/disk write", "inference"));
        Assert.Equal(4, Lines(log, "cache/disk write", "output"));
        Assert.Equal(4, s.EntryFiles(".json").Length);
        Assert.True(cold.Batch.Cache.Disk.BytesWritten < 4 * DiskAdmission.AlwaysKeptBytes);

        // Another output folder: the output entries serve it, no model run, the same bytes.
        var rerunLog = new ListLoggerProvider();
        var rerun = await RunAsync(s, rerunLog, s.Dir.Combine("out-b"), keepTensors: false, threshold: double.MaxValue);
        Assert.Equal(0, rerun.InferenceRuns);
        Assert.Equal(4, Lines(rerunLog, "cache/disk hit", "output"));
        foreach (var (name, bytes) in reference.Files) Assert.Equal(bytes, rerun.Files[name]);

        // A postprocessing change has no inference entry to reuse: the model runs again, and the outputs are right.
        s.WriteConfig(postprocessing: "\"denormalize\": { \"apply\": true, \"scale\": 128, \"dtype\": \"uint8\" }", resize: "[320, 320]");
        var changedReference = await RunAsync(s, new ListLoggerProvider(), s.Dir.Combine("ref2"), keepTensors: false, threshold: double.MaxValue);
        Assert.Equal(4, changedReference.InferenceRuns);
        Assert.NotEqual(reference.Files["photo_160x120.png"], changedReference.Files["photo_160x120.png"]);
    }

    [Theory]
    [InlineData(true, double.MaxValue)] // the host keeps tensors: a re-run is served by the inference entry itself
    [InlineData(false, 0.0)] // the model costs more per MiB than the threshold
    public async Task InferenceEntriesAreWrittenWhenTheHostNeedsThemOrTheyAreWorthTheirBytes(bool keepTensors, double threshold)
    {
        using var s = new CacheScenario();
        s.WriteConfig(resize: "[320, 320]");
        var log = new ListLoggerProvider();
        await RunAsync(s, log, s.OutDir, keepTensors, threshold);
        Assert.Equal(0, log.Count("cache/disk skip"));
        Assert.Equal(4, Lines(log, "cache/disk write", "inference"));

        var rerunLog = new ListLoggerProvider();
        var rerun = await RunAsync(s, rerunLog, s.Dir.Combine("out-b"), keepTensors, threshold);
        Assert.Equal(0, rerun.InferenceRuns);
    }
}
