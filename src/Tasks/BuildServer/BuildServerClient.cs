using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using System.Reflection;
using Microsoft.Build.Framework;

namespace ImageFlowIO.Tasks.BuildServer;

/// <summary>
/// The MSBuild node's side of <c>ImageFlowBuildServer</c>: connect to this user's server for this build of the task
/// (starting it when there is none), send the task's parameters and items, replay its log events into the build and
/// return its result. Anything that keeps the server from running the task (no server file, no .NET host, a refused or
/// broken connection before the result) is reported at normal importance and the task runs in the build process instead,
/// as Roslyn's compiler server falls back to the in-process compiler.
/// </summary>
internal static class BuildServerClient
{
    internal const string ServerFileName = "ImageFlowIO.BuildServer.dll";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    /// <summary>True when the server ran the task (its result in <paramref name="succeeded"/>); false: run it here.</summary>
    public static bool TryExecute(ImageFlowAssetTask task, CancellationToken cancel, out bool succeeded)
    {
        succeeded = false;
        var clock = Stopwatch.StartNew();
        var request = Request(task);
        if (StartedWork.Take(task) is { } early)
        {
            using (early)
                if (early.Collect(task, request, cancel, out succeeded) || cancel.IsCancellationRequested) return true;
        }

        var pipe = Connect(task.BuildServerIdleTimeout, cancel, out var pipeName, out var started, out var problem);
        if (pipe is null) return Unavailable(task, problem);
        var connected = clock.ElapsedMilliseconds;
        using (pipe)
        using (cancel.Register(pipe.Dispose)) // a canceled build drops the connection: the server cancels its task
        {
            try
            {
                BuildServerProtocol.WriteRequest(pipe, request);
                var sent = clock.ElapsedMilliseconds;
                while (BuildServerProtocol.ReadEvent(pipe) is { } e)
                {
                    switch (e.Kind)
                    {
                        case BuildServerEvent.Done:
                            task.Log.LogMessage(MessageImportance.Low, "ImageFlowIO: the build server (pid {0}, {1}) ran the task: {2} ms (connected {3}, request sent {4})",
                                e.ServerProcessId, started ? "started by this build" : "already running", clock.ElapsedMilliseconds, connected, sent);
                            succeeded = e.Result;
                            return true;
                        case BuildServerEvent.Refused:
                            return Unavailable(task, e.Text ?? "it refused the request");
                        default:
                            Replay(task.BuildEngine, e);
                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                if (cancel.IsCancellationRequested) return true; // canceled: succeeded stays false
                return Unavailable(task, "the connection broke: " + ex.Message + CrashLogHint(pipeName));
            }
            if (cancel.IsCancellationRequested) return true;
            // A server that died mid-request wrote nothing half-way (outputs and state are written atomically): run it here.
            return Unavailable(task, "it closed the connection before the task finished" + CrashLogHint(pipeName));
        }
    }

    /// <summary>
    /// Hands the task's work to the server (<see cref="ImageFlowAssetTask.StartInBuildServer"/>) on a thread of its own and
    /// returns at once: connecting, sending and the server's work overlap MSBuild's next targets. MSBuild keeps the work for
    /// this build (a registered task object), where the build's task call takes it (<see cref="TryExecute"/>).
    /// </summary>
    public static void TryStart(ImageFlowAssetTask task)
    {
        if (task.BuildEngine is not IBuildEngine4 engine) return;
        var request = Request(task);
        request.Start = true;
        var work = new StartedWork(request, task.BuildServerIdleTimeout);
        // A build that never reaches the task call (it failed on the way) disposes it: the connection drops, the server cancels.
        engine.RegisterTaskObject(StartedWork.Key(task), work, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
        task.Log.LogMessage(MessageImportance.Low, "ImageFlowIO: the assets' work goes to the build server now; the ImageFlow target collects it");
    }

    /// <summary>
    /// Work handed to the server as CoreBuild starts: a connection of its own, read on a background thread (the server's log
    /// events are kept until the task call replays them), and the request it sent, which the task call compares with its own.
    /// </summary>
    private sealed class StartedWork : IDisposable
    {
        private readonly BuildServerRequest _request;
        private readonly List<BuildServerEvent> _events = [];
        private readonly CancellationTokenSource _cancel = new();
        private readonly Thread _reader;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private string? _problem, _pipeName;
        private BuildServerEvent? _done;
        private bool _serverStarted;
        private long _connected, _sent, _finished;

        public StartedWork(BuildServerRequest request, int idleSeconds)
        {
            _request = request;
            _reader = new Thread(() => Run(idleSeconds)) { IsBackground = true, Name = "ImageFlowIO build server (started work)" };
            _reader.Start();
        }

        public static string Key(ImageFlowAssetTask task) => "ImageFlowIO.StartedWork|" + Path.GetFullPath(task.StateFile);

        /// <summary>This build's started work for the task's project, now the caller's; null when there is none.</summary>
        public static StartedWork? Take(ImageFlowAssetTask task) =>
            task.BuildEngine is IBuildEngine4 engine ? engine.UnregisterTaskObject(Key(task), RegisteredTaskObjectLifetime.Build) as StartedWork : null;

        private void Run(int idleSeconds)
        {
            try
            {
                using var pipe = Connect(idleSeconds, _cancel.Token, out var pipeName, out _serverStarted, out var problem);
                _pipeName = pipeName;
                if (pipe is null) { _problem = problem; return; }
                _connected = _clock.ElapsedMilliseconds;
                using var drop = _cancel.Token.Register(pipe.Dispose);
                BuildServerProtocol.WriteRequest(pipe, _request);
                _sent = _clock.ElapsedMilliseconds;
                while (BuildServerProtocol.ReadEvent(pipe) is { } e)
                {
                    if (e.Kind is BuildServerEvent.Done or BuildServerEvent.Refused)
                    {
                        _finished = _clock.ElapsedMilliseconds;
                        _done = e;
                        return;
                    }
                    _events.Add(e);
                }
                _problem = "it closed the connection before the task finished" + CrashLogHint(pipeName);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
            {
                _problem = "the connection broke: " + ex.Message + (_pipeName is { } name ? CrashLogHint(name) : "");
            }
        }

        /// <summary>
        /// True when this is <paramref name="request"/>'s work and the server finished it: its log replayed into the task's,
        /// its result in <paramref name="succeeded"/>. Otherwise (other work, or it did not reach the server) false, once it
        /// has ended: the caller then runs the task itself.
        /// </summary>
        public bool Collect(ImageFlowAssetTask task, BuildServerRequest request, CancellationToken cancel, out bool succeeded)
        {
            succeeded = false;
            var same = _request.SameWork(request);
            var collecting = _clock.ElapsedMilliseconds;
            using (cancel.Register(_cancel.Cancel))
                _reader.Join();
            if (cancel.IsCancellationRequested) return false;
            if (!same)
            {
                // Items or parameters the build changed after the hand-over: the started work wrote the same state files.
                task.Log.LogMessage(MessageImportance.Low, "ImageFlowIO: this build changed the assets' work after handing it to the build server; running it again");
                return false;
            }
            if (_done is not { Kind: BuildServerEvent.Done } done)
            {
                task.Log.LogMessage(MessageImportance.Low, "ImageFlowIO: the work handed over early did not reach the build server ({0})", _done?.Text ?? _problem ?? "no answer");
                return false;
            }
            foreach (var e in _events) Replay(task.BuildEngine, e);
            task.Log.LogMessage(MessageImportance.Low,
                "ImageFlowIO: the build server (pid {0}, {1}) ran the work this build handed over early: done {2} ms after the hand-over (connected {3}, request sent {4}), collected at {5} ms ({6} ms waited)",
                done.ServerProcessId, _serverStarted ? "started by this build" : "already running", _finished, _connected, _sent, collecting,
                Math.Max(0, _finished - collecting));
            succeeded = done.Result;
            return true;
        }

        public void Dispose()
        {
            _cancel.Cancel();
            _reader.Join();
            _cancel.Dispose();
        }
    }

    /// <summary>A connection to this user's server for this task build, starting the server when none listens; null: see problem.</summary>
    private static NamedPipeClientStream? Connect(int idleSeconds, CancellationToken cancel, out string pipeName, out bool started, out string problem)
    {
        started = false;
        var taskDirectory = Path.GetDirectoryName(typeof(ImageFlowAssetTask).Assembly.Location)!;
        var serverPath = Path.Combine(taskDirectory, ServerFileName);
        (pipeName, var msbuildDirectory, var host, var taskId) = Identity();
        if (!File.Exists(serverPath)) { problem = $"{ServerFileName} is not beside the task in {taskDirectory}"; return null; }
        problem = "";
        if (TryConnect(pipeName, TimeSpan.Zero) is { } pipe) return pipe;

        Process? server;
        try { server = Start(host, serverPath, taskDirectory, pipeName, msbuildDirectory, taskId, idleSeconds); }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            problem = $"'{host}' could not start it: {ex.Message}";
            return null;
        }
        using (server)
        {
            pipe = ConnectWhileStarting(pipeName, server, cancel, out problem);
            started = pipe is not null;
            return pipe;
        }
    }

    /// <summary>Asks this user's server for this task, SDK and host to exit; the process id of the one that was running, else null.</summary>
    public static int? Shutdown()
    {
        var (pipeName, _, _, _) = Identity();
        using var pipe = TryConnect(pipeName, TimeSpan.Zero);
        if (pipe is null) return null;
        try
        {
            BuildServerProtocol.WriteRequest(pipe, new BuildServerRequest { TaskAssemblyId = BuildServerHost.TaskAssemblyId, Shutdown = true });
            return BuildServerProtocol.ReadEvent(pipe) is { Kind: BuildServerEvent.Done } done ? done.ServerProcessId : null;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException) { return null; }
    }

    /// <summary>The pipe name, the MSBuild folder and .NET host it is made of, and the task build's id.</summary>
    private static (string PipeName, string MSBuildDirectory, string Host, string TaskId) Identity()
    {
        var msbuildDirectory = Path.GetDirectoryName(typeof(Microsoft.Build.Utilities.Task).Assembly.Location)!;
        var host = DotnetHost();
        var taskId = BuildServerHost.TaskAssemblyId;
        return (BuildServerProtocol.PipeName(taskId, msbuildDirectory, host), msbuildDirectory, host, taskId);
    }

    private static string CrashLogHint(string pipeName) =>
        BuildServerProtocol.CrashLogPath(pipeName) is var log && File.Exists(log) ? $"; a server that crashed wrote {log}" : "";

    private static bool Unavailable(ImageFlowAssetTask task, string why)
    {
        task.Log.LogMessage(MessageImportance.Normal, "ImageFlowIO: the build server is not available ({0}); processing in the build process", why);
        return false;
    }

    private static BuildServerRequest Request(ImageFlowAssetTask task)
    {
        var log = task.Log;
        return new BuildServerRequest
        {
            TaskAssemblyId = BuildServerHost.TaskAssemblyId,
            Parameters = TaskParameters.Capture(task),
            Environment = ForwardedVariables.Select(name => (name, value: System.Environment.GetEnvironmentVariable(name)))
                .Where(v => v.value is not null).ToDictionary(v => v.name, v => v.value!, StringComparer.Ordinal),
            Assets = [.. task.Assets.Select(Forward)],
            MaxImportance = log.LogsMessagesOfImportance(MessageImportance.Low) ? 2 : log.LogsMessagesOfImportance(MessageImportance.Normal) ? 1 : 0,
            ProjectFile = task.BuildEngine.ProjectFileOfTaskNode,
            Line = task.BuildEngine.LineNumberOfTaskNode,
            Column = task.BuildEngine.ColumnNumberOfTaskNode,
        };
    }

    /// <summary>The environment variables the task's cache reads (the remote cache's token and key included: the pipe admits
    /// only this user, whose server it is).</summary>
    internal static readonly string[] ForwardedVariables =
    [
        ImageFlowIO.Caching.StageCacheFactory.EnvironmentVariable, ImageFlowIO.Caching.RemoteCacheSettings.UrlVariable,
        ImageFlowIO.Caching.RemoteCacheSettings.TokenVariable, ImageFlowIO.Caching.RemoteCacheSettings.KeyVariable,
        .. ImageFlowIO.InputShard.AutoVariables, // ImageFlowShard=auto reads the requesting build's CI variables
    ];

    /// <summary>The metadata the task reads from an asset (the server's copy of an item refuses any other: a new read must be added here).</summary>
    internal static readonly string[] ForwardedMetadata = ["FullPath", "RecursiveDir", "Config", "OutputDir", "Link"];

    /// <summary>The item with the metadata the task reads, computed here (FullPath against the node's project folder).</summary>
    private static ForwardedItem Forward(ITaskItem item)
    {
        var forwarded = new ForwardedItem { ItemSpec = item.ItemSpec };
        foreach (var name in ForwardedMetadata) forwarded.Metadata[name] = item.GetMetadata(name);
        return forwarded;
    }

    private static void Replay(IBuildEngine engine, BuildServerEvent e)
    {
        const string sender = nameof(ImageFlowAssetTask);
        switch (e.Kind)
        {
            case BuildServerEvent.Error:
                engine.LogErrorEvent(new BuildErrorEventArgs(e.Subcategory, e.Code, e.File, e.Line, e.Column, e.EndLine, e.EndColumn, e.Text, e.HelpKeyword, sender));
                break;
            case BuildServerEvent.Warning:
                engine.LogWarningEvent(new BuildWarningEventArgs(e.Subcategory, e.Code, e.File, e.Line, e.Column, e.EndLine, e.EndColumn, e.Text, e.HelpKeyword, sender));
                break;
            default:
                engine.LogMessageEvent(new BuildMessageEventArgs(e.Text, e.HelpKeyword, sender, (MessageImportance)Math.Clamp(e.Importance, 0, 2)));
                break;
        }
    }

    private static NamedPipeClientStream? TryConnect(string pipeName, TimeSpan timeout)
    {
        var pipe = new NamedPipeClientStream(".", pipeName, PipeDirection.InOut, PipeOptions.CurrentUserOnly);
        try
        {
            pipe.Connect(timeout);
            return pipe;
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or UnauthorizedAccessException)
        {
            pipe.Dispose();
            return null;
        }
    }

    private static NamedPipeClientStream? ConnectWhileStarting(string pipeName, Process server, CancellationToken cancel, out string problem)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout && !cancel.IsCancellationRequested)
        {
            if (TryConnect(pipeName, TimeSpan.FromMilliseconds(100)) is { } pipe) { problem = ""; return pipe; }
            // Exit code 0: another build started a server for the same name at the same moment; keep connecting to that one.
            if (server.HasExited && server.ExitCode != 0) { problem = $"it exited with code {server.ExitCode}"; return null; }
        }
        problem = cancel.IsCancellationRequested ? "the build was canceled" : $"it did not listen within {StartTimeout.TotalSeconds:0} s";
        return null;
    }

    private static Process Start(string host, string serverPath, string taskDirectory, string pipeName, string msbuildDirectory, string taskId, int idleSeconds)
    {
        var start = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            // Its own console streams: a server holding the build's stdout open would keep a CI step (or `| tee`) waiting.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = taskDirectory, // never a project folder: the server outlives the build
        };
        foreach (var arg in (ReadOnlySpan<string>)["exec", serverPath, "--msbuild", msbuildDirectory, "--pipe", pipeName, "--task-id", taskId,
                     "--idle-timeout", idleSeconds.ToString(CultureInfo.InvariantCulture)])
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("no process");
        process.StandardInput.Close();
        return process;
    }

    /// <summary>The .NET host running this build (the SDK sets DOTNET_HOST_PATH for tasks), else dotnet on the PATH.</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path)) return path;
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return self;
        return "dotnet";
    }
}

/// <summary>
/// The task's parameters as invariant text, by name: every public settable string, int or bool property the class declares
/// travels to the server, so a new parameter needs no protocol change. Paths are made absolute here (MSBuild runs a task
/// in its project's folder; the server does not).
/// </summary>
internal static class TaskParameters
{
    private static readonly HashSet<string> PathParameters = new(StringComparer.Ordinal)
    {
        nameof(ImageFlowAssetTask.OutputDirectory), nameof(ImageFlowAssetTask.ProjectDirectory), nameof(ImageFlowAssetTask.StateFile),
        nameof(ImageFlowAssetTask.OutputsFile), nameof(ImageFlowAssetTask.DependenciesFile), nameof(ImageFlowAssetTask.StampFile),
        nameof(ImageFlowAssetTask.SummaryFile), nameof(ImageFlowAssetTask.CatalogueFile), nameof(ImageFlowAssetTask.OnnxRuntimeLibrary),
    };

    private static IEnumerable<PropertyInfo> Properties() =>
        typeof(ImageFlowAssetTask).GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(p => p.CanWrite && (p.PropertyType == typeof(string) || p.PropertyType == typeof(int) || p.PropertyType == typeof(bool))
                // The request's Start flag: the early call and the one that collects it ask for the same work.
                && p.Name != nameof(ImageFlowAssetTask.StartInBuildServer));

    public static Dictionary<string, string> Capture(ImageFlowAssetTask task)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in Properties())
        {
            if (property.GetValue(task) is not { } value) continue;
            var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
            if (PathParameters.Contains(property.Name) && text.Length > 0) text = Path.GetFullPath(text);
            values[property.Name] = text;
        }
        return values;
    }

    public static void Apply(ImageFlowAssetTask task, Dictionary<string, string> values)
    {
        foreach (var property in Properties())
        {
            if (!values.TryGetValue(property.Name, out var text)) continue;
            property.SetValue(task, property.PropertyType == typeof(string) ? text : Convert.ChangeType(text, property.PropertyType, CultureInfo.InvariantCulture));
        }
    }
}
