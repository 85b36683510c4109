using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageFlowIO.Cli;

/// <summary>
/// <c>imageflowio benchmark</c>: honest measurements of the user's own config on the user's own images, through the
/// same <see cref="Pipeline"/> the CLI runs (no stage re-implemented): warm-up passes first, then per-stage latency
/// from <see cref="PipelineResult.TimingsMs"/>, cold vs memory- vs disk-cached runs, throughput for 1..N workers and
/// peak memory. Outputs go to a temporary folder, never the config's output folders.
/// </summary>
internal static class BenchmarkCommand
{
    internal static readonly string[] Types = ["backend", "pipeline", "memory", "scalability", "all"];
    internal static readonly string[] Formats = ["json", "html", "csv"];

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("benchmark", "Measure the config on your images: per-stage latency (p50/p95), cold vs cached runs, throughput by workers, peak memory");
        var type = new Option<string>("--benchmark-type") { HelpName = "type", Description = "backend, pipeline, memory, scalability or all", DefaultValueFactory = _ => "all" };
        type.AcceptOnlyFromAmong(Types);
        var config = new Option<string?>("--benchmark-config", "--config", "-c") { HelpName = "file", Description = "Config to measure (default: imageflow.json, then config.json in the current folder)" };
        var input = new Option<string?>("--input", "-i") { HelpName = "file|dir", Description = "Images to measure on (default: the config's input.source)" };
        var output = new Option<string?>("--benchmark-output") { HelpName = "file", Description = "Report file (default: imageflowio-benchmark.<format> in the current folder)" };
        var format = new Option<string?>("--benchmark-format") { HelpName = "format", Description = "json (default), html or csv; by default taken from the --benchmark-output extension" };
        format.AcceptOnlyFromAmong(Formats);
        var iterations = new Option<int>("--benchmark-iterations") { HelpName = "n", Description = "Measured passes over the images", DefaultValueFactory = _ => 10 };
        iterations.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--benchmark-iterations must be at least 1"); });
        var warmup = new Option<int>("--benchmark-warmup") { HelpName = "n", Description = "Unmeasured passes first", DefaultValueFactory = _ => 2 };
        warmup.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--benchmark-warmup must be 0 or more"); });
        var workers = new Option<int?>("--benchmark-workers") { HelpName = "n", Description = "Most workers the scalability run tries (default: number of cores)" };
        workers.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--benchmark-workers must be at least 1"); });
        var backend = new Option<string?>("--backend") { Description = "auto, onnx or noop (overrides execution.backend)" };
        backend.AcceptOnlyFromAmong("auto", "onnx", "noop");
        var minSeconds = new Option<double>("--benchmark-min-seconds") { HelpName = "s", Description = "Least measured time per worker count in the scalability run (passes repeat until reached)", DefaultValueFactory = _ => 3 };
        minSeconds.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 0 or double.NaN) r.AddError("--benchmark-min-seconds must be 0 or more"); });
        foreach (var o in new Option[] { type, config, input, output, format, iterations, warmup, workers, backend, minSeconds }) command.Options.Add(o);

        command.SetAction(async (parse, ct) =>
        {
            var outputPath = parse.GetValue(output);
            var fmt = parse.GetValue(format)
                ?? (Path.GetExtension(outputPath ?? "").TrimStart('.').ToLowerInvariant() is var ext && Formats.Contains(ext) ? ext : "json");
            var run = new BenchmarkRun(stdout, stderr)
            {
                ConfigPath = parse.GetValue(config),
                InputPath = parse.GetValue(input),
                Type = parse.GetValue(type)!,
                Iterations = parse.GetValue(iterations),
                Warmup = parse.GetValue(warmup),
                MaxWorkers = parse.GetValue(workers) ?? Math.Max(1, Environment.ProcessorCount),
                Backend = parse.GetValue(backend) is { } b ? Enum.Parse<BackendKind>(b, ignoreCase: true) : null,
                MinMeasuredSeconds = parse.GetValue(minSeconds),
            };
            var (exit, report) = await run.ExecuteAsync(ct).ConfigureAwait(false);
            if (report is null) return exit;
            var path = Path.GetFullPath(outputPath ?? "imageflowio-benchmark." + fmt);
            var text = fmt switch { "csv" => BenchmarkReportWriter.Csv(report), "html" => BenchmarkReportWriter.HtmlPage(report), _ => BenchmarkReportWriter.Json(report) };
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, text, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"{path}: error {ErrorCodes.OutputNotWritable}: the benchmark report cannot be written ({ex.Message}); choose another --benchmark-output");
                return ExitCodes.OutputNotWritable;
            }
            stdout.WriteLine($"report: {path}");
            return exit;
        });
        return command;
    }
}

/// <summary>One benchmark: loads the config and images, runs the measurements the type asks for, prints a summary.</summary>
internal sealed class BenchmarkRun(TextWriter stdout, TextWriter stderr)
{
    public string? ConfigPath { get; init; }
    public string? InputPath { get; init; }
    public required string Type { get; init; }
    public required int Iterations { get; init; }
    public required int Warmup { get; init; }
    public required int MaxWorkers { get; init; }
    public BackendKind? Backend { get; init; }
    /// <summary>Least measured time per worker count (scalability): passes repeat until it is reached, so one stall weighs little.</summary>
    public double MinMeasuredSeconds { get; init; } = 3;

    private static readonly string[] StageOrder = ["read", "decode", "preprocess", "inference", "postprocessAndSave"];

    private bool Wants(string type) => Type == "all" || Type == type || (type == "stages" && Type is "pipeline" or "backend");

    public async Task<(int Exit, BenchmarkReport? Report)> ExecuteAsync(CancellationToken ct)
    {
        var configPath = ConfigPath ?? new[] { "imageflow.json", "config.json" }.FirstOrDefault(File.Exists);
        if (configPath is null)
        {
            stderr.WriteLine($"error {ConfigErrorCodes.ConfigNotFound}: no config given and no imageflow.json or config.json in the current folder; pass --benchmark-config <file>");
            return (ExitCodes.UsageOrConfig, null);
        }
        var parsed = ConfigParser.ParseFile(configPath);
        foreach (var d in parsed.Diagnostics) stderr.WriteLine(d.ToString());
        if (parsed.Config is not { } cfg) return (ExitCodes.UsageOrConfig, null);

        var inputPath = InputPath is not null ? Path.GetFullPath(InputPath) : cfg.Input.Source is { } s ? cfg.ResolvePath(s) : null;
        if (inputPath is null) return (ImageFlowCli.UsageError(stderr, "no images: pass --input <file|folder> or set input.source in the config"), null);
        var images = Directory.Exists(inputPath) ? RunCommand.InputFiles(inputPath).Select(i => i.Path).ToList()
            : File.Exists(inputPath) ? [inputPath] : [];
        if (images.Count == 0)
        {
            stderr.WriteLine($"{inputPath}: error {ErrorCodes.ImageNotFound}: no images to measure on; check --input or input.source");
            return (ExitCodes.UsageOrConfig, null);
        }

        var scratch = Path.Combine(Path.GetTempPath(), "imageflowio-benchmark-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            return await MeasureAsync(cfg, images, scratch, ct).ConfigureAwait(false);
        }
        catch (ImageFlowException ex)
        {
            stderr.WriteLine(ex.ToString());
            return (ExitCodes.For(ex), null);
        }
        finally
        {
            try { if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private PipelineOptions Options(string outputFolder, CacheMode cache, int parallelism, string? cacheFolder = null, StageCache? shared = null) => new()
    {
        Cache = shared,
        OutputDirectory = outputFolder,
        Backend = Backend,
        CacheMode = cache,
        CacheDirectory = cacheFolder,
        MaxParallelism = parallelism,
        KeepOutputTensors = false,
    };

    private async Task<(int, BenchmarkReport?)> MeasureAsync(PipelineConfig cfg, List<string> images, string scratch, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        StageLatency[]? stages = null;
        LatencyStats? total = null;
        double? stageSum = null, unaccounted = null;
        var cacheRuns = new List<CacheRun>();
        string backendName, layout;

        using (var cold = Pipeline.Create(cfg, Options(Path.Combine(scratch, "cold"), CacheMode.None, 1)))
        {
            backendName = cold.BackendKind.ToString().ToLowerInvariant();
            layout = cold.Layout.ToString().ToLowerInvariant();
            // Warm-up: JIT, ONNX Runtime session and the config's own warmupRuns, none of it measured.
            for (var w = 0; w < Warmup; w++)
                foreach (var image in images)
                    if (await RunOneAsync(cold, image, ct).ConfigureAwait(false) is { Result.Error: { } error }) throw error;

            if (Wants("stages") || Wants("pipeline"))
            {
                var samples = await PassesAsync(cold, images, ct).ConfigureAwait(false);
                var totals = samples.Select(x => x.TotalMs).ToList();
                total = LatencyStats.Of(totals);
                var present = StageOrder.Where(st => samples.Any(x => x.Result.TimingsMs.ContainsKey(st))).ToList();
                // A backend benchmark reports the inference stage: the runtime runs the model only inside a full pipeline run.
                if (Type == "backend") present = present.Where(st => st == "inference").ToList();
                stages = present.Select(st => new StageLatency(st, LatencyStats.Of(samples.Select(x => x.Result.TimingsMs.GetValueOrDefault(st)).ToList()))).ToArray();
                var sums = samples.Select(x => StageOrder.Sum(st => x.Result.TimingsMs.GetValueOrDefault(st))).ToList();
                stageSum = LatencyStats.Round(sums.Average());
                unaccounted = LatencyStats.Round(totals.Average() - sums.Average());
                if (Wants("pipeline")) cacheRuns.Add(CacheRunOf("cold", samples, cold.CacheStatistics, new()));
            }
        }

        var shortfalls = new List<string>();
        if (Wants("pipeline"))
        {
            var coldMean = cacheRuns.FirstOrDefault(c => c.Mode == "cold")?.PerImage.MeanMs;
            double? OfCold(CacheRun run) => coldMean is > 0 ? Math.Round(run.PerImage.MeanMs / coldMean.Value, 4) : null;
            // The memory layer as it ships (outputs kept first, S3-FIFO), then the plain LRU it replaced, on the same images:
            // a filling pass, then the measured repeats in the same process.
            foreach (var (mode, eviction, admission) in new[] { ("memory", MemoryEviction.S3Fifo, true), ("memory-lru", MemoryEviction.Lru, false) })
            {
                using var cache = StageCacheFactory.Create(cfg.Execution.Cache.MemoryLimitMB * 1024L * 1024, null, 0, CacheCompression.None, NullLogger.Instance, null, eviction, admission);
                using var memory = Pipeline.Create(cfg, Options(Path.Combine(scratch, mode), CacheMode.Memory, 1, shared: cache));
                await PassAsync(memory, images, ct).ConfigureAwait(false); // fills the cache
                var before = Snapshot(memory.CacheStatistics);
                var samples = await PassesAsync(memory, images, ct).ConfigureAwait(false);
                var run = CacheRunOf(mode, samples, memory.CacheStatistics, before) with
                {
                    ExpectedHits = (long)images.Count * Iterations,
                    Policy = admission ? "outputs first, S3-FIFO" : "one class, LRU",
                };
                run = run with { ColdRatio = OfCold(run) };
                cacheRuns.Add(run);
                // The shipped policy must serve every repeat while the output entries fit (none of them was evicted).
                var store = cache.Stores.OfType<MemoryStore>().Single();
                if (admission && run.MemoryHits < run.ExpectedHits && store.EvictedKeptFirst == 0)
                    shortfalls.Add($"the memory-cached passes hit {run.MemoryHits} of {run.ExpectedHits} inputs although every output entry stayed in memory");
            }
            var diskFolder = Path.Combine(scratch, "disk-cache");
            using (var fill = Pipeline.Create(cfg, Options(Path.Combine(scratch, "disk"), CacheMode.Disk, 1, diskFolder)))
                await PassAsync(fill, images, ct).ConfigureAwait(false);
            var diskSamples = new List<Sample>();
            long diskHits = 0, memoryHits = 0, misses = 0;
            for (var i = 0; i < Iterations; i++)
            {
                // A fresh pipeline per pass: its memory layer is empty, so every entry comes from the disk.
                using var disk = Pipeline.Create(cfg, Options(Path.Combine(scratch, "disk"), CacheMode.Disk, 1, diskFolder));
                diskSamples.AddRange(await PassAsync(disk, images, ct).ConfigureAwait(false));
                diskHits += disk.CacheStatistics.Disk.Hits;
                memoryHits += disk.CacheStatistics.Memory.Hits;
                misses += disk.CacheStatistics.Disk.Misses;
            }
            var diskRun = new CacheRun("disk", LatencyStats.Of(diskSamples.Select(x => x.TotalMs).ToList()), Throughput(diskSamples), memoryHits, diskHits, misses,
                ExpectedHits: (long)images.Count * Iterations);
            cacheRuns.Add(diskRun with { ColdRatio = OfCold(diskRun) });
            if (diskHits + memoryHits < diskRun.ExpectedHits)
                shortfalls.Add($"the disk-cached passes hit {diskHits + memoryHits} of {diskRun.ExpectedHits} inputs (is the disk cache writable?)");
        }

        ScalabilityPoint[]? scalability = null;
        if (Wants("scalability")) scalability = await ScalabilityAsync(cfg, images, scratch, ct).ConfigureAwait(false);

        MemoryUse? memoryUse = null;
        if (Wants("memory")) memoryUse = await MemoryAsync(cfg, images, scratch, ct).ConfigureAwait(false);

        var report = new BenchmarkReport
        {
            Version = ImageFlowCli.Version,
            StartedUtc = started,
            Config = cfg.ConfigPath ?? "",
            Backend = backendName,
            Layout = layout,
            Images = images.Count,
            Iterations = Iterations,
            Warmup = Warmup,
            Types = Type == "all" ? ["backend", "pipeline", "memory", "scalability"] : [Type],
            Machine = new MachineInfo(RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, Environment.ProcessorCount),
            Stages = stages,
            Total = total,
            StageSumMeanMs = stageSum,
            UnaccountedMeanMs = unaccounted,
            CacheRuns = cacheRuns.Count > 0 ? cacheRuns.ToArray() : null,
            Scalability = scalability,
            Memory = memoryUse,
        };
        PrintSummary(report);
        // Loud: a cached mode that did not hit measured something else than the cache; the report is still written.
        foreach (var shortfall in shortfalls) stderr.WriteLine($"error: benchmark: {shortfall}; its numbers do not measure the cache");
        return (shortfalls.Count > 0 ? ExitCodes.SomeInputsFailed : ExitCodes.Ok, report);
    }

    private sealed record Sample(PipelineResult Result, double TotalMs);

    private static async Task<Sample> RunOneAsync(Pipeline pipeline, string image, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var result = await pipeline.RunAsync(image, ct).ConfigureAwait(false);
        return new Sample(result, sw.Elapsed.TotalMilliseconds);
    }

    /// <summary>One pass over the images, one at a time; a failing image stops the benchmark (its numbers would mean nothing).</summary>
    private static async Task<List<Sample>> PassAsync(Pipeline pipeline, List<string> images, CancellationToken ct)
    {
        var samples = new List<Sample>(images.Count);
        foreach (var image in images)
        {
            var sample = await RunOneAsync(pipeline, image, ct).ConfigureAwait(false);
            if (sample.Result.Error is { } error) throw error;
            samples.Add(sample);
            // Untimed: outputs still as written would be found up to date (only stat-ed), so the next pass would not measure the cache layer.
            foreach (var file in sample.Result.Outputs)
                try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return samples;
    }

    private async Task<List<Sample>> PassesAsync(Pipeline pipeline, List<string> images, CancellationToken ct)
    {
        var all = new List<Sample>(images.Count * Iterations);
        for (var i = 0; i < Iterations; i++) all.AddRange(await PassAsync(pipeline, images, ct).ConfigureAwait(false));
        return all;
    }

    private static double Throughput(List<Sample> samples) => Math.Round(samples.Count / Math.Max(1e-9, samples.Sum(x => x.TotalMs) / 1000), 2);

    private sealed record StatsSnapshot(long MemoryHits = 0, long DiskHits = 0, long Misses = 0);

    private static StatsSnapshot Snapshot(ImageFlowIO.Caching.CacheStatistics s) => new(s.Memory.Hits, s.Disk.Hits, s.Memory.Misses);

    private static CacheRun CacheRunOf(string mode, List<Sample> samples, ImageFlowIO.Caching.CacheStatistics after, StatsSnapshot before) =>
        new(mode, LatencyStats.Of(samples.Select(x => x.TotalMs).ToList()), Throughput(samples),
            after.Memory.Hits - before.MemoryHits, after.Disk.Hits - before.DiskHits, after.Memory.Misses - before.Misses);

    /// <summary>
    /// Images per second for 1, 2, 4, … workers up to the most asked for, each after its own warm-up at that width (sessions,
    /// buffers and JIT for w concurrent runs: at least --benchmark-warmup batches and one second), then passes of the images
    /// repeated once per iteration (each copy written to its own folder) until <see cref="MinMeasuredSeconds"/> have passed.
    /// A speedup beyond min(workers, cores) cannot be scaling: it is flagged as noise.
    /// </summary>
    private async Task<ScalabilityPoint[]> ScalabilityAsync(PipelineConfig cfg, List<string> images, string scratch, CancellationToken ct)
    {
        var counts = new List<int>();
        for (var w = 1; w < MaxWorkers; w *= 2) counts.Add(w);
        counts.Add(MaxWorkers);
        var points = new List<ScalabilityPoint>();
        foreach (var w in counts)
        {
            var folder = Path.Combine(scratch, "scale-" + w.ToString(CultureInfo.InvariantCulture));
            using var pipeline = Pipeline.Create(cfg, Options(folder, CacheMode.None, w));
            var items = Enumerable.Range(0, Iterations).SelectMany(k => images.Select(image => new InputItem(image) { OutputDirectory = Path.Combine(folder, k.ToString(CultureInfo.InvariantCulture)) })).ToList();
            var warmItems = items.Take(Math.Max(2 * w, images.Count)).ToList();
            var warm = Stopwatch.StartNew();
            for (var batches = 0; batches < Math.Max(1, Warmup) || (warm.Elapsed.TotalSeconds < Math.Min(1, MinMeasuredSeconds) && batches < 100); batches++)
                await pipeline.RunBatchAsync(warmItems, null, ct).ConfigureAwait(false);
            var sw = Stopwatch.StartNew();
            var passes = 0;
            do
            {
                var batch = await pipeline.RunBatchAsync(items, null, ct).ConfigureAwait(false);
                if (batch.Items.FirstOrDefault(i => !i.Succeeded)?.Error is { } error) throw error;
                passes++;
            }
            while (sw.Elapsed.TotalSeconds < MinMeasuredSeconds && passes < 10_000);
            var elapsed = sw.Elapsed.TotalMilliseconds;
            var done = items.Count * passes;
            var perSecond = done / Math.Max(1e-9, elapsed / 1000);
            var speedup = Math.Round(perSecond / (points.Count > 0 ? points[0].ImagesPerSecond : perSecond), 2);
            var noise = speedup > Math.Min(w, Environment.ProcessorCount) * 1.1;
            points.Add(new ScalabilityPoint(w, done, LatencyStats.Round(elapsed), Math.Round(perSecond, 2), speedup, noise, passes));
        }
        return points.ToArray();
    }

    /// <summary>One pass over the images at the CLI's default concurrency (no cache), the process's memory sampled every 5 ms.</summary>
    private async Task<MemoryUse> MemoryAsync(PipelineConfig cfg, List<string> images, string scratch, CancellationToken ct)
    {
        var workers = Math.Max(1, Environment.ProcessorCount);
        using var pipeline = Pipeline.Create(cfg, Options(Path.Combine(scratch, "memory-use"), CacheMode.None, workers));
        var items = images.Select(i => new InputItem(i)).ToList();
        await pipeline.RunBatchAsync(items, null, ct).ConfigureAwait(false); // warm-up
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var baseline = process.WorkingSet64;
        long peakWorkingSet = baseline, peakManaged = GC.GetTotalMemory(false);
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                process.Refresh();
                peakWorkingSet = Math.Max(peakWorkingSet, process.WorkingSet64);
                peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
                try { await Task.Delay(5, stop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
        });
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var batch = await pipeline.RunBatchAsync(items, null, ct).ConfigureAwait(false);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        stop.Cancel();
        await sampler.ConfigureAwait(false);
        if (batch.Items.FirstOrDefault(i => !i.Succeeded)?.Error is { } error) throw error;
        return new MemoryUse(items.Count, workers, baseline, peakWorkingSet, peakManaged, allocated / items.Count);
    }

    private void PrintSummary(BenchmarkReport r)
    {
        stdout.WriteLine($"benchmark: {r.Config} ({r.Backend}, {r.Images} image(s), {r.Iterations} pass(es) after {r.Warmup} warm-up)");
        foreach (var s in r.Stages ?? [])
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {s.Stage,-20} p50 {s.Latency.P50Ms,9:0.000} ms   p95 {s.Latency.P95Ms,9:0.000} ms"));
        if (r.Total is { } t)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"total",-20} p50 {t.P50Ms,9:0.000} ms   p95 {t.P95Ms,9:0.000} ms   (stages {r.StageSumMeanMs:0.000} ms of {t.MeanMs:0.000} ms mean)"));
        foreach (var c in r.CacheRuns ?? [])
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  cache {c.Mode,-14} mean {c.PerImage.MeanMs,9:0.000} ms   {c.ImagesPerSecond,9:0.0} images/s   hits: memory {c.MemoryHits}, disk {c.DiskHits}{(c.ExpectedHits is { } e ? $" of {e}" : "")}{(c.ColdRatio is { } x ? $"   {x * 100:0.0}% of cold" : "")}{(c.Policy is { } p ? $"   ({p})" : "")}"));
        foreach (var p in r.Scalability ?? [])
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {p.Workers,3} workers        {p.ImagesPerSecond,9:0.0} images/s   ×{p.Speedup:0.00}   ({p.Images} images in {p.ElapsedMs / 1000:0.0} s){(p.Noise ? $"   noise: beyond {Math.Min(p.Workers, r.Machine.ProcessorCount)} core(s), not scaling" : "")}"));
        if (r.Memory is { } m)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  memory: peak working set {m.PeakWorkingSetBytes / 1048576.0:0.0} MB (baseline {m.BaselineWorkingSetBytes / 1048576.0:0.0} MB), peak managed heap {m.PeakManagedBytes / 1048576.0:0.0} MB, {m.AllocatedBytesPerImage / 1024.0:0} KB allocated per image"));
    }
}
