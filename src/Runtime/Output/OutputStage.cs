using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Postprocessing;
using ImageFlowIO.Visualization;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Output;

/// <summary>
/// The output stage: postprocesses the model output and writes the files the config asks for (saveRaw, save,
/// visualization). Cached as the files it wrote (<see cref="OutputBundle"/>): a pure function of (the inference key,
/// the postprocessing/output/visualization sections, the labels' digest, and the files' places relative to the
/// input's output folder).
/// </summary>
internal sealed class OutputStage
{
    private readonly PipelineConfig _config;
    private readonly PipelineOptions _options;
    private readonly ILogger _logger;
    private readonly DateTime _runStartedUtc = DateTime.UtcNow;
    private readonly Rgb8[]? _palette;

    private readonly string _section;
    /// <summary>Per worker thread: the float copy of the last model output postprocessed here (reused when the next has its size).</summary>
    [ThreadStatic] private static float[]? t_outputScratch;

    /// <param name="config">The config.</param>
    /// <param name="options">The host's options.</param>
    /// <param name="logger">Where output lines go.</param>
    /// <param name="decorationsDigest">The labels' and palette file's digest (<see cref="CacheKeys.DecorationsDigest"/>), part of the key.</param>
    public OutputStage(PipelineConfig config, PipelineOptions options, ILogger logger, string? decorationsDigest)
    {
        (_config, _options, _logger) = (config, options, logger);
        _section = CacheKeys.SectionDigest(CacheKeys.OutputSection(config, decorationsDigest));
        // Resolved once, up front: a bad palette file is a config error before any image is read.
        if (config.Postprocessing.PaletteMap.Apply && !config.Postprocessing.ColorMap.Apply)
            _palette = Palettes.Resolve(config.Postprocessing.PaletteMap.Palette, config);
    }

    public IStageCodec<OutputBundle> Codec => OutputCodec.Instance;

    /// <summary>The folder an input's cached output files are relative to.</summary>
    public string CacheFolder(InputItem item) => _config.Output.Save.Apply ? ImageFolder(item) : RawFolder(item);

    /// <summary>The output stage's key: a new name pattern writes anew; another output folder reuses the entry.</summary>
    public string Key(string inferenceKey, InputItem item, int index) => Key(inferenceKey, item, PlannedImagePath(item, index));

    /// <summary>As <see cref="Key(string, InputItem, int)"/> with the input's <see cref="PlannedImagePath"/> already made (a batch makes it once).</summary>
    public string Key(string inferenceKey, InputItem item, string? plannedImagePath)
    {
        var folder = CacheFolder(item);
        var image = plannedImagePath is { } planned ? Path.GetRelativePath(folder, planned) : "";
        // Raw and visualisation files are named after the input: two inputs with the same bytes must not share an entry.
        var named = Path.Combine(Path.GetRelativePath(folder, RawFolder(item)), Path.GetFileNameWithoutExtension(item.Path));
        return CacheKeys.Output(inferenceKey, _section, image, named);
    }

    /// <summary>
    /// Where an input's own meta file goes (writeMeta without a jsonPath, or one with tokens); null when the batch
    /// writes one meta file instead. A re-rooted input (--output, a build's per-asset folder) keeps the pattern's folders.
    /// </summary>
    public string? MetaPath(InputItem item)
    {
        var meta = _config.Output.WriteMeta;
        if (!meta.Apply) return null;
        if (meta.JsonPath is null) return Path.Combine(ImageFolder(item), Path.GetFileNameWithoutExtension(item.Path) + ".json");
        if (!meta.JsonPath.Contains('{')) return null;
        var expanded = FileNamePattern.Expand(meta.JsonPath, item.Path, _config.ModelName, item.Index ?? 0, _config.Output.Save.Format, DateTime.UtcNow);
        var root = item.OutputDirectory ?? _options.OutputDirectory;
        return root is null || Path.IsPathRooted(expanded) ? _config.ResolvePath(expanded) : FileNamePattern.Combine(root, expanded);
    }

    /// <summary>Where the batch's one meta file goes (writeMeta with a plain jsonPath); null otherwise.</summary>
    public string? BatchMetaPath()
    {
        var meta = _config.Output.WriteMeta;
        if (!meta.Apply || meta.JsonPath is null || meta.JsonPath.Contains('{')) return null;
        return _options.OutputDirectory is { } o ? Path.Combine(o, Path.GetFileName(meta.JsonPath)) : _config.ResolvePath(meta.JsonPath);
    }

    /// <summary>Folders already cleared of abandoned temp files by this pipeline.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _swept = new(StringComparer.Ordinal);

    /// <summary>
    /// Removes the temp files that killed writers left in the folders this batch writes to (<see cref="TempFileOwner"/>:
    /// a live writer's, say a second process on the same folder, stay), each folder once per pipeline.
    /// </summary>
    /// <param name="inputs">The batch.</param>
    /// <param name="plannedImagePaths">Each input's <see cref="PlannedImagePath"/> as the batch made it (null entries: none, or a bad pattern).</param>
    public void RemoveAbandonedTempFiles(IReadOnlyList<InputItem> inputs, IReadOnlyList<string?> plannedImagePaths)
    {
        var folders = new HashSet<string>(StringComparer.Ordinal);
        void Add(string? file, bool isFolder = false)
        {
            if (file is null) return;
            try { folders.Add(Path.GetFullPath(isFolder ? file : Path.GetDirectoryName(Path.GetFullPath(file))!)); }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException) { }
        }
        Add(BatchMetaPath());
        for (var i = 0; i < inputs.Count; i++)
        {
            var item = inputs[i];
            // Per-item folders are few (a build's asset folders): the set keeps one enumeration per folder.
            if (_config.Output.SaveRaw.Apply) Add(RawFolder(item), isFolder: true);
            if (_config.Visualization.Apply) Add(VisualizationFolder(item), isFolder: true);
            Add(plannedImagePaths[i]);
            try { Add(MetaPath(item)); Add(OverlayPath(item, i)); }
            catch (ImageFlowException) { } // a bad name pattern is that input's error, reported when it runs
        }
        foreach (var folder in folders)
            if (_swept.TryAdd(folder, 0) && TempFileOwner.Sweep(folder) is > 0 and var removed)
                _logger.LogDebug("output/leftovers {Count} removed from {Folder} (temp files of writers that are gone)", removed, folder);
    }

    /// <summary>True when writing needs the original input image (blendOverlay or a visualisation).</summary>
    public bool NeedsOriginal => (_config.Postprocessing.BlendOverlay.Apply && _config.Output.Save.Apply) || _config.Visualization.Apply;

    public string ImageFolder(InputItem item) => ImageFolder(item.OutputDirectory);

    public string RawFolder(InputItem item) => RawFolder(item.OutputDirectory);

    private string ImageFolder(string? itemFolder) => itemFolder ?? _options.OutputDirectory ?? Resolved(ref _imageFolder, _config.Output.Save.Path);

    private string RawFolder(string? itemFolder) => itemFolder ?? (_options.OutputDirectory is { } o
        ? (_config.Output.Save.Apply ? _rawBelowOutput ??= Path.Combine(o, "raw") : o)
        : Resolved(ref _rawFolder, _config.Output.SaveRaw.Path));

    // The default folders, resolved once (a batch asks for them several times per input); a path relative to the
    // current folder (a config without a folder of its own) is resolved each time, as before.
    private string? _imageFolder, _rawFolder, _rawBelowOutput;

    private string Resolved(ref string? cached, string path) =>
        cached ?? (Path.IsPathRooted(path) || !string.IsNullOrEmpty(_config.BaseDirectory) ? cached = _config.ResolvePath(path) : _config.ResolvePath(path));

    /// <summary>The folder inputs without a folder of their own write to (checked for writability before a run).</summary>
    public string DefaultFolder => _config.Output.Save.Apply ? ImageFolder((string?)null) : RawFolder((string?)null);

    public string VisualizationFolder(InputItem item)
    {
        var path = _config.Visualization.OutputPath;
        if (path is null) return ImageFolder(item);
        var root = item.OutputDirectory ?? _options.OutputDirectory;
        return root is null ? _config.ResolvePath(path) : Path.Combine(root, Path.GetFileName(Path.TrimEndingDirectorySeparator(path)));
    }

    /// <summary>
    /// Where a chain's overlay of this input goes (null without <c>chain.overlay</c>): its folder, or the input's own or
    /// the host's output folder when re-rooted, named by its pattern (default <c>{name}.lines.png</c>).
    /// </summary>
    public string? OverlayPath(InputItem item, int index)
    {
        if (_config.Chain?.Overlay is not { Apply: true } overlay) return null;
        var folder = item.OutputDirectory ?? _options.OutputDirectory ?? _config.ResolvePath(overlay.Path);
        return FileNamePattern.Combine(folder, FileNamePattern.Expand(overlay.Filename ?? "{name}.lines.png", item.Path, _config.ModelName, item.Index ?? index, ImageFormat.Png, _runStartedUtc));
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
    /// input image (0..1 RGB); it is called only when blendOverlay or a visualisation needs it. <paramref name="saved"/>:
    /// the size of the image <c>save</c> wrote ((0, 0) when it wrote none), a fact the output entry carries.
    /// </summary>
    public List<string> Write(InputItem item, int index, TensorData modelOutput, int sourceWidth, int sourceHeight, Func<FloatImage>? original, out (int Width, int Height) saved)
    {
        saved = (0, 0);
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

        // The model output's copy goes into this worker thread's buffer: the image never outlives this call.
        var image = FloatImage.FromTensor(modelOutput, 0, t_outputScratch);
        t_outputScratch = image.Data;
        image = Postprocessor.Apply(image, _config.Postprocessing, sourceWidth, sourceHeight, _palette, original is null ? null : Original);

        if (save.Apply)
        {
            saved = (image.Width, image.Height);
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
