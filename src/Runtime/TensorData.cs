using System.Buffers;
using System.Runtime.InteropServices;
using ImageFlowIO.Config;

namespace ImageFlowIO;

/// <summary>
/// A dense tensor: element type, shape and the raw little-endian bytes. Immutable once built and shared by
/// the caches, so a consumer that wants to change values copies it first.
/// </summary>
public sealed class TensorData
{
    private readonly byte[] _bytes;

    public TensorData(TensorDataType elementType, int[] shape, byte[] bytes, TensorLayout layout = TensorLayout.Nchw)
    {
        var expected = checked(ElementCount(shape) * ElementSize(elementType));
        if (bytes.Length != expected) throw new ArgumentException($"Tensor of shape [{string.Join(",", shape)}] needs {expected} bytes, got {bytes.Length}.", nameof(bytes));
        ElementType = elementType;
        Shape = shape;
        Layout = layout;
        _bytes = bytes;
    }

    public TensorDataType ElementType { get; }
    public IReadOnlyList<int> Shape { get; }
    /// <summary>How the 4 image axes are ordered (for rank-4 image tensors).</summary>
    public TensorLayout Layout { get; }
    public int Length => _bytes.Length / ElementSize(ElementType);
    public ReadOnlySpan<byte> Bytes => _bytes;
    internal byte[] UnsafeArray => _bytes;

    public ReadOnlySpan<float> AsFloat32() => ElementType == TensorDataType.Float32
        ? MemoryMarshal.Cast<byte, float>(_bytes)
        : throw new InvalidOperationException($"Tensor holds {ElementType}, not float32.");

    /// <summary>Values as float whatever the element type (uint8/int8 as their integer values).</summary>
    public float[] ToFloatArray()
    {
        var result = new float[Length];
        switch (ElementType)
        {
            case TensorDataType.Float32: AsFloat32().CopyTo(result); break;
            case TensorDataType.Float16:
                var halves = MemoryMarshal.Cast<byte, Half>(_bytes);
                for (var i = 0; i < halves.Length; i++) result[i] = (float)halves[i];
                break;
            case TensorDataType.Uint8:
                for (var i = 0; i < _bytes.Length; i++) result[i] = _bytes[i];
                break;
            case TensorDataType.Int8:
                for (var i = 0; i < _bytes.Length; i++) result[i] = (sbyte)_bytes[i];
                break;
        }
        return result;
    }

    public static TensorData FromFloats(int[] shape, ReadOnlySpan<float> values, TensorLayout layout = TensorLayout.Nchw)
    {
        // One copy into an array that is not zeroed first (the copy overwrites every byte).
        var source = MemoryMarshal.AsBytes(values);
        var bytes = TensorBuffers.Rent(source.Length);
        source.CopyTo(bytes);
        return new(TensorDataType.Float32, shape, bytes, layout);
    }

    /// <summary>A float32 tensor of <paramref name="count"/> elements whose values <paramref name="fill"/> writes straight into its own (not zeroed) array.</summary>
    internal static TensorData FloatsFilledBy<TState>(int[] shape, int count, TensorLayout layout, TState state, SpanAction<float, TState> fill)
    {
        var bytes = TensorBuffers.Rent(checked(count * sizeof(float)));
        fill(MemoryMarshal.Cast<byte, float>(bytes.AsSpan()), state);
        return new(TensorDataType.Float32, shape, bytes, layout);
    }

    public static int ElementCount(IReadOnlyList<int> shape)
    {
        var n = 1;
        foreach (var d in shape) n = checked(n * d);
        return n;
    }

    public static int ElementSize(TensorDataType type) => type switch
    {
        TensorDataType.Float32 => 4,
        TensorDataType.Float16 => 2,
        _ => 1,
    };

    /// <summary>Image geometry of a rank-4 tensor: (channels, height, width) whatever the layout.</summary>
    public (int Channels, int Height, int Width) ImageDims => Shape.Count == 4
        ? (Layout == TensorLayout.Nhwc ? (Shape[3], Shape[1], Shape[2]) : (Shape[1], Shape[2], Shape[3]))
        : throw new InvalidOperationException($"Tensor of rank {Shape.Count} is not an image tensor.");
}
