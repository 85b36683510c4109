using System.Diagnostics;
using System.Text;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Output;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace ImageFlowIO.Tasks;

/// <summary>
/// Runs the <c>ImageFlowAsset</c> items of a project through their configs' pipelines, writing outputs under obj/
/// with each item's relative folder kept. An asset whose content, config values, model and output folder are all
/// unchanged since the last build, and whose outputs all exist, is skipped; outputs of removed or renamed assets are
/// deleted. Content is compared by the runtime's digests (<see cref="InputDigests"/>), never by a second engine.
/// </summary>
public sealed class ImageFlowAssetTask : Microsoft.Build.Utilities.Task, ICancelableTask
{
    private const string Subcategory = "ImageFlowIO";
    // A build takes its inputs from the items, and cache settings never change an output.
    private static readonly HashSet<string> NotInFingerprint = new(StringComparer.Ordinal)
    {
        nameof(InputConfig) + "." + nameof(InputConfig.Source),
        nameof(ExecutionConfig) + "." + nameof(ExecutionConfig.UseCaching),
        nameof(ExecutionConfig) + "." + nameof(ExecutionConfig.CacheDir),
        nameof(ExecutionConfig) + "." + nameof(ExecutionConfig.Cache),
    };
    private readonly CancellationTokenSource _cancel = new();
    // Where the task's time goes (logged at low importance): the fixed costs decide a one-edit build's speed.
    private readonly Stopwatch _clock = new();
    private readonly List<string> _phases = [];

    /// <summary>The assets; metadata <c>Config</c> (full path), optional <c>OutputDir</c>, <c>Link</c>, <c>RecursiveDir</c>.</summary>
    public ITaskItem[] Assets { get; set; } = [];
    /// <summary>Folder the outputs are written under (each asset keeps its relative folder).</summary>
    [Required] public string OutputDirectory { get; set; } = "";
    [Required] public string ProjectDirectory { get; set; } = "";
    /// <summary>Per-asset records of the previous build.</summary>
    [Required] public string StateFile { get; set; } = "";
    /// <summary>Every file this task produced, one full path a line (read back by the targets for FileWrites and copies).</summary>
    [Required] public string OutputsFile { get; set; } = "";
    /// <summary>Files the outputs depend on besides assets and configs (models, labels), one a line: more target Inputs.</summary>
    [Required] public string DependenciesFile { get; set; } = "";
    /// <summary>The target's Outputs, deleted first (the targets touch it again only when every asset succeeded).</summary>
    public string? StampFile { get; set; }
    [Required] public string SummaryFile { get; set; } = "";
    public string? CacheMode { get; set; }
    public string? CacheDirectory { get; set; }
    /// <summary>Images processed at once; 0: one per core.</summary>
    public int MaxParallelism { get; set; }
    /// <summary>The asset catalogue the source generator reads (<see cref="AssetCatalogueWriter"/>); none when not set.</summary>
    public string? CatalogueFile { get; set; }
    private AssetCatalogueWriter? _catalogue;
    /// <summary>Shared remote cache URL (<c>ImageFlowRemoteCache</c>); credentials belong in IMAGEFLOWIO_REMOTE_CACHE_TOKEN, not here.</summary>
    public string? RemoteCache { get; set; }
    public bool RemoteCacheReadOnly { get; set; }
    /// <summary><c>k/n</c>: process only that share of the assets (<c>ImageFlowShard</c>, CI matrix jobs filling a remote cache).</summary>
    public string? Shard { get; set; }
    /// <summary>ONNX Runtime's native library for this machine from the consumer's restored Microsoft.ML.OnnxRuntime package
    /// (the package ships none beside the task); the task's own runtimes/ copy, when there, is still loaded first.</summary>
    public string? OnnxRuntimeLibrary { get; set; }
    /// <summary>Run in the ImageFlowIO build server (<c>ImageFlowBuildServer</c>): a process that keeps ONNX Runtime, its
    /// sessions and compiled code warm between builds, started by the first build that asks and gone after
    /// <see cref="BuildServerIdleTimeout"/>. The build's cache variables (remote cache URL, token, key) travel with it.</summary>
    public bool BuildServer { get; set; }
    /// <summary>Seconds the build server waits for the next build before it exits (<c>ImageFlowBuildServerIdleTimeout</c>).</summary>
    public int BuildServerIdleTimeout { get; set; } = 600;
    /// <summary>With <see cref="BuildServer"/>: only hand the work to the build server and return, so it runs while MSBuild
    /// resolves references; the same build's call with the same parameters (and this one false) collects its result and
    /// log. Never fails the build: a server that cannot take it leaves the work to that later call.</summary>
    public bool StartInBuildServer { get; set; }
    /// <summary>Set by the build server for work a build started early: it runs beside MSBuild's own targets.</summary>
    internal bool OverlapsBuild { get; set; }
    /// <summary>Set by the build server: the cache variables of the build that asked (<see cref="ImageFlowIO.Tasks.BuildServer.BuildServerClient.ForwardedVariables"/>).</summary>
    internal IReadOnlyDictionary<string, string>? ForwardedEnvironment { get; set; }

    public void Cancel() => _cancel.Cancel();

    public override bool Execute() => Execute(inServer: false);

    internal bool Execute(bool inServer)
    {
        if (StartInBuildServer)
        {
            if (!inServer && BuildServer) ImageFlowIO.Tasks.BuildServer.BuildServerClient.TryStart(this);
            return true;
        }
        if (!inServer && BuildServer && ImageFlowIO.Tasks.BuildServer.BuildServerClient.TryExecute(this, _cancel.Token, out var served))
            return served;
        return ExecuteHere();
    }

    // Apart from Execute: a build the server runs never loads the runtime's assemblies into the MSBuild node.
    private bool ExecuteHere()
    {
        _clock.Restart();
        if (!string.IsNullOrEmpty(OnnxRuntimeLibrary)) ImageFlowIO.Inference.NativeRuntime.UseFallbackLibrary(typeof(ImageFlowAssetTask).Assembly.Location, OnnxRuntimeLibrary);
        if (StampFile is not null) TryDelete(StampFile);
        var previous = AssetState.Load(StateFile);
        _catalogue = string.IsNullOrEmpty(CatalogueFile) ? null : AssetCatalogueWriter.Open(CatalogueFile, ProjectDirectory, OutputDirectory, AssetCatalogueWriter.Items(Assets, ProjectDirectory));
        _catalogue?.ForgetUncatalogued(previous.Assets);
        var previousOutputs = ReadLines(OutputsFile);
        Phase("state loaded");
        var next = new AssetState();
        var dependencies = new SortedSet<string>(StringComparer.Ordinal);
        var batches = new List<BatchResult>();
        var processed = 0;
        var fromCache = 0;
        var failed = 0;
        var assets = Assets;
        if (!string.IsNullOrWhiteSpace(Shard))
        {
            // auto: the CI's variables of the build that asked (forwarded to the build server), else this process's.
            Func<string, string?> environment = ForwardedEnvironment is { } forwarded ? name => forwarded.GetValueOrDefault(name) : Environment.GetEnvironmentVariable;
            if (!InputShard.TryResolve(Shard, environment, out var shard, out var shardSource, out var shardProblem))
            {
                Log.LogError(Subcategory, ErrorCodes.BuildBadShard, null, BuildEngine?.ProjectFileOfTaskNode, 0, 0, 0, 0, "ImageFlowShard: {0}", shardProblem);
                return false;
            }
            Log.LogMessage(MessageImportance.High, "ImageFlowIO: {0}", shardSource);
            assets = [.. shard.Select(Assets, a => a.GetMetadata("FullPath"), ProjectDirectory)];
        }

        try
        {
            foreach (var group in assets.GroupBy(a => Path.GetFullPath(a.GetMetadata("Config"), ProjectDirectory), StringComparer.Ordinal))
            {
                var items = group.ToList();
                var config = LoadConfig(group.Key, items);
                Phase("config parsed");
                if (config is null)
                {
                    // Keep the previous records and outputs: nothing ran, and the next build retries (no stamp).
                    foreach (var item in items) CarryOver(previous, next, item.GetMetadata("FullPath"));
                    failed += items.Count;
                    continue;
                }
                var modelPath = config.ResolvePath(config.Model.Path);
                dependencies.Add(modelPath);
                if (config.Model.Labels is not null) dependencies.Add(config.ResolvePath(config.Model.Labels));

                var batch = RunConfig(config, modelPath, items, previous, next);
                if (batch is null) { failed += items.Count; continue; }
                batches.Add(batch);
                processed += batch.Processed;
                fromCache += batch.FromCache;
                failed += batch.Failed;
            }
        }
        catch (OperationCanceledException)
        {
            Log.LogWarning("ImageFlowIO: canceled");
            return false;
        }

        var outputs = new SortedSet<string>(next.Assets.Values.SelectMany(r => r.Outputs), StringComparer.Ordinal);
        DeleteStaleOutputs(previousOutputs, outputs);
        next.Save(StateFile);
        _catalogue?.Save();
        WriteLinesIfChanged(OutputsFile, outputs);
        WriteLinesIfChanged(DependenciesFile, dependencies);
        WriteSummary(batches);
        Phase("state saved");

        _clock.Stop();
        // High: a CI log or terminal at default verbosity shows what the build did (SPEC §4); per-asset detail stays low.
        Log.LogMessage(MessageImportance.High, "ImageFlowIO: {0} assets, {1} processed, {2} from cache, {3} failed ({4} ms){5}",
            assets.Length, processed, fromCache, failed, (long)_clock.Elapsed.TotalMilliseconds, RemoteSummary(batches));
        Log.LogMessage(MessageImportance.Low, "ImageFlowIO: time (ms since the task started): {0}", string.Join(", ", _phases));
        return !Log.HasLoggedErrors;
    }

    private PipelineConfig? LoadConfig(string configPath, List<ITaskItem> items)
    {
        if (!File.Exists(configPath))
        {
            Log.LogError(Subcategory, ErrorCodes.BuildNoConfig, null, items[0].ItemSpec, 0, 0, 0, 0,
                "the ImageFlow config '{0}' does not exist; add an imageflow.json beside the project or set ImageFlowConfig (or the asset's Config metadata)", configPath);
            return null;
        }
        var parsed = ConfigParser.ParseFile(configPath);
        foreach (var d in parsed.Diagnostics)
        {
            if (d.IsError) Log.LogError(Subcategory, d.Code, null, d.FilePath ?? configPath, d.Line, d.Column, 0, 0, "{0}", d.Message);
            else Log.LogWarning(Subcategory, d.Code, null, d.FilePath ?? configPath, d.Line, d.Column, 0, 0, "{0}", d.Message);
        }
        return parsed.Config;
    }

    private BatchResult? RunConfig(PipelineConfig config, string modelPath, List<ITaskItem> items, AssetState previous, AssetState next)
    {
        var parallelism = MaxParallelism > 0 ? MaxParallelism : Environment.ProcessorCount;
        PipelineOptions Options(int workers, int? intraOpThreads = null) => new()
        {
            IntraOpThreads = intraOpThreads,
            EnvironmentVariables = ForwardedEnvironment is { } environment ? name => environment.GetValueOrDefault(name) : null,
            LoggerFactory = new TaskLoggerFactory(Log),
            OutputDirectory = OutputDirectory,
            CacheMode = ParseCacheMode(CacheMode),
            CacheDirectory = string.IsNullOrWhiteSpace(CacheDirectory) ? null : Path.GetFullPath(CacheDirectory, ProjectDirectory),
            MaxParallelism = workers,
            KeepOutputTensors = false, // only the files matter here: keep memory flat over many assets
            RemoteCache = string.IsNullOrWhiteSpace(RemoteCache) ? null : RemoteCache.Trim(),
            RemoteCacheReadOnly = RemoteCacheReadOnly ? true : null,
        };
        var options = Options(parallelism);
        // The runtime's digests, through the index the pipeline reads too: an unchanged file is not read, a changed one once here.
        var digests = InputDigests.Open(config, options, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(StateFile))!, InputDigestIndex.FileName));
        var fingerprint = Fingerprint(config, modelPath, digests);
        Phase("fingerprint");
        // An asset's position only shapes its outputs through the {index} token.
        var usesIndex = (config.Output.Save.Filename ?? "").Contains("{index}", StringComparison.Ordinal);
        var work = new List<(InputItem Input, AssetRecord Record)>();
        for (var index = 0; index < items.Count; index++)
        {
            var path = items[index].GetMetadata("FullPath");
            var record = new AssetRecord
            {
                Fingerprint = fingerprint,
                OutputDirectory = ItemOutputDirectory(items[index]),
                Index = usesIndex ? index : 0,
                ContentDigest = InputDigests.TryGet(digests, path) ?? "",
            };
            if (IsUpToDate(previous, path, record, out var kept))
            {
                next.Assets[path] = kept;
                continue;
            }
            work.Add((new InputItem(path) { OutputDirectory = record.OutputDirectory, Index = index }, record));
        }
        digests.Save();
        Phase("up-to-date check");
        if (work.Count == 0) return new BatchResult { Items = [], Cache = new CacheStatistics() };

        // Fewer changed assets than workers (the one-edit build): the idle cores go to ONNX Runtime (DeterminismTests). Work
        // started early in the build server shares them with MSBuild's own targets, so one is left to those (on 2 cores:
        // the full build's one-thread session, already warm in the server).
        if (PipelineOptions.WorkersFor(parallelism, work.Count) is var workers && workers < parallelism)
            options = Options(workers, OverlapsBuild && !config.Execution.Threads.Apply ? Math.Max(1, (Environment.ProcessorCount - 1) / workers) : null);
        Pipeline pipeline;
        try { pipeline = Pipeline.Create(config, options); Phase("pipeline created"); }
        catch (ConfigException ex)
        {
            foreach (var d in ex.Diagnostics.Where(d => d.IsError))
                Log.LogError(Subcategory, d.Code, null, d.FilePath ?? config.ConfigPath, d.Line, d.Column, 0, 0, "{0}", d.Message);
            return null;
        }
        catch (ImageFlowException ex)
        {
            LogError(ex);
            return null;
        }

        using (pipeline)
        {
            var batch = pipeline.RunBatchAsync(work.Select(w => w.Input).ToList(), cancellationToken: _cancel.Token).GetAwaiter().GetResult();
            Phase($"{work.Count} processed{StageTotals(batch)}");
            for (var i = 0; i < work.Count; i++)
            {
                var result = batch.Items[i];
                var record = work[i].Record;
                if (result.Succeeded)
                {
                    // Every file the pipeline wrote for the asset (images, raw tensors, per-asset metas) is an output alike.
                    record.Outputs = result.Outputs.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
                    next.Assets[result.Input] = record;
                }
                else if (result.Error is { } error) LogError(error);
            }
            _catalogue?.Record(config, options, work.Select(w => w.Input).ToList(), batch, p => next.Assets.TryGetValue(p, out var r) ? r.Outputs : null);
            if (config.Output.WriteMeta is { Apply: true, JsonPath: { } jsonPath } && !jsonPath.Contains('{'))
            {
                // The one batch meta file (not an asset's output) is written beside the outputs; list it so clean removes it.
                var meta = Path.Combine(OutputDirectory, Path.GetFileName(jsonPath));
                if (File.Exists(meta) && next.Assets.Values.FirstOrDefault() is { } first && !first.Outputs.Contains(meta)) first.Outputs.Add(meta);
            }
            return batch;
        }
    }

    /// <summary>"; remote: ..." for the summary line when a remote cache was in use (hits, uploads, bytes both ways).</summary>
    private static string RemoteSummary(List<BatchResult> batches)
    {
        var remote = batches.SelectMany(b => b.Cache.Layers).Where(l => l.Layer == "remote").Select(l => l.Stats).ToList();
        return remote.Count == 0 ? "" : string.Format(System.Globalization.CultureInfo.InvariantCulture, "; remote: {0} hits, {1} misses, {2} writes, {3} bytes downloaded, {4} bytes uploaded",
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

    /// <summary>Up to date: same content, fingerprint, output folder and index as last time, and every file it wrote still there.</summary>
    private static bool IsUpToDate(AssetState previous, string path, AssetRecord current, out AssetRecord kept)
    {
        if (!previous.Assets.TryGetValue(path, out kept!)) return false;
        return current.ContentDigest.Length > 0 && kept.ContentDigest == current.ContentDigest
            && kept.Fingerprint == current.Fingerprint && kept.OutputDirectory == current.OutputDirectory && kept.Index == current.Index
            && kept.Outputs.All(File.Exists);
    }

    private static void CarryOver(AssetState previous, AssetState next, string path)
    {
        if (previous.Assets.TryGetValue(path, out var record)) next.Assets[path] = record;
    }

    /// <summary>Where one asset's outputs go: its <c>OutputDir</c>, else its <c>Link</c> folder, project-relative folder or <c>RecursiveDir</c>.</summary>
    private string ItemOutputDirectory(ITaskItem item)
    {
        var explicitDir = item.GetMetadata("OutputDir");
        if (!string.IsNullOrWhiteSpace(explicitDir)) return Path.GetFullPath(Path.Combine(OutputDirectory, explicitDir));
        string relative;
        var link = item.GetMetadata("Link");
        if (!string.IsNullOrEmpty(link)) relative = Path.GetDirectoryName(link) ?? "";
        else
        {
            var fromProject = Path.GetRelativePath(ProjectDirectory, item.GetMetadata("FullPath"));
            relative = !fromProject.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(fromProject)
                ? Path.GetDirectoryName(fromProject) ?? ""
                : item.GetMetadata("RecursiveDir");
        }
        return Path.GetFullPath(Path.Combine(OutputDirectory, relative));
    }

    /// <summary>Everything besides the image that decides its outputs. Canonical values, so a whitespace or comment edit keeps it.</summary>
    private static string Fingerprint(PipelineConfig config, string modelPath, InputDigestIndex digests)
    {
        // The model and labels by content (the digests the pipeline keys its caches by), not by size and time.
        var labels = config.Model.Labels is { } l ? InputDigests.TryGet(digests, config.ResolvePath(l)) ?? "missing" : "none";
        return ConfigFingerprint.Digest(
        [
            new("tool", CacheKeys.ToolVersion),
            new("task", typeof(ImageFlowAssetTask).Assembly.ManifestModule.ModuleVersionId.ToString()),
            new("base", config.BaseDirectory),
            new("model", config.Model),
            new("modelFile", InputDigests.TryGet(digests, modelPath) ?? "missing"),
            new("labelsFile", labels),
            new("execution", config.Execution),
            new("input", config.Input),
            new("preprocessing", config.Preprocessing),
            new("inference", config.Inference),
            new("postprocessing", config.Postprocessing),
            new("output", config.Output),
            new("visualization", config.Visualization),
            new("custom", config.Custom),
        ], NotInFingerprint);
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
                Log.LogError(Subcategory, d.Code, null, d.FilePath ?? ex.FilePath, d.Line, d.Column, 0, 0, "{0}", d.Message);
            return;
        }
        Log.LogError(Subcategory, ex.Code, null, ex.FilePath, 0, 0, 0, 0, "{0}", ex.Message);
    }

    private void DeleteStaleOutputs(IEnumerable<string> previousOutputs, SortedSet<string> current)
    {
        foreach (var stale in previousOutputs.Where(p => !current.Contains(p)))
        {
            if (!TryDelete(stale)) continue;
            Log.LogMessage(MessageImportance.Low, "ImageFlowIO: deleted stale output {0}", stale);
            // Remove folders left empty inside our output folder (a renamed asset folder).
            var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(OutputDirectory));
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
        var all = new BatchResult
        {
            Items = batches.SelectMany(b => b.Items).ToList(),
            Cache = cache,
            ElapsedMs = batches.Sum(b => b.ElapsedMs),
        };
        try { RunReport.WriteSummary(SummaryFile, all); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.LogWarning(Subcategory, ErrorCodes.BuildTaskFailed, null, SummaryFile, 0, 0, 0, 0, "summary.json cannot be written ({0})", ex.Message);
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
