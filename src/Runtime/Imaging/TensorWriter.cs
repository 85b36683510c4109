using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ImageFlowIO.Config;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Imaging;

/// <summary>
/// Writes a preprocessed image into a model input tensor (SPEC §2 steps 3, 5, 6): grayscale, channels,
/// channel order, normalisation, data type and layout, straight into the tensor's bytes.
/// </summary>
internal static class TensorWriter
{
    // BT.709 luma, as SPEC §2 step 3 says.
    private const float LumaR = 0.2126f, LumaG = 0.7152f, LumaB = 0.0722f;

    public static TensorData Write(DecodedImage decoded, PreprocessingConfig pre, TensorLayout layout)
    {
        if (layout == TensorLayout.Auto) layout = TensorLayout.Nchw;
        return decoded.Image switch
        {
            Image<Rgb24> i => Write(i, pre, layout),
            Image<Rgba32> i => Write(i, pre, layout),
            Image<Rgba64> i => Write(i, pre, layout),
            _ => throw new InvalidOperationException("Unexpected pixel type " + decoded.Image.GetType()),
        };
    }

    public static TensorData Write<TPixel>(Image<TPixel> image, PreprocessingConfig pre, TensorLayout layout) where TPixel : unmanaged, IPixel<TPixel>
    {
        // 8-bit colour into an 8-bit tensor takes the table path (≈3.5× faster, same bytes: TensorFillBenchmarks).
        // Float tensors stay on ImageSharp's SIMD ToVector4 path, which the table did not beat for NCHW float32.
        var grayscale = pre.Grayscale.Apply || pre.Format.Channels == 1;
        if (!grayscale && pre.Format.DataType is TensorDataType.Uint8 or TensorDataType.Int8
            && (typeof(TPixel) == typeof(Rgb24) || typeof(TPixel) == typeof(Rgba32)))
            return WriteByTable(image, pre, layout);
        return WriteGeneric(image, pre, layout);
    }

    /// <summary>The reference path for every pixel type: ImageSharp's ToVector4 per row, then normalise and store.</summary>
    internal static TensorData WriteGeneric<TPixel>(Image<TPixel> image, PreprocessingConfig pre, TensorLayout layout) where TPixel : unmanaged, IPixel<TPixel>
    {
        var channels = pre.Format.Channels;
        var width = image.Width;
        var height = image.Height;
        var dataType = pre.Format.DataType;
        var (shape, bytes) = Allocate(width, height, channels, dataType, layout);

        Span<float> scale = stackalloc float[4];
        Span<float> offset = stackalloc float[4];
        var bgr = pre.Format.ChannelOrder == ChannelOrder.Bgr;
        AffineMap(pre, channels, bgr, scale, offset);
        var grayscale = pre.Grayscale.Apply || channels == 1;

        var plane = width * height;
        var rowValues = ArrayPool<float>.Shared.Rent(width * channels);
        var rowPixels = ArrayPool<Vector4>.Shared.Rent(width);
        try
        {
            var config = Configuration.Default;
            var scaleArr = scale.ToArray();
            var offsetArr = offset.ToArray();
            image.ProcessPixelRows(accessor =>
            {
                var px = rowPixels.AsSpan(0, width);
                var values = rowValues.AsSpan(0, width * channels);
                for (var y = 0; y < height; y++)
                {
                    // ToVector4 gives pixel / maxValue exactly (255 for 8-bit, 65535 for 16-bit sources).
                    PixelOperations<TPixel>.Instance.ToVector4(config, accessor.GetRowSpan(y), px);
                    FillRow(px, values, channels, grayscale, bgr, scaleArr, offsetArr);
                    StoreRow(values, bytes, dataType, layout, channels, width, plane, y);
                }
            });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowValues);
            ArrayPool<Vector4>.Shared.Return(rowPixels);
        }
        return new TensorData(dataType, shape, bytes, layout);
    }

    /// <summary>Per-channel affine map v' = v * scale + offset: normalisation folded into one multiply-add.</summary>
    internal static void AffineMap(PreprocessingConfig pre, int channels, bool bgr, Span<float> scale, Span<float> offset)
    {
        for (var c = 0; c < channels; c++)
        {
            var source = SourceChannel(c, channels, bgr);
            if (pre.Normalize.Apply && pre.Format.DataType is TensorDataType.Float32 or TensorDataType.Float16)
            {
                var mean = (float)Pick(pre.Normalize.Mean, source);
                var std = (float)Pick(pre.Normalize.Std, source);
                scale[c] = 1f / std;
                offset[c] = -mean / std;
            }
            else { scale[c] = 1f; offset[c] = 0f; }
        }
    }

    /// <summary>The tensor's shape and its (uninitialised: every element is written) bytes.</summary>
    private static (int[] Shape, byte[] Bytes) Allocate(int width, int height, int channels, TensorDataType dataType, TensorLayout layout) =>
        (layout == TensorLayout.Nhwc ? [1, height, width, channels] : [1, channels, height, width],
         TensorBuffers.Rent(checked(width * height * channels * TensorData.ElementSize(dataType))));

    /// <summary>The RGB(A) channel that tensor channel <paramref name="c"/> reads.</summary>
    private static int SourceChannel(int c, int channels, bool bgr) => bgr && channels >= 3 && c < 3 ? 2 - c : c;

    /// <summary>
    /// Fast path for 8-bit RGB/RGBA sources: a 256-entry table per tensor channel holds the finished element
    /// (normalised and converted), so each sample is one load. Values are (b / 255 − mean) / std as in
    /// <see cref="WriteGeneric"/>; integer types give its exact bytes, floats agree within one ulp.
    /// </summary>
    internal static TensorData WriteByTable<TPixel>(Image<TPixel> image, PreprocessingConfig pre, TensorLayout layout) where TPixel : unmanaged, IPixel<TPixel>
    {
        if (layout == TensorLayout.Auto) layout = TensorLayout.Nchw;
        var channels = pre.Format.Channels;
        var width = image.Width;
        var height = image.Height;
        var dataType = pre.Format.DataType;
        var (shape, bytes) = Allocate(width, height, channels, dataType, layout);
        var bgr = pre.Format.ChannelOrder == ChannelOrder.Bgr;
        Span<float> scale = stackalloc float[4];
        Span<float> offset = stackalloc float[4];
        AffineMap(pre, channels, bgr, scale, offset);

        var bytesPerPixel = Unsafe.SizeOf<TPixel>();
        var hasAlpha = bytesPerPixel == 4;
        var tables = new float[channels][];
        var sourceOffsets = new int[channels];
        for (var c = 0; c < channels; c++)
        {
            var source = c == 3 ? 3 : SourceChannel(c, channels, bgr);
            var table = tables[c] = new float[256];
            // SPEC §2 step 6: pixel / maxValue, exactly rounded (ImageSharp's ToVector4 multiplies by 1/255 in its SIMD body).
            for (var b = 0; b < 256; b++) table[b] = (source == 3 && !hasAlpha ? 1f : b / 255f) * scale[c] + offset[c];
            // Without alpha bytes (Rgb24) the alpha channel reads the red byte through a constant (opaque) table.
            if (source == 3 && !hasAlpha) source = 0;
            sourceOffsets[c] = source;
        }

        switch (dataType)
        {
            case TensorDataType.Float32:
                FillByTable(image, tables, sourceOffsets, bytes, layout, bytesPerPixel);
                break;
            case TensorDataType.Float16:
                FillByTable(image, Array.ConvertAll(tables, t => Array.ConvertAll(t, v => (Half)v)), sourceOffsets, bytes, layout, bytesPerPixel);
                break;
            default:
                var shift = dataType == TensorDataType.Int8 ? -128 : 0;
                FillByTable(image, Array.ConvertAll(tables, t => Array.ConvertAll(t, v => (byte)(ToByte(v) + shift))), sourceOffsets, bytes, layout, bytesPerPixel);
                break;
        }
        return new TensorData(dataType, shape, bytes, layout);
    }

    private static void FillByTable<TPixel, T>(Image<TPixel> image, T[][] tables, int[] sourceOffsets, byte[] bytes, TensorLayout layout, int bytesPerPixel)
        where TPixel : unmanaged, IPixel<TPixel> where T : unmanaged
    {
        var width = image.Width;
        var channels = tables.Length;
        var plane = width * image.Height;
        image.ProcessPixelRows(accessor =>
        {
            var dst = MemoryMarshal.Cast<byte, T>(bytes.AsSpan());
            for (var y = 0; y < accessor.Height; y++)
            {
                var row = MemoryMarshal.AsBytes(accessor.GetRowSpan(y));
                if (layout == TensorLayout.Nchw && channels == 3)
                {
                    // One pass per row for the common case: read each pixel once, write three planes.
                    ref var t0 = ref MemoryMarshal.GetArrayDataReference(tables[0]);
                    ref var t1 = ref MemoryMarshal.GetArrayDataReference(tables[1]);
                    ref var t2 = ref MemoryMarshal.GetArrayDataReference(tables[2]);
                    ref var d0 = ref MemoryMarshal.GetReference(dst.Slice(y * width, width));
                    ref var d1 = ref MemoryMarshal.GetReference(dst.Slice(plane + y * width, width));
                    ref var d2 = ref MemoryMarshal.GetReference(dst.Slice(2 * plane + y * width, width));
                    ref var src = ref MemoryMarshal.GetReference(row[..(width * bytesPerPixel)]);
                    int s0 = sourceOffsets[0], s1 = sourceOffsets[1], s2 = sourceOffsets[2];
                    for (nint x = 0, i = 0; x < width; x++, i += bytesPerPixel)
                    {
                        Unsafe.Add(ref d0, x) = Unsafe.Add(ref t0, Unsafe.Add(ref src, i + s0));
                        Unsafe.Add(ref d1, x) = Unsafe.Add(ref t1, Unsafe.Add(ref src, i + s1));
                        Unsafe.Add(ref d2, x) = Unsafe.Add(ref t2, Unsafe.Add(ref src, i + s2));
                    }
                }
                else if (layout == TensorLayout.Nchw)
                {
                    for (var c = 0; c < channels; c++)
                    {
                        var table = tables[c].AsSpan(0, 256);
                        var d = dst.Slice(c * plane + y * width, width);
                        var src = row[sourceOffsets[c]..];
                        for (int x = 0, i = 0; x < d.Length; x++, i += bytesPerPixel) d[x] = table[src[i]];
                    }
                }
                else
                {
                    var d = dst.Slice(y * width * channels, width * channels);
                    for (var c = 0; c < channels; c++)
                    {
                        var table = tables[c].AsSpan(0, 256);
                        var src = row[sourceOffsets[c]..];
                        for (int x = 0, i = 0, o = c; x < width; x++, i += bytesPerPixel, o += channels) d[o] = table[src[i]];
                    }
                }
            }
        });
    }

    private static double Pick(IReadOnlyList<double> values, int channel) => values.Count == 1 ? values[0] : values[Math.Min(channel, values.Count - 1)];

    /// <summary>Fills one row as channel planes: values[c * width + x].</summary>
    private static void FillRow(ReadOnlySpan<Vector4> px, Span<float> values, int channels, bool grayscale, bool bgr, float[] scale, float[] offset)
    {
        var width = px.Length;
        if (grayscale)
        {
            for (var x = 0; x < width; x++)
            {
                var p = px[x];
                var luma = LumaR * p.X + LumaG * p.Y + LumaB * p.Z;
                for (var c = 0; c < channels; c++)
                    values[c * width + x] = (c == 3 ? p.W : luma) * scale[c] + offset[c];
            }
            return;
        }
        int r = bgr ? 2 : 0, b = bgr ? 0 : 2;
        var plane0 = values.Slice(0, width);
        var plane1 = values.Slice(width, width);
        var plane2 = values.Slice(2 * width, width);
        float s0 = scale[0], s1 = scale[1], s2 = scale[2], o0 = offset[0], o1 = offset[1], o2 = offset[2];
        for (var x = 0; x < width; x++)
        {
            var p = px[x];
            plane0[x] = (r == 0 ? p.X : p.Z) * s0 + o0;
            plane1[x] = p.Y * s1 + o1;
            plane2[x] = (b == 2 ? p.Z : p.X) * s2 + o2;
        }
        if (channels == 4)
        {
            var plane3 = values.Slice(3 * width, width);
            for (var x = 0; x < width; x++) plane3[x] = px[x].W * scale[3] + offset[3];
        }
    }

    private static void StoreRow(ReadOnlySpan<float> values, byte[] bytes, TensorDataType type, TensorLayout layout, int channels, int width, int plane, int y)
    {
        switch (type)
        {
            case TensorDataType.Float32:
            {
                var dst = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
                if (layout == TensorLayout.Nchw)
                    for (var c = 0; c < channels; c++) values.Slice(c * width, width).CopyTo(dst.Slice(c * plane + y * width, width));
                else
                    Interleave(values, dst.Slice(y * width * channels, width * channels), channels, width, v => v);
                break;
            }
            case TensorDataType.Float16:
            {
                var dst = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
                if (layout == TensorLayout.Nchw)
                    for (var c = 0; c < channels; c++)
                    {
                        var src = values.Slice(c * width, width);
                        var d = dst.Slice(c * plane + y * width, width);
                        for (var x = 0; x < width; x++) d[x] = (Half)src[x];
                    }
                else
                    Interleave(values, dst.Slice(y * width * channels, width * channels), channels, width, v => (Half)v);
                break;
            }
            case TensorDataType.Uint8:
            case TensorDataType.Int8:
            {
                var shift = type == TensorDataType.Int8 ? -128 : 0;
                var dst = bytes.AsSpan();
                if (layout == TensorLayout.Nchw)
                    for (var c = 0; c < channels; c++)
                    {
                        var src = values.Slice(c * width, width);
                        var d = dst.Slice(c * plane + y * width, width);
                        for (var x = 0; x < width; x++) d[x] = (byte)(ToByte(src[x]) + shift);
                    }
                else
                    Interleave(values, dst.Slice(y * width * channels, width * channels), channels, width, v => (byte)(ToByte(v) + shift));
                break;
            }
        }
    }

    private static int ToByte(float unit) => (int)Math.Clamp(MathF.Round(unit * 255f), 0f, 255f);

    private static void Interleave<T>(ReadOnlySpan<float> planes, Span<T> dst, int channels, int width, Func<float, T> convert)
    {
        for (var c = 0; c < channels; c++)
        {
            var src = planes.Slice(c * width, width);
            for (var x = 0; x < width; x++) dst[x * channels + c] = convert(src[x]);
        }
    }
}
