using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using ImageFlowIO.Tests.Support;
using FitMode = ImageFlowIO.Config.ResizeMode;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Tests.Runtime;

public class PreprocessTests
{
    private static TensorData Run(string image, PreprocessingConfig pre, TensorLayout layout = TensorLayout.Nchw)
    {
        var path = TestPaths.Image(image);
        using var decoded = ImageDecoder.Decode(path, File.ReadAllBytes(path), new InputConfig());
        Preprocessor.Apply(decoded, pre);
        return TensorWriter.Write(decoded, pre, layout);
    }

    private static PreprocessingConfig Resize(int w, int h, FitMode mode, bool keepAspect = true, Rgb8 pad = default) => new()
    {
        Resize = new ResizeConfig { Apply = true, ImageSize = new Size2(w, h), ResizeMode = mode, KeepAspectRatio = keepAspect, PadColor = pad, Kernel = ResizeKernel.Nearest },
    };

    [Theory]
    [InlineData(FitMode.Fill, 50, 50)]
    [InlineData(FitMode.Fit, 50, 50)]
    [InlineData(FitMode.Crop, 50, 50)]
    [InlineData(FitMode.Fit, 97, 31)]
    [InlineData(FitMode.Crop, 31, 97)]
    public void Every_resize_mode_gives_exactly_the_requested_size(FitMode mode, int w, int h)
    {
        var tensor = Run("photo_160x120.png", Resize(w, h, mode));
        Assert.Equal([1, 3, h, w], tensor.Shape);
    }

    [Fact]
    public void Fit_pads_centred_with_the_pad_colour()
    {
        // 160×120 into 80×80: scaled to 80×60, so 10 rows of padding above and below.
        var tensor = Run("photo_160x120.png", Resize(80, 80, FitMode.Fit, pad: new Rgb8(255, 0, 255))).AsFloat32();
        const int plane = 80 * 80;
        for (var x = 0; x < 80; x += 9)
        {
            foreach (var y in new[] { 0, 9, 70, 79 })
            {
                Assert.Equal(1f, tensor[y * 80 + x]);
                Assert.Equal(0f, tensor[plane + y * 80 + x]);
                Assert.Equal(1f, tensor[2 * plane + y * 80 + x]);
            }
        }
        // Photo content starts at row 10: not the pad colour.
        var photoPixel = (tensor[12 * 80 + 40], tensor[plane + 12 * 80 + 40], tensor[2 * plane + 12 * 80 + 40]);
        Assert.NotEqual((1f, 0f, 1f), photoPixel);
    }

    [Fact]
    public void Crop_covers_and_centre_crops_without_padding()
    {
        // Solid red 32×32 into 16×8 with crop: every pixel is red (no pad colour anywhere).
        var tensor = Run("solid_red_32x32.png", Resize(16, 8, FitMode.Crop, pad: new Rgb8(0, 255, 0))).AsFloat32();
        for (var i = 0; i < 16 * 8; i++)
        {
            Assert.Equal(1f, tensor[i]);
            Assert.Equal(0f, tensor[16 * 8 + i]);
        }
    }

    [Fact]
    public void Keep_aspect_ratio_false_means_fill()
    {
        var pre = Resize(40, 40, FitMode.Fit, keepAspect: false, pad: new Rgb8(255, 0, 255));
        Assert.Equal(FitMode.Fill, pre.Resize.EffectiveMode);
        var tensor = Run("solid_red_32x32.png", pre).AsFloat32();
        for (var i = 0; i < 40 * 40; i++) Assert.Equal(0f, tensor[40 * 40 + i]); // green 0 everywhere: no magenta padding
    }

    [Fact]
    public void Center_crop_is_exact_and_centred()
    {
        var pre = new PreprocessingConfig { CenterCrop = new CenterCropConfig { Apply = true, Size = new Size2(11, 5) } };
        var tensor = Run("gradient_33x17.png", pre);
        Assert.Equal([1, 3, 5, 11], tensor.Shape);
        // Left = (33-11)/2 = 11, top = (17-5)/2 = 6; r = 7x → 7*11 = 77 at (0,0).
        Assert.Equal(77 / 255f, tensor.AsFloat32()[0], 6);
        Assert.Equal(13 * 6 / 255f, tensor.AsFloat32()[5 * 11], 6);
    }

    [Fact]
    public void Normalize_bgr_and_nhwc_are_applied_per_channel()
    {
        var pre = new PreprocessingConfig
        {
            Format = new FormatConfig { ChannelOrder = ChannelOrder.Bgr },
            Normalize = new NormalizeConfig { Apply = true, Mean = [0.5, 0.25, 0.125], Std = [0.5, 0.25, 0.5] },
        };
        var tensor = Run("gradient_33x17.png", pre, TensorLayout.Nhwc);
        Assert.Equal([1, 17, 33, 3], tensor.Shape);
        var v = tensor.AsFloat32();
        int x = 4, y = 3;
        var o = (y * 33 + x) * 3;
        // BGR: tensor channel 0 is blue, normalised with the blue statistics (mean/std index 2).
        Assert.Equal((3 * (x + y) / 255f - 0.125f) / 0.5f, v[o], 5);
        Assert.Equal((13 * y / 255f - 0.25f) / 0.25f, v[o + 1], 5);
        Assert.Equal((7 * x / 255f - 0.5f) / 0.5f, v[o + 2], 5);
    }

    [Fact]
    public void Grayscale_uses_bt709_luma()
    {
        var pre = new PreprocessingConfig { Grayscale = new GrayscaleConfig { Apply = true }, Format = new FormatConfig { Channels = 1 } };
        var v = Run("gradient_33x17.png", pre).AsFloat32();
        int x = 9, y = 4;
        var expected = 0.2126f * (7 * x / 255f) + 0.7152f * (13 * y / 255f) + 0.0722f * (3 * (x + y) / 255f);
        Assert.Equal(expected, v[y * 33 + x], 5);
    }

    [Theory]
    [InlineData(TensorDataType.Uint8)]
    [InlineData(TensorDataType.Int8)]
    [InlineData(TensorDataType.Float16)]
    public void Data_types_hold_the_pixel_values(TensorDataType type)
    {
        var tensor = Run("gradient_33x17.png", new PreprocessingConfig { Format = new FormatConfig { DataType = type } });
        Assert.Equal(type, tensor.ElementType);
        var values = tensor.ToFloatArray();
        int x = 10, y = 2;
        var r = 7 * x;
        var expected = type switch { TensorDataType.Uint8 => r, TensorDataType.Int8 => r - 128, _ => r / 255f };
        Assert.Equal(expected, values[y * 33 + x], 1e-3f); // float16 keeps ~3 significant digits
    }

    [Fact]
    public void Augmentations_flip_then_rotate_are_deterministic()
    {
        var pre = new PreprocessingConfig
        {
            Augmentations = new AugmentationsConfig { Apply = true, Methods = [AugmentationMethod.Flip, AugmentationMethod.Rotate], FlipAxis = FlipAxis.Horizontal, RotateAngle = 90 },
        };
        var a = Run("gradient_33x17.png", pre);
        var b = Run("gradient_33x17.png", pre);
        Assert.Equal([1, 3, 33, 17], a.Shape);
        Assert.True(a.Bytes.SequenceEqual(b.Bytes));
        Assert.Equal((33, 17), Preprocessor.OutputSize(33, 17, pre) is var (w, h) ? (h, w) : default);
    }
}
