using ImageFlowIO.Config;
using ImageFlowIO.Postprocessing;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Output;

/// <summary>Postprocesses the model output and writes the files the config asks for (save, saveRaw).</summary>
internal sealed class OutputStage(PipelineConfig config, PipelineOptions options, ILogger logger)
{
    private readonly DateTime _runStartedUtc = DateTime.UtcNow;

    public string ImageFolder(InputItem item) => item.OutputDirectory ?? options.OutputDirectory ?? config.ResolvePath(config.Output.Save.Path);

    public string RawFolder(InputItem item) => item.OutputDirectory ?? (options.OutputDirectory is { } o
        ? (config.Output.Save.Apply ? Path.Combine(o, "raw") : o)
        : config.ResolvePath(config.Output.SaveRaw.Path));

    /// <summary>The path <c>save</c> writes for this input (null when save is off): used to detect collisions before a batch.</summary>
    public string? PlannedImagePath(InputItem item, int index)
    {
        var save = config.Output.Save;
        if (!save.Apply) return null;
        return FileNamePattern.Combine(ImageFolder(item), FileNamePattern.Expand(save.Filename, item.Path, config.ModelName, item.Index ?? index, save.Format, _runStartedUtc));
    }

    public int DefaultBitDepth => config.Output.Save.BitDepth ?? (config.Postprocessing.Denormalize.Apply && config.Postprocessing.Denormalize.Dtype == OutputDataType.Uint16 ? 16 : 8);

    /// <summary>Writes every output of one input; returns the files written.</summary>
    public List<string> Write(InputItem item, int index, TensorData modelOutput, int sourceWidth, int sourceHeight)
    {
        var files = new List<string>();
        var save = config.Output.Save;
        var raw = config.Output.SaveRaw;
        var isImage = modelOutput.Shape.Count == 4;

        if (raw.Apply)
        {
            var folder = RawFolder(item);
            var path = Path.Combine(folder, Path.GetFileNameWithoutExtension(item.Path) + "." + raw.Format.ToString().ToLowerInvariant());
            RawTensorWriter.Write(path, modelOutput, raw);
            files.Add(path);
            logger.LogDebug("output/raw {File}", path);
        }

        if (save.Apply && isImage)
        {
            var image = FloatImage.FromTensor(modelOutput);
            image = Postprocessor.Apply(image, config.Postprocessing, sourceWidth, sourceHeight);
            var path = PlannedImagePath(item, index)!;
            ImageFileWriter.Write(path, image, save, DefaultBitDepth);
            files.Add(path);
            logger.LogDebug("output/image {File}", path);
        }
        return files;
    }
}
