namespace ImageFlowIO.BuildServer;

/// <summary>
/// One asset build, as plain data: the items with the metadata the build reads, the settings, and the build's own cache
/// variables. The MSBuild task makes one from its parameters (paths already absolute: the server does not run in the
/// project's folder) and hands it to <see cref="AssetBuild"/> in its own process or to the build server, which runs the
/// same <see cref="AssetBuild"/>; either way the answer is <see cref="AssetBuildEvent"/>s and a result.
/// </summary>
internal sealed class AssetBuildRequest
{
    public List<AssetItem> Assets { get; set; } = [];
    // The settings: the task's parameters of the same names (documented there), paths absolute.
    public string OutputDirectory { get; set; } = "";
    public string ProjectDirectory { get; set; } = "";
    public string OutputsFile { get; set; } = "";
    public string DependenciesFile { get; set; } = "";
    public string? StampFile { get; set; }
    public string SummaryFile { get; set; } = "";
    public string? CacheMode { get; set; }
    public string? CacheDirectory { get; set; }
    public int MaxParallelism { get; set; }
    public string? CatalogueFile { get; set; }
    public string? RemoteCache { get; set; }
    public bool RemoteCacheReadOnly { get; set; }
    public string? Shard { get; set; }
    public string? OnnxRuntimeLibrary { get; set; }
    /// <summary>The build's values of <see cref="ForwardedVariables"/> that are set: a server's own environment is that of
    /// whichever build started it.</summary>
    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The least important messages the build shows; others are not produced (or sent).</summary>
    public AssetBuildImportance MaxImportance { get; set; } = AssetBuildImportance.Low;
    /// <summary>Work a build started early in the server: it runs beside MSBuild's own targets (one core is left to them).</summary>
    public bool OverlapsBuild { get; set; }

    /// <summary>The environment variables the build's caches read (the remote cache's token and key included: the server's
    /// pipe admits only this user, whose server it is).</summary>
    public static readonly string[] ForwardedVariables =
    [
        Caching.StageCacheFactory.EnvironmentVariable, Caching.RemoteCacheSettings.UrlVariable,
        Caching.RemoteCacheSettings.TokenVariable, Caching.RemoteCacheSettings.KeyVariable,
    ];

    /// <summary>This process's values of <see cref="ForwardedVariables"/>, and with <c>ImageFlowShard=auto</c> its CI's parallelism variables.</summary>
    public static Dictionary<string, string> CurrentEnvironment(string? shard) =>
        ForwardedVariables.Concat(string.Equals(shard?.Trim(), "auto", StringComparison.OrdinalIgnoreCase) ? ShardVariables() : [])
            .Select(name => (name, value: System.Environment.GetEnvironmentVariable(name)))
            .Where(v => v.value is not null).ToDictionary(v => v.name, v => v.value!, StringComparer.Ordinal);

    // Apart: only a build with ImageFlowShard=auto loads the runtime's list into the MSBuild node.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static IEnumerable<string> ShardVariables() => InputShard.AutoVariables;

    /// <summary>The same work as <paramref name="other"/>: every field but <see cref="OverlapsBuild"/> (where it runs) equal.</summary>
    public bool SameWork(AssetBuildRequest other) =>
        BuildServerProtocol.WorkBytes(this).AsSpan().SequenceEqual(BuildServerProtocol.WorkBytes(other));
}

/// <summary>An <c>ImageFlowAsset</c> item: its spec and the metadata the build reads (FullPath as MSBuild computed it).</summary>
internal sealed record AssetItem(string ItemSpec, string FullPath, string Config, string OutputDir = "", string Link = "", string RecursiveDir = "", string SuppressChecks = "");

/// <summary>MSBuild's message importances, in its order (the numbers are MSBuild's).</summary>
internal enum AssetBuildImportance { High = 0, Normal = 1, Low = 2 }

internal enum AssetBuildEventKind { Message, Warning, Error }

/// <summary>One thing the build reports: a message, or a warning or error with its <c>IFIO####</c> code and file.</summary>
internal sealed record AssetBuildEvent(AssetBuildEventKind Kind, string Text, string? Code = null, string? File = null, int Line = 0, int Column = 0,
    AssetBuildImportance Importance = AssetBuildImportance.Low);

/// <summary>Where an asset build reports to (the MSBuild log, or the server's pipe); messages beyond the build's verbosity are dropped here.</summary>
internal sealed class AssetBuildLog(Action<AssetBuildEvent> sink, AssetBuildImportance maxImportance)
{
    private int _errors;
    public bool HasLoggedErrors => Volatile.Read(ref _errors) != 0;
    public bool Logs(AssetBuildImportance importance) => importance <= maxImportance;

    public void Message(AssetBuildImportance importance, string text)
    {
        if (Logs(importance)) sink(new AssetBuildEvent(AssetBuildEventKind.Message, text, Importance: importance));
    }

    public void Warning(string? code, string? file, string text, int line = 0, int column = 0) =>
        sink(new AssetBuildEvent(AssetBuildEventKind.Warning, text, code, file, line, column));

    public void Error(string code, string? file, string text, int line = 0, int column = 0)
    {
        Interlocked.Exchange(ref _errors, 1);
        sink(new AssetBuildEvent(AssetBuildEventKind.Error, text, code, file, line, column));
    }
}
