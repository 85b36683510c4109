using ImageFlowIO.BuildServer;
using Microsoft.Build.Framework;

namespace ImageFlowIO.Tasks;

/// <summary>
/// Stops this user's ImageFlowIO build server for the task's folder, the last one a build started (<c>dotnet build
/// -t:ImageFlowBuildServerShutdown</c>), as <c>dotnet build-server shutdown</c> does for the SDK's servers. Running
/// builds finish first. Nothing running is not an error.
/// </summary>
public sealed class ImageFlowBuildServerShutdownTask : Microsoft.Build.Utilities.Task
{
    /// <summary>The process id of the server that was asked to exit; 0 when none was running.</summary>
    [Output] public int ProcessId { get; private set; }

    public override bool Execute()
    {
        ProcessId = BuildServerConnection.Shutdown() ?? 0;
        Log.LogMessage(MessageImportance.High, ProcessId == 0
            ? "ImageFlowIO: no build server was running"
            : $"ImageFlowIO: the build server (pid {ProcessId}) is shutting down");
        return true;
    }
}
