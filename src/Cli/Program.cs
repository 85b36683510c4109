using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using ImageFlowIO;
using ImageFlowIO.Cli;
using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using ImageFlowIO.Output;
using Microsoft.Extensions.Logging;
using Spectre.Console;

return await ImageFlowCli.RunAsync(args, Console.Out, Console.Error);

namespace ImageFlowIO.Cli
{
    /// <summary>The <c>imageflowio</c> command line: a thin shell over <see cref="Pipeline"/>.</summary>
    public static class ImageFlowCli
    {
        public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
        {
            var config = new Option<string?>("--config", "-c") { Description = "Config file (default: imageflow.json, then config.json in the current folder)" };
            var input = new Option<string?>("--input", "-i") { Description = "Image file or folder; overrides input.source" };
            var output = new Option<string?>("--output", "-o") { Description = "Output folder; overrides output paths of the config" };
            var cache = new Option<string?>("--cache") { Description = "Cache mode: none, memory or disk" };
            cache.AcceptOnlyFromAmong("none", "memory", "disk");
            var cacheDir = new Option<string?>("--cache-dir") { Description = "Disk cache folder" };
            var backend = new Option<string?>("--backend") { Description = "auto, onnx or noop" };
            backend.AcceptOnlyFromAmong("auto", "onnx", "noop");
            var threads = new Option<string?>("--threads") { Description = "ONNX Runtime intra-op threads: a number or auto" };
            var concurrency = new Option<int?>("--concurrency") { Description = "Images processed at once (default: number of cores)" };
            var logLevel = new Option<string?>("--log-level") { Description = "debug, info, warn or error" };
            logLevel.AcceptOnlyFromAmong("debug", "info", "warn", "error");
            var logFile = new Option<string?>("--log-file") { Description = "Also write the log to this file" };
            var errors = new Option<string>("--errors") { Description = "Error format on stderr: pretty or json", DefaultValueFactory = _ => "pretty" };
            errors.AcceptOnlyFromAmong("pretty", "json");
            var validateOnly = new Option<bool>("--validate-only") { Description = "Check the config (and the model when it exists), then exit" };
            var dryRun = new Option<bool>("--dry-run") { Description = "List what would be processed and written, then exit" };
            var printSchema = new Option<bool>("--print-schema") { Description = "Print the config's JSON Schema" };
            var progress = new Option<bool>("--progress") { Description = "Show a progress bar (default when writing to a terminal)" };
            var noProgress = new Option<bool>("--no-progress") { Description = "Never show a progress bar" };
            var remoteCache = new Option<string?>("--remote-cache") { Description = "Shared HTTP cache URL (bazel-remote, nginx WebDAV); overrides execution.cache.remote.url and IMAGEFLOWIO_REMOTE_CACHE" };
            var remoteCacheReadOnly = new Option<bool>("--remote-cache-read-only") { Description = "Only read from the remote cache (pull requests, developer machines)" };
            var shard = new Option<string?>("--shard") { Description = "Process only shard k of n of the inputs (k/n, by a stable hash of each input's relative path)" };

            var root = new RootCommand("imageflowio: preprocess images, run an ONNX model, postprocess and save, driven by one JSON config.")
            {
                config, input, output, cache, cacheDir, backend, threads, concurrency, logLevel, logFile, errors, validateOnly, dryRun, printSchema, progress, noProgress,
            };
            root.Options.Add(remoteCache);
            root.Options.Add(remoteCacheReadOnly);
            root.Options.Add(shard);
            root.Subcommands.Add(CacheCommands.Create(stdout, stderr));

            root.SetAction(async (parse, ct) =>
            {
                var run = new RunCommand(stdout, stderr)
                {
                    ConfigPath = parse.GetValue(config),
                    InputPath = parse.GetValue(input),
                    OutputDir = parse.GetValue(output),
                    Cache = parse.GetValue(cache),
                    CacheDir = parse.GetValue(cacheDir),
                    Backend = parse.GetValue(backend),
                    Threads = parse.GetValue(threads),
                    Concurrency = parse.GetValue(concurrency),
                    LogLevel = parse.GetValue(logLevel),
                    LogFile = parse.GetValue(logFile),
                    JsonErrors = parse.GetValue(errors) == "json",
                    ValidateOnly = parse.GetValue(validateOnly),
                    DryRun = parse.GetValue(dryRun),
                    PrintSchema = parse.GetValue(printSchema),
                    Progress = parse.GetValue(noProgress) ? false : parse.GetValue(progress) ? true : null,
                    RemoteCache = parse.GetValue(remoteCache),
                    RemoteCacheReadOnly = parse.GetValue(remoteCacheReadOnly),
                    Shard = parse.GetValue(shard),
                };
                return await run.ExecuteAsync(ct).ConfigureAwait(false);
            });

            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                foreach (var e in parsed.Errors) stderr.WriteLine($"error: {e.Message}");
                stderr.WriteLine("Run 'imageflowio --help' for the list of options.");
                return ExitCodes.UsageOrConfig;
            }
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr }).ConfigureAwait(false);
        }
    }

    internal sealed class RunCommand(TextWriter stdout, TextWriter stderr)
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
        public bool JsonErrors { get; init; }
        public bool ValidateOnly { get; init; }
        public bool DryRun { get; init; }
        public bool PrintSchema { get; init; }
        public bool? Progress { get; init; }
        public string? RemoteCache { get; init; }
        public bool RemoteCacheReadOnly { get; init; }
        public string? Shard { get; init; }

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

            if (Concurrency is < 1)
            {
                stderr.WriteLine("error: --concurrency must be at least 1");
                return ExitCodes.UsageOrConfig;
            }
            int? intraOp = null;
            if (Threads is { } t && t != "auto")
            {
                if (!int.TryParse(t, out var n) || n < 1) { stderr.WriteLine("error: --threads must be a positive number or auto"); return ExitCodes.UsageOrConfig; }
                intraOp = n;
            }
            else if (Threads == "auto") intraOp = Environment.ProcessorCount;

            var level = (LogLevel ?? cfg.Logging.Level.ToString().ToLowerInvariant()) switch
            {
                "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
                "warn" => Microsoft.Extensions.Logging.LogLevel.Warning,
                "error" => Microsoft.Extensions.Logging.LogLevel.Error,
                _ => Microsoft.Extensions.Logging.LogLevel.Information,
            };
            var logFile = LogFile ?? (cfg.Logging.SaveLogs ? cfg.ResolvePath(cfg.Logging.LogPath ?? "imageflowio.log") : null);
            using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(level).AddProvider(new CliLoggerProvider(level, stderr, logFile)));
            var logger = loggerFactory.CreateLogger("imageflowio");

            var inputPath = InputPath is not null ? Path.GetFullPath(InputPath) : cfg.Input.Source is { } s ? cfg.ResolvePath(s) : null;

            if (ValidateOnly) return Validate(cfg, inputPath, logger);

            if (inputPath is null)
            {
                stderr.WriteLine("error: no input: pass --input <file|folder> or set input.source in the config");
                return ExitCodes.UsageOrConfig;
            }
            var isFolder = Directory.Exists(inputPath);
            if (!isFolder && !File.Exists(inputPath))
            {
                ReportError(new ImageInputException(ErrorCodes.ImageNotFound, inputPath, "the input does not exist; check --input or input.source"));
                return ExitCodes.UsageOrConfig;
            }
            var inputs = isFolder
                ? Directory.EnumerateFiles(inputPath).Where(ImageDecoder.IsSupportedExtension).Order(StringComparer.Ordinal).Select(p => new InputItem(p)).ToList()
                : [new InputItem(inputPath)];
            if (Shard is not null)
            {
                if (!InputShard.TryParse(Shard, out var part, out var shardProblem)) { stderr.WriteLine($"error: --shard: {shardProblem}"); return ExitCodes.UsageOrConfig; }
                inputs = [.. part.Select(inputs, i => i.Path, isFolder ? inputPath : Path.GetDirectoryName(inputPath)!)];
            }

            var options = new PipelineOptions
            {
                LoggerFactory = loggerFactory,
                OutputDirectory = OutputDir is null ? null : Path.GetFullPath(OutputDir),
                Backend = Backend is null ? null : Enum.Parse<BackendKind>(Backend, ignoreCase: true),
                CacheMode = Cache is null ? null : Enum.Parse<CacheMode>(Cache, ignoreCase: true),
                CacheDirectory = CacheDir is null ? null : Path.GetFullPath(CacheDir),
                MaxParallelism = Concurrency ?? Math.Max(1, Environment.ProcessorCount),
                IntraOpThreads = intraOp,
                KeepOutputTensors = false,
                RemoteCache = RemoteCache,
                RemoteCacheReadOnly = RemoteCacheReadOnly ? true : null,
            };

            Pipeline pipeline;
            try
            {
                pipeline = Pipeline.Create(cfg, options);
                pipeline.EnsureOutputWritable();
            }
            catch (ImageFlowException ex)
            {
                ReportError(ex);
                return ExitCodes.For(ex);
            }

            using (pipeline)
            {
                if (DryRun)
                {
                    stdout.WriteLine($"config: {cfg.ConfigPath}");
                    stdout.WriteLine($"backend: {pipeline.BackendKind.ToString().ToLowerInvariant()}, layout: {pipeline.Layout.ToString().ToLowerInvariant()}");
                    foreach (var item in inputs) stdout.WriteLine($"would process: {item.Path}");
                    return ExitCodes.Ok;
                }

                var sw = Stopwatch.StartNew();
                var showProgress = isFolder && (Progress ?? ProgressReporter.DefaultEnabled());
                var batch = showProgress
                    ? await ProgressReporter.RunAsync(stderr, inputs.Count, p => pipeline.RunBatchAsync(inputs, p, ct)).ConfigureAwait(false)
                    : await pipeline.RunBatchAsync(inputs, null, ct).ConfigureAwait(false);

                foreach (var item in batch.Items.Where(i => !i.Succeeded)) ReportError(item.Error!);
                if (isFolder)
                {
                    var summaryDir = options.OutputDirectory ?? cfg.ResolvePath(cfg.Output.Save.Path);
                    try { RunReport.WriteSummary(Path.Combine(summaryDir, "summary.json"), batch); }
                    catch (ImageFlowException ex) { ReportError(ex); return ExitCodes.OutputNotWritable; }
                }
                stdout.WriteLine($"ImageFlowIO: {batch.Items.Count} inputs, {batch.Processed} processed, {batch.FromCache} from cache, {batch.Failed} failed ({sw.ElapsedMilliseconds} ms)");
                return batch.Failed > 0 ? ExitCodes.SomeInputsFailed : ExitCodes.Ok;
            }
        }

        private int Validate(PipelineConfig cfg, string? inputPath, ILogger logger)
        {
            var modelPath = cfg.ResolvePath(cfg.Model.Path);
            var exit = ExitCodes.Ok;
            if (!File.Exists(modelPath))
                stderr.WriteLine($"{modelPath}: warning {ErrorCodes.ModelNotFound}: the model file does not exist yet (a real run with backend onnx needs it)");
            else if ((Backend ?? cfg.Execution.Backend.ToString().ToLowerInvariant()) != "noop")
            {
                try { using var p = Pipeline.Create(cfg, new PipelineOptions { MaxParallelism = 1 }); }
                catch (ImageFlowException ex) { ReportError(ex); exit = ExitCodes.For(ex); }
            }
            if (inputPath is not null && !File.Exists(inputPath) && !Directory.Exists(inputPath))
                stderr.WriteLine($"{inputPath}: warning {ErrorCodes.ImageNotFound}: the input does not exist yet");
            if (exit == ExitCodes.Ok) stdout.WriteLine($"{cfg.ConfigPath}: config is valid");
            return exit;
        }

        private void ReportDiagnostic(ConfigDiagnostic d)
        {
            if (JsonErrors)
                stderr.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["severity"] = d.IsError ? "error" : "warning", ["code"] = d.Code, ["file"] = d.FilePath, ["line"] = d.Line, ["column"] = d.Column, ["message"] = d.Message,
                }));
            else stderr.WriteLine(d.ToString());
        }

        private void ReportError(ImageFlowException ex)
        {
            if (ex is ConfigException ce) { foreach (var d in ce.Diagnostics) ReportDiagnostic(d); return; }
            if (JsonErrors)
                stderr.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?> { ["severity"] = "error", ["code"] = ex.Code, ["file"] = ex.FilePath, ["message"] = ex.Message }));
            else stderr.WriteLine(ex.ToString());
        }
    }

    /// <summary>A Spectre.Console progress bar on stderr for folder runs; off by default when stderr is redirected or CI is set.</summary>
    internal static class ProgressReporter
    {
        public static bool DefaultEnabled() =>
            !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") is null or "" or "0" or "false";

        public static async Task<BatchResult> RunAsync(TextWriter stderr, int total, Func<IProgress<PipelineResult>, Task<BatchResult>> run)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(stderr),
                // Only reached on a terminal or with --progress: draw it even where Spectre cannot detect a terminal
                // (Spectre's live display draws nothing without ANSI).
                Interactive = InteractionSupport.Yes,
                Ansi = AnsiSupport.Yes,
            });
            BatchResult? result = null;
            await console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("images", maxValue: Math.Max(1, total));
                    result = await run(new Progress(task)).ConfigureAwait(false);
                    task.Value = task.MaxValue;
                }).ConfigureAwait(false);
            return result!;
        }

        private sealed class Progress(ProgressTask task) : IProgress<PipelineResult>
        {
            public void Report(PipelineResult value) => task.Increment(1);
        }
    }
}
