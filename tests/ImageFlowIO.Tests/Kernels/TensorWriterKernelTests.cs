using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Tests.Kernels;

/// <summary>
/// The table path of TensorWriter (8-bit RGB/RGBA sources) against the reference path: integer tensors byte for byte,
/// float tensors bit for bit against SPEC's formula (b / 255 − mean) / std and within float rounding of the reference
/// (ImageSharp's ToVector4 multiplies by 1/255 in its SIMD body and divides in its tail, so it is not a per-byte function).
/// </summary>
public class TensorWriterKernelTests
{
    public static TheoryData<TensorDataType, TensorLayout, ChannelOrder, bool, int> Cases()
    {
        var data = new TheoryData<TensorDataType, TensorLayout, ChannelOrder, bool, int>();
        foreach (var type in Enum.GetValues<TensorDataType>())
            foreach (var layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
                foreach (var order in new[] { ChannelOrder.Rgb, ChannelOrder.Bgr })
                    foreach (var normalize in new[] { false, true })
                        foreach (var channels in new[] { 3, 4 })
                            data.Add(type, layout, order, normalize, channels);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Table_path_matches_reference_path(TensorDataType type, TensorLayout layout, ChannelOrder order, bool normalize, int channels)
    {
        var pre = new PreprocessingConfig
        {
            Format = new FormatConfig { DataType = type, Channels = channels, ChannelOrder = order },
            Normalize = new NormalizeConfig { Apply = normalize, Mean = [0.485, 0.456, 0.406, 0.5], Std = [0.229, 0.224, 0.225, 0.25] },
        };
        using var rgb = RandomImage<Rgb24>(37, 23, seed: 1);
        using var rgba = RandomImage<Rgba32>(37, 23, seed: 2);

        AssertMatches(TensorWriter.WriteGeneric(rgb, pre, layout), TensorWriter.WriteByTable(rgb, pre, layout));
        AssertMatches(TensorWriter.WriteGeneric(rgba, pre, layout), TensorWriter.WriteByTable(rgba, pre, layout));
    }

    [Theory]
    [InlineData(TensorLayout.Nchw, ChannelOrder.Rgb)]
    [InlineData(TensorLayout.Nhwc, ChannelOrder.Bgr)]
    public void Float_table_path_is_the_spec_formula_bit_for_bit(TensorLayout layout, ChannelOrder order)
    {
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        var pre = new PreprocessingConfig
        {
            Format = new FormatConfig { DataType = TensorDataType.Float32, Channels = 3, ChannelOrder = order },
            Normalize = new NormalizeConfig { Apply = true, Mean = [0.485, 0.456, 0.406], Std = [0.229, 0.224, 0.225] },
        };
        using var image = RandomImage<Rgb24>(37, 23, seed: 4);
        var actual = TensorWriter.WriteByTable(image, pre, layout).AsFloat32();
        for (var y = 0; y < 23; y++)
            for (var x = 0; x < 37; x++)
                for (var c = 0; c < 3; c++)
                {
                    var p = image[x, y];
                    var source = order == ChannelOrder.Bgr ? 2 - c : c;
                    var b = source switch { 0 => p.R, 1 => p.G, _ => p.B };
                    var expected = b / 255f * (1f / std[source]) + -mean[source] / std[source];
                    var index = layout == TensorLayout.Nchw ? c * 37 * 23 + y * 37 + x : (y * 37 + x) * 3 + c;
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual[index]));
                }
    }

    [Fact]
    public void Every_byte_value_maps_like_the_reference()
    {
        // A 256×1 image holding every value in every channel: the tables are checked entry by entry.
        using var image = new Image<Rgba32>(256, 1);
        for (var x = 0; x < 256; x++) image[x, 0] = new Rgba32((byte)x, (byte)(255 - x), (byte)(x * 7), (byte)(x * 13));
        var pre = new PreprocessingConfig
        {
            Format = new FormatConfig { DataType = TensorDataType.Float32, Channels = 4 },
            Normalize = new NormalizeConfig { Apply = true, Mean = [0.1, 0.2, 0.3, 0.4], Std = [0.3, 0.7, 0.11, 0.9] },
        };
        var table = TensorWriter.WriteByTable(image, pre, TensorLayout.Nchw);
        AssertMatches(TensorWriter.WriteGeneric(image, pre, TensorLayout.Nchw), table);
        // And the value itself is (v/255 − mean)/std to float precision.
        Assert.Equal((200 / 255f - 0.1f) / 0.3f, table.AsFloat32()[200], 5);
    }

    [Fact]
    public void Write_takes_the_table_path_only_where_it_is_exact()
    {
        using var image = RandomImage<Rgb24>(9, 5, seed: 3);
        var gray = new PreprocessingConfig { Format = new FormatConfig { Channels = 1 } };
        AssertSame(TensorWriter.WriteGeneric(image, gray, TensorLayout.Nchw), TensorWriter.Write(image, gray, TensorLayout.Nchw));
        var color = new PreprocessingConfig { Format = new FormatConfig { DataType = TensorDataType.Uint8 } };
        var floats = new PreprocessingConfig();
        AssertSame(TensorWriter.WriteGeneric(image, floats, TensorLayout.Nchw), TensorWriter.Write(image, floats, TensorLayout.Nchw));
        AssertSame(TensorWriter.WriteGeneric(image, color, TensorLayout.Nhwc), TensorWriter.Write(image, color, TensorLayout.Nhwc));
    }

    /// <summary>Integer tensors byte for byte; float tensors within float rounding (1e-5 absolute after normalisation).</summary>
    private static void AssertMatches(TensorData expected, TensorData actual)
    {
        if (expected.ElementType is TensorDataType.Uint8 or TensorDataType.Int8) { AssertSame(expected, actual); return; }
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.Layout, actual.Layout);
        var e = expected.ToFloatArray();
        var a = actual.ToFloatArray();
        var tolerance = expected.ElementType == TensorDataType.Float16 ? 4e-3 : 1e-5;
        for (var i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tolerance * Math.Max(1, Math.Abs(e[i])), $"element {i}: {e[i]} vs {a[i]}");
    }

    private static void AssertSame(TensorData expected, TensorData actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.ElementType, actual.ElementType);
        Assert.Equal(expected.Layout, actual.Layout);
        Assert.True(expected.Bytes.SequenceEqual(actual.Bytes), $"tensor bytes differ at {FirstDifference(expected.Bytes, actual.Bytes)}");
    }

    private static int FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (var i = 0; i < Math.Min(a.Length, b.Length); i++) if (a[i] != b[i]) return i;
        return Math.Min(a.Length, b.Length);
    }

    internal static Image<TPixel> RandomImage<TPixel>(int width, int height, int seed) where TPixel : unmanaged, IPixel<TPixel>
    {
        var random = new Random(seed);
        var image = new Image<TPixel>(width, height);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var p = default(TPixel);
                p.FromRgba32(new Rgba32((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                image[x, y] = p;
            }
        return image;
    }
}
