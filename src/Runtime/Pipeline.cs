using System.Diagnostics;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using ImageFlowIO.Inference;
using ImageFlowIO.Output;
using ImageFlowIO.Postprocessing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageFlowIO;

/// <summary>
/// The one ImageFlowIO pipeline: decode → preprocess → inference → postprocess → save. The three stages
/// (<see cref="PreprocessStage"/>, <see cref="InferenceStage"/>, <see cref="OutputStage"/>) are cached by content through
/// one <see cref="StageCache"/>; the pipeline itself is their sequence, batching and parallelism. The CLI, the MSBuild
/// task and generated pipeline classes all run this. Thread-safe: one instance may process many inputs at once.
/// Dispose it to release the caches it owns.
/// </summary>
public sealed class Pipeline : IDisposable
{
    private readonly PipelineOptions _options;
    private readonly ILogger _logger;
    private readonly IInferenceBackend _backend;
    private readonly StageCache _cache;
    private readonly bool _ownsCache;
    private readonly PreprocessStage _preprocess;
    private readonly InferenceStage _inference;
    private readonly OutputStage _outputs;
    private readonly string[]? _labels;
    private readonly UpToDateCheck _upToDate;
    private readonly DiskAdmission _diskAdmission = new();
    /// <summary>The models run per region of the model's output (config <c>chain</c>); null without one.</summary>
    private readonly Chains.TextChain? _chain;
    /// <summary>ONNX Runtime intra-op threads of the sessions this pipeline opens (read when one opens: on the first inference).</summary>
    private volatile int _intraOpThreads;

    private Pipeline(PipelineConfig config, PipelineOptions options)
    {
        Config = config;
        _options = options;
        _logger = options.LoggerFactory?.CreateLogger("ImageFlowIO") ?? NullLogger.Instance;
        if (options.Cache is { } shared) _cache = shared;
        else
        {
            _cache = StageCacheFactory.Create(config, options, _logger);
            _ownsCache = true;
        }
        // Nothing recorded yet (a fresh clone, a first build): every input will be looked up, so a remote's first request
        // (its connection, the HTTP stack's start) begins now, beside the model's digest and signature.
        if (!options.DecideOnly && _cache.HasSharedStore && _cache.OutputFiles?.IsEmpty != false) _cache.WarmUp();
        (string[] Lines, string Digest)? labels;
        string? paletteDigest;
        IInferenceBackend? backend = null;
        try
        {
            // The model's digest through the inputs' size+mtime index: a warm process (the build server) does not hash 5 MB per build.
            _intraOpThreads = IntraOpThreads(config, options);
            (backend, BackendKind) = CreateBackend(config, options, _logger, _cache.InputDigests, () => _intraOpThreads);
            ModelValidator.Validate(config, backend.Signature, BackendKind == BackendKind.Onnx ? config.ResolvePath(config.Model.Path) : null);
            labels = ReadLabels(config);
            paletteDigest = PaletteDigest(config);
            if (config.Chain is not null && BackendKind == BackendKind.Onnx)
                _chain = new Chains.TextChain(config, _cache, _logger, () => _intraOpThreads, SignatureFolder(config, options));
        }
        catch
        {
            _chain?.Dispose();
            backend?.Dispose();
            if (_ownsCache) _cache.Dispose();
            throw;
        }
        _backend = backend;
        Layout = _backend.Signature.Layout;
        _labels = labels?.Lines;
        _preprocess = new PreprocessStage(config, Layout, options.PreprocessHook);
        _inference = new InferenceStage(config, _backend, BackendKind);
        var decorations = CacheKeys.DecorationsDigest(labels?.Digest, paletteDigest);
        _outputs = new OutputStage(config, options, _logger, decorations);
        _upToDate = new UpToDateCheck(_backend.ModelDigest, decorations ?? "", CacheKeys.PreprocessSection(config, Layout),
            CacheKeys.InferenceSection(config, BackendKind, _backend.Signature.InputName, _backend.Signature.OutputName),
            CacheKeys.PostprocessingSection(config), CacheKeys.OutputFilesSection(config));
    }

    public PipelineConfig Config { get; }
    /// <summary>The backend actually used (auto resolved to onnx or noop).</summary>
    public BackendKind BackendKind { get; }
    /// <summary>The model input layout (auto resolved from the model).</summary>
    public TensorLayout Layout { get; }
    public ModelSignature ModelSignature => _backend.Signature;
    /// <summary>SHA-256 (hex) of the model file, part of every inference key; empty for the noop backend.</summary>
    internal string ModelDigest => _backend.ModelDigest;
    internal IInferenceBackend Backend => _backend;
    public CacheStatistics CacheStatistics => _cache.Statistics;
    /// <summary>How many times this pipeline ran the model (warm-up runs excluded).</summary>
    internal int InferenceRuns => _inference.Runs;
    /// <summary>How many region crops the chain's per-region models read in this pipeline (0 without a chain).</summary>
    internal int ChainRegionRuns => _chain?.RegionRuns ?? 0;
    /// <summary>Which inference entries the disk layer gets (tests fix its threshold).</summary>
    internal DiskAdmission DiskAdmission => _diskAdmission;

    /// <summary>Loads and validates a config file and builds its pipeline. Throws <see cref="ConfigException"/> or <see cref="ModelException"/>.</summary>
    public static Pipeline FromConfig(string configPath, PipelineOptions? options = null)
    {
        var parsed = ConfigParser.ParseFile(configPath);
        var logger = options?.LoggerFactory?.CreateLogger("ImageFlowIO");
        foreach (var warning in parsed.Diagnostics.Where(d => !d.IsError)) logger?.LogWarning("{Diagnostic}", warning.ToString());
        if (parsed.Config is null) throw new ConfigException(parsed.Diagnostics, Path.GetFullPath(configPath));
        return Create(parsed.Config, options);
    }

    /// <summary>Builds a pipeline for a config already bound (for example by generated code).</summary>
    public static Pipeline Create(PipelineConfig config, PipelineOptions? options = null) => new(config, options ?? new PipelineOptions());

    private static (IInferenceBackend, BackendKind) CreateBackend(PipelineConfig config, PipelineOptions options, ILogger logger, InputDigestIndex? digests, Func<int> intraOpThreads)
    {
        var kind = options.Backend ?? config.Execution.Backend;
        var modelPath = config.ResolvePath(config.Model.Path);
        if (kind == BackendKind.Tfjs)
            throw new ConfigException([new ConfigDiagnostic(ConfigErrorCodes.UnsupportedModelFormat, DiagnosticSeverity.Error,
                "the 'tfjs' backend is not available in .NET; convert the model to ONNX and set model.path to the .onnx file", config.ConfigPath, 0, 0, 0, 0)], config.ConfigPath);
        if (kind == BackendKind.Auto)
        {
            kind = File.Exists(modelPath) && modelPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? BackendKind.Onnx : BackendKind.Noop;
            if (kind == BackendKind.Noop) logger.LogInformation("model {Model} not found: backend auto runs noop (set execution.backend to \"onnx\" to make a missing model an error)", modelPath);
        }
        if (kind == BackendKind.Noop) return (new NoopBackend(config.Preprocessing, config.Model.Layout), kind);

        return (new OnnxBackend(modelPath, config.Model, intraOpThreads, logger, SignatureFolder(config, options), digests), kind);
    }

    /// <summary>ONNX Runtime threads per session: the host's, the config's, or the cores shared among the parallel inputs.</summary>
    private static int IntraOpThreads(PipelineConfig config, PipelineOptions options) => options.IntraOpThreads
        ?? (config.Execution.Threads.Apply ? config.Execution.Threads.Count ?? Environment.ProcessorCount : Math.Max(1, Environment.ProcessorCount / Math.Max(1, options.MaxParallelism)));

    /// <summary>With a disk cache, models' signatures are remembered there so a fully cached run never loads ONNX Runtime.</summary>
    private static string? SignatureFolder(PipelineConfig config, PipelineOptions options) =>
        options.Cache is null && (options.CacheMode ?? config.Execution.UseCaching) == CacheMode.Disk
            ? Path.Combine(StageCacheFactory.ResolveCacheDirectory(config, options), DiskCacheFolder.ModelsFolderName) : null;

    /// <summary>The labels file's lines (for top-k) and content digest (part of the output stage's key); null without labels.</summary>
    private static (string[] Lines, string Digest)? ReadLabels(PipelineConfig config)
    {
        if (config.Model.Labels is null) return null;
        var path = config.ResolvePath(config.Model.Labels);
        try
        {
            var bytes = File.ReadAllBytes(path);
            var lines = System.Text.Encoding.UTF8.GetString(bytes).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            return (lines, CacheKeys.ContentDigest(bytes));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelException(ErrorCodes.ModelLabelsUnreadable, path, $"the labels file cannot be read ({ex.Message}); fix model.labels or remove it");
        }
    }

    /// <summary>The palette file's content digest (part of the output key: an edited palette recolours the outputs); null without one or when unreadable (the output stage reports that).</summary>
    private static string? PaletteDigest(PipelineConfig config)
    {
        var map = config.Postprocessing.PaletteMap;
        if (!map.Apply || config.Postprocessing.ColorMap.Apply || map.Palette.Mode != PaletteMode.File || map.Palette.File is null) return null;
        try { return CacheKeys.ContentDigest(File.ReadAllBytes(config.ResolvePath(map.Palette.File))); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// The one up-to-date decision (SPEC §3), for hosts that show or act on it before running (the MSBuild task, the
    /// CLI's <c>--explain</c> and <c>--dry-run --explain</c>): per input, in order, "up to date" — its outputs are on disk
    /// as this content, config, model, labels and tool version made them, so a run only stats them — or why it must
    /// run (<see cref="RunReason"/>). Reads what earlier runs recorded beside the cache (inputs by content: a touch
    /// keeps an input up to date); runs nothing and writes no output. <see cref="RunBatchAsync(IReadOnlyList{InputItem}, IProgress{PipelineResult}?, CancellationToken)"/> makes the same
    /// decision and puts it on each result (<see cref="PipelineResult.Reason"/>).
    /// </summary>
    public IReadOnlyList<UpToDateDecision> CheckUpToDate(IReadOnlyList<InputItem> inputs) => Plan(inputs).Decisions;

    /// <summary>
    /// The up-to-date decision for a batch, made once (<see cref="CheckUpToDate"/>'s answers with what each found: its
    /// digest, keys and up-to-date outputs), for a host that sizes its run by it and then runs the same inputs with
    /// <see cref="RunBatchAsync(IReadOnlyList{InputItem}, BatchPlan, int, int?, CancellationToken)"/>. Holds no image bytes.
    /// </summary>
    internal BatchPlan Plan(IReadOnlyList<InputItem> inputs)
    {
        var decided = new PendingInput?[inputs.Count];
        var decisions = new UpToDateDecision[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var pending = new PendingInput(inputs[i], i);
            try
            {
                Decide(pending, null);
                pending.Input = pending.Input with { Bytes = null }; // the run reads (and checks) what it decodes
                decided[i] = pending;
                decisions[i] = pending.Decision!;
            }
            catch (ImageFlowException ex) { decisions[i] = UpToDateCheck.Unreadable(inputs[i].Path, ex); }
        }
        return new BatchPlan(decided, decisions);
    }

    /// <summary>A batch's decisions and the inputs they were made for (<see cref="Plan"/>); an input that could not be read is decided again when it runs.</summary>
    internal sealed class BatchPlan(PendingInput?[] decided, IReadOnlyList<UpToDateDecision> decisions)
    {
        public IReadOnlyList<UpToDateDecision> Decisions { get; } = decisions;
        /// <summary>Inputs that run (not up to date).</summary>
        public int ToRun => Decisions.Count(d => !d.IsUpToDate);
        internal PendingInput? Decided(int index) => decided[index];
    }

    /// <summary>Checks up front that the image output folder can be written (CLI exit code 4 otherwise).</summary>
    public void EnsureOutputWritable()
    {
        if (!Config.Output.Save.Apply && !Config.Output.SaveRaw.Apply) return;
        var folder = _outputs.DefaultFolder;
        var probe = TempFileOwner.TempPath(Path.Combine(folder, "imageflowio-write-probe"));
        try
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OutputException(ErrorCodes.OutputNotWritable, folder, $"the output folder is not writable ({ex.Message}); choose another output folder (output.save.path)");
        }
    }

    /// <summary>Runs one image file through the whole pipeline. Failures come back in the result, not as exceptions.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "A trailing optional CancellationToken is the .NET async convention; the overloads differ in their required parameters.")]
    public Task<PipelineResult> RunAsync(string path, CancellationToken cancellationToken = default) =>
        Task.Run(() => WithRunMeta(Process(new InputItem(path), 0, null, cancellationToken)), cancellationToken);

    /// <summary>A single run with a plain <c>writeMeta.jsonPath</c> writes it as an array of its one result, like a batch of one.</summary>
    private PipelineResult WithRunMeta(PipelineResult result)
    {
        WriteBatchMeta(new BatchResult { Items = [result], Cache = _cache.Statistics });
        return result;
    }

    /// <summary>Runs one image read from a stream; <paramref name="name"/> names it in outputs and logs.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "A trailing optional CancellationToken is the .NET async convention; the overloads differ in their required parameters.")]
    public async Task<PipelineResult> RunAsync(Stream stream, string name, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var bytes = buffer.ToArray();
        return await Task.Run(() => WithRunMeta(Process(new InputItem(name), 0, bytes, cancellationToken)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Decodes and preprocesses one image into the model's input tensor (cached like a full run).</summary>
    public TensorData Preprocess(string path)
    {
        var input = ReadInputDigest(path, null);
        return Preprocessed(path, input, _preprocess.Key(input.Digest), new Dictionary<string, double>(), new Dictionary<string, string>()).Tensor;
    }

    /// <summary>
    /// Processes many inputs in parallel (up to <see cref="PipelineOptions.MaxParallelism"/>); one bad input never stops
    /// the rest. With a batch size above 1 and a model with a dynamic batch axis, inputs are grouped into model runs of
    /// up to that many same-size tensors (each input is still cached on its own).
    /// </summary>
    public Task<BatchResult> RunBatchAsync(IReadOnlyList<InputItem> inputs, IProgress<PipelineResult>? progress = null, CancellationToken cancellationToken = default) =>
        RunPlannedAsync(inputs, null, _options.MaxParallelism, progress, cancellationToken);

    /// <summary>
    /// Runs a batch as <paramref name="plan"/> decided it (no input is decided twice) with <paramref name="workers"/> at
    /// once; <paramref name="intraOpThreads"/>: ONNX Runtime threads for the sessions this batch opens (null: as created).
    /// </summary>
    internal Task<BatchResult> RunBatchAsync(IReadOnlyList<InputItem> inputs, BatchPlan plan, int workers, int? intraOpThreads, CancellationToken cancellationToken)
    {
        if (intraOpThreads is { } threads) _intraOpThreads = threads;
        return RunPlannedAsync(inputs, plan, workers, null, cancellationToken);
    }

    private async Task<BatchResult> RunPlannedAsync(IReadOnlyList<InputItem> inputs, BatchPlan? plan, int workers, IProgress<PipelineResult>? progress, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        // Nothing can serve an input (no cache layer, no up-to-date record): every readable input runs the model, so its
        // session starts loading now, beside the collision check and the first inputs' reads and decisions.
        if (inputs.Count > 0 && EveryInputRunsTheModel) OpenSessionsSoon();
        var results = new PipelineResult[inputs.Count];
        var collisions = FindCollisions(inputs, out var planned);
        _outputs.RemoveAbandonedTempFiles(inputs, planned);
        var groupSize = ModelBatchSize;
        var groups = new List<int[]>((inputs.Count + groupSize - 1) / groupSize);
        for (var start = 0; start < inputs.Count; start += groupSize)
        {
            var group = new int[Math.Min(groupSize, inputs.Count - start)];
            for (var k = 0; k < group.Length; k++) group[k] = start + k;
            groups.Add(group);
        }
        List<(int Index, PendingInput Pending)> PrepareGroup(int[] group, CancellationToken ct)
        {
            var work = new List<(int Index, PendingInput Pending)>();
            foreach (var i in group)
            {
                if (collisions.TryGetValue(i, out var error)) results[i] = new PipelineResult { Input = inputs[i].Path, Error = error };
                else work.Add((i, Prepare(inputs[i], i, null, ct, plan?.Decided(i), planned[i])));
            }
            return work;
        }
        void WriteGroup(int[] group, List<(int Index, PendingInput Pending)> work)
        {
            foreach (var (i, pending) in work)
            {
                results[i] = Finish(pending);
                ReleaseTensors(pending);
                progress?.Report(results[i]);
            }
            if (collisions.Count > 0) foreach (var i in group.Where(collisions.ContainsKey)) progress?.Report(results[i]);
        }
        if (workers <= 1 && groups.Count > 1 && _intraOpThreads > 1 && PrepareAhead)
        {
            // One worker whose model has several cores: while a group's model runs (its sleeping intra-op threads leave
            // gaps), the next group is read, decoded and preprocessed and the previous one's outputs are written, each on
            // a thread of its own; outputs are written and reported in input order.
            var next = Task.Run(() => PrepareGroup(groups[0], cancellationToken), cancellationToken);
            var writing = Task.CompletedTask;
            try
            {
                for (var g = 0; g < groups.Count; g++)
                {
                    var work = await next.ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    if (g + 1 < groups.Count)
                    {
                        var following = groups[g + 1];
                        next = Task.Run(() => PrepareGroup(following, cancellationToken), cancellationToken);
                    }
                    RunInference(work.Select(w => w.Pending).ToList(), cancellationToken);
                    await writing.ConfigureAwait(false);
                    var group = groups[g];
                    writing = Task.Run(() => WriteGroup(group, work), CancellationToken.None);
                }
                await writing.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // No preparation or write outlives the batch (cancelled, or a host's progress handler threw).
                await Task.WhenAll(next, writing).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                throw;
            }
        }
        else
        {
            await Parallel.ForEachAsync(groups,
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers), CancellationToken = cancellationToken },
                (group, ct) =>
                {
                    var work = PrepareGroup(group, ct);
                    if (work.Exists(static w => w.Pending.NeedsModel)) RunInference(work.Select(w => w.Pending).ToList(), ct);
                    WriteGroup(group, work);
                    return ValueTask.CompletedTask;
                }).ConfigureAwait(false);
        }
        _cache.Flush(); // background uploads finish (bounded) before the batch's statistics are final
        var batch = new BatchResult { Items = results, Cache = _cache.Statistics, ElapsedMs = sw.Elapsed.TotalMilliseconds };
        WriteBatchMeta(batch);
        _logger.LogInformation("cache statistics: {Stats}", _cache.Statistics);
        return batch;
    }

    /// <summary>True when no cache layer or up-to-date record could serve an input (<c>useCaching: none</c>), so each one that reads runs the model.</summary>
    private bool EveryInputRunsTheModel => !_options.DecideOnly && !_cache.IsEnabled && _cache.OutputFiles is null;

    /// <summary>Whether one worker whose model has several cores prepares the next input and writes the previous one's outputs while the model runs (on; bench/model-overhead turns it off to compare).</summary>
    internal bool PrepareAhead { get; set; } = true;

    /// <summary>Inputs per model run: the configured batch size when the model has a dynamic batch axis and tiling is off, else 1.</summary>
    internal int ModelBatchSize => _inference.BatchSize;

    /// <summary>Inputs whose image outputs would collide (or whose name pattern fails); <paramref name="planned"/>: each input's planned image path, made once for the batch.</summary>
    private Dictionary<int, ImageFlowException> FindCollisions(IReadOnlyList<InputItem> inputs, out string?[] planned)
    {
        var errors = new Dictionary<int, ImageFlowException>();
        var comparer = OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var firstByPath = new Dictionary<string, int>(inputs.Count, comparer);
        var byPath = new Dictionary<string, List<int>>(comparer); // only the paths more than one input plans
        planned = new string?[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            try { planned[i] = _outputs.PlannedImagePath(inputs[i], i); }
            catch (ImageFlowException ex) { errors[i] = ex; continue; }
            if (planned[i] is not { } path) continue;
            if (!firstByPath.TryAdd(path, i))
            {
                if (!byPath.TryGetValue(path, out var list)) byPath[path] = list = [firstByPath[path]];
                list.Add(i);
            }
        }
        foreach (var (path, list) in byPath.Where(p => p.Value.Count > 1))
            foreach (var i in list)
                errors[i] = new OutputException(ErrorCodes.OutputCollision, inputs[i].Path,
                    $"{list.Count} inputs would all be written to '{path}' ({string.Join(", ", list.Select(j => Path.GetFileName(inputs[j].Path)))}); put {{name}} or {{index}} in output.save.filename");
        return errors;
    }

    private void WriteBatchMeta(BatchResult batch)
    {
        if (batch.Items.Count == 0 || _outputs.BatchMetaPath() is not { } path) return;
        RunReport.WriteMeta(path, batch.Items, asArray: true, batch.Cache);
    }

    private static byte[] ReadInput(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageInputException(ErrorCodes.ImageNotFound, path, "the input file does not exist; check input.source");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ImageInputException(ErrorCodes.ImageNotFound, path, $"the input file cannot be read ({ex.Message})");
        }
    }

    private PipelineResult Process(InputItem item, int index, byte[]? content, CancellationToken ct)
    {
        var pending = Prepare(item, index, content, ct);
        RunInference([pending], ct);
        var result = Finish(pending);
        ReleaseTensors(pending);
        return result;
    }

    /// <summary>
    /// Gives this input's per-image tensor arrays back to <see cref="TensorBuffers"/> once it is finished, when nothing
    /// else can hold them: computed in this run (a cache hit's array belongs to the store), no host hook (it may keep
    /// what it is given), no cache layer that keeps payloads after Put, and for the model output no tensors kept in
    /// results. Saves two large-object-heap allocations per image and the gen-2 collections they cause.
    /// </summary>
    private void ReleaseTensors(PendingInput pending)
    {
        if (_options.PreprocessHook is not null || _options.PostprocessHook is not null) return;
        var output = pending.RanInference && !_options.KeepOutputTensors && !_cache.RetainsPayloads(CacheStage.Inference)
            ? pending.Inference?.Tensor.UnsafeArray : null;
        var input = pending.Preprocessed is { } pre && pending.CacheLayers.GetValueOrDefault("preprocess") == "miss" && !_cache.RetainsPayloads(CacheStage.Preprocess)
            ? pre.Tensor.UnsafeArray : null;
        if (output is not null) TensorBuffers.Return(output);
        // A backend that handed its input back as its output: the array is the output's, returned above or not at all.
        if (input is not null && !ReferenceEquals(input, pending.Inference?.Tensor.UnsafeArray)) TensorBuffers.Return(input);
        pending.Preprocessed = null;
        pending.Inference = null;
    }

    /// <summary>One input between the stages: read and preprocessed (or its inference found in a cache), or failed.</summary>
    internal sealed class PendingInput(InputItem item, int index)
    {
        public InputItem Item { get; } = item;
        public int Index { get; } = index;
        public InputContent Input { get; set; }
        public string InferenceKey { get; set; } = "";
        public StageValue? Preprocessed { get; set; }
        public StageValue? Inference { get; set; }
        public bool RanInference { get; set; }
        public ImageFlowException? Error { get; set; }
        public Dictionary<string, double> Timings { get; } = new();
        public Dictionary<string, string> CacheLayers { get; } = new();
        public List<string> Files { get; set; } = [];
        /// <summary>The model output after the host's postprocess hook (what outputs and results show).</summary>
        public TensorData? FinalOutput { get; set; }
        /// <summary>The source size and facts, set when the output stage served this input (cached or up-to-date files), or a chain's cached lines (no facts).</summary>
        public (int Width, int Height, OutputFacts? Facts)? Served { get; set; }
        /// <summary>The facts of the model output as written (computed, or from the output entry that served the files).</summary>
        public OutputFacts? Facts { get; set; }
        /// <summary>The output-stage key, once computed.</summary>
        public string? OutputKey { get; set; }
        /// <summary>Where save writes this input's image, when the batch already made it (null: not made, or no image).</summary>
        public string? PlannedImagePath { get; init; }
        /// <summary>Whether the output stage was looked up (up-to-date index, then the cache), so a miss is looked up once.</summary>
        public bool OutputLookedUp { get; set; }
        /// <summary>The up-to-date decision, and the outputs it found up to date.</summary>
        public UpToDateDecision? Decision { get; set; }
        public OutputFileIndex.UpToDate? UpToDate { get; set; }
        /// <summary>A chain's lines (cached or read now); null without a chain.</summary>
        public IReadOnlyList<Chains.TextLine>? Lines { get; set; }
        public bool NeedsModel => Error is null && Inference is null && Served is null;
    }

    /// <summary>Reads, decides (unless <paramref name="decided"/>: the input as a <see cref="Plan"/> decided it) and serves or preprocesses one input.</summary>
    private PendingInput Prepare(InputItem item, int index, byte[]? content, CancellationToken ct, PendingInput? decided = null, string? plannedImagePath = null)
    {
        var pending = decided ?? new PendingInput(item, index) { PlannedImagePath = plannedImagePath };
        Guard(pending, () =>
        {
            ct.ThrowIfCancellationRequested();
            if (decided is null) Decide(pending, content);
            var input = pending.Input;
            var preKey = _preprocess.Key(input.Digest);
            // A chain whose regions and readings are all cached needs neither the model output nor the image (unless files are saved from them).
            if (_chain is not null && !SavesFiles && _chain.TryServe(pending.InferenceKey, item.Path, out var lines, out var source))
            {
                pending.Lines = lines;
                pending.Served = (source.Width, source.Height, null);
                pending.CacheLayers["chain"] = "hit";
                return;
            }
            // When nothing needs the tensor itself, the output stage's files and facts are all this input needs.
            if (OutputsAreAllThatIsNeeded && (_cache.IsEnabled || pending.UpToDate is not null) && TryServeOutputs(pending)) return;
            var found = _cache.TryGet(_inference.Codec, pending.InferenceKey, item.Path, out var inference, out _);
            pending.CacheLayers["inference"] = found ? "hit" : "miss";
            if (found) pending.Inference = inference;
            else
            {
                OpenSessionsSoon();
                pending.Preprocessed = Preprocessed(item.Path, input, preKey, pending.Timings, pending.CacheLayers);
            }
        });
        if (pending.Decision is null && pending.Error is { } error) pending.Decision = UpToDateCheck.Unreadable(item.Path, error);
        return pending;
    }

    /// <summary>Reads an input's digest (its bytes when they had to be read) and keys, and makes its up-to-date decision.</summary>
    private void Decide(PendingInput pending, byte[]? content)
    {
        var started = Stopwatch.GetTimestamp();
        var input = ReadInputDigest(pending.Item.Path, content);
        pending.Timings["read"] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        pending.Input = input;
        pending.InferenceKey = _inference.Key(_preprocess.Key(input.Digest));
        pending.Decision = Decide(pending);
        // Checked first: a filtered-out line would still box its arguments, once per input.
        if (_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug)) _logger.LogDebug("input/decision {Input}: {Decision}", pending.Item.Path, pending.Decision.Text);
    }

    /// <summary>The up-to-date decision for an input whose keys are known; remembers up-to-date outputs on it for serving.</summary>
    private UpToDateDecision Decide(PendingInput pending)
    {
        var path = pending.Item.Path;
        if (_options.Force) return UpToDateCheck.Forced(path);
        if (_cache.OutputFiles is not { } index) return UpToDateCheck.NoCache(path);
        var folder = _outputs.CacheFolder(pending.Item);
        if (index.TryGetUpToDate(OutputKey(pending), folder, out var current, out var problem))
        {
            pending.UpToDate = current;
            return UpToDateCheck.UpToDate(path);
        }
        return UpToDateCheck.Decide(path, _upToDate.Record(pending.Input.Digest, OutputKey(pending), null), index.LastRun(path, folder), problem);
    }

    /// <summary>Remembers what this run of the input was made of (and its error code when it failed), for the next decision's reason.</summary>
    private void RecordRun(PendingInput pending, string? failure)
    {
        if (_cache.OutputFiles is not { } index || pending.OutputKey is null) return;
        var folder = _outputs.CacheFolder(pending.Item);
        // An up-to-date input's record is most often the one read back: compared in place, not made again.
        if (index.LastRun(pending.Item.Path, folder) is { } last && _upToDate.Describes(last, pending.Input.Digest, pending.OutputKey, failure)) return;
        index.RecordRun(pending.Item.Path, folder, _upToDate.Record(pending.Input.Digest, pending.OutputKey, failure));
    }

    /// <summary>The model will run: its session and a chain's load on other cores while inputs are decoded and preprocessed.</summary>
    private void OpenSessionsSoon()
    {
        _backend.OpenSoon();
        _chain?.OpenSessionsSoon();
    }

    /// <summary>Runs the model for every pending input that needs it: same-size tensors share a run up to the batch size.</summary>
    private void RunInference(List<PendingInput> pendings, CancellationToken ct)
    {
        if (!pendings.Exists(p => p.NeedsModel)) return; // served from the cache: nothing to run
        var todo = pendings.Where(p => p.NeedsModel).ToList();
        if (todo.Count > 0) OpenSessionsSoon();
        while (todo.Count > 0)
        {
            var first = todo[0];
            var group = todo.Where(p => TensorBatch.SameItemShape(p.Preprocessed!.Tensor, first.Preprocessed!.Tensor)).Take(ModelBatchSize).ToList();
            todo.RemoveAll(group.Contains);
            var sw = Stopwatch.StartNew();
            TensorData[] outputs;
            try { outputs = _inference.Run(group.Select(p => p.Preprocessed!.Tensor).ToList(), ct); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                foreach (var p in group) Guard(p, () => throw ex);
                continue;
            }
            var elapsed = sw.Elapsed.TotalMilliseconds;
            for (var k = 0; k < group.Count; k++)
            {
                var p = group[k];
                p.RanInference = true;
                p.Timings["inference"] = elapsed / group.Count;
                if (group.Count > 1) p.Timings["inferenceBatch"] = group.Count;
                p.Inference = new StageValue(outputs[k], p.Preprocessed!.SourceWidth, p.Preprocessed.SourceHeight);
                Guard(p, () => _cache.Put(_inference.Codec, p.InferenceKey, p.Inference, p.Item.Path, WhyNotOnDisk(p)));
            }
        }
    }

    /// <summary>Why this input's inference entry is not worth a disk write (<see cref="DiskAdmission"/>), or null to write it.</summary>
    private string? WhyNotOnDisk(PendingInput p)
    {
        // A re-run that needs the tensor (or saves no files an output entry would serve) needs the inference entry itself.
        if (!OutputsAreAllThatIsNeeded || !(Config.Output.Save.Apply || Config.Output.SaveRaw.Apply) || !_cache.WritesToDisk(CacheStage.Inference)) return null;
        var bytes = p.Inference!.Tensor.UnsafeArray.LongLength;
        var recomputeMs = p.Timings.GetValueOrDefault("decode") + p.Timings.GetValueOrDefault("preprocess") + p.Timings.GetValueOrDefault("inference");
        if (_diskAdmission.KeepInference(bytes, recomputeMs, out var msPerMiB)) return null;
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{bytes} bytes that save {msPerMiB:0.#} ms of compute per MiB, under {_diskAdmission.MinSavedMsPerMiB} (the output entry serves a re-run)");
    }

    /// <summary>True when the config saves image or tensor files (then a chain's cached lines alone do not serve an input).</summary>
    private bool SavesFiles => Config.Output.Save.Apply || Config.Output.SaveRaw.Apply || Config.Visualization.Apply;

    /// <summary>The result of one input with the config's checks evaluated over it (cached or computed alike).</summary>
    private PipelineResult Finish(PendingInput pending)
    {
        var result = FinishStages(pending);
        return Config.Checks.Count == 0 ? result : result.WithChecks(Chains.QualityChecks.Evaluate(Config.Checks, result));
    }

    private PipelineResult FinishStages(PendingInput pending)
    {
        var item = pending.Item;
        PipelineResult result;
        if (pending.Error is null && pending.Served is { } served)
        {
            // Served by the output stage: its entry (or up-to-date record) carries every fact a fresh result would give.
            result = Result(pending, served.Width, served.Height, served.Facts, output: null);
        }
        else
        {
            if (pending.Error is null)
            {
                Guard(pending, () =>
                {
                    var inference = pending.Inference!;
                    var sw = Stopwatch.StartNew();
                    pending.FinalOutput = _options.PostprocessHook is { } postprocess ? postprocess(inference.Tensor) : inference.Tensor;
                    var files = WriteOutputs(pending, inference);
                    pending.Timings["postprocessAndSave"] = sw.Elapsed.TotalMilliseconds;
                    pending.Files = files;
                    if (_chain is not null)
                        pending.Lines = _chain.Run(pending.InferenceKey, inference, () => DecodeRgb(item.Path, BytesToDecode(item.Path, pending.Input)), item.Path, pending.Timings, CancellationToken.None);
                });
            }
            if (pending.Error is { } error) return Failed(pending, error);
            var value = pending.Inference!;
            result = Result(pending, value.SourceWidth, value.SourceHeight, pending.Facts, _options.KeepOutputTensors ? pending.FinalOutput ?? value.Tensor : null);
        }
        if (_outputs.OverlayPath(item, pending.Index) is { } overlayPath && pending.Lines is { } lines)
        {
            // Like the meta file: an up-to-date input keeps its overlay; one deleted by hand is drawn again from the served lines.
            if (!(pending.UpToDate is not null && pending.Served is not null && File.Exists(overlayPath)))
            {
                try { Chains.LineOverlay.Write(overlayPath, DecodeRgb(item.Path, BytesToDecode(item.Path, pending.Input)), lines); }
                catch (ImageFlowException ex)
                {
                    _logger.LogDebug("input/failed {Error}", ex.ToString());
                    return Failed(pending, ex);
                }
                _logger.LogDebug("output/overlay {File}", overlayPath);
            }
            pending.Files = [.. pending.Files, overlayPath];
            result = result.WithOutputs(pending.Files);
        }
        if (_outputs.MetaPath(item) is not { } metaPath)
        {
            RecordRun(pending, null);
            return result;
        }
        // Up to date: its meta stays as the run that made the outputs wrote it (new timings would make it a changed file to copy again).
        if (pending.UpToDate is not null && pending.Served is not null && File.Exists(metaPath))
        {
            RecordRun(pending, null);
            return result.WithOutputs([.. pending.Files, metaPath]);
        }
        try { RunReport.WriteMeta(metaPath, [result], asArray: false); }
        catch (ImageFlowException ex)
        {
            _logger.LogDebug("input/failed {Error}", ex.ToString());
            return Failed(pending, ex);
        }
        RecordRun(pending, null);
        // The meta file describes the other outputs; the result lists it too, so hosts treat every written file alike.
        return result.WithOutputs([.. pending.Files, metaPath]);
    }

    /// <summary>A succeeded input's result: computed or served alike, its facts from the output stage (none for a chain's cached lines).</summary>
    private static PipelineResult Result(PendingInput pending, int sourceWidth, int sourceHeight, OutputFacts? facts, TensorData? output) => new()
    {
        Input = pending.Item.Path, Output = output, Outputs = pending.Files, SourceWidth = sourceWidth, SourceHeight = sourceHeight,
        OutputShape = facts?.OutputShape ?? [], TopK = facts?.TopK ?? [], OutputStatistics = facts?.Channels ?? [],
        SavedImageWidth = facts?.SavedWidth ?? 0, SavedImageHeight = facts?.SavedHeight ?? 0,
        TimingsMs = pending.Timings, Cache = pending.CacheLayers, RanInference = pending.RanInference, Reason = pending.Decision, Lines = pending.Lines,
    };

    private PipelineResult Failed(PendingInput pending, ImageFlowException error)
    {
        RecordRun(pending, error.Code);
        return new PipelineResult { Input = pending.Item.Path, Error = error, TimingsMs = pending.Timings, Cache = pending.CacheLayers, Reason = pending.Decision };
    }

    /// <summary>The facts hosts report about a model output as written (<paramref name="saved"/>: the saved image's size).</summary>
    private OutputFacts FactsOf(TensorData output, (int Width, int Height) saved) =>
        new([.. output.Shape], OutputChannelStatistics.Compute(output), TopK(output), saved.Width, saved.Height);

    /// <summary>The original input, decoded again, as 8-bit RGB for a chain's crops.</summary>
    private Chains.RgbPixels DecodeRgb(string path, byte[] bytes)
    {
        using var decoded = ImageDecoder.Decode(path, bytes, Config.Input);
        return Chains.RgbPixels.FromImage(decoded.Image);
    }

    /// <summary>The original input, decoded again (its inference may have come from a cache), as 0..1 RGB.</summary>
    private FloatImage DecodeOriginal(string path, byte[] bytes)
    {
        using var decoded = ImageDecoder.Decode(path, bytes, Config.Input);
        return FloatImage.FromImage(decoded.Image);
    }

    /// <summary>Runs a step of one input; a failure is recorded on that input (and logged), never thrown.</summary>
    private void Guard(PendingInput pending, Action step)
    {
        if (pending.Error is not null) return;
        try { step(); }
        catch (ImageFlowException ex)
        {
            // The host reports failures (CLI stderr, MSBuild errors); the library only traces them.
            _logger.LogDebug("input/failed {Error}", ex.ToString());
            pending.Error = ex;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var error = new ImageFlowException(ErrorFamily.Internal, ErrorCodes.Internal, pending.Item.Path, $"unexpected failure ({ex.GetType().Name}: {ex.Message}); please report it", ex);
            _logger.LogDebug(ex, "input/failed {Error}", error.ToString());
            pending.Error = error;
        }
    }

    /// <summary>
    /// True when a result needs no tensor (the host drops them, no postprocess hook): then an output-stage hit skips
    /// reading the inference entry (megabytes) and only writes the cached files back; its facts (shape, statistics,
    /// top-k, saved size) serve writeMeta and the host's reports.
    /// </summary>
    private bool OutputsAreAllThatIsNeeded => !_options.KeepOutputTensors && _options.PostprocessHook is null;

    private string OutputKey(PendingInput pending) => pending.OutputKey ??= pending.PlannedImagePath is { } planned
        ? _outputs.Key(pending.InferenceKey, pending.Item, planned)
        : _outputs.Key(pending.InferenceKey, pending.Item, pending.Index);

    /// <summary>
    /// Serves this input's outputs when its output stage has them: files the up-to-date decision found as they were
    /// written are only stat-ed (<see cref="OutputFileIndex"/>; counted and logged as a hit of the layer keeping the
    /// index), else the cached files are written back. Records the lookup either way.
    /// </summary>
    private bool TryServeOutputs(PendingInput pending)
    {
        pending.OutputLookedUp = true;
        var started = Stopwatch.GetTimestamp();
        if (pending.UpToDate is { } current)
        {
            _cache.CountUpToDate(pending.Item.Path);
            pending.CacheLayers["output"] = "up-to-date";
            pending.Files = current.Files;
            pending.Served = (current.SourceWidth, current.SourceHeight, current.Facts);
            pending.Timings["postprocessAndSave"] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return true;
        }
        var folder = _outputs.CacheFolder(pending.Item);
        if (_cache.TryGet(_outputs.Codec, OutputKey(pending), pending.Item.Path, out var cached, out _))
        {
            if (cached.TryWrite(folder, out var files, out var problem))
            {
                _cache.OutputFiles?.Record(OutputKey(pending), folder, cached, files);
                pending.CacheLayers["output"] = "hit";
                pending.Files = files;
                pending.Served = (cached.SourceWidth, cached.SourceHeight, cached.Facts);
                pending.Timings["postprocessAndSave"] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                return true;
            }
            _logger.LogWarning("cache/output rejected {Input}: {Problem}; recomputing", pending.Item.Path, problem);
        }
        pending.CacheLayers["output"] = "miss";
        return false;
    }

    /// <summary>Postprocesses and saves, or, when this inference result was saved the same way before, writes the cached files (no postprocess, no encode). Sets the input's facts.</summary>
    private List<string> WriteOutputs(PendingInput pending, StageValue inference)
    {
        var item = pending.Item;
        var output = pending.FinalOutput!;
        var input = pending.Input;
        Func<FloatImage> original = () => DecodeOriginal(item.Path, BytesToDecode(item.Path, input));
        (int, int) saved;
        // A host postprocess hook is code, not config: its results are not cached (nor recorded as up to date).
        if (_options.PostprocessHook is not null || (!_cache.IsEnabled && _cache.OutputFiles is null))
        {
            var written = _outputs.Write(item, pending.Index, output, inference.SourceWidth, inference.SourceHeight, original, out saved);
            pending.Facts = FactsOf(output, saved);
            return written;
        }
        if (_cache.IsEnabled && !pending.OutputLookedUp && TryServeOutputs(pending))
        {
            pending.Facts = pending.Served!.Value.Facts!;
            return pending.Files;
        }
        var files = _outputs.Write(item, pending.Index, output, inference.SourceWidth, inference.SourceHeight, original, out saved);
        pending.Facts = FactsOf(output, saved);
        if (OutputBundle.Capture(files, _outputs.CacheFolder(item), inference.SourceWidth, inference.SourceHeight, pending.Facts) is { } bundle)
        {
            _cache.Put(_outputs.Codec, OutputKey(pending), bundle, item.Path);
            _cache.OutputFiles?.Record(OutputKey(pending), _outputs.CacheFolder(item), bundle, files);
        }
        return files;
    }

    /// <summary>The input's content digest, and its bytes when they had to be read (the cache's mtime+size fast path may skip the read).</summary>
    internal readonly record struct InputContent(string Digest, byte[]? Bytes);

    private InputContent ReadInputDigest(string path, byte[]? content)
    {
        if (content is not null) return new(CacheKeys.ContentDigest(content), content);
        if (_cache.InputDigests is not { } index) { var bytes = ReadInput(path); return new(CacheKeys.ContentDigest(bytes), bytes); }
        var digest = index.GetDigest(path, ReadInput, out var read);
        return new(digest, read);
    }

    /// <summary>
    /// The bytes to decode; after a fast-path digest they are read now and checked, so a result is never cached under
    /// another content's key: by the file's unchanged size and time (as the fast path trusts them), else by hashing.
    /// </summary>
    private byte[] BytesToDecode(string path, InputContent input)
    {
        if (input.Bytes is { } known) return known;
        var bytes = ReadInput(path);
        if (_cache.InputDigests?.StillDescribes(path, input.Digest) == true && bytes.Length == new FileInfo(path).Length) return bytes;
        if (CacheKeys.ContentDigest(bytes) != input.Digest)
            throw new ImageInputException(ErrorCodes.ImageNotFound, path, "the input file changed while it was being processed; run again");
        return bytes;
    }

    /// <summary>The preprocess stage through the cache: a hit, or decoded and preprocessed now.</summary>
    private StageValue Preprocessed(string path, InputContent input, string key, Dictionary<string, double> timings, Dictionary<string, string> cacheLayers)
    {
        var value = _cache.GetOrCompute(_preprocess.Codec, key, path, () => _preprocess.Run(path, BytesToDecode(path, input), timings), out var layer);
        cacheLayers["preprocess"] = layer == "miss" ? "miss" : "hit";
        return value;
    }

    private IReadOnlyList<(string, float)> TopK(TensorData output)
    {
        if (output.Shape.Count != 2 || output.ElementType != TensorDataType.Float32) return [];
        var scores = output.AsFloat32()[..output.Shape[1]].ToArray();
        // Scores are reported after the configured activation (softmax over the classes), as the image steps would see them.
        if (Config.Postprocessing.Activation.Apply) Postprocessor.Activate(new FloatImage(1, 1, scores.Length, scores), Config.Postprocessing.Activation.Type);
        var k = Math.Min(5, scores.Length);
        return Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).Take(k)
            .Select(i => (_labels is not null && i < _labels.Length ? _labels[i] : i.ToString(System.Globalization.CultureInfo.InvariantCulture), scores[i])).ToArray();
    }

    public void Dispose()
    {
        _chain?.Dispose();
        _backend.Dispose();
        if (_ownsCache) _cache.Dispose();
    }
}
