using System.Diagnostics;
using System.Text.Json.Nodes;
using ImageFlowIO.Config;

namespace ImageFlowIO.Benchmarks.EndToEnd;

/// <summary>The pipeline side of the harness, run in its own process: build the pipeline, run the folder, optionally run it again.</summary>
internal static class E2eChild
{
    public static async Task<int> RunPipelineAsync(string[] argv)
    {
        var args = new Args(argv);
        var cache = args.Required("cache") switch { "none" => CacheMode.None, "memory" => CacheMode.Memory, _ => CacheMode.Disk };
        var workers = args.Int("workers", 2);
        var sw = Stopwatch.StartNew();
        // Timed from here: loading the config and the model session is part of a cold run.
        var parsed = ConfigParser.ParseFile(args.Required("config"));
        var config = parsed.Config ?? throw new InvalidOperationException(string.Join("\n", parsed.Diagnostics));
        using var pipeline = Pipeline.Create(config, new PipelineOptions
        {
            CacheMode = cache,
            CacheDirectory = args.Optional("cache-dir"),
            OutputDirectory = args.Required("out"),
            MaxParallelism = workers,
            KeepOutputTensors = false, // as the CLI and the MSBuild task run folders
            IntraOpThreads = args.Optional("threads") is { } t ? int.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : null,
        });
        var inputs = Directory.EnumerateFiles(config.ResolvePath(config.Input.Source!))
            .Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).Select(f => new InputItem(f)).ToArray();
        if (args.Flag("stream")) return await StreamAsync(pipeline, inputs, workers, sw);
        var batch = await pipeline.RunBatchAsync(inputs);
        var batchMs = sw.Elapsed.TotalMilliseconds;
        var failed = batch.Items.Count(i => i.Error is not null);
        if (failed > 0) throw new InvalidOperationException($"{failed} inputs failed; first: {batch.Items.First(i => i.Error is not null).Error}");

        var result = new JsonObject
        {
            ["batch_ms"] = Math.Round(batchMs, 1),
            ["stage_ms"] = StageTotals(batch.Items),
            ["cache"] = batch.Cache.ToString(),
            ["disk_bytes_written"] = batch.Cache.Disk.BytesWritten,
            ["disk_bytes_read"] = batch.Cache.Disk.BytesRead,
            ["peak_rss_mb"] = E2eHarness.PeakRssMb(),
            ["cpu_ms"] = E2eHarness.CpuMs(),
            ["system_cpu_ms"] = E2eHarness.SystemCpuMs(),
            ["gc_counts"] = $"{GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}",
        };
        if (args.Flag("rerun"))
        {
            sw.Restart();
            var cpuBefore = E2eHarness.CpuMs();
            var again = await pipeline.RunBatchAsync(inputs);
            result["rerun_cpu_ms"] = Math.Round(E2eHarness.CpuMs() - cpuBefore, 1);
            result["rerun_ms"] = Math.Round(sw.Elapsed.TotalMilliseconds, 1);
            result["rerun_stage_ms"] = StageTotals(again.Items);
            result["rerun_cache"] = again.Cache.ToString();
        }
        result["peak_rss_after_rerun_mb"] = E2eHarness.PeakRssMb();
        E2eHarness.Report(result);
        return 0;
    }

    /// <summary>
    /// Runs every input through RunAsync and keeps no result: what peak memory would be if a batch did not hold
    /// every output tensor until it ends (BatchResult keeps PipelineResult.Output for each input).
    /// </summary>
    private static async Task<int> StreamAsync(Pipeline pipeline, InputItem[] inputs, int workers, Stopwatch sw)
    {
        var failed = 0;
        await Parallel.ForEachAsync(inputs, new ParallelOptions { MaxDegreeOfParallelism = workers }, async (item, ct) =>
        {
            var result = await pipeline.RunAsync(item.Path, ct);
            if (!result.Succeeded) Interlocked.Increment(ref failed);
        });
        if (failed > 0) throw new InvalidOperationException($"{failed} inputs failed");
        E2eHarness.Report(new JsonObject
        {
            ["batch_ms"] = Math.Round(sw.Elapsed.TotalMilliseconds, 1),
            ["stage_ms"] = new JsonObject(),
            ["cache"] = pipeline.CacheStatistics.ToString(),
            ["peak_rss_mb"] = E2eHarness.PeakRssMb(),
            ["cpu_ms"] = E2eHarness.CpuMs(),
        });
        return 0;
    }

    private static JsonObject StageTotals(IEnumerable<PipelineResult> items)
    {
        var totals = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var item in items)
            foreach (var (stage, ms) in item.TimingsMs ?? new Dictionary<string, double>())
                totals[stage] = totals.GetValueOrDefault(stage) + ms;
        var o = new JsonObject();
        foreach (var (k, v) in totals) o[k] = Math.Round(v, 1);
        return o;
    }
}
