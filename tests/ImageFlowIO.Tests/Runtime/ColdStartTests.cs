using ImageFlowIO.Caching;
using ImageFlowIO.Inference;
using ImageFlowIO.Tests.Caching;
using ImageFlowIO.Tests.Support;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Tests.Runtime;

/// <summary>
/// The cold path's fixed cost off the images' critical path: without a cache every input runs the model, so the session
/// starts loading when the batch starts, before the first input is read and decided; with a cache it waits for the first
/// input that misses, so a fully cached run still never loads ONNX Runtime.
/// </summary>
public sealed class ColdStartTests
{
    /// <summary>Logs like <see cref="ListLoggerProvider"/> and notes, as each input's decision is logged, whether the model's session was asked for yet.</summary>
    private sealed class DecisionProbe : ILoggerFactory, ILogger
    {
        public Func<bool>? OpeningStarted;
        public readonly List<bool> AtDecisions = [];
        public readonly List<string> Lines = [];
        public ILogger CreateLogger(string categoryName) => this;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = formatter(state, exception);
            lock (Lines)
            {
                Lines.Add(line);
                if (line.StartsWith("input/decision", StringComparison.Ordinal)) AtDecisions.Add(OpeningStarted?.Invoke() ?? false);
            }
        }
    }

    private static async Task<(BatchResult Batch, DecisionProbe Probe, Pipeline Pipeline)> Run(CacheScenario s, ImageFlowIO.Config.CacheMode mode, string? outDir = null)
    {
        var probe = new DecisionProbe();
        var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { LoggerFactory = probe, CacheMode = mode, OutputDirectory = outDir ?? s.OutDir, MaxParallelism = 2 });
        if (pipeline.Backend is OnnxBackend onnx) probe.OpeningStarted = () => onnx.OpeningStarted;
        var batch = await pipeline.RunBatchAsync(s.Inputs);
        return (batch, probe, pipeline);
    }

    [Fact]
    public async Task Without_a_cache_the_session_is_asked_for_before_the_first_input_is_decided_and_the_outputs_are_the_same()
    {
        using var s = new CacheScenario();
        s.WriteConfig(resize: "[64, 48]");
        var (batch, probe, pipeline) = await Run(s, ImageFlowIO.Config.CacheMode.None);
        using (pipeline)
        {
            Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
            Assert.Equal(s.Inputs.Count, probe.AtDecisions.Count);
            // Every decision, the first included, was logged after the session was asked for (before: on the first miss, after it).
            Assert.All(probe.AtDecisions, Assert.True);
            Assert.Contains(probe.Lines, l => l.StartsWith("model/session open model.onnx", StringComparison.Ordinal));
            Assert.Equal(s.Inputs.Count, pipeline.InferenceRuns);
        }
        // The same bytes as a run whose session opened on the first miss (a disk cache, cold).
        var (cached, cachedProbe, cachedPipeline) = await Run(s, ImageFlowIO.Config.CacheMode.Disk, s.Dir.Combine("out-disk"));
        using (cachedPipeline)
        {
            Assert.All(cached.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
            Assert.False(cachedProbe.AtDecisions[0]); // a cache might serve it: nothing loads before an input misses
        }
        foreach (var item in batch.Items)
        {
            var name = Path.GetFileName(item.Outputs[0]);
            Assert.Equal(File.ReadAllBytes(item.Outputs[0]), File.ReadAllBytes(s.Dir.Combine("out-disk", name)));
        }
    }

    [Fact]
    public async Task A_fully_cached_run_and_the_noop_backend_never_ask_for_a_session()
    {
        using var s = new CacheScenario();
        s.WriteConfig(resize: "[64, 48]");
        var (_, _, first) = await Run(s, ImageFlowIO.Config.CacheMode.Disk);
        first.Dispose();
        var (rerun, probe, pipeline) = await Run(s, ImageFlowIO.Config.CacheMode.Disk);
        using (pipeline)
        {
            Assert.All(rerun.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
            Assert.All(probe.AtDecisions, Assert.False);
            Assert.False(((OnnxBackend)pipeline.Backend).OpeningStarted);
            Assert.DoesNotContain(probe.Lines, l => l.StartsWith("model/session open", StringComparison.Ordinal));
        }
        var noop = new DecisionProbe();
        using var plain = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { LoggerFactory = noop, CacheMode = ImageFlowIO.Config.CacheMode.None, OutputDirectory = s.Dir.Combine("out-noop"), Backend = ImageFlowIO.Config.BackendKind.Noop });
        var batch = await plain.RunBatchAsync(s.Inputs);
        Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
        Assert.IsType<NoopBackend>(plain.Backend);
        Assert.DoesNotContain(noop.Lines, l => l.StartsWith("model/session open", StringComparison.Ordinal));
    }
}
