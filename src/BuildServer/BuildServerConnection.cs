using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace ImageFlowIO.BuildServer;

/// <summary>
/// A client's side of the build server, without MSBuild: find this user's server for the files beside this assembly
/// (<see cref="BuildServerIdentity"/>), start one when none holds its lock, send a build and pass its events on. Whoever
/// calls it (the MSBuild task) decides what a failure means: every failure here is a reason, never an exception.
/// </summary>
internal static class BuildServerConnection
{
    public const string ServerFileName = "ImageFlowIO.BuildServer.dll";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    // A server that holds its lock is listening (it takes the lock first, then listens at once); a busy one still accepts.
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The folder the server runs from: this assembly's (the task's folder).</summary>
    public static string ServerDirectory => Path.GetDirectoryName(typeof(BuildServerConnection).Assembly.Location)!;

    /// <summary>The identity of the server this process would start for a build using <paramref name="onnxRuntimeLibrary"/>.</summary>
    public static BuildServerIdentity Identity(string? onnxRuntimeLibrary) =>
        BuildServerIdentity.Of(ServerDirectory, DotnetHost(), RuntimeEnvironment.GetRuntimeDirectory(), onnxRuntimeLibrary);

    /// <summary>
    /// A connection to the server of <paramref name="identity"/>, started when no server holds its lock; null: see
    /// <paramref name="problem"/>. <paramref name="startReason"/> says why a new server was started (else null).
    /// </summary>
    public static Stream? Connect(BuildServerIdentity identity, string? onnxRuntimeLibrary, int idleSeconds, CancellationToken cancel,
        out string? startReason, out string problem)
    {
        startReason = null;
        var serverPath = Path.Combine(ServerDirectory, ServerFileName);
        if (!File.Exists(serverPath)) { problem = $"{ServerFileName} is not beside the task in {ServerDirectory}"; return null; }
        string userDirectory;
        try { userDirectory = BuildServerIdentity.UserDirectory(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = "no folder of this user's own for it: " + ex.Message;
            return null;
        }
        if (BuildServerIdentity.IsRunning(identity.LockPath(userDirectory)))
        {
            var pipe = TryConnect(identity.PipeName, ConnectTimeout);
            problem = pipe is null ? $"the running server ({identity.PipeName}) did not answer within {ConnectTimeout.TotalSeconds:0} s" + CrashLogHint(identity) : "";
            return pipe;
        }

        var previous = ReadRecord(BuildServerIdentity.RecordPath(userDirectory, ServerDirectory));
        Process? server;
        try { server = Start(serverPath, identity, onnxRuntimeLibrary, idleSeconds); }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            problem = $"'{DotnetHost()}' could not start it: {ex.Message}";
            return null;
        }
        using (server)
        {
            var pipe = ConnectWhileStarting(identity, server, cancel, out problem);
            if (pipe is null) return null;
            startReason = previous is null ? "none was running for these files"
                : previous.Value.PipeName == identity.PipeName ? "the last one for these files had exited"
                : $"the last one ({previous.Value.PipeName}) ran other files: {identity.Changes(previous.Value.Parts)}";
            WriteRecord(BuildServerIdentity.RecordPath(userDirectory, ServerDirectory), identity);
            // The server it replaces would serve nobody now (no client computes its name): it exits instead of idling.
            if (previous is { } old && old.PipeName != identity.PipeName && BuildServerIdentity.IsRunning(Path.Combine(userDirectory, old.PipeName + ".lock")))
                Shutdown(old.PipeName, old.Digest);
            return pipe;
        }
    }

    /// <summary>
    /// Sends the build and passes each of its events to <paramref name="onEvent"/>; the server's last reply ("done" or
    /// "refused"), or null when the connection ended before it. A broken connection is an <see cref="IOException"/>.
    /// </summary>
    public static BuildServerReply? Run(Stream pipe, BuildServerIdentity identity, AssetBuildRequest request, Action<AssetBuildEvent> onEvent)
    {
        BuildServerProtocol.WriteCall(pipe, new BuildServerCall { Identity = identity.Digest, Build = request });
        while (BuildServerProtocol.ReadReply(pipe) is { } reply)
        {
            if (reply.Kind != BuildServerReplyKind.Event) return reply;
            onEvent(reply.Event!);
        }
        return null;
    }

    /// <summary>Asks the last server started for the files in this folder to exit; the process id of the one that was running, else null.</summary>
    public static int? Shutdown()
    {
        try { return ReadRecord(BuildServerIdentity.RecordPath(BuildServerIdentity.UserDirectory(), ServerDirectory)) is { } last ? Shutdown(last.PipeName, last.Digest) : null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    private static int? Shutdown(string pipeName, string digest)
    {
        using var pipe = TryConnect(pipeName, TimeSpan.FromSeconds(1));
        if (pipe is null) return null;
        try
        {
            BuildServerProtocol.WriteCall(pipe, new BuildServerCall { Identity = digest, Shutdown = true });
            return BuildServerProtocol.ReadReply(pipe) is { Kind: BuildServerReplyKind.Done } done ? done.ServerProcessId : null;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException) { return null; }
    }

    /// <summary>"; a server that crashed wrote …" when the server of <paramref name="identity"/> left a crash log.</summary>
    public static string CrashLogHint(BuildServerIdentity identity)
    {
        try { return identity.CrashLogPath(BuildServerIdentity.UserDirectory()) is var log && File.Exists(log) ? $"; a server that crashed wrote {log}" : ""; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return ""; }
    }

    private static (string PipeName, string Digest, string[] Parts)? ReadRecord(string path)
    {
        try
        {
            var lines = File.ReadAllLines(path);
            return lines.Length > 2 ? (lines[0], lines[1], lines[2..]) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    private static void WriteRecord(string path, BuildServerIdentity identity)
    {
        try { File.WriteAllLines(path, [identity.PipeName, identity.Digest, .. identity.Parts]); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { } // only the next start's reason is less precise
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

    private static NamedPipeClientStream? ConnectWhileStarting(BuildServerIdentity identity, Process server, CancellationToken cancel, out string problem)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout && !cancel.IsCancellationRequested)
        {
            if (TryConnect(identity.PipeName, TimeSpan.FromMilliseconds(100)) is { } pipe) { problem = ""; return pipe; }
            // Exit code 0: another build started a server for the same files at the same moment, which holds the lock; connect to that one.
            if (server.HasExited && server.ExitCode != 0) { problem = $"it exited with code {server.ExitCode}" + CrashLogHint(identity); return null; }
        }
        problem = cancel.IsCancellationRequested ? "the build was canceled" : $"it did not listen within {StartTimeout.TotalSeconds:0} s";
        return null;
    }

    private static Process Start(string serverPath, BuildServerIdentity identity, string? onnxRuntimeLibrary, int idleSeconds)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            // Its own console streams: a server holding the build's stdout open would keep a CI step (or `| tee`) waiting.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = ServerDirectory, // never a project folder: the server outlives the build
        };
        foreach (var arg in (ReadOnlySpan<string>)["exec", serverPath, "--identity", identity.Digest, "--host", DotnetHost(),
                     "--framework", RuntimeEnvironment.GetRuntimeDirectory(), "--onnxruntime", onnxRuntimeLibrary ?? "",
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
