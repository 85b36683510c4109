using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using ImageFlowIO.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Tests.Runtime;

public class DecodeTests
{
    private static DecodedImage Decode(string path, bool autoOrient = true) =>
        ImageDecoder.Decode(path, File.ReadAllBytes(path), new InputConfig { AutoOrient = autoOrient });

    [Fact]
    public void Exif_orientation_6_turns_a_160x120_image_into_120x160()
    {
        using var oriented = Decode(TestPaths.Image("exif_orient6_160x120.jpg"));
        Assert.Equal((120, 160), (oriented.Image.Width, oriented.Image.Height));
        // The red marker stored at the top-left shows at the top-right once rotated.
        var px = ((Image<Rgb24>)oriented.Image)[112, 4];
        Assert.True(px.R > 180 && px.G < 80 && px.B < 80, $"expected red at top-right, got {px}");

        using var raw = Decode(TestPaths.Image("exif_orient6_160x120.jpg"), autoOrient: false);
        Assert.Equal((160, 120), (raw.Image.Width, raw.Image.Height));
    }

    [Fact]
    public void Sixteen_bit_png_keeps_16_bit_precision_in_the_tensor()
    {
        using var decoded = Decode(TestPaths.Image("gray16_64x48.png"));
        Assert.True(decoded.HighPrecision);
        var tensor = TensorWriter.Write(decoded, new PreprocessingConfig { Format = new FormatConfig { Channels = 1 } }, TensorLayout.Nchw);
        var values = tensor.AsFloat32();
        // Fixture formula: v = x * 1000 + y * 13 (16-bit gray).
        for (var y = 0; y < 48; y += 7)
            for (var x = 0; x < 64; x += 5)
                Assert.Equal((x * 1000 + y * 13) / 65535f, values[y * 64 + x], 5);
        // An 8-bit cut would make v = 13 (x=0, y=1) collapse to 0 or 1/255.
        Assert.Equal(13 / 65535f, values[64], 7);
    }

    [Fact]
    public void Sixteen_bit_rgb_png_keeps_every_channel()
    {
        using var decoded = Decode(TestPaths.Image("rgb48_32x24.png"));
        Assert.True(decoded.HighPrecision);
        var tensor = TensorWriter.Write(decoded, new PreprocessingConfig(), TensorLayout.Nchw);
        var v = tensor.AsFloat32();
        const int plane = 32 * 24;
        int x = 5, y = 3;
        Assert.Equal((2000 * x + 7 * y) / 65535f, v[y * 32 + x], 6);
        Assert.Equal((2700 * y + 11 * x) / 65535f, v[plane + y * 32 + x], 6);
        Assert.Equal((65535 - 1000 * (x + y)) / 65535f, v[2 * plane + y * 32 + x], 6);
    }

    [Theory]
    [InlineData("gray8_64x48.png", "png")]
    [InlineData("palette_64x48.png", "png")]
    [InlineData("rgba_64x48.png", "png")]
    [InlineData("cmyk_64x48.jpg", "jpeg")]
    [InlineData("photo_64x48.webp", "webp")]
    [InlineData("photo_64x48.tiff", "tiff")]
    [InlineData("photo_64x48.bmp", "bmp")]
    [InlineData("anim_2frames_64x48.gif", "gif")]
    public void Every_supported_format_decodes(string file, string format)
    {
        using var decoded = Decode(TestPaths.Image(file));
        Assert.Equal(format, decoded.Format);
        Assert.Equal((64, 48), (decoded.Image.Width, decoded.Image.Height));
        Assert.False(decoded.HighPrecision);
    }

    [Fact]
    public void Lossless_formats_decode_to_the_reference_pixels()
    {
        var reference = TestImages.Pixels(TestPaths.Image("photo_64x48.png"));
        foreach (var file in new[] { "photo_64x48.webp", "photo_64x48.tiff", "photo_64x48.bmp" })
        {
            using var decoded = Decode(TestPaths.Image(file));
            var tensor = TensorWriter.Write(decoded, new PreprocessingConfig(), TensorLayout.Nchw).AsFloat32();
            for (var y = 0; y < 48; y += 5)
                for (var x = 0; x < 64; x += 3)
                    Assert.Equal(reference[x, y].G / 255f, tensor[64 * 48 + y * 64 + x], 6);
        }
    }

    [Fact]
    public void Gif_uses_its_first_frame()
    {
        using var decoded = Decode(TestPaths.Image("anim_2frames_64x48.gif"));
        var tensor = TensorWriter.Write(decoded, new PreprocessingConfig(), TensorLayout.Nchw).AsFloat32();
        Assert.Equal(200 / 255f, tensor[0], 2);          // frame 0 is (200, 30, 30)
        Assert.Equal(30 / 255f, tensor[2 * 64 * 48], 2);
    }

    [Fact]
    public void Rgba_keeps_alpha_for_four_channel_tensors()
    {
        using var decoded = ImageDecoder.Decode(TestPaths.Image("rgba_64x48.png"), File.ReadAllBytes(TestPaths.Image("rgba_64x48.png")), new InputConfig(), needsAlpha: true);
        var tensor = TensorWriter.Write(decoded, new PreprocessingConfig { Format = new FormatConfig { Channels = 4 } }, TensorLayout.Nchw).AsFloat32();
        // Fixture: alpha = x * 255 // 63.
        Assert.Equal((63 * 255 / 63) / 255f, tensor[3 * 64 * 48 + 63], 6);
        Assert.Equal((10 * 255 / 63) / 255f, tensor[3 * 64 * 48 + 5 * 64 + 10], 6);
    }
}
