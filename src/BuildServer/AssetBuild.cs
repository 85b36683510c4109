using System.Diagnostics;
using System.Globalization;
using System.Text;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Output;

namespace ImageFlowIO.BuildServer;

/// <summary>
/// The plain asset build: runs a request's assets through their configs' pipelines, writing outputs under obj/ with each
/// item's relative folder kept. Whether an asset is up to date is the runtime's one decision (<see cref="Pipeline.CheckUpToDate"/>,
/// <see cref="PipelineResult.Reason"/>): an up-to-date asset is served as it is on disk (its outputs only stat-ed), any other
/// runs, and the build names it with its reason; outputs of removed or renamed assets are deleted. The MSBuild task runs it
/// in the build's process, the build server in its own; it knows neither MSBuild nor the pipe: it reports to an
/// <see cref="AssetBuildLog"/>.
/// </summary>
internal sealed class AssetBuild
{
    // Processed assets named with their reason at normal verbosity; the rest (and every up-to-date one) at detailed.
    private const int NamedAtNormal = 20;

    private readonly AssetBuildRequest _request;
    private readonly AssetBuildLog _log;
    private readonly CancellationToken _cancel;
    // Where the build's time goes (logged at low importance): the fixed costs decide a one-edit build's speed.
    private readonly Stopwatch _clock = new();
    private readonly List<string> _phases = [];
    private AssetCatalogueWriter? _catalogue;
    // Pipelines being disposed (their records saved) while the build writes its own state.
    private readonly List<Task> _closing = [];
    private int _named;
    // Each asset's fired checks, processed now or served up to date alike (its result evaluates them either way).
    private readonly Dictionary<string, IReadOnlyList<Chains.CheckFinding>> _checks = new(StringComparer.Ordinal);

    private AssetBuild(AssetBuildRequest request, AssetBuildLog log, CancellationToken cancel)
    {
        _request = request;
        _log = log;
        _cancel = cancel;
    }

    /// <summary>Runs the request; true when no asset failed (the errors went to <paramref name="log"/>).</summary>
    public static bool Run(AssetBuildRequest request, AssetBuildLog log, CancellationToken cancel) => new AssetBuild(request, log, cancel).Run();

    private bool Run()
    {
        _clock.Restart();
        // The task's .deps.json names its own runtimes/ copy of ONNX Runtime's native library, when the folder has one.
        if (!string.IsNullOrEmpty(_request.OnnxRuntimeLibrary))
            ImageFlowIO.Inference.NativeRuntime.UseFallbackLibrary(Path.Combine(Path.GetDirectoryName(typeof(AssetBuild).Assembly.Location)!, "ImageFlowIO.Tasks.dll"), _request.OnnxRuntimeLibrary);
        if (_request.StampFile is not null) TryDelete(_request.StampFile);
        _catalogue = string.IsNullOrEmpty(_request.CatalogueFile) ? null
            : AssetCatalogueWriter.Open(_request.CatalogueFile, _request.ProjectDirectory, _request.OutputDirectory, AssetCatalogueWriter.Items(_request.Assets, _request.ProjectDirectory));
        var previousOutputs = ReadLines(_request.OutputsFile);
        Phase("state loaded");
        var outputs = new SortedSet<string>(StringComparer.Ordinal);
        var keepPreviousOutputs = false;
        var dependencies = new SortedSet<string>(StringComparer.Ordinal);
        var batches = new List<BatchResult>();
        var processed = 0;
        var fromCache = 0;
        var failed = 0;
        IReadOnlyList<AssetItem> assets = _request.Assets;
        if (!string.IsNullOrWhiteSpace(_request.Shard))
        {
            // auto: the CI variables of the build that asked (they travel in the request).
            if (!InputShard.TryResolve(_request.Shard, name => _request.Environment.GetValueOrDefault(name), out var shard, out var shardSource, out var shardProblem))
            {
                _log.Error(ErrorCodes.BuildBadShard, null, "ImageFlowShard: " + shardProblem);
                return false;
            }
            _log.Message(AssetBuildImportance.High, "ImageFlowIO: " + shardSource);
            assets = shard.Select(assets, a => a.FullPath, _request.ProjectDirectory);
        }

        try
        {
            foreach (var group in assets.GroupBy(a => Path.GetFullPath(a.Config, _request.ProjectDirectory), StringComparer.Ordinal))
            {
                var items = group.ToList();
                var config = LoadConfig(group.Key, items);
                Phase("config parsed");
                if (config is null)
                {
                    // Keep the previous outputs (whichever asset wrote them): nothing ran, and the next build retries (no stamp).
                    keepPreviousOutputs = true;
                    failed += items.Count;
                    continue;
                }
                var modelPath = config.ResolvePath(config.Model.Path);
                dependencies.Add(modelPath);
                if (config.Model.Labels is not null) dependencies.Add(config.ResolvePath(config.Model.Labels));
                foreach (var file in ChainFiles(config)) dependencies.Add(file);

                var batch = RunConfig(config, items, outputs);
                if (batch is null) { keepPreviousOutputs = true; failed += items.Count; continue; }
                batches.Add(batch);
                // Counted: the assets this build processed (or failed); up-to-date ones are listed in summary.json, not counted.
                var ran = Ran(batch);
                processed += ran.Count(r => r.Succeeded);
                fromCache += ran.Count(r => r.Succeeded && !r.RanInference);
                failed += ran.Count(r => !r.Succeeded);
            }
        }
        catch (OperationCanceledException)
        {
            WaitForClosing();
            _log.Warning(null, null, "ImageFlowIO: canceled");
            return false;
        }

        if (_named > NamedAtNormal)
            _log.Message(AssetBuildImportance.Normal, $"ImageFlowIO: and {_named - NamedAtNormal} more assets processed (detailed verbosity names every asset)");
        if (keepPreviousOutputs) outputs.UnionWith(previousOutputs.Where(File.Exists));
        DeleteStaleOutputs(previousOutputs, outputs);
        _catalogue?.Save();
        WriteLinesIfChanged(_request.OutputsFile, outputs);
        WriteLinesIfChanged(_request.DependenciesFile, dependencies);
        WriteSummary(batches);
        ReportChecks(assets);
        WaitForClosing();
        Phase("state saved");

        _clock.Stop();
        // High: a CI log or terminal at default verbosity shows what the build did (SPEC §4); per-asset detail stays low.
        _log.Message(AssetBuildImportance.High, string.Format(CultureInfo.CurrentCulture, "ImageFlowIO: {0} assets, {1} processed, {2} from cache, {3} failed ({4} ms){5}",
            assets.Count, processed, fromCache, failed, (long)_clock.Elapsed.TotalMilliseconds, RemoteSummary(batches)));
        _log.Message(AssetBuildImportance.Low, "ImageFlowIO: time (ms since the task started): " + string.Join(", ", _phases));
        return !_log.HasLoggedErrors;
    }

    private void WaitForClosing()
    {
        foreach (var closing in _closing) closing.GetAwaiter().GetResult();
        _closing.Clear();
    }

    private PipelineConfig? LoadConfig(string configPath, List<AssetItem> items)
    {
        if (!File.Exists(configPath))
        {
            _log.Error(ErrorCodes.BuildNoConfig, items[0].ItemSpec,
                $"the ImageFlow config '{configPath}' does not exist; add an imageflow.json beside the project or set ImageFlowConfig (or the asset's Config metadata)");
            return null;
        }
        var parsed = ConfigParser.ParseFile(configPath);
        foreach (var d in parsed.Diagnostics)
        {
            if (d.IsError) _log.Error(d.Code, d.FilePath ?? configPath, d.Message, d.Line, d.Column);
            else _log.Warning(d.Code, d.FilePath ?? configPath, d.Message, d.Line, d.Column);
        }
        return parsed.Config;
    }

    /// <summary>
    /// Runs one config's assets: the runtime decides for each whether it is up to date (served as it is on disk) or runs,
    /// and why; every result's files join <paramref name="outputs"/>. Returns the batch (every asset's result, each with its
    /// reason, and the cache statistics of the run); null when no pipeline could be made.
    /// </summary>
    private BatchResult? RunConfig(PipelineConfig config, List<AssetItem> items, SortedSet<string> outputs)
    {
        var parallelism = _request.MaxParallelism > 0 ? _request.MaxParallelism : Environment.ProcessorCount;
        var environment = _request.Environment;
        var options = new PipelineOptions
        {
            EnvironmentVariables = name => environment.GetValueOrDefault(name),
            LoggerFactory = new BuildLoggerFactory(_log),
            OutputDirectory = _request.OutputDirectory,
            CacheMode = ParseCacheMode(_request.CacheMode),
            CacheDirectory = string.IsNullOrWhiteSpace(_request.CacheDirectory) ? null : Path.GetFullPath(_request.CacheDirectory, _request.ProjectDirectory),
            // The build's up-to-date record lives beside its outputs list in obj/, whatever the cache mode.
            RecordDirectory = Path.GetDirectoryName(Path.GetFullPath(_request.OutputsFile, _request.ProjectDirectory)),
            MaxParallelism = parallelism,
            KeepOutputTensors = false, // only the files matter here: keep memory flat over many assets
            RemoteCache = string.IsNullOrWhiteSpace(_request.RemoteCache) ? null : _request.RemoteCache.Trim(),
            RemoteCacheReadOnly = _request.RemoteCacheReadOnly ? true : null,
        };
        var inputs = items.Select((item, index) => new InputItem(item.FullPath) { OutputDirectory = ItemOutputDirectory(item), Index = index }).ToList();
        WaitForClosing(); // pipelines of one build share its record: one saves it at a time
        var pipeline = CreatePipeline(config, options);
        if (pipeline is null) return null;
        try { return RunPipeline(pipeline, config, items, inputs, parallelism, outputs); }
        // Closing it saves the up-to-date record and ends the remote's connections: on a thread of its own, beside the
        // catalogue, the outputs list and summary.json (none of which it touches); the build waits for it before it ends.
        finally { _closing.Add(Task.Run(pipeline.Dispose)); }
    }

    private BatchResult RunPipeline(Pipeline pipeline, PipelineConfig config, List<AssetItem> items, List<InputItem> inputs, int parallelism, SortedSet<string> outputs)
    {
        Phase("pipeline created");
        // The runtime's one decision, made once: it sizes the run, and the run acts on it.
        var plan = pipeline.Plan(inputs);
        var toRun = plan.ToRun;
        Phase("up-to-date check");
        // Fewer assets to run than workers (the one-edit build): the idle cores go to ONNX Runtime (DeterminismTests). Work
        // started early in the build server shares them with MSBuild's own targets, so one is left to those (on 2 cores:
        // the full build's one-thread session, already warm in the server).
        var workers = toRun == 0 ? parallelism : PipelineOptions.WorkersFor(parallelism, toRun);
        int? threads = workers < parallelism && !config.Execution.Threads.Apply
            ? Math.Max(1, (_request.OverlapsBuild ? Environment.ProcessorCount - 1 : Environment.ProcessorCount) / workers) : null;
        var batch = pipeline.RunBatchAsync(inputs, plan, workers, threads, _cancel).GetAwaiter().GetResult();
        Phase($"{toRun} processed{StageTotals(batch)}");
        for (var i = 0; i < batch.Items.Count; i++)
        {
            var result = batch.Items[i];
            // Every file the pipeline wrote (or found up to date) for the asset is an output alike: images, raw tensors, metas.
            if (result.Succeeded)
            {
                outputs.UnionWith(result.Outputs.Select(Path.GetFullPath));
                _checks[items[i].FullPath] = result.Checks;
            }
            else if (result.Error is { } error) LogError(error);
            if (result.Reason is { IsUpToDate: true }) Name(AssetBuildImportance.Low, items[i], "up to date");
            else Name(++_named <= NamedAtNormal ? AssetBuildImportance.Normal : AssetBuildImportance.Low, items[i], result.Reason?.Text ?? "run");
        }
        _catalogue?.Record(config, batch, _ => null);
        if (config.Output.WriteMeta is { Apply: true, JsonPath: { } jsonPath } && !jsonPath.Contains('{'))
        {
            // The one batch meta file (not an asset's output) is written beside the outputs; list it so clean removes it.
            var meta = Path.Combine(_request.OutputDirectory, Path.GetFileName(jsonPath));
            if (File.Exists(meta)) outputs.Add(meta);
        }
        return batch;
    }

    /// <summary>The results of a batch this build processed: all but those served up to date.</summary>
    private static IEnumerable<PipelineResult> Ran(BatchResult batch) => batch.Items.Where(r => !(r.Succeeded && r.Reason is { IsUpToDate: true }));

    private void Name(AssetBuildImportance importance, AssetItem item, string decision)
    {
        if (_log.Logs(importance)) _log.Message(importance, $"ImageFlowIO: {item.ItemSpec}: {decision}");
    }

    private Pipeline? CreatePipeline(PipelineConfig config, PipelineOptions options)
    {
        try { return Pipeline.Create(config, options); }
        catch (ConfigException ex)
        {
            foreach (var d in ex.Diagnostics.Where(d => d.IsError)) _log.Error(d.Code, d.FilePath ?? config.ConfigPath, d.Message, d.Line, d.Column);
        }
        catch (ImageFlowException ex) { LogError(ex); }
        return null;
    }

    /// <summary>"; remote: ..." for the summary line when a remote cache was in use (hits, uploads, bytes both ways).</summary>
    private static string RemoteSummary(List<BatchResult> batches)
    {
        var remote = batches.SelectMany(b => b.Cache.Layers).Where(l => l.Layer == "remote").Select(l => l.Stats).ToList();
        return remote.Count == 0 ? "" : string.Format(CultureInfo.InvariantCulture, "; remote: {0} hits, {1} misses, {2} writes, {3} bytes downloaded, {4} bytes uploaded",
            remote.Sum(s => s.Hits), remote.Sum(s => s.Misses), remote.Sum(s => s.Writes), remote.Sum(s => s.BytesRead), remote.Sum(s => s.BytesWritten));
    }

    /// <summary>" (decode 3, inference 25, ... ms summed over the batch)" for the phase log: where the images' time went.</summary>
    private static string StageTotals(BatchResult batch)
    {
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var item in batch.Items)
            foreach (var (stage, ms) in item.TimingsMs)
                totals[stage] = totals.GetValueOrDefault(stage) + ms;
        return totals.Count == 0 ? "" : " (" + string.Join(", ", totals.Select(t => $"{t.Key} {t.Value:0.#}")) + " ms summed)";
    }

    private void Phase(string name) => _phases.Add($"{name} {(long)_clock.Elapsed.TotalMilliseconds}");

    /// <summary>Where one asset's outputs go: its <c>OutputDir</c>, else its <c>Link</c> folder, project-relative folder or <c>RecursiveDir</c>.</summary>
    private string ItemOutputDirectory(AssetItem item)
    {
        if (!string.IsNullOrWhiteSpace(item.OutputDir)) return Path.GetFullPath(Path.Combine(_request.OutputDirectory, item.OutputDir));
        string relative;
        if (!string.IsNullOrEmpty(item.Link)) relative = Path.GetDirectoryName(item.Link) ?? "";
        else
        {
            var fromProject = Path.GetRelativePath(_request.ProjectDirectory, item.FullPath);
            relative = !fromProject.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(fromProject)
                ? Path.GetDirectoryName(fromProject) ?? ""
                : item.RecursiveDir;
        }
        return Path.GetFullPath(Path.Combine(_request.OutputDirectory, relative));
    }

    /// <summary>The files a chain reads besides the model: its per-region models and the recognizer's dictionary.</summary>
    private static IEnumerable<string> ChainFiles(PipelineConfig config) =>
        config.Chain?.PerRegion.SelectMany(s => s.Dictionary is null ? [s.Path] : new[] { s.Path, s.Dictionary }).Select(config.ResolvePath) ?? [];

    /// <summary>
    /// Every current asset's fired checks, processed now or up to date: a warning or an error at the asset file, an info a
    /// message; an error fails the build, after every asset was processed. <c>SuppressChecks</c> metadata (check ids,
    /// <c>;</c>-separated, or <c>*</c>) silences them for one asset.
    /// </summary>
    private void ReportChecks(IReadOnlyList<AssetItem> assets)
    {
        foreach (var asset in assets)
        {
            if (!_checks.TryGetValue(asset.FullPath, out var checks) || checks.Count == 0) continue;
            var silenced = asset.SuppressChecks.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var check in checks)
            {
                if (silenced.Contains("*") || silenced.Contains(check.Id, StringComparer.OrdinalIgnoreCase)) continue;
                switch (check.Severity)
                {
                    case CheckSeverity.Error: _log.Error(check.Code, asset.FullPath, check.Message); break;
                    case CheckSeverity.Warning: _log.Warning(check.Code, asset.FullPath, check.Message); break;
                    default: _log.Message(AssetBuildImportance.Normal, $"{asset.FullPath}: info {check.Code}: {check.Message}"); break;
                }
            }
        }
    }

    private static CacheMode? ParseCacheMode(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => Config.CacheMode.Disk,
        "none" or "false" => Config.CacheMode.None,
        "memory" => Config.CacheMode.Memory,
        _ => Config.CacheMode.Disk,
    };

    private void LogError(ImageFlowException ex)
    {
        if (ex is ConfigException config)
        {
            foreach (var d in config.Diagnostics.Where(d => d.IsError))
                _log.Error(d.Code, d.FilePath ?? ex.FilePath, d.Message, d.Line, d.Column);
            return;
        }
        _log.Error(ex.Code, ex.FilePath, ex.Message);
    }

    private void DeleteStaleOutputs(IEnumerable<string> previousOutputs, SortedSet<string> current)
    {
        foreach (var stale in previousOutputs.Where(p => !current.Contains(p)))
        {
            if (!TryDelete(stale)) continue;
            _log.Message(AssetBuildImportance.Low, "ImageFlowIO: deleted stale output " + stale);
            // Remove folders left empty inside our output folder (a renamed asset folder).
            var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_request.OutputDirectory));
            for (var dir = Path.GetDirectoryName(stale); dir is not null && dir.Length > root.Length && dir.StartsWith(root, StringComparison.Ordinal); dir = Path.GetDirectoryName(dir))
            {
                if (Directory.EnumerateFileSystemEntries(dir).Any()) break;
                try { Directory.Delete(dir); } catch (IOException) { break; }
            }
        }
    }

    private void WriteSummary(List<BatchResult> batches)
    {
        var cache = batches.Count == 1 ? batches[0].Cache : new CacheStatistics();
        var ran = new BatchResult
        {
            Items = batches.SelectMany(Ran).ToList(),
            Cache = cache,
            ElapsedMs = batches.Sum(b => b.ElapsedMs),
        };
        // Counts of the processed assets; items: every asset, each with its reason ("upToDate" for the rest).
        try { RunReport.WriteSummary(_request.SummaryFile, ran, batches.SelectMany(b => b.Items).ToList()); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Warning(ErrorCodes.BuildTaskFailed, _request.SummaryFile, $"summary.json cannot be written ({ex.Message})");
        }
    }

    private static List<string> ReadLines(string path)
    {
        try { return File.ReadAllLines(path).Where(l => l.Length > 0).ToList(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>Rewrites a list only when it changed, so targets that take it as an input are not re-run for nothing.</summary>
    private static void WriteLinesIfChanged(string path, IEnumerable<string> lines)
    {
        var text = string.Concat(lines.Select(l => l + "\n"));
        try { if (File.Exists(path) && File.ReadAllText(path) == text) return; }
        catch (IOException) { }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
    }

    private static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }
}
