using System.CommandLine;
using System.CommandLine.Help;
using System.Reflection;
using ImageFlowIO.Cli;
using ImageFlowIO.Config;

// Before any thread allocates: the process's native heap on huge pages (the library never touches its host's allocator).
NativeHeap.Prepare();
return await ImageFlowCli.RunAsync(args, Console.Out, Console.Error);

namespace ImageFlowIO.Cli
{
    /// <summary>The <c>imageflowio</c> command line: a thin shell over <see cref="Pipeline"/>.</summary>
    internal static class ImageFlowCli
    {
        /// <summary>The command name users type (the tool's ToolCommandName), shown in --help whatever the host executable is.</summary>
        public const string CommandName = "imageflowio";

        /// <summary>The tool's version: the CLI assembly's informational version without the source-revision suffix.</summary>
        public static string Version
        {
            get
            {
                var informational = typeof(ImageFlowCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                    ?? typeof(ImageFlowCli).Assembly.GetName().Version?.ToString() ?? "0.0.0";
                var plus = informational.IndexOf('+');
                return plus < 0 ? informational : informational[..plus];
            }
        }

        /// <summary>Runs one command line; <c>environment</c> is where <c>--shard auto</c> reads the CI's variables (null: this process's; tests pass their own).</summary>
        public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?>? environment = null)
        {
            // Known before parsing, so even a parse error comes back as the one JSON document a script expects.
            var report = new CliErrorReport(stderr, WantsJsonErrors(args));
            var parsed = CreateRootCommand(stdout, stderr, environment, report).Parse(args);
            if (parsed.Errors.Count > 0)
            {
                if (report.Json)
                {
                    foreach (var e in parsed.Errors) report.Usage(e.Message);
                    return report.Finish(ExitCodes.UsageOrConfig);
                }
                foreach (var e in parsed.Errors) stderr.WriteLine($"error: {e.Message}");
                stderr.WriteLine($"Run '{CommandName} --help' for the list of options.");
                return ExitCodes.UsageOrConfig;
            }
            try
            {
                // Our own handler: System.CommandLine's default prints a stack trace and exits 1.
                return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: what was written stays valid (outputs and cache entries are written atomically).
                return report.Finish(report.Cancelled());
            }
            catch (Exception ex)
            {
                var failure = new ImageFlowException(ErrorFamily.Internal, ErrorCodes.Internal, null,
                    $"unexpected failure ({ex.GetType().Name}: {ex.Message}); please report it with the config and command line");
                report.Error(failure);
                return report.Finish(ExitCodes.For(failure));
            }
        }

        /// <summary>Parses a command line without running it (the docs' command lines are checked with it: issue 26).</summary>
        internal static ParseResult Parse(params string[] args) =>
            CreateRootCommand(TextWriter.Null, TextWriter.Null, null, new CliErrorReport(TextWriter.Null, json: false)).Parse(args);

        private static Command CreateRootCommand(TextWriter stdout, TextWriter stderr, Func<string, string?>? environment, CliErrorReport report)
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
            var verbose = new Option<bool>("--verbose", "-v") { Description = "Same as --log-level debug" };
            var logFile = new Option<string?>("--log-file") { Description = "Also write the log to this file" };
            var errors = new Option<string?>("--errors") { Description = "Error format on stderr: pretty (default) or json" };
            errors.AcceptOnlyFromAmong("pretty", "json");
            var jsonErrors = new Option<bool>("--json-errors") { Description = "Same as --errors json" };
            var viz = new Option<string?>("--viz") { Description = "Write a visualisation per input: sideBySide, overlay, heatmap or difference (overrides visualization.type and turns it on)" };
            viz.AcceptOnlyFromAmong(VisualizationTypes);
            var vizAlpha = new Option<double?>("--viz-alpha") { HelpName = "a", Description = "Blend alpha of the visualisation, 0 to 1 (overrides visualization.alpha)" };
            vizAlpha.Validators.Add(r => { if (r.GetValueOrDefault<double?>() is { } a && (a < 0 || a > 1 || double.IsNaN(a))) r.AddError("--viz-alpha must be between 0 and 1"); });
            var vizOut = new Option<string?>("--viz-out") { HelpName = "dir", Description = "Folder for visualisations (overrides visualization.outputPath)" };
            var validateOnly = new Option<bool>("--validate-only") { Description = "Check the config (and the model when it exists), then exit; writes nothing" };
            var dryRun = new Option<bool>("--dry-run") { Description = "List what would be processed, then exit; writes nothing" };
            var explain = new Option<bool>("--explain") { Description = "Print one line per input: up to date, or why it runs (with --dry-run: without running anything)" };
            var printSchema = new Option<bool>("--print-schema") { Description = "Print the config's JSON Schema" };
            var progress = new Option<bool>("--progress") { Description = "Show a progress bar (default when writing to a terminal)" };
            var noProgress = new Option<bool>("--no-progress") { Description = "Never show a progress bar" };
            var version = new Option<bool>("--version", "-V") { Description = "Print the version and exit" };
            var remoteCache = new Option<string?>("--remote-cache") { Description = "Shared HTTP cache URL (bazel-remote, nginx WebDAV); overrides execution.cache.remote.url and IMAGEFLOWIO_REMOTE_CACHE" };
            var remoteCacheReadOnly = new Option<bool>("--remote-cache-read-only") { Description = "Only read from the remote cache (pull requests, developer machines)" };
            var shard = new Option<string?>("--shard") { HelpName = "k/n|auto", Description = "Process only shard k of n of the inputs (k/n, by a stable hash of each input's relative path); auto: k/n from the CI's variables (GitLab, Azure Pipelines, CircleCI, Buildkite, Kubernetes Indexed Jobs with IMAGEFLOWIO_SHARD_COUNT)" };

            var root = new Command(CommandName, "imageflowio: preprocess images, run an ONNX model, postprocess and save, driven by one JSON config.")
            {
                config, input, output, cache, cacheDir, backend, threads, concurrency, logLevel, verbose, logFile, errors, jsonErrors,
                viz, vizAlpha, vizOut, validateOnly, dryRun, explain, printSchema, progress, noProgress, remoteCache, remoteCacheReadOnly, shard, version, new HelpOption(),
            };
            root.Subcommands.Add(CacheCommands.Create(stdout, stderr));
            root.Subcommands.Add(BenchmarkCommand.Create(stdout, stderr));

            root.SetAction(async (parse, ct) =>
            {
                if (parse.GetValue(version))
                {
                    stdout.WriteLine(Version);
                    return ExitCodes.Ok;
                }
                var level = parse.GetValue(logLevel);
                if (parse.GetValue(verbose))
                {
                    if (level is not null and not "debug") return report.Finish(report.Usage($"--verbose means --log-level debug; it cannot be combined with --log-level {level}"));
                    level = "debug";
                }
                var errorFormat = parse.GetValue(errors);
                if (parse.GetValue(jsonErrors))
                {
                    if (errorFormat is "pretty") return UsageError(stderr, "--json-errors means --errors json; it cannot be combined with --errors pretty");
                    errorFormat = "json";
                }
                var run = new RunCommand(stdout, stderr, report)
                {
                    ConfigPath = parse.GetValue(config),
                    InputPath = parse.GetValue(input),
                    OutputDir = parse.GetValue(output),
                    Cache = parse.GetValue(cache),
                    CacheDir = parse.GetValue(cacheDir),
                    Backend = parse.GetValue(backend),
                    Threads = parse.GetValue(threads),
                    Concurrency = parse.GetValue(concurrency),
                    LogLevel = level,
                    LogFile = parse.GetValue(logFile),
                    Visualization = parse.GetValue(viz) is { } type ? ParseVisualizationType(type) : null,
                    VisualizationAlpha = parse.GetValue(vizAlpha),
                    VisualizationOut = parse.GetValue(vizOut),
                    ValidateOnly = parse.GetValue(validateOnly),
                    DryRun = parse.GetValue(dryRun),
                    Explain = parse.GetValue(explain),
                    PrintSchema = parse.GetValue(printSchema),
                    Progress = parse.GetValue(noProgress) ? false : parse.GetValue(progress) ? true : null,
                    RemoteCache = parse.GetValue(remoteCache),
                    RemoteCacheReadOnly = parse.GetValue(remoteCacheReadOnly),
                    Shard = parse.GetValue(shard),
                    Environment = environment,
                };
                return report.Finish(await run.ExecuteAsync(ct).ConfigureAwait(false));
            });
            return root;
        }

        /// <summary>The visualisation types as the config and the original CLI spell them.</summary>
        internal static readonly string[] VisualizationTypes = ["sideBySide", "overlay", "heatmap", "difference"];

        internal static VisualizationType ParseVisualizationType(string name) => Enum.Parse<VisualizationType>(name, ignoreCase: true);

        /// <summary>True when the command line asks for <c>--errors json</c> (or <c>--json-errors</c>) of the root command, read from the raw arguments.</summary>
        internal static bool WantsJsonErrors(string[] args)
        {
            if (args.Length > 0 && args[0] is "cache" or "benchmark") return false;
            for (var i = 0; i < args.Length; i++)
                if (args[i] is "--json-errors" or "--errors=json" or "--errors:json" || (args[i] == "--errors" && i + 1 < args.Length && args[i + 1] == "json"))
                    return true;
            return false;
        }

        internal static int UsageError(TextWriter stderr, string message)
        {
            stderr.WriteLine($"error: {message}");
            stderr.WriteLine($"Run '{CommandName} --help' for the list of options.");
            return ExitCodes.UsageOrConfig;
        }
    }
}
