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

        var active = 0;
        var lastActivity = Environment.TickCount64;
        using var stop = new CancellationTokenSource();
        using var idleCheck = new Timer(_ =>
        {
            if (Volatile.Read(ref active) != 0 || Environment.TickCount64 - Volatile.Read(ref lastActivity) <= idle.TotalMilliseconds) return;
            try { stop.Cancel(); }
            catch (ObjectDisposedException) { } // a last tick while the server is already exiting
        }, null, 1000, 1000);

        while (!stop.IsCancellationRequested)
        {
            var pipe = new NamedPipeServerStream(pipeName, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances,
                PipeTransmissionMode.Byte, PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);
            try { pipe.WaitForConnectionAsync(stop.Token).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { pipe.Dispose(); break; }
            Interlocked.Increment(ref active);
            _ = Task.Run(() =>
            {
                try { Serve(pipe, stop); }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException) { } // the client went away
                finally
                {
                    pipe.Dispose();
                    Volatile.Write(ref lastActivity, Environment.TickCount64);
                    Interlocked.Decrement(ref active);
                }
            });
        }
        // A request accepted just as the idle timer fired still finishes.
        while (Volatile.Read(ref active) > 0) Thread.Sleep(50);
        return 0;
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

        // Work a build handed over as CoreBuild started shares the cores with MSBuild's own targets (OverlapsBuild).
        var task = new ImageFlowAssetTask { BuildEngine = new ForwardingBuildEngine(sink, request), OverlapsBuild = request.Start, ForwardedEnvironment = request.Environment };
        bool result;
        try
        {
            TaskParameters.Apply(task, request.Parameters);
            task.Assets = [.. request.Assets.Select(a => new ForwardedTaskItem(a))];
            // The client dropping the connection (a canceled build) cancels the task; so does any byte it sends.
            _ = Task.Run(() =>
            {
                try { pipe.ReadByte(); } catch (Exception ex) when (ex is IOException or ObjectDisposedException) { }
                task.Cancel();
            });
            result = task.Execute(inServer: true);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug in the task: the same failure MSBuild would report in-process, with the server's stack for the report.
            sink.Send(new BuildServerEvent { Kind = BuildServerEvent.Error, Subcategory = "ImageFlowIO", Code = ErrorCodes.BuildTaskFailed, File = request.ProjectFile, Text = "the ImageFlowIO build server's task failed: " + ex });
            result = false;
        }
        sink.Send(new BuildServerEvent { Kind = BuildServerEvent.Done, Result = result, ServerProcessId = Environment.ProcessId });
    }

    private static string? Argument(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Serialises events from the task's threads onto the pipe; a client that went away makes later sends no-ops.</summary>
    private sealed class EventSink(Stream pipe, int maxImportance)
    {
        private readonly Lock _gate = new();
        private bool _broken;
        public int MaxImportance => maxImportance;

        public void Send(BuildServerEvent e)
        {
            lock (_gate)
            {
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
