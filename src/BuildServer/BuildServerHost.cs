using System.Globalization;
using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace ImageFlowIO.BuildServer;

/// <summary>
/// The build server's process (<c>dotnet exec ImageFlowIO.BuildServer.dll</c>, started by the first build that asks for it):
/// accepts <see cref="AssetBuildRequest"/>s on a user-only pipe and runs each as a plain <see cref="AssetBuild"/> whose
/// events go back to the MSBuild node. No MSBuild assembly is loaded here. What stays warm between builds is what a fresh
/// process pays for on every edit build: loaded ONNX Runtime and its sessions (the runtime's session cache), JIT-compiled
/// code, pooled buffers. It serves only its own <see cref="BuildServerIdentity"/>, one process per identity and user (the
/// single-instance lock in the user's folder), exits after <c>--idle-timeout</c> seconds without a request, and ignores
/// SIGINT (a Ctrl+C in the terminal that started the build is for the build).
/// </summary>
internal static class BuildServerHost
{
    private const int ExitUsage = 2, ExitOtherFiles = 3, ExitNoFolder = 4;

    public static int Run(string[] args)
    {
        var digest = Argument(args, "--identity");
        var host = Argument(args, "--host");
        var framework = Argument(args, "--framework");
        if (digest is null || host is null || framework is null)
        {
            Console.Error.WriteLine("ImageFlowIO.BuildServer is started by the ImageFlowIO build task (ImageFlowBuildServer=true), not by hand.");
            return ExitUsage;
        }
        var onnxRuntime = Argument(args, "--onnxruntime") is { Length: > 0 } library ? library : null;
        var directory = Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory);
        var identity = BuildServerIdentity.Of(directory, host, framework, onnxRuntime);
        // The files changed between the client's look and this start: the client falls back to its own process.
        if (identity.Digest != digest) return ExitOtherFiles;
        var idle = TimeSpan.FromSeconds(int.TryParse(Argument(args, "--idle-timeout"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 600);

        string userDirectory;
        try { userDirectory = BuildServerIdentity.UserDirectory(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return ExitNoFolder; }
        var crashLog = identity.CrashLogPath(userDirectory);
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            try { File.AppendAllText(crashLog, $"{DateTime.UtcNow:O} pid {Environment.ProcessId}: {e.ExceptionObject}\n"); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        };

        using var single = BuildServerIdentity.TryLock(identity.LockPath(userDirectory));
        if (single is null) return 0; // another server for these files and this user runs already
        return Listen(identity, () => BuildServerIdentity.Of(directory, host, framework, onnxRuntime).Digest == digest, idle);
    }

    /// <summary>Accepts connections until idle or asked to stop, each served on its own thread.</summary>
    private static int Listen(BuildServerIdentity identity, Func<bool> filesUnchanged, TimeSpan idle)
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
            var pipe = new NamedPipeServerStream(identity.PipeName, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances,
                PipeTransmissionMode.Byte, PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);
            try { pipe.WaitForConnectionAsync(stop.Token).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { pipe.Dispose(); break; }
            Interlocked.Increment(ref active);
            _ = Task.Run(() =>
            {
                try { Serve(pipe, identity, filesUnchanged, stop); }
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

    /// <summary>One connection: one call, its events, its result.</summary>
    private static void Serve(Stream pipe, BuildServerIdentity identity, Func<bool> filesUnchanged, CancellationTokenSource stop)
    {
        var call = BuildServerProtocol.ReadCall(pipe);
        if (call is null) return;
        var sink = new ReplySink(pipe);
        if (call.Protocol != BuildServerProtocol.Version || call.Identity != identity.Digest)
        {
            sink.Send(new BuildServerReply { Kind = BuildServerReplyKind.Refused, Text = $"protocol {call.Protocol} / identity {call.Identity} is not this server's" });
            return;
        }
        if (call.Shutdown)
        {
            stop.Cancel(); // no new requests; running ones finish
            sink.Send(new BuildServerReply { Kind = BuildServerReplyKind.Done, Result = true, ServerProcessId = Environment.ProcessId });
            return;
        }
        if (!filesUnchanged())
        {
            // Rebuilt in place while it ran: a new server (a new name) serves the new files; this one must not mix them.
            stop.Cancel();
            sink.Send(new BuildServerReply { Kind = BuildServerReplyKind.Refused, Text = "its files changed since it started" });
            return;
        }
        if (call.Build is not { } request) return;

        using var cancel = new CancellationTokenSource();
        bool result;
        try
        {
            // The client dropping the connection (a canceled build) cancels the build; so does any byte it sends.
            _ = Task.Run(() =>
            {
                try { pipe.ReadByte(); } catch (Exception ex) when (ex is IOException or ObjectDisposedException) { }
                try { cancel.Cancel(); } catch (ObjectDisposedException) { }
            });
            var log = new AssetBuildLog(e => sink.Send(new BuildServerReply { Kind = BuildServerReplyKind.Event, Event = e }), request.MaxImportance);
            result = AssetBuild.Run(request, log, cancel.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug in the build: the same failure MSBuild would report in-process, with the server's stack for the report.
            sink.Send(new BuildServerReply { Kind = BuildServerReplyKind.Event, Event = new AssetBuildEvent(AssetBuildEventKind.Error, "the ImageFlowIO build server's asset build failed: " + ex, ErrorCodes.BuildTaskFailed) });
            result = false;
        }
        sink.Send(new BuildServerReply { Kind = BuildServerReplyKind.Done, Result = result, ServerProcessId = Environment.ProcessId });
    }

    private static string? Argument(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Serialises replies from the build's threads onto the pipe; a client that went away makes later sends no-ops.</summary>
    private sealed class ReplySink(Stream pipe)
    {
        private readonly Lock _gate = new();
        private bool _broken;

        public void Send(BuildServerReply reply)
        {
            lock (_gate)
            {
                if (_broken) return;
                try { BuildServerProtocol.WriteReply(pipe, reply); }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException) { _broken = true; }
            }
        }
    }
}
