using ImageFlowIO.Config;

namespace ImageFlowIO.Inference;

/// <summary>The <c>noop</c> backend: the "model output" is the preprocessed tensor itself, as float32.</summary>
internal sealed class NoopBackend(PreprocessingConfig pre, TensorLayout layout) : IInferenceBackend
{
    public ModelSignature Signature { get; } = new("input", pre.Format.DataType,
        layout == TensorLayout.Nhwc ? [-1, -1, -1, pre.Format.Channels] : [-1, pre.Format.Channels, -1, -1],
        "output", layout == TensorLayout.Nhwc ? [-1, -1, -1, pre.Format.Channels] : [-1, pre.Format.Channels, -1, -1],
        layout == TensorLayout.Auto ? TensorLayout.Nchw : layout);

    public string ModelDigest => "noop";

    public TensorData Run(TensorData input, CancellationToken cancellationToken = default)
    {
        if (input.ElementType == TensorDataType.Float32) return input;
        var values = input.ToFloatArray();
        // Integer tensors hold 0..255 (or -128..127): bring them back to 0..1 like float tensors.
        if (input.ElementType is TensorDataType.Uint8 or TensorDataType.Int8)
        {
            var shift = input.ElementType == TensorDataType.Int8 ? 128f : 0f;
            for (var i = 0; i < values.Length; i++) values[i] = (values[i] + shift) / 255f;
        }
        return TensorData.FromFloats(input.Shape.ToArray(), values, input.Layout);
    }

    public void Dispose() { }
}
