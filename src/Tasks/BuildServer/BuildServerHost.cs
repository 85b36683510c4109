using System.Collections;
using System.Globalization;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using Microsoft.Build.Framework;

namespace ImageFlowIO.Tasks.BuildServer;

/// <summary>
/// The build server's process (<c>ImageFlowIO.BuildServer.dll</c>, started by the first build that asks for it): accepts
/// the task's requests on a user-only pipe and runs each in a fresh <see cref="ImageFlowAssetTask"/> whose log events go
/// back to the MSBuild node. What stays warm between builds is what a fresh process pays for on every edit build: loaded
/// ONNX Runtime and its sessions (the runtime's session cache), JIT-compiled code, pooled buffers. It exits after
/// <c>--idle-timeout</c> seconds without a request; one server per pipe name (a named mutex), SIGINT ignored (a Ctrl+C in
/// the terminal that started the build is for the build).
/// </summary>
internal static class BuildServerHost
{
    private const int ExitUsage = 2, ExitWrongTask = 3;

    public static int Run(string[] args)
    {
        var pipeName = Argument(args, "--pipe");
        var taskId = Argument(args, "--task-id");
        if (pipeName is null || taskId is null)
        {
            Console.Error.WriteLine("usage: dotnet exec ImageFlowIO.BuildServer.dll --msbuild <dir> --pipe <name> --task-id <id> [--idle-timeout <seconds>]");
            return ExitUsage;
        }
        // Started for another build of the task (a stale folder): the client falls back to running in-process.
        if (!string.Equals(taskId, TaskAssemblyId, StringComparison.Ordinal)) return ExitWrongTask;
        var idle = TimeSpan.FromSeconds(int.TryParse(Argument(args, "--idle-timeout"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 600);
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            try { File.AppendAllText(BuildServerProtocol.CrashLogPath(pipeName), $"{DateTime.UtcNow:O} pid {Environment.ProcessId}: {e.ExceptionObject}\n"); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        };

        using var single = new Mutex(initiallyOwned: false, "ImageFlowIO." + pipeName);
        bool owned;
        try { owned = single.WaitOne(0); }
        catch (AbandonedMutexException) { owned = true; } // a server that was killed
        if (!owned) return 0; // another server already serves this name
        try { return Listen(pipeName, idle); }
        finally { single.ReleaseMutex(); }
    }

    /// <summary>Accepts connections until idle or asked to stop, each served on its own thread.</summary>
    private static int Listen(string pipeName, TimeSpan idle)
    {
        using var ignoreCtrlC = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);

        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        using var stop = new CancellationTokenSource();
        using var idleCheck = new Timer(_ =>
        {
            if (Volatile.Read(ref _active) != 0 || Environment.TickCount64 - Volatile.Read(ref _lastActivity) <= idle.TotalMilliseconds) return;
            try { stop.Cancel(); }
            catch (ObjectDisposedException) { } // a last tick while the server is already exiting
        }, null, 1000, 1000);

        while (!stop.IsCancellationRequested)
        {
            var pipe = new NamedPipeServerStream(pipeName, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances,
                PipeTransmissionMode.Byte, PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);
            try { pipe.WaitForConnectionAsync(stop.Token).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { pipe.Dispose(); break; }
            Interlocked.Increment(ref _active);
            _ = Task.Run(() =>
            {
                try { Serve(pipe, stop); }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException) { } // the client went away
                finally
                {
                    pipe.Dispose();
                    Idle();
                }
            });
        }
        // A request accepted just as the idle timer fired, and work a build started, still finish.
        while (Volatile.Read(ref _active) > 0) Thread.Sleep(50);
        return 0;
    }

    // Connections being served and started work running: the server is not idle while either is above zero.
    private static int _active;
    private static long _lastActivity;

    private static void Idle()
    {
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        Interlocked.Decrement(ref _active);
    }

    internal static string TaskAssemblyId => typeof(ImageFlowAssetTask).Assembly.ManifestModule.ModuleVersionId.ToString("N");

    /// <summary>One connection: one request, its events, its result.</summary>
    private static void Serve(Stream pipe, CancellationTokenSource stop)
    {
        var request = BuildServerProtocol.ReadRequest(pipe);
        if (request is null) return;
        var sink = new EventSink(pipe, request.MaxImportance);
        if (request.Protocol != BuildServerProtocol.Version || request.TaskAssemblyId != TaskAssemblyId)
        {
            sink.Send(new BuildServerEvent { Kind = BuildServerEvent.Refused, Text = $"protocol {request.Protocol} / task {request.TaskAssemblyId} is not this server's" });
            return;
        }
        if (request.Shutdown)
        {
            stop.Cancel(); // no new requests; running ones finish
            sink.Send(new BuildServerEvent { Kind = BuildServerEvent.Done, Result = true, ServerProcessId = Environment.ProcessId });
            return;
        }
        if (request.Start)
        {
            StartedWork.Start(request);
            sink.Send(new BuildServerEvent { Kind = BuildServerEvent.Done, Result = true, ServerProcessId = Environment.ProcessId });
            return;
        }

        // The client dropping the connection (a canceled build) cancels the task; so does any byte it sends.
        var canceled = new CancellationTokenSource();
        _ = Task.Run(() =>
        {
            try { pipe.ReadByte(); } catch (Exception ex) when (ex is IOException or ObjectDisposedException) { }
            canceled.Cancel();
        });
        if (StartedWork.Collect(request, canceled.Token) is { } started)
        {
            // Work this build started early: its log as if it ran now, then its result.
            foreach (var e in started.Events) sink.Send(e);
            sink.Send(new BuildServerEvent { Kind = BuildServerEvent.Done, Result = started.Result, Text = BuildServerEvent.Collected, ServerProcessId = Environment.ProcessId });
            return;
        }
        var result = RunTask(request, sink, canceled.Token);
        sink.Send(new BuildServerEvent { Kind = BuildServerEvent.Done, Result = result, ServerProcessId = Environment.ProcessId });
    }

    /// <summary>Runs the request's task in a fresh <see cref="ImageFlowAssetTask"/> whose log goes to <paramref name="sink"/>.</summary>
    private static bool RunTask(BuildServerRequest request, EventSink sink, CancellationToken cancel)
    {
        var task = new ImageFlowAssetTask { BuildEngine = new ForwardingBuildEngine(sink, request), OverlapsBuild = request.Start };
        try
        {
            TaskParameters.Apply(task, request.Parameters);
            task.Assets = [.. request.Assets.Select(a => new ForwardedTaskItem(a))];
            using var cancelTask = cancel.Register(task.Cancel);
            return task.Execute(inServer: true);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug in the task: the same failure MSBuild would report in-process, with the server's stack for the report.
            sink.Send(new BuildServerEvent { Kind = BuildServerEvent.Error, Subcategory = "ImageFlowIO", Code = ErrorCodes.BuildTaskFailed, File = request.ProjectFile, Text = "the ImageFlowIO build server's task failed: " + ex });
            return false;
        }
    }

    /// <summary>
    /// Work a build handed over early (<see cref="BuildServerRequest.Start"/>, at the start of its CoreBuild), one per
    /// project state file: it runs while MSBuild resolves references, and the same build's task call collects its log and
    /// result. A request for the same project that asks for other work (items added in between) waits for it, because
    /// both write the same state files, then runs afresh; so does one that finds no started work (a restarted server).
    /// </summary>
    private static class StartedWork
    {
        private sealed record Work(BuildServerRequest Request, EventSink Log, CancellationTokenSource Cancel, Task<bool> Result);

        private static readonly Dictionary<string, Work> ByStateFile = new(StringComparer.Ordinal);
        private static readonly Lock Gate = new();

        public static void Start(BuildServerRequest request)
        {
            var key = StateFile(request);
            lock (Gate)
            {
                // Work for this project still running (another build of it): that build collects it; this one runs afresh.
                if (ByStateFile.TryGetValue(key, out var running) && !running.Result.IsCompleted) return;
                var log = new EventSink(null, request.MaxImportance);
                var cancel = new CancellationTokenSource();
                Interlocked.Increment(ref _active);
                var result = Task.Run(() =>
                {
                    try { return RunTask(request, log, cancel.Token); }
                    finally { Idle(); }
                });
                ByStateFile[key] = new Work(request, log, cancel, result);
            }
        }

        /// <summary>The started work's log and result when it is <paramref name="request"/>'s work; else null, after waiting
        /// for any work on the same project to end.</summary>
        public static (IReadOnlyList<BuildServerEvent> Events, bool Result)? Collect(BuildServerRequest request, CancellationToken canceled)
        {
            Work? work;
            lock (Gate)
            {
                if (!ByStateFile.Remove(StateFile(request), out work)) return null;
            }
            var same = work.Request.SameWork(request);
            using (same ? canceled.Register(work.Cancel.Cancel) : default(CancellationTokenRegistration))
            {
                var result = work.Result.GetAwaiter().GetResult();
                work.Cancel.Dispose();
                return same ? (work.Log.Buffered, result) : null;
            }
        }

        private static string StateFile(BuildServerRequest request) =>
            request.Parameters.GetValueOrDefault(nameof(ImageFlowAssetTask.StateFile)) ?? "";
    }

    private static string? Argument(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Serialises events from the task's threads onto the pipe (a client that went away makes later sends no-ops),
    /// or, without a pipe, keeps them for the build that collects started work.</summary>
    private sealed class EventSink(Stream? pipe, int maxImportance)
    {
        private readonly Lock _gate = new();
        private readonly List<BuildServerEvent> _buffered = [];
        private bool _broken;
        public int MaxImportance => maxImportance;

        /// <summary>What was sent to a sink without a pipe (read once its task has ended).</summary>
        public IReadOnlyList<BuildServerEvent> Buffered => _buffered;

        public void Send(BuildServerEvent e)
        {
            lock (_gate)
            {
                if (pipe is null) { _buffered.Add(e); return; }
                if (_broken) return;
                try { BuildServerProtocol.WriteEvent(pipe, e); }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException) { _broken = true; }
            }
        }
    }

    /// <summary>The MSBuild engine as the task sees it in the server: every log event becomes a frame for the client.</summary>
    private sealed class ForwardingBuildEngine(EventSink sink, BuildServerRequest request) : IBuildEngine
    {
        public bool ContinueOnError => false;
        public int LineNumberOfTaskNode => request.Line;
        public int ColumnNumberOfTaskNode => request.Column;
        public string ProjectFileOfTaskNode => request.ProjectFile ?? "";

        public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
            throw new NotSupportedException("the ImageFlowIO task builds no projects");

        public void LogErrorEvent(BuildErrorEventArgs e) => sink.Send(new BuildServerEvent
        {
            Kind = BuildServerEvent.Error, Subcategory = e.Subcategory, Code = e.Code, HelpKeyword = e.HelpKeyword, File = e.File,
            Line = e.LineNumber, Column = e.ColumnNumber, EndLine = e.EndLineNumber, EndColumn = e.EndColumnNumber, Text = e.Message,
        });

        public void LogWarningEvent(BuildWarningEventArgs e) => sink.Send(new BuildServerEvent
        {
            Kind = BuildServerEvent.Warning, Subcategory = e.Subcategory, Code = e.Code, HelpKeyword = e.HelpKeyword, File = e.File,
            Line = e.LineNumber, Column = e.ColumnNumber, EndLine = e.EndLineNumber, EndColumn = e.EndColumnNumber, Text = e.Message,
        });

        public void LogMessageEvent(BuildMessageEventArgs e)
        {
            // Messages the build would not show are not sent (a cold build's -v:d detail is thousands of lines).
            if ((int)e.Importance <= sink.MaxImportance)
                sink.Send(new BuildServerEvent { Kind = BuildServerEvent.Message, Text = e.Message, Importance = (int)e.Importance });
        }

        public void LogCustomEvent(CustomBuildEventArgs e) => LogMessageEvent(new BuildMessageEventArgs(e.Message, e.HelpKeyword, e.SenderName, MessageImportance.Low));
    }

    /// <summary>An asset as the MSBuild node saw it: item spec and the metadata the task reads (FullPath computed there).</summary>
    private sealed class ForwardedTaskItem(ForwardedItem item) : ITaskItem
    {
        // The request's own dictionary (case-insensitive, as MSBuild's metadata names are), read for this item alone: no copy.
        private readonly Dictionary<string, string> _metadata = item.Metadata;
        public string ItemSpec { get; set; } = item.ItemSpec;
        public ICollection MetadataNames => _metadata.Keys;
        public int MetadataCount => _metadata.Count;
        public string GetMetadata(string metadataName) => _metadata.TryGetValue(metadataName, out var value) ? value
            : throw new InvalidOperationException($"asset metadata '{metadataName}' is not sent to the build server: add it to BuildServerClient.ForwardedMetadata");
        public void SetMetadata(string metadataName, string metadataValue) => _metadata[metadataName] = metadataValue;
        public void RemoveMetadata(string metadataName) => _metadata.Remove(metadataName);
        public void CopyMetadataTo(ITaskItem destinationItem)
        {
            foreach (var (name, value) in _metadata) destinationItem.SetMetadata(name, value);
        }
        public IDictionary CloneCustomMetadata() => new Dictionary<string, string>(_metadata, StringComparer.OrdinalIgnoreCase);
    }
}
