using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImageFlowIO.BuildServer;

/// <summary>What the last build produced for one asset, so the next build can skip it when nothing it depends on changed.</summary>
internal sealed class AssetRecord
{
    /// <summary>The runtime's content digest of the image (SHA-256): a touched file with the same content stays up to date.</summary>
    public string ContentDigest { get; set; } = "";
    /// <summary>Digest of everything else that decides the outputs (config values, model, tool version).</summary>
    public string Fingerprint { get; set; } = "";
    public string OutputDirectory { get; set; } = "";
    public int Index { get; set; }
    public List<string> Outputs { get; set; } = [];
    /// <summary>The config's checks that fired for it (reported again while it stays up to date).</summary>
    public List<AssetCheck> Checks { get; set; } = [];
}

/// <summary>A check that fired for an asset (<see cref="Chains.CheckFinding"/> as the state file keeps it).</summary>
internal sealed class AssetCheck
{
    public string Id { get; set; } = "";
    public string Code { get; set; } = "";
    public Config.CheckSeverity Severity { get; set; }
    public string Message { get; set; } = "";
}

/// <summary>The task's per-asset records (<c>imageflow.state.json</c> in obj/), keyed by the asset's full path.</summary>
internal sealed class AssetState
{
    public Dictionary<string, AssetRecord> Assets { get; set; } = new(StringComparer.Ordinal);

    public static AssetState Load(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize(stream, AssetStateJsonContext.Default.AssetState) ?? new AssetState();
        }
        // A missing or unreadable state only costs a full rebuild of the assets.
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException) { return new AssetState(); }
    }

    public void Save(string path) =>
        Output.AtomicFile.Write(path, s => JsonSerializer.Serialize(s, this, AssetStateJsonContext.Default.AssetState));
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(AssetState))]
internal sealed partial class AssetStateJsonContext : JsonSerializerContext;
