using ImageFlowIO.Config;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace ImageFlowIO.Tasks;

/// <summary>
/// Lists the files a config names (model, labels, palette file, a chain's per-region models and dictionary) with the path they must have beside the app, so that a
/// generated pipeline class (which resolves relative paths against <c>AppContext.BaseDirectory</c>) finds them in bin/.
/// Runs only when a config changed (the targets read <see cref="ListFile"/> back on other builds), also in projects
/// without ImageFlowAsset items.
/// </summary>
public sealed class ImageFlowConfigFilesTask : Microsoft.Build.Utilities.Task
{
    /// <summary>The configs (the <c>ImageFlowConfig</c> items).</summary>
    public ITaskItem[] Configs { get; set; } = [];

    /// <summary>Written on every run: one <c>link|full path</c> line per file the configs name inside their folders (existing or not yet).</summary>
    [Required] public string ListFile { get; set; } = "";

    public override bool Execute()
    {
        var lines = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var configItem in Configs)
        {
            var configPath = configItem.GetMetadata("FullPath");
            if (!File.Exists(configPath)) continue;
            // Errors in the config are reported by the generator and the asset task; here a broken config names no files.
            if (ConfigParser.ParseFile(configPath).Config is not { } config) continue;
            var configDir = Path.GetDirectoryName(configPath)!;
            // A chain's per-region models and dictionary too: a generated pipeline class runs the whole chain.
            var named = new[] { config.Model.Path, config.Model.Labels, config.Postprocessing.PaletteMap.Palette.File }
                .Concat(config.Chain?.PerRegion.SelectMany(step => new[] { step.Path, step.Dictionary }) ?? []);
            foreach (var relative in named)
            {
                if (string.IsNullOrEmpty(relative) || Path.IsPathRooted(relative)) continue;
                var full = config.ResolvePath(relative!);
                if (!seen.Add(full)) continue;
                var link = Path.GetRelativePath(configDir, full);
                if (link.StartsWith("..", StringComparison.Ordinal))
                {
                    if (!File.Exists(full)) continue;
                    Log.LogWarning(null, ErrorCodes.BuildFileOutsideProject, null, configPath, 0, 0, 0, 0,
                        $"'{relative}' lies outside the config's folder, so it is not copied to the output folder and a generated pipeline class will not find it there; move it under the project folder or copy it yourself");
                    continue;
                }
                lines.Add(link + "|" + full);
            }
        }
        // Always rewritten (never "only when different"): the file is the target's Outputs, so it must end newer than its Inputs.
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(ListFile))!);
        File.WriteAllText(ListFile, string.Concat(lines.Select(l => l + "\n")));
        return !Log.HasLoggedErrors;
    }
}
