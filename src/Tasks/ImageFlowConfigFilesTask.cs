using ImageFlowIO.Config;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace ImageFlowIO.Tasks;

/// <summary>
/// Lists the files a config names (model, labels, palette file) with the path they must have beside the app, so that a
/// generated pipeline class (which resolves relative paths against <c>AppContext.BaseDirectory</c>) finds them in bin/.
/// Cheap (parses JSON only) and run on every build, also when the project has no ImageFlowAsset items.
/// </summary>
public sealed class ImageFlowConfigFilesTask : Microsoft.Build.Utilities.Task
{
    /// <summary>The configs (the <c>ImageFlowConfig</c> items).</summary>
    public ITaskItem[] Configs { get; set; } = [];

    /// <summary>Existing files the configs name, each with <c>Link</c>: its path relative to its config's folder.</summary>
    [Output] public ITaskItem[] Files { get; private set; } = [];

    public override bool Execute()
    {
        var files = new List<ITaskItem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var configItem in Configs)
        {
            var configPath = configItem.GetMetadata("FullPath");
            if (!File.Exists(configPath)) continue;
            // Errors in the config are reported by the generator and the asset task; here a broken config names no files.
            if (ConfigParser.ParseFile(configPath).Config is not { } config) continue;
            var configDir = Path.GetDirectoryName(configPath)!;
            var named = new[] { config.Model.Path, config.Model.Labels, config.Postprocessing.PaletteMap.Palette.File };
            foreach (var relative in named)
            {
                if (string.IsNullOrEmpty(relative) || Path.IsPathRooted(relative)) continue;
                var full = config.ResolvePath(relative!);
                if (!File.Exists(full) || !seen.Add(full)) continue;
                var link = Path.GetRelativePath(configDir, full);
                if (link.StartsWith("..", StringComparison.Ordinal))
                {
                    Log.LogWarning(null, "IFIO5003", null, configPath, 0, 0, 0, 0,
                        $"'{relative}' lies outside the config's folder, so it is not copied to the output folder and a generated pipeline class will not find it there; move it under the project folder or copy it yourself");
                    continue;
                }
                var item = new TaskItem(full);
                item.SetMetadata("Link", link);
                files.Add(item);
            }
        }
        Files = [.. files];
        return !Log.HasLoggedErrors;
    }
}
