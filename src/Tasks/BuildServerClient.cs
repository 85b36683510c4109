using System.Diagnostics;
using ImageFlowIO.BuildServer;
using Microsoft.Build.Framework;

namespace ImageFlowIO.Tasks;

/// <summary>
/// The MSBuild node's side of <c>ImageFlowBuildServer</c>: hand the task's plain request to this user's server for the files
/// beside the task (<see cref="BuildServerConnection"/> finds or starts it), report its events into the build and return
/// its result. Anything that keeps the server from running the build (no server file, a refused or broken connection
/// before the result) is reported at normal importance and the build runs in this process instead, as Roslyn's compiler
/// server falls back to the in-process compiler.
/// </summary>
internal static class BuildServerClient
{
    /// <summary>True when the server ran the build (its result in <paramref name="succeeded"/>); false: run it here.</summary>
    public static bool TryExecute(ImageFlowAssetTask task, AssetBuildRequest request, CancellationToken cancel, out bool succeeded)
    {
        succeeded = false;
        var clock = Stopwatch.StartNew();
        if (StartedWork.Take(task, request) is { } early)
        {
            using (early)
                if (early.Collect(task, request, cancel, out succeeded) || cancel.IsCancellationRequested) return true;
        }

        var identity = BuildServerConnection.Identity(request.OnnxRuntimeLibrary);
        var pipe = BuildServerConnection.Connect(identity, request.OnnxRuntimeLibrary, task.BuildServerIdleTimeout, cancel, out var startReason, out var problem);
        if (pipe is null) return Unavailable(task, problem);
        NoteStart(task, startReason);
        var connected = clock.ElapsedMilliseconds;
        using (pipe)
        using (cancel.Register(pipe.Dispose)) // a canceled build drops the connection: the server cancels its build
        {
            try
            {
                switch (BuildServerConnection.Run(pipe, identity, request, task.Report))
                {
                    case { Kind: BuildServerReplyKind.Done } done:
                        task.Log.LogMessage(MessageImportance.Low, "ImageFlowIO: the build server (pid {0}, {1}) ran the task: {2} ms (connected {3})",
                            done.ServerProcessId, startReason is not null ? "started by this build" : "already running", clock.ElapsedMilliseconds, connected);
                        succeeded = done.Result;
                        return true;
                    case { } refused:
                        return Unavailable(task, refused.Text ?? "it refused the request");
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                if (cancel.IsCancellationRequested) return true; // canceled: succeeded stays false
                return Unavailable(task, "the connection broke: " + ex.Message + BuildServerConnection.CrashLogHint(identity));
            }
            if (cancel.IsCancellationRequested) return true;
            // A server that died mid-request wrote nothing half-way (outputs and state are written atomically): run it here.
            return Unavailable(task, "it closed the connection before the build finished" + BuildServerConnection.CrashLogHint(identity));
        }
    }

    /// <summary>
    /// Hands the request to the server (<see cref="ImageFlowAssetTask.StartInBuildServer"/>) on a thread of its own and
    /// returns at once: connecting, sending and the server's work overlap MSBuild's next targets. MSBuild keeps the work for
    /// this build (a registered task object), where the build's task call takes it (<see cref="TryExecute"/>).
    /// </summary>
    public static void TryStart(ImageFlowAssetTask task, AssetBuildRequest request)
    {
        if (task.BuildEngine is not IBuildEngine4 engine) return;
        request.OverlapsBuild = true;
        var work = new StartedWork(request, task.BuildServerIdleTimeout);
        // A build that never reaches the task call (it failed on the way) disposes it: the connection drops, the server cancels.
        engine.RegisterTaskObject(StartedWork.Key(request), work, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
        task.Log.LogMessage(MessageImportance.Low, "ImageFlowIO: the assets' work goes to the build server now; the ImageFlow target collects it");
    }

    private static void NoteStart(ImageFlowAssetTask task, string? startReason)
    {
        if (startReason is not null) task.Log.LogMessage(MessageImportance.Normal, "ImageFlowIO: started a build server: {0}", startReason);
    }

    private static bool Unavailable(ImageFlowAssetTask task, string why)
    {
        task.Log.LogMessage(MessageImportance.Normal, "ImageFlowIO: the build server is not available ({0}); processing in the build process", why);
        return false;
    }

    /// <summary>
    /// Work handed to the server as CoreBuild starts: a connection of its own, read on a background thread (the build's events
    /// are kept until the task call reports them), and the request it sent, which the task call compares with its own.
    /// </summary>
    private sealed class StartedWork : IDisposable
    {
        private readonly AssetBuildRequest _request;
        private readonly List<AssetBuildEvent> _events = [];
        private readonly CancellationTokenSource _cancel = new();
        private readonly Thread _reader;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private string? _problem, _startReason;
        private BuildServerReply? _done;
        private long _connected, _finished;

        public StartedWork(AssetBuildRequest request, int idleSeconds)
        {
            _request = request;
            _reader = new Thread(() => Run(idleSeconds)) { IsBackground = true, Name = "ImageFlowIO build server (started work)" };
            _reader.Start();
        }

        public static string Key(AssetBuildRequest request) => "ImageFlowIO.StartedWork|" + request.OutputsFile;

        /// <summary>This build's started work for the task's project, now the caller's; null when there is none.</summary>
        public static StartedWork? Take(ImageFlowAssetTask task, AssetBuildRequest request) =>
            task.BuildEngine is IBuildEngine4 engine ? engine.UnregisterTaskObject(Key(request), RegisteredTaskObjectLifetime.Build) as StartedWork : null;

        private void Run(int idleSeconds)
        {
            var identity = BuildServerConnection.Identity(_request.OnnxRuntimeLibrary);
            try
            {
                using var pipe = BuildServerConnection.Connect(identity, _request.OnnxRuntimeLibrary, idleSeconds, _cancel.Token, out _startReason, out var problem);
                if (pipe is null) { _problem = problem; return; }
                _connected = _clock.ElapsedMilliseconds;
                using var drop = _cancel.Token.Register(pipe.Dispose);
                _done = BuildServerConnection.Run(pipe, identity, _request, _events.Add);
                _finished = _clock.ElapsedMilliseconds;
                if (_done is null) _problem = "it closed the connection before the build finished" + BuildServerConnection.CrashLogHint(identity);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
            {
                _problem = "the connection broke: " + ex.Message + BuildServerConnection.CrashLogHint(identity);
            }
        }

        /// <summary>
        /// True when this is <paramref name="request"/>'s work and the server finished it: its events reported into the task's
        /// log, its result in <paramref name="succeeded"/>. Otherwise (other work, or it did not reach the server) false, once it
        /// has ended: the caller then runs the build itself.
        /// </summary>
        public bool Collect(ImageFlowAssetTask task, AssetBuildRequest request, CancellationToken cancel, out bool succeeded)
        {
            succeeded = false;
            var same = _request.SameWork(request);
            var collecting = _clock.ElapsedMilliseconds;
            using (cancel.Register(_cancel.Cancel))
                _reader.Join();
            if (cancel.IsCancellationRequested) return false;
            NoteStart(task, _startReason);
            if (!same)
            {
                // Items or parameters the build changed after the hand-over: the started work wrote the same state files.
                task.Log.LogMessage(MessageImportance.Low, "ImageFlowIO: this build changed the assets' work after handing it to the build server; running it again");
                return false;
            }
            if (_done is not { Kind: BuildServerReplyKind.Done } done)
            {
                task.Log.LogMessage(MessageImportance.Low, "ImageFlowIO: the work handed over early did not reach the build server ({0})", _done?.Text ?? _problem ?? "no answer");
                return false;
            }
            foreach (var e in _events) task.Report(e);
            task.Log.LogMessage(MessageImportance.Low,
                "ImageFlowIO: the build server (pid {0}, {1}) ran the work this build handed over early: done {2} ms after the hand-over (connected {3}), collected at {4} ms ({5} ms waited)",
                done.ServerProcessId, _startReason is not null ? "started by this build" : "already running", _finished, _connected, collecting,
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
}
