using ImageFlowIO.Config;
using ImageFlowIO.Postprocessing;
using ImageFlowIO.Visualization;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Output;

/// <summary>Postprocesses the model output and writes the files the config asks for (saveRaw, save, visualization).</summary>
internal sealed class OutputStage
{
    private readonly PipelineConfig _config;
    private readonly PipelineOptions _options;
    private readonly ILogger _logger;
    private readonly DateTime _runStartedUtc = DateTime.UtcNow;
    private readonly Rgb8[]? _palette;

    public OutputStage(PipelineConfig config, PipelineOptions options, ILogger logger)
    {
        (_config, _options, _logger) = (config, options, logger);
        // Resolved once, up front: a bad palette file is a config error before any image is read.
        if (config.Postprocessing.PaletteMap.Apply && !config.Postprocessing.ColorMap.Apply)
            _palette = Palettes.Resolve(config.Postprocessing.PaletteMap.Palette, config);
    }

    /// <summary>True when writing needs the original input image (blendOverlay or a visualisation).</summary>
    public bool NeedsOriginal => (_config.Postprocessing.BlendOverlay.Apply && _config.Output.Save.Apply) || _config.Visualization.Apply;

    public string ImageFolder(InputItem item) => item.OutputDirectory ?? _options.OutputDirectory ?? _config.ResolvePath(_config.Output.Save.Path);

    public string RawFolder(InputItem item) => item.OutputDirectory ?? (_options.OutputDirectory is { } o
        ? (_config.Output.Save.Apply ? Path.Combine(o, "raw") : o)
        : _config.ResolvePath(_config.Output.SaveRaw.Path));

    public string VisualizationFolder(InputItem item)
    {
        var path = _config.Visualization.OutputPath;
        if (path is null) return ImageFolder(item);
        var root = item.OutputDirectory ?? _options.OutputDirectory;
        return root is null ? _config.ResolvePath(path) : Path.Combine(root, Path.GetFileName(Path.TrimEndingDirectorySeparator(path)));
    }

    /// <summary>The path <c>save</c> writes for this input (null when save is off): used to detect collisions before a batch.</summary>
    public string? PlannedImagePath(InputItem item, int index)
    {
        var save = _config.Output.Save;
        if (!save.Apply) return null;
        return FileNamePattern.Combine(ImageFolder(item), FileNamePattern.Expand(save.Filename, item.Path, _config.ModelName, item.Index ?? index, save.Format, _runStartedUtc));
    }

    public int DefaultBitDepth => _config.Output.Save.BitDepth ?? (_config.Postprocessing.Denormalize.Apply && _config.Postprocessing.Denormalize.Dtype == OutputDataType.Uint16 ? 16 : 8);

    /// <summary>
    /// Writes every output of one input; returns the files written. <paramref name="original"/> decodes the original
    /// input image (0..1 RGB); it is called only when blendOverlay or a visualisation needs it.
    /// </summary>
    public List<string> Write(InputItem item, int index, TensorData modelOutput, int sourceWidth, int sourceHeight, Func<FloatImage>? original = null)
    {
        var files = new List<string>();
        var save = _config.Output.Save;
        var raw = _config.Output.SaveRaw;
        var viz = _config.Visualization;
        var isImage = modelOutput.Shape.Count == 4;

        if (raw.Apply)
        {
            var folder = RawFolder(item);
            var path = Path.Combine(folder, Path.GetFileNameWithoutExtension(item.Path) + "." + raw.Format.ToString().ToLowerInvariant());
            RawTensorWriter.Write(path, modelOutput, raw);
            files.Add(path);
            _logger.LogDebug("output/raw {File}", path);
        }

        if (!isImage)
        {
            if (save.Apply || viz.Apply)
                _logger.LogDebug("output of shape [{Shape}] is not an image: image steps skipped for {Input} (use saveRaw or writeMeta)", string.Join(",", modelOutput.Shape), item.Path);
            return files;
        }
        if (!save.Apply && !viz.Apply) return files;

        FloatImage? originalImage = null;
        FloatImage Original() => originalImage ??= original?.Invoke() ?? throw new InvalidOperationException("the original image is needed but was not provided");

        var image = FloatImage.FromTensor(modelOutput);
        image = Postprocessor.Apply(image, _config.Postprocessing, sourceWidth, sourceHeight, _palette, original is null ? null : Original);

        if (save.Apply)
        {
            var path = PlannedImagePath(item, index)!;
            if (save.SplitChannels)
            {
                var stem = Path.Combine(Path.GetDirectoryName(path)!, Path.GetFileNameWithoutExtension(path));
                var ext = Path.GetExtension(path);
                for (var c = 0; c < image.Channels; c++)
                {
                    var name = c < save.ChannelNames.Count ? save.ChannelNames[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    var channelPath = FileNamePattern.Combine(ImageFolder(item), Path.GetRelativePath(ImageFolder(item), stem + "_" + name + ext));
                    ImageFileWriter.Write(channelPath, image.Channel(c), save, DefaultBitDepth);
                    files.Add(channelPath);
                    _logger.LogDebug("output/image {File}", channelPath);
                }
            }
            else
            {
                ImageFileWriter.Write(path, image, save, DefaultBitDepth);
                files.Add(path);
                _logger.LogDebug("output/image {File}", path);
            }
        }

        if (viz.Apply && original is not null)
        {
            var view = Visualizer.Render(viz.Type, Original(), image, (float)viz.Alpha);
            var path = Path.Combine(VisualizationFolder(item), Path.GetFileNameWithoutExtension(item.Path) + "_" + Visualizer.Suffix(viz.Type) + ".png");
            ImageFileWriter.Write(path, view, new SaveConfig { Format = ImageFormat.Png, CompressionLevel = save.CompressionLevel }, 8);
            files.Add(path);
            _logger.LogDebug("output/visualization {File}", path);
        }
        return files;
    }
}
