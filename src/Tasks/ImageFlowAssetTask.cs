using System.Runtime.CompilerServices;
using ImageFlowIO.BuildServer;
using Microsoft.Build.Framework;

namespace ImageFlowIO.Tasks;

/// <summary>
/// The MSBuild adapter of the asset build: turns the <c>ImageFlowAsset</c> items and the task's parameters into a plain
/// <see cref="AssetBuildRequest"/> and runs it as an <see cref="AssetBuild"/> in this process, or hands it to the
/// ImageFlowIO build server (<see cref="BuildServer"/>), which runs the same <see cref="AssetBuild"/>; either way the build's
/// events become this task's log (<see cref="Report"/>).
/// </summary>
public sealed class ImageFlowAssetTask : Microsoft.Build.Utilities.Task, ICancelableTask
{
    private const string Subcategory = "ImageFlowIO";
    private readonly CancellationTokenSource _cancel = new();

    /// <summary>The assets; metadata <c>Config</c> (full path), optional <c>OutputDir</c>, <c>Link</c>, <c>RecursiveDir</c>.</summary>
    public ITaskItem[] Assets { get; set; } = [];
    /// <summary>Folder the outputs are written under (each asset keeps its relative folder).</summary>
    [Required] public string OutputDirectory { get; set; } = "";
    [Required] public string ProjectDirectory { get; set; } = "";
    /// <summary>Every file this task produced, one full path a line (read back by the targets for FileWrites and copies).</summary>
    [Required] public string OutputsFile { get; set; } = "";
    /// <summary>Files the outputs depend on besides assets and configs (models, labels), one a line: more target Inputs.</summary>
    [Required] public string DependenciesFile { get; set; } = "";
    /// <summary>The target's Outputs, deleted first (the targets touch it again only when every asset succeeded).</summary>
    public string? StampFile { get; set; }
    [Required] public string SummaryFile { get; set; } = "";
    public string? CacheMode { get; set; }
    public string? CacheDirectory { get; set; }
    /// <summary>Images processed at once; 0: one per core.</summary>
    public int MaxParallelism { get; set; }
    /// <summary>The asset catalogue the source generator reads; none when not set.</summary>
    public string? CatalogueFile { get; set; }
    /// <summary>Shared remote cache URL (<c>ImageFlowRemoteCache</c>); credentials belong in IMAGEFLOWIO_REMOTE_CACHE_TOKEN, not here.</summary>
    public string? RemoteCache { get; set; }
    public bool RemoteCacheReadOnly { get; set; }
    /// <summary><c>k/n</c>: process only that share of the assets (<c>ImageFlowShard</c>, CI matrix jobs filling a remote cache).</summary>
    public string? Shard { get; set; }
    /// <summary>ONNX Runtime's native library for this machine from the consumer's restored Microsoft.ML.OnnxRuntime package
    /// (the package ships none beside the task); the task's own runtimes/ copy, when there, is still loaded first.</summary>
    public string? OnnxRuntimeLibrary { get; set; }
    /// <summary>Run in the ImageFlowIO build server (<c>ImageFlowBuildServer</c>): a process that keeps ONNX Runtime, its
    /// sessions and compiled code warm between builds, started by the first build that asks and gone after
    /// <see cref="BuildServerIdleTimeout"/>. The build's cache variables (remote cache URL, token, key) travel with it.</summary>
    public bool BuildServer { get; set; }
    /// <summary>Seconds the build server waits for the next build before it exits (<c>ImageFlowBuildServerIdleTimeout</c>).</summary>
    public int BuildServerIdleTimeout { get; set; } = 600;
    /// <summary>With <see cref="BuildServer"/>: only hand the work to the build server and return, so it runs while MSBuild
    /// resolves references; the same build's call with the same parameters (and this one false) collects its result and
    /// log. Never fails the build: a server that cannot take it leaves the work to that later call.</summary>
    public bool StartInBuildServer { get; set; }

    public void Cancel() => _cancel.Cancel();

    public override bool Execute()
    {
        var request = Request();
        if (StartInBuildServer)
        {
            if (BuildServer) BuildServerClient.TryStart(this, request);
            return true;
        }
        if (BuildServer && BuildServerClient.TryExecute(this, request, _cancel.Token, out var served)) return served;
        return ExecuteHere(request);
    }

    // Apart from Execute: a build the server runs never loads the runtime's assemblies into the MSBuild node.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ExecuteHere(AssetBuildRequest request) =>
        AssetBuild.Run(request, new AssetBuildLog(Report, request.MaxImportance), _cancel.Token);

    /// <summary>The plain request: items with the metadata the build reads, paths absolute (the server does not run in the project's folder).</summary>
    internal AssetBuildRequest Request()
    {
        string? FullPath(string? path) => string.IsNullOrEmpty(path) ? path : Path.GetFullPath(path, ProjectDirectory);
        return new AssetBuildRequest
        {
            Assets = [.. Assets.Select(a => new AssetItem(a.ItemSpec, a.GetMetadata("FullPath"), a.GetMetadata("Config"), a.GetMetadata("OutputDir"), a.GetMetadata("Link"), a.GetMetadata("RecursiveDir"), a.GetMetadata("SuppressChecks")))],
            ProjectDirectory = Path.GetFullPath(ProjectDirectory),
            OutputDirectory = FullPath(OutputDirectory)!,
            OutputsFile = FullPath(OutputsFile)!,
            DependenciesFile = FullPath(DependenciesFile)!,
            StampFile = FullPath(StampFile),
            SummaryFile = FullPath(SummaryFile)!,
            CacheMode = CacheMode,
            CacheDirectory = FullPath(CacheDirectory),
            MaxParallelism = MaxParallelism,
            CatalogueFile = FullPath(CatalogueFile),
            RemoteCache = RemoteCache,
            RemoteCacheReadOnly = RemoteCacheReadOnly,
            Shard = Shard,
            OnnxRuntimeLibrary = FullPath(OnnxRuntimeLibrary),
            Environment = AssetBuildRequest.CurrentEnvironment(Shard),
            MaxImportance = Log.LogsMessagesOfImportance(MessageImportance.Low) ? AssetBuildImportance.Low
                : Log.LogsMessagesOfImportance(MessageImportance.Normal) ? AssetBuildImportance.Normal : AssetBuildImportance.High,
        };
    }

    /// <summary>One event of the asset build (in this process or the server's) into the build's log; one without a file is
    /// about this task's call in the project.</summary>
    internal void Report(AssetBuildEvent e)
    {
        if (e.Kind == AssetBuildEventKind.Message)
        {
            Log.LogMessage((MessageImportance)e.Importance, "{0}", e.Text);
            return;
        }
        var (file, line, column) = e.File is null ? (BuildEngine.ProjectFileOfTaskNode, BuildEngine.LineNumberOfTaskNode, BuildEngine.ColumnNumberOfTaskNode) : (e.File, e.Line, e.Column);
        if (e.Kind == AssetBuildEventKind.Error) Log.LogError(Subcategory, e.Code, null, file, line, column, 0, 0, "{0}", e.Text);
        else Log.LogWarning(Subcategory, e.Code, null, file, line, column, 0, 0, "{0}", e.Text);
    }
}
