using ImageFlowIO.Config;
using ImageFlowIO.Postprocessing;

namespace ImageFlowIO.Tests.PipelineStages;

public sealed class PostprocessingTests
{
    // matplotlib 3.6.3: cmap(v)[:3] for v = 0, 0.25, 0.5, 0.75, 1 (printed with 6 decimals).
    public static TheoryData<ColorMapMode, float, float, float, float> ColorMapReferences() => new()
    {
        { ColorMapMode.Viridis, 0f, 0.267004f, 0.004874f, 0.329415f },
        { ColorMapMode.Viridis, 0.25f, 0.229739f, 0.322361f, 0.545706f },
        { ColorMapMode.Viridis, 0.5f, 0.127568f, 0.566949f, 0.550556f },
        { ColorMapMode.Viridis, 0.75f, 0.369214f, 0.788888f, 0.382914f },
        { ColorMapMode.Viridis, 1f, 0.993248f, 0.906157f, 0.143936f },
        { ColorMapMode.Magma, 0f, 0.001462f, 0.000466f, 0.013866f },
        { ColorMapMode.Magma, 0.5f, 0.716387f, 0.214982f, 0.47529f },
        { ColorMapMode.Magma, 0.75f, 0.9867f, 0.535582f, 0.38221f },
        { ColorMapMode.Magma, 1f, 0.987053f, 0.991438f, 0.749504f },
        { ColorMapMode.Plasma, 0f, 0.050383f, 0.029803f, 0.527975f },
        { ColorMapMode.Plasma, 0.25f, 0.494877f, 0.01199f, 0.657865f },
        { ColorMapMode.Plasma, 0.5f, 0.798216f, 0.280197f, 0.469538f },
        { ColorMapMode.Plasma, 1f, 0.940015f, 0.975158f, 0.131326f },
        { ColorMapMode.Inferno, 0.25f, 0.3415f, 0.062325f, 0.429425f },
        { ColorMapMode.Inferno, 0.5f, 0.735683f, 0.215906f, 0.330245f },
        { ColorMapMode.Inferno, 0.75f, 0.978422f, 0.557937f, 0.034931f },
        { ColorMapMode.Inferno, 1f, 0.988362f, 0.998364f, 0.644924f },
        { ColorMapMode.Turbo, 0f, 0.18995f, 0.07176f, 0.23217f },
        { ColorMapMode.Turbo, 0.25f, 0.15844f, 0.73551f, 0.92305f },
        { ColorMapMode.Turbo, 0.5f, 0.64362f, 0.98999f, 0.23356f },
        { ColorMapMode.Turbo, 0.75f, 0.9836f, 0.49291f, 0.12849f },
        { ColorMapMode.Turbo, 1f, 0.4796f, 0.01583f, 0.01055f },
        { ColorMapMode.Grayscale, 0.25f, 0.25f, 0.25f, 0.25f },
    };

    [Theory]
    [MemberData(nameof(ColorMapReferences))]
    public void Colour_maps_match_matplotlib_at_reference_points(ColorMapMode mode, float v, float r, float g, float b)
    {
        var image = new FloatImage(1, 1, 2, [0.9f, v]);
        var mapped = ColorMaps.Apply(image, mode, channel: 1);
        var tolerance = 0.5f / 255f + 1e-6f;
        Assert.Equal(r, mapped.Data[0], tolerance);
        Assert.Equal(g, mapped.Data[Math.Min(1, mapped.Channels - 1)], tolerance);
        Assert.Equal(b, mapped.Data[mapped.Channels - 1], tolerance);
        Assert.Equal(mode == ColorMapMode.Grayscale ? 1 : 3, mapped.Channels);
    }

    [Fact]
    public void Softmax_over_channels_sums_to_one_at_every_pixel_and_keeps_the_order()
    {
        var image = new FloatImage(2, 1, 3, [1f, -5f, 2f, 0f, 3f, 0f]); // pixel 0: (1, 2, 3), pixel 1: (-5, 0, 0)
        Postprocessor.Activate(image, ActivationType.Softmax);
        Assert.Equal(1f, image.Data[0] + image.Data[2] + image.Data[4], 1e-6f);
        Assert.Equal(1f, image.Data[1] + image.Data[3] + image.Data[5], 1e-6f);
        // softmax(1, 2, 3) = (0.0900306, 0.2447285, 0.6652410)
        Assert.Equal(0.0900306f, image.Data[0], 1e-6f);
        Assert.Equal(0.2447285f, image.Data[2], 1e-6f);
        Assert.Equal(0.6652410f, image.Data[4], 1e-6f);
        Assert.Equal(image.Data[3], image.Data[5], 1e-7f);
    }

    [Fact]
    public void Sigmoid_and_tanh_take_known_values()
    {
        var s = new FloatImage(2, 1, 1, [0f, 2f]);
        Postprocessor.Activate(s, ActivationType.Sigmoid);
        Assert.Equal(0.5f, s.Data[0], 1e-7f);
        Assert.Equal(0.880797f, s.Data[1], 1e-6f);
        var t = new FloatImage(1, 1, 1, [0.5f]);
        Postprocessor.Activate(t, ActivationType.Tanh);
        Assert.Equal(0.462117f, t.Data[0], 1e-6f);
    }

    [Fact]
    public void Palette_argmax_colours_a_known_tensor_with_pascal_voc()
    {
        // 4 pixels × 3 classes: argmax = 2, 0, 1, 2
        var image = new FloatImage(4, 1, 3, [
            0.1f, 0.9f, 0.2f, 0.0f,   // class 0
            0.2f, 0.05f, 0.7f, 0.3f,  // class 1
            0.7f, 0.05f, 0.1f, 0.7001f]); // class 2
        Assert.Equal(new[] { 2, 0, 1, 2 }, Palettes.Classes(image, PaletteSource.Argmax, 0));
        var post = new PostprocessingConfig { PaletteMap = new PaletteMapConfig { Apply = true } };
        var mapped = Postprocessor.Apply(image, post, 4, 1, Palettes.PascalVoc);
        // VOC: 0 background (0,0,0), 1 aeroplane (128,0,0), 2 bicycle (0,128,0)
        Assert.Equal(new[] { 0f, 0f, 128 / 255f, 0f }, mapped.Plane(0).ToArray());
        Assert.Equal(new[] { 128 / 255f, 0f, 0f, 128 / 255f }, mapped.Plane(1).ToArray());
        Assert.Equal(new[] { 0f, 0f, 0f, 0f }, mapped.Plane(2).ToArray());
    }

    [Fact]
    public void Preset_palettes_hold_the_published_colours()
    {
        Assert.Equal(new Rgb8(192, 128, 128), Palettes.PascalVoc[15]); // person
        Assert.Equal(new Rgb8(224, 224, 192), Palettes.PascalVoc[255]); // void
        Assert.Equal(new Rgb8(128, 64, 128), Palettes.Cityscapes[0]); // road
        Assert.Equal(new Rgb8(119, 11, 32), Palettes.Cityscapes[18]); // bicycle
        Assert.Equal(19, Palettes.Cityscapes.Length);
    }

    [Fact]
    public void Palette_channel_source_reads_8_bit_class_ids_and_outline_marks_class_borders()
    {
        var image = new FloatImage(4, 1, 1, [0f, 0f, 1 / 255f, 1 / 255f]);
        var classes = Palettes.Classes(image, PaletteSource.Channel, 0);
        Assert.Equal(new[] { 0, 0, 1, 1 }, classes);
        var inline = new[] { new Rgb8(10, 20, 30), new Rgb8(200, 100, 50) };
        var mapped = Palettes.Map(classes, 4, 1, inline, new OutlineConfig { Apply = true, Color = new Rgb8(255, 255, 255), Thickness = 1 });
        Assert.Equal(new[] { 10 / 255f, 1f, 1f, 200 / 255f }, mapped.Plane(0).ToArray());
    }

    [Fact]
    public void Palette_file_is_read_and_a_bad_one_is_a_config_error()
    {
        using var dir = new Support.TempDir();
        var good = dir.Write("p.json", "[[1, 2, 3], [4, 5, 6]]");
        Assert.Equal(new[] { new Rgb8(1, 2, 3), new Rgb8(4, 5, 6) }, Palettes.LoadFile(good, null));
        var bad = dir.Write("bad.json", "[[1, 2], [4, 5, 600]]");
        var ex = Assert.Throws<ConfigException>(() => Palettes.LoadFile(bad, null));
        Assert.Equal(ConfigErrorCodes.InvalidValue, ex.Code);
        Assert.Contains("bad.json", ex.Message);
    }

    [Theory]
    [InlineData(ToneMapMethod.Reinhard, 1.0, 0.0, 1.0, 0.5)]
    [InlineData(ToneMapMethod.Reinhard, 1.0, 1.0, 1.0, 2f / 3f)] // exposure +1 EV doubles: 2 / 3
    [InlineData(ToneMapMethod.Reinhard, 1.0, 0.0, 2.0, 0.70710678)] // gamma 2: sqrt(0.5)
    [InlineData(ToneMapMethod.Aces, 1.0, 0.0, 1.0, 0.80379)] // (2.51+0.03)/(2.43+0.59+0.14)
    [InlineData(ToneMapMethod.Filmic, 11.2 / 2, 0.0, 1.0, 1.0)] // the white point maps to 1
    public void Tone_maps_give_the_curve_values(ToneMapMethod method, double input, double exposure, double gamma, double expected)
    {
        var image = new FloatImage(1, 1, 1, [(float)input]);
        Postprocessor.ToneMap(image, new ToneMapConfig { Apply = true, Method = method, Exposure = exposure, Gamma = gamma });
        Assert.Equal((float)expected, image.Data[0], 1e-4f);
    }

    [Fact]
    public void Denormalize_uint16_keeps_the_display_range_and_blend_overlay_mixes_with_the_original()
    {
        var image = new FloatImage(1, 1, 1, [65535f / 2]);
        Postprocessor.Denormalize(image, new DenormalizeConfig { Apply = true, Scale = 1, Dtype = OutputDataType.Uint16 });
        Assert.Equal(0.5f, image.Data[0], 1e-6f); // 32767.5 of 65535
        var output = new FloatImage(1, 1, 1, [1f]);
        var original = new FloatImage(1, 1, 3, [0f, 0.5f, 1f]);
        var blended = Postprocessor.Blend(output, original, 0.25f);
        Assert.Equal(new[] { 0.25f, 0.625f, 1f }, blended.Data);
    }
}
