using ImageFlowIO.Config;
using ImageFlowIO.Imaging;

namespace ImageFlowIO.Inference;

/// <summary>Checks the config against the model before any image is read (SPEC §7: sizes that do not fit the model).</summary>
internal static class ModelValidator
{
    /// <summary>Throws <see cref="ModelException"/> (IFIO1003) naming the mismatch and the config change that fixes it.</summary>
    public static void Validate(PipelineConfig config, ModelSignature signature, string? modelPath)
    {
        if (modelPath is null) return; // noop: the "model" takes whatever preprocessing makes
        var pre = config.Preprocessing;
        var shape = signature.InputShape;
        if (shape.Count != 4)
            throw new ModelException(ErrorCodes.ModelInputMismatch, modelPath,
                $"the model input '{signature.InputName}' has rank {shape.Count} [{Dims(shape)}]; ImageFlowIO feeds images as rank-4 tensors (NCHW or NHWC)");

        if (signature.InputType != pre.Format.DataType)
            throw new ModelException(ErrorCodes.ModelInputMismatch, modelPath,
                $"the model input '{signature.InputName}' is {signature.InputType.ToString().ToLowerInvariant()} but preprocessing.format.dataType is {pre.Format.DataType.ToString().ToLowerInvariant()}; set dataType to \"{signature.InputType.ToString().ToLowerInvariant()}\"");

        var (channels, height, width) = signature.InputImageDims;
        if (channels > 0 && channels != pre.Format.Channels)
            throw new ModelException(ErrorCodes.ModelInputMismatch, modelPath,
                $"the model takes {channels} channels ({signature.Layout.ToString().ToUpperInvariant()} [{Dims(shape)}]) but preprocessing.format.channels is {pre.Format.Channels}; set channels to {channels}" +
                (config.Model.Layout == TensorLayout.Auto ? "" : " or check model.layout"));

        if (shape[0] > 1)
            throw new ModelException(ErrorCodes.ModelInputMismatch, modelPath, $"the model needs a fixed batch of {shape[0]}; ImageFlowIO runs batches of 1 on such models: export it with a dynamic or size-1 batch axis");

        if (height <= 0 && width <= 0) return;
        (int Width, int Height)? size = config.Inference.Tiling.Apply
            ? (config.Inference.Tiling.TileSize.Width, config.Inference.Tiling.TileSize.Height)
            : Preprocessor.FixedOutputSize(pre);
        var where = config.Inference.Tiling.Apply ? "inference.tiling.tileSize" : "preprocessing.resize.imageSize (or centerCrop.size)";
        if (size is null)
            throw new ModelException(ErrorCodes.ModelInputMismatch, modelPath,
                $"the model takes a fixed {Fmt(width)}×{Fmt(height)} input but the config does not fix the image size; add preprocessing.resize with \"imageSize\": [{Fmt(width)}, {Fmt(height)}]");
        if ((width > 0 && size.Value.Width != width) || (height > 0 && size.Value.Height != height))
            throw new ModelException(ErrorCodes.ModelInputMismatch, modelPath,
                $"the model takes {Fmt(width)}×{Fmt(height)} images but {where} gives {size.Value.Width}×{size.Value.Height}; set it to [{Fmt(width)}, {Fmt(height)}]");
    }

    private static string Fmt(long d) => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "any";
    private static string Dims(IReadOnlyList<long> shape) => string.Join(",", shape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}
