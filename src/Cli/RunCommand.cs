using System.Diagnostics;
using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using ImageFlowIO.Output;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Cli;

/// <summary>The root command: run a config over a file or folder (or only validate it, or list what would run).</summary>
internal sealed class RunCommand(TextWriter stdout, TextWriter stderr, CliErrorReport errors)
{
    public string? ConfigPath { get; init; }
    public string? InputPath { get; init; }
    public string? OutputDir { get; init; }
    public string? Cache { get; init; }
    public string? CacheDir { get; init; }
    public string? Backend { get; init; }
    public string? Threads { get; init; }
    public int? Concurrency { get; init; }
    public string? LogLevel { get; init; }
    public string? LogFile { get; init; }
    private bool JsonErrors => errors.Json;
    /// <summary>--viz: turns the config's visualization on with this type.</summary>
    public VisualizationType? Visualization { get; init; }
    public double? VisualizationAlpha { get; init; }
    public string? VisualizationOut { get; init; }
    public bool ValidateOnly { get; init; }
    public bool DryRun { get; init; }
    /// <summary>--explain: one line per input, up to date or why it runs (with --dry-run: without running).</summary>
    public bool Explain { get; init; }
    public bool PrintSchema { get; init; }
    public bool? Progress { get; init; }
    public string? RemoteCache { get; init; }
    public bool RemoteCacheReadOnly { get; init; }
    public string? Shard { get; init; }
    /// <summary>Where <c>--shard auto</c> reads the CI's variables (null: this process's environment).</summary>
    public Func<string, string?>? Environment { get; init; }

    public async Task<int> ExecuteAsync(CancellationToken ct)
    {
        if (PrintSchema)
        {
            stdout.WriteLine(ConfigSchema.Text);
            return ExitCodes.Ok;
        }

        var configPath = ConfigPath ?? new[] { "imageflow.json", "config.json" }.FirstOrDefault(File.Exists);
        if (configPath is null)
        {
            ReportError(new ConfigException([new ConfigDiagnostic(ConfigErrorCodes.ConfigNotFound, DiagnosticSeverity.Error,
                "no config given and no imageflow.json or config.json in the current folder; pass --config <file>", null, 0, 0, 0, 0)], null));
            return ExitCodes.UsageOrConfig;
        }

        var parsed = ConfigParser.ParseFile(configPath);
        foreach (var d in parsed.Diagnostics) ReportDiagnostic(d);
        if (parsed.Config is not { } cfg) return ExitCodes.UsageOrConfig;

        if (Concurrency is < 1) return errors.Usage("--concurrency must be at least 1");
        int? intraOp = null;
        if (Threads is { } t && t != "auto")
        {
            if (!int.TryParse(t, out var n) || n < 1) return errors.Usage("--threads must be a positive number or auto");
            intraOp = n;
        }
        else if (Threads == "auto") intraOp = System.Environment.ProcessorCount;

        if ((VisualizationAlpha is not null || VisualizationOut is not null) && Visualization is null && !cfg.Visualization.Apply)
            return errors.Usage("--viz-alpha and --viz-out change a visualisation, but none is on: add --viz <type> or set visualization.apply in the config");
        cfg = WithVisualizationOverrides(cfg);

        var level = CliLogLevel.Parse(LogLevel ?? cfg.Logging.Level.ToString().ToLowerInvariant());
        // --validate-only and --dry-run write nothing: the config's saveLogs is for runs (an explicit --log-file is still honoured).
        var writesNothing = ValidateOnly || DryRun;
        var logFile = LogFile ?? (cfg.Logging.SaveLogs && !writesNothing ? cfg.ResolvePath(cfg.Logging.LogPath ?? "imageflowio.log") : null);
        CliLoggerProvider logProvider;
        // In JSON mode stderr carries only the one document: logged warnings join it, other console lines are dropped (a --log-file keeps them).
        try { logProvider = new CliLoggerProvider(level, stderr, logFile, JsonErrors ? errors.Warning : null); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ReportError(new OutputException(ErrorCodes.OutputNotWritable, logFile!, $"the log file cannot be written ({ex.Message}); fix --log-file or logging.logPath"));
            return ExitCodes.OutputNotWritable;
        }
        using var ownedLogProvider = logProvider; // the factory below does not dispose providers given to its constructor
        // Built directly, not through LoggerFactory.Create: that builds a DI container (start-up JIT and reflection).
        using var loggerFactory = new LoggerFactory([logProvider], new LoggerFilterOptions { MinLevel = level });
        var logger = loggerFactory.CreateLogger("imageflowio");
        logger.LogDebug("process/native-heap {State}", NativeHeap.State);

        var inputPath = InputPath is not null ? Path.GetFullPath(InputPath) : cfg.Input.Source is { } s ? cfg.ResolvePath(s) : null;

        if (ValidateOnly) return Validate(cfg, inputPath);

        if (inputPath is null) return errors.Usage("no input: pass --input <file|folder> or set input.source in the config");
        var isFolder = Directory.Exists(inputPath);
        if (!isFolder && !File.Exists(inputPath))
        {
            ReportError(new ImageInputException(ErrorCodes.ImageNotFound, inputPath, "the input does not exist; check --input or input.source"));
            return ExitCodes.UsageOrConfig;
        }
        var inputs = isFolder ? InputFiles(inputPath) : [new InputItem(inputPath)];
        if (Shard is not null)
        {
            if (!InputShard.TryResolve(Shard, Environment ?? System.Environment.GetEnvironmentVariable, out var part, out var shardSource, out var shardProblem))
                return errors.Usage($"--shard: {shardProblem}");
            logger.LogInformation("{Shard}", shardSource);
            inputs = [.. part.Select(inputs, i => i.Path, isFolder ? inputPath : Path.GetDirectoryName(inputPath)!)];
        }

        var options = new PipelineOptions
        {
            LoggerFactory = loggerFactory,
            OutputDirectory = OutputDir is null ? null : Path.GetFullPath(OutputDir),
            Backend = Backend is null ? null : Enum.Parse<BackendKind>(Backend, ignoreCase: true),
            // A dry run opens no cache: a disk cache would create its folder (and remember the model's signature there).
            // One that explains reads what earlier runs recorded in an existing cache folder.
            CacheMode = DryRun && !(Explain && ExistingDiskCache(cfg)) ? CacheMode.None : Cache is null ? null : Enum.Parse<CacheMode>(Cache, ignoreCase: true),
            CacheDirectory = CacheDir is null ? null : Path.GetFullPath(CacheDir),
            MaxParallelism = PipelineOptions.WorkersFor(Concurrency ?? System.Environment.ProcessorCount, inputs.Count),
            IntraOpThreads = intraOp,
            KeepOutputTensors = false,
            RemoteCache = RemoteCache,
            RemoteCacheReadOnly = RemoteCacheReadOnly ? true : null,
            DecideOnly = DryRun,
        };

        Pipeline pipeline;
        try
        {
            pipeline = Pipeline.Create(cfg, options);
            if (!DryRun) pipeline.EnsureOutputWritable();
        }
        catch (ImageFlowException ex)
        {
            ReportError(ex);
            return ExitCodes.For(ex);
        }

        using (pipeline)
        {
            if (DryRun && Explain)
            {
                // The runtime's one up-to-date decision, without running anything.
                foreach (var decision in pipeline.CheckUpToDate(inputs)) stdout.WriteLine(decision.ToString());
                return ExitCodes.Ok;
            }
            if (DryRun)
            {
                stdout.WriteLine($"config: {cfg.ConfigPath}");
                stdout.WriteLine($"backend: {pipeline.BackendKind.ToString().ToLowerInvariant()}, layout: {pipeline.Layout.ToString().ToLowerInvariant()}");
                foreach (var item in inputs) stdout.WriteLine($"would process: {item.Path}");
                return ExitCodes.Ok;
            }

            var sw = Stopwatch.StartNew();
            var showProgress = isFolder && !JsonErrors && (Progress ?? ProgressReporter.DefaultEnabled(stderr));
            BatchResult batch;
            try
            {
                batch = showProgress
                    ? await ProgressReporter.RunAsync(stderr, logProvider, inputs.Count, p => pipeline.RunBatchAsync(inputs, p, ct)).ConfigureAwait(false)
                    : await pipeline.RunBatchAsync(inputs, null, ct).ConfigureAwait(false);
            }
            catch (ImageFlowException ex)
            {
                // A batch-level output (writeMeta's one array) that cannot be written.
                ReportError(ex);
                return ExitCodes.For(ex);
            }

            // After the batch, where no live bar is the last thing on the screen: whether the native heap did land on huge pages.
            if (!showProgress && logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug) && NativeHeap.AnonHugePagesKb() is { } huge)
                logger.LogDebug("process/native-heap {Kb} kB of anonymous memory on huge pages after the batch", huge);
            foreach (var item in batch.Items.Where(i => !i.Succeeded)) ReportError(item.Error!);
            // Quality gates (config checks): listed per input; an error-severity check fails the run like a failed input.
            foreach (var item in batch.Items)
                foreach (var finding in item.Checks) errors.Check(item.Input, finding);
            var failedChecks = batch.Items.Sum(i => i.Checks.Count(c => c.Severity == CheckSeverity.Error));
            if (Explain)
                foreach (var item in batch.Items) stdout.WriteLine(item.Reason?.ToString() ?? $"{item.Input}: run, because it was not decided ({item.Error?.Code})");
            if (isFolder)
            {
                var summaryDir = options.OutputDirectory ?? cfg.ResolvePath(cfg.Output.Save.Path);
                try { RunReport.WriteSummary(Path.Combine(summaryDir, "summary.json"), batch); }
                catch (ImageFlowException ex) { ReportError(ex); return ExitCodes.OutputNotWritable; }
            }
            var checks = cfg.Checks.Count == 0 ? "" : $", {batch.Items.Sum(i => i.Checks.Count)} checks fired ({failedChecks} errors)";
            stdout.WriteLine($"ImageFlowIO: {batch.Items.Count} inputs, {batch.Processed} processed, {batch.FromCache} from cache, {batch.Failed} failed{checks} ({sw.ElapsedMilliseconds} ms)");
            if (batch.Failed == 0) return failedChecks > 0 ? ExitCodes.SomeInputsFailed : ExitCodes.Ok;
            // The model opens on the first input that needs it: when it cannot, that is the model's exit code, not an input's.
            return batch.Items.Where(i => !i.Succeeded).All(i => i.Error!.Code is ErrorCodes.OnnxRuntimeNotLoadable or ErrorCodes.ModelUnreadable)
                ? ExitCodes.Model : ExitCodes.SomeInputsFailed;
        }
    }

    /// <summary>True when the disk cache this run would use already exists (a dry run never creates one).</summary>
    private bool ExistingDiskCache(PipelineConfig cfg)
    {
        var mode = Cache is null ? cfg.Execution.UseCaching : Enum.Parse<CacheMode>(Cache, ignoreCase: true);
        if (mode != CacheMode.Disk) return false;
        var folder = Caching.StageCacheFactory.ResolveCacheDirectory(cfg, new PipelineOptions { CacheDirectory = CacheDir is null ? null : Path.GetFullPath(CacheDir) });
        return Directory.Exists(folder);
    }

    /// <summary>The images of a folder (by extension, not recursive), in ordinal order so runs are reproducible.</summary>
    internal static List<InputItem> InputFiles(string folder) =>
        Directory.EnumerateFiles(folder).Where(ImageDecoder.IsSupportedExtension).Order(StringComparer.Ordinal).Select(p => new InputItem(p)).ToList();

    /// <summary>The config with --viz, --viz-alpha and --viz-out applied to its visualization section.</summary>
    private PipelineConfig WithVisualizationOverrides(PipelineConfig cfg)
    {
        if (Visualization is null && VisualizationAlpha is null && VisualizationOut is null) return cfg;
        var viz = cfg.Visualization;
        var copy = new PipelineConfig
        {
            Visualization = new VisualizationConfig
            {
                Apply = viz.Apply || Visualization is not null,
                Type = Visualization ?? viz.Type,
                Alpha = VisualizationAlpha ?? viz.Alpha,
                // Like --output, a folder given on the command line is relative to the current folder.
                OutputPath = VisualizationOut is not null ? Path.GetFullPath(VisualizationOut) : viz.OutputPath,
            },
        };
        // Every other section as it is: copied by property so a section added to the model later is never dropped here.
        foreach (var property in typeof(PipelineConfig).GetProperties().Where(p => p.CanWrite && p.Name != nameof(PipelineConfig.Visualization)))
            property.SetValue(copy, property.GetValue(cfg));
        return copy;
    }

    private int Validate(PipelineConfig cfg, string? inputPath)
    {
        var modelPath = cfg.ResolvePath(cfg.Model.Path);
        var exit = ExitCodes.Ok;
        if (!File.Exists(modelPath))
            Warn(ErrorCodes.ModelNotFound, modelPath, "the model file does not exist yet (a real run with backend onnx needs it)");
        else if ((Backend ?? cfg.Execution.Backend.ToString().ToLowerInvariant()) != "noop")
        {
            // Cache off: a disk cache would create its folder and remember the model's signature in it.
            try { using var p = Pipeline.Create(cfg, new PipelineOptions { MaxParallelism = 1, CacheMode = CacheMode.None }); }
            catch (ImageFlowException ex) { ReportError(ex); exit = ExitCodes.For(ex); }
        }
        if (inputPath is not null && !File.Exists(inputPath) && !Directory.Exists(inputPath))
            Warn(ErrorCodes.ImageNotFound, inputPath, "the input does not exist yet");
        if (exit == ExitCodes.Ok) stdout.WriteLine($"{cfg.ConfigPath}: config is valid");
        return exit;
    }

    private void ReportDiagnostic(ConfigDiagnostic d) => errors.Diagnostic(d);

    private void ReportError(ImageFlowException ex) => errors.Error(ex);

    private void Warn(string code, string file, string message)
    {
        if (JsonErrors) errors.Warning(code, $"{file}: {message}");
        else stderr.WriteLine($"{file}: warning {code}: {message}");
    }
}

internal static class CliLogLevel
{
    public static Microsoft.Extensions.Logging.LogLevel Parse(string name) => name switch
    {
        "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
        "warn" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "error" => Microsoft.Extensions.Logging.LogLevel.Error,
        _ => Microsoft.Extensions.Logging.LogLevel.Information,
    };
}
