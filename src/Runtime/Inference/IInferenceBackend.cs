using ImageFlowIO.Config;

namespace ImageFlowIO.Inference;

/// <summary>Runs the model on one input tensor. Implementations are thread-safe; disposing releases what the backend holds (its session lease).</summary>
internal interface IInferenceBackend : IDisposable
{
    /// <summary>What the model takes and gives, for validation before any image is read.</summary>
    ModelSignature Signature { get; }
    /// <summary>Digest of the model file (part of the inference cache key); empty for noop.</summary>
    string ModelDigest { get; }
    /// <summary>Runs the model; the result is float32 with the model's output shape.</summary>
    TensorData Run(TensorData input, CancellationToken cancellationToken = default);
    /// <summary>The model will run soon: a backend that loads lazily starts loading now; one with nothing to load does nothing.</summary>
    void OpenSoon() { }
}

/// <summary>The model's input and output as the pipeline sees them. Dimensions of -1 are dynamic.</summary>
public sealed record ModelSignature(
    string InputName,
    TensorDataType InputType,
    IReadOnlyList<long> InputShape,
    string OutputName,
    IReadOnlyList<long> OutputShape,
    TensorLayout Layout)
{
    public bool HasDynamicBatch => InputShape.Count > 0 && InputShape[0] < 0;

    /// <summary>(channels, height, width) of the input, -1 where dynamic.</summary>
    public (long Channels, long Height, long Width) InputImageDims => InputShape.Count == 4
        ? (Layout == TensorLayout.Nhwc ? (InputShape[3], InputShape[1], InputShape[2]) : (InputShape[1], InputShape[2], InputShape[3]))
        : (-1, -1, -1);

    /// <summary>Picks the layout from a rank-4 shape: the axis that holds 1, 3 or 4 channels.</summary>
    internal static TensorLayout InferLayout(IReadOnlyList<long> shape)
    {
        if (shape.Count != 4) return TensorLayout.Nchw;
        static bool IsChannels(long d) => d is 1 or 3 or 4;
        if (IsChannels(shape[3]) && !IsChannels(shape[1])) return TensorLayout.Nhwc;
        return TensorLayout.Nchw;
    }
}
