namespace ImageFlowIO.Postprocessing;

/// <summary>
/// A planar float image (value of channel c at (x, y) is <c>Data[c * Width * Height + y * Width + x]</c>).
/// Postprocessing works on this; after denormalisation, 0..1 is the displayable range.
/// </summary>
internal sealed class FloatImage
{
    public FloatImage(int width, int height, int channels, float[]? data = null)
    {
        Width = width;
        Height = height;
        Channels = channels;
        Data = data ?? new float[checked(width * height * channels)];
        if (Data.Length != width * height * channels) throw new ArgumentException("data length does not match the image size", nameof(data));
    }

    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }
    public float[] Data { get; }
    public int PlaneLength => Width * Height;

    public Span<float> Plane(int channel) => Data.AsSpan(channel * PlaneLength, PlaneLength);

    /// <summary>Builds one image per batch element from a rank-4 tensor (either layout).</summary>
    public static FloatImage FromTensor(TensorData tensor, int batchIndex = 0) => FromTensor(tensor, batchIndex, reuse: null);

    /// <summary>
    /// As <see cref="FromTensor(TensorData, int)"/>; for float32 NCHW the copy goes into <paramref name="reuse"/> when it
    /// has exactly the image's length (a per-worker buffer whose previous image is no longer used), else into a new array.
    /// </summary>
    internal static FloatImage FromTensor(TensorData tensor, int batchIndex, float[]? reuse)
    {
        var (channels, height, width) = tensor.ImageDims;
        var plane = width * height;
        var perImage = plane * channels;
        // Float32 NCHW (the common case) is one copy straight from the tensor's bytes; the postprocessing steps change it in place.
        if (tensor.ElementType == Config.TensorDataType.Float32 && tensor.Layout != Config.TensorLayout.Nhwc)
        {
            var data = reuse is { } r && r.Length == perImage ? r : GC.AllocateUninitializedArray<float>(perImage);
            tensor.AsFloat32().Slice(batchIndex * perImage, perImage).CopyTo(data);
            return new FloatImage(width, height, channels, data);
        }
        var all = tensor.ToFloatArray();
        var image = new FloatImage(width, height, channels);
        var src = all.AsSpan(batchIndex * perImage, perImage);
        if (tensor.Layout == Config.TensorLayout.Nhwc)
        {
            for (var i = 0; i < plane; i++)
                for (var c = 0; c < channels; c++)
                    image.Data[c * plane + i] = src[i * channels + c];
        }
        else src.CopyTo(image.Data);
        return image;
    }

    /// <summary>The RGB channels of a decoded image as 0..1 floats (the original input for overlays and visualisations).</summary>
    public static FloatImage FromImage(SixLabors.ImageSharp.Image source)
    {
        using var rgba = source.CloneAs<SixLabors.ImageSharp.PixelFormats.RgbaVector>();
        var image = new FloatImage(rgba.Width, rgba.Height, 3);
        var plane = image.PlaneLength;
        var data = image.Data;
        rgba.ProcessPixelRows(a =>
        {
            for (var y = 0; y < a.Height; y++)
            {
                var row = a.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    var i = y * image.Width + x;
                    data[i] = row[x].R;
                    data[plane + i] = row[x].G;
                    data[2 * plane + i] = row[x].B;
                }
            }
        });
        return image;
    }

    /// <summary>One channel as a new single-channel image.</summary>
    public FloatImage Channel(int channel) => new(Width, Height, 1, Plane(channel).ToArray());
}
