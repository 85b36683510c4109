using System.Runtime.InteropServices;
using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using ImageFlowIO.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using FitMode = ImageFlowIO.Config.ResizeMode;

namespace ImageFlowIO.Tests.Kernels;

/// <summary>
/// The one-pass resize + normalise: float for float against its scalar reference (every layout, channel order, kernel,
/// up- and downscaling, 1-pixel images), within the 8-bit rounding bound of ImageSharp's resize + TensorWriter on a real
/// photo; the pipeline's tensor is the kernel's, the same bytes on the Vector256, Vector128 and scalar paths (the CLI in
/// new processes with AVX2 or every hardware intrinsic turned off). <see cref="ResizeNormalizeKernel.Applies"/> names the
/// configs it serves (docs/performance.md, round five).
/// </summary>
public class ResizeNormalizeKernelTests
{
    private static readonly double[] Mean = [0.485, 0.456, 0.406];
    private static readonly double[] Std = [0.229, 0.224, 0.225];

    public static TheoryData<ResizeKernel, TensorLayout, ChannelOrder, int, int, int, int> ReferenceCases()
    {
        var data = new TheoryData<ResizeKernel, TensorLayout, ChannelOrder, int, int, int, int>();
        (int, int, int, int)[] sizes = [(64, 48, 23, 17), (64, 48, 32, 32), (7, 5, 31, 29), (1, 1, 5, 3), (5, 4, 1, 1), (37, 1, 10, 10), (1, 30, 9, 4), (160, 120, 160, 120)];
        foreach (var kernel in new[] { ResizeKernel.Linear, ResizeKernel.Cubic })
            foreach (var layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
                foreach (var order in new[] { ChannelOrder.Rgb, ChannelOrder.Bgr })
                    foreach (var (sw, sh, dw, dh) in sizes)
                        data.Add(kernel, layout, order, sw, sh, dw, dh);
        return data;
    }

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void Kernel_gives_exactly_the_scalar_references_floats(ResizeKernel kernel, TensorLayout layout, ChannelOrder order, int srcW, int srcH, int dstW, int dstH)
    {
        using var image = RandomImage(srcW, srcH, seed: srcW * 31 + srcH);
        var pre = Config(kernel, dstW, dstH, order);
        var tensor = ResizeNormalizeKernel.Write(image, pre, layout);

        var pixels = new byte[srcW * srcH * 3];
        image.CopyPixelDataTo(pixels);
        Span<float> scale = stackalloc float[4], offset = stackalloc float[4];
        TensorWriter.AffineMap(pre, 3, order == ChannelOrder.Bgr, scale, offset);
        var expected = ResizeNormalizeKernel.Reference(pixels, srcW, srcH, Preprocessor.Sampler(kernel), dstW, dstH, scale, offset, order == ChannelOrder.Bgr, layout);

        Assert.Equal(layout == TensorLayout.Nhwc ? [1, dstH, dstW, 3] : [1, 3, dstH, dstW], tensor.Shape);
        var actual = tensor.AsFloat32();
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"element {i}: {actual[i]:R} != {expected[i]:R}");
    }

    [Theory]
    [InlineData(ResizeKernel.Cubic, 80, 80)]    // downscale 2 × 1.5, as W1's 640×480 → 320²
    [InlineData(ResizeKernel.Linear, 80, 80)]
    [InlineData(ResizeKernel.Cubic, 53, 41)]    // a ratio that is not a small fraction
    [InlineData(ResizeKernel.Cubic, 320, 250)]  // upscale
    [InlineData(ResizeKernel.Linear, 320, 250)]
    public void Kernel_is_within_the_8_bit_rounding_of_ImageSharps_resize_on_a_photo(ResizeKernel kernel, int dstW, int dstH)
    {
        foreach (var layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
            foreach (var order in new[] { ChannelOrder.Rgb, ChannelOrder.Bgr })
            {
                var pre = Config(kernel, dstW, dstH, order);
                var (fused, reference) = BothPaths("photo_160x120.jpg", pre, layout);
                var channelStride = layout == TensorLayout.Nhwc ? 1 : dstW * dstH;
                double worst = 0, sum = 0;
                for (var i = 0; i < fused.Length; i++)
                {
                    var c = layout == TensorLayout.Nhwc ? i % 3 : i / channelStride;
                    var std = Std[order == ChannelOrder.Bgr ? 2 - c : c];
                    var diff = Math.Abs(fused[i] - reference[i]) * std; // back in the 0..1 range
                    worst = Math.Max(worst, diff);
                    sum += diff;
                }
                // An 8-bit result is off by at most half a step; a little more for the float arithmetic's order.
                Assert.True(worst <= 0.5 / 255 + 2e-5, $"{layout} {order}: max |diff| {worst * 255:F4}/255");
                Assert.True(sum / fused.Length < 0.3 / 255, $"{layout} {order}: mean |diff| {sum / fused.Length * 255:F4}/255"); // rounding errors, not a shifted image
                Assert.True(worst > 0, "the 8-bit rounding is gone, so the paths must differ somewhere");
            }
    }

    /// <summary>
    /// The kernel's scratch comes from the shared float pool and its tensor from <see cref="TensorBuffers"/>: whatever
    /// those arrays held before (here NaN everywhere) must not reach the tensor.
    /// </summary>
    [Theory]
    [InlineData(ResizeKernel.Cubic, TensorLayout.Nchw, 160, 120, 160, 120)]
    [InlineData(ResizeKernel.Cubic, TensorLayout.Nhwc, 160, 120, 97, 61)]
    [InlineData(ResizeKernel.Linear, TensorLayout.Nchw, 64, 48, 320, 250)]
    public void Stale_pooled_arrays_never_reach_the_tensor(ResizeKernel kernel, TensorLayout layout, int srcW, int srcH, int dstW, int dstH)
    {
        using var image = RandomImage(srcW, srcH, seed: 7);
        var pixels = new byte[srcW * srcH * 3];
        image.CopyPixelDataTo(pixels);
        var pre = Config(kernel, dstW, dstH, ChannelOrder.Rgb);
        Span<float> scale = stackalloc float[4], offset = stackalloc float[4];
        TensorWriter.AffineMap(pre, 3, false, scale, offset);
        var expected = ResizeNormalizeKernel.Reference(pixels, srcW, srcH, Preprocessor.Sampler(kernel), dstW, dstH, scale, offset, false, layout);
        for (var round = 0; round < 3; round++)
        {
            // Poison the pool's arrays of every size the kernel may rent on this thread.
            var poisoned = new List<float[]>();
            for (var length = 16; length <= 1 << 20; length *= 2) poisoned.Add(System.Buffers.ArrayPool<float>.Shared.Rent(length));
            foreach (var array in poisoned) { array.AsSpan().Fill(float.NaN); System.Buffers.ArrayPool<float>.Shared.Return(array); }
            var dst = new float[dstW * dstH * 3];
            dst.AsSpan().Fill(float.NaN);
            ResizeNormalizeKernel.Run(pixels, srcW, srcH, Preprocessor.Sampler(kernel), dstW, dstH, scale, offset, false, layout, dst);
            for (var i = 0; i < expected.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(dst[i]), $"round {round}, element {i}: {dst[i]} instead of {expected[i]}");
        }
    }

    [Fact]
    public void A_one_pixel_image_fills_the_tensor_with_its_normalised_colour()
    {
        using var image = new Image<Rgb24>(1, 1, new Rgb24(200, 100, 10));
        var tensor = ResizeNormalizeKernel.Write(image, Config(ResizeKernel.Cubic, 7, 5, ChannelOrder.Rgb), TensorLayout.Nchw).AsFloat32();
        byte[] rgb = [200, 100, 10];
        for (var c = 0; c < 3; c++)
            for (var i = 0; i < 35; i++)
                Assert.Equal((float)((rgb[c] / 255.0 - Mean[c]) / Std[c]), tensor[c * 35 + i], 5);
    }

    [Fact]
    public void Applies_only_to_a_stretch_resize_with_a_linear_or_cubic_kernel_into_float32_rgb()
    {
        var fused = Config(ResizeKernel.Cubic, 80, 60, ChannelOrder.Rgb);
        Assert.True(ResizeNormalizeKernel.Applies(fused));
        Assert.True(ResizeNormalizeKernel.Applies(With(fused, kernel: ResizeKernel.Linear)));
        PreprocessingConfig[] others =
        [
            With(fused, kernel: ResizeKernel.Lanczos3),
            With(fused, kernel: ResizeKernel.Nearest),
            With(fused, dataType: TensorDataType.Uint8),
            With(fused, dataType: TensorDataType.Float16),
            With(fused, mode: FitMode.Crop),
            With(fused, mode: FitMode.Fit),
            new PreprocessingConfig { Resize = fused.Resize, Format = fused.Format, Normalize = fused.Normalize, CenterCrop = new CenterCropConfig { Apply = true, Size = new Size2(40, 40) } },
            new PreprocessingConfig { Resize = fused.Resize, Format = fused.Format, Normalize = fused.Normalize, Augmentations = new AugmentationsConfig { Apply = true, Methods = [AugmentationMethod.Flip] } },
            new PreprocessingConfig { Resize = fused.Resize, Format = fused.Format, Normalize = fused.Normalize, Grayscale = new GrayscaleConfig { Apply = true } },
            new PreprocessingConfig { Format = fused.Format, Normalize = fused.Normalize },
        ];
        Assert.All(others, pre => Assert.False(ResizeNormalizeKernel.Applies(pre)));
    }

    private static PreprocessingConfig Config(ResizeKernel kernel, int w, int h, ChannelOrder order) => new()
    {
        Resize = new ResizeConfig { Apply = true, ImageSize = new Size2(w, h), KeepAspectRatio = false, Kernel = kernel },
        Format = new FormatConfig { DataType = TensorDataType.Float32, Channels = 3, ChannelOrder = order },
        Normalize = new NormalizeConfig { Apply = true, Mean = Mean, Std = Std },
    };

    private static PreprocessingConfig With(PreprocessingConfig pre, ResizeKernel? kernel = null, TensorDataType? dataType = null, FitMode? mode = null) => new()
    {
        Resize = new ResizeConfig
        {
            Apply = true, ImageSize = pre.Resize.ImageSize, Kernel = kernel ?? pre.Resize.Kernel,
            KeepAspectRatio = mode is not null, ResizeMode = mode ?? FitMode.Fill,
        },
        Format = new FormatConfig { DataType = dataType ?? pre.Format.DataType, Channels = 3, ChannelOrder = pre.Format.ChannelOrder },
        Normalize = pre.Normalize,
    };

    /// <summary>
    /// The pipeline's preprocessed tensor (the noop backend saves it raw) from the CLI in a new process, as the machine
    /// runs it, with AVX2 off (Vector128) and with every hardware intrinsic off (scalar): the same bytes as this process's
    /// kernel. A PNG input, whose decode is integer-exact on every path (ImageSharp's JPEG IDCT is not).
    /// </summary>
    [Theory]
    [InlineData("cubic", "nchw", "rgb")]
    [InlineData("linear", "nhwc", "bgr")]
    public async Task The_pipelines_tensor_is_the_same_bytes_on_every_instruction_set_path(string kernel, string layout, string order)
    {
        using var dir = new TempDir();
        dir.Copy(TestPaths.Image("photo_160x120.png"), "in/photo.png");
        var config = dir.Write("imageflow.json", $$"""
            { "model": { "path": "noop.onnx", "layout": "{{layout}}" }, "execution": { "backend": "noop", "useCaching": "none" },
              "input": { "source": "in" },
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [97, 61], "keepAspectRatio": false, "kernel": "{{kernel}}" },
                "normalize": { "apply": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] },
                "format": { "dataType": "float32", "channels": 3, "channelOrder": "{{order}}" } },
              "output": { "saveRaw": { "apply": true, "format": "bin", "path": "raw" } } }
            """);
        var pre = Config(Enum.Parse<ResizeKernel>(kernel, true), 97, 61, Enum.Parse<ChannelOrder>(order, true));
        Assert.True(ResizeNormalizeKernel.Applies(pre));
        using var decoded = Decode("photo_160x120.png");
        var expected = MemoryMarshal.AsBytes(ResizeNormalizeKernel.Write((Image<Rgb24>)decoded.Image, pre, Enum.Parse<TensorLayout>(layout, true)).AsFloat32()).ToArray();

        foreach (var (name, variable) in new[] { ("default", ""), ("no AVX2", "DOTNET_EnableAVX2"), ("no intrinsics", "DOTNET_EnableHWIntrinsic") })
        {
            var raw = dir.Combine("raw-" + name.Replace(' ', '-'));
            var run = await CliProcess.RunAsync(dir.Path, variable.Length > 0 ? new Dictionary<string, string?> { [variable] = "0" } : null,
                "--config", config, "--no-progress", "--cache", "none");
            Assert.True(run.ExitCode == 0, name + ": " + run.Stdout + run.Stderr);
            var file = Assert.Single(Directory.GetFiles(dir.Combine("raw")));
            var actual = File.ReadAllBytes(file);
            Directory.Move(dir.Combine("raw"), raw);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{name}: {actual.Length} bytes differ from the kernel's {expected.Length}");
        }
    }

    /// <summary>The kernel's tensor and ImageSharp's resize + TensorWriter's for the same decoded photo.</summary>
    private static (float[] Fused, float[] ImageSharp) BothPaths(string name, PreprocessingConfig pre, TensorLayout layout)
    {
        using var a = Decode(name);
        using var b = Decode(name);
        var fused = ResizeNormalizeKernel.Write((Image<Rgb24>)a.Image, pre, layout).ToFloatArray();
        Preprocessor.Apply(b, pre);
        return (fused, TensorWriter.Write(b, pre, layout).ToFloatArray());
    }

    private static DecodedImage Decode(string name)
    {
        var path = TestPaths.Image(name);
        return ImageDecoder.Decode(path, File.ReadAllBytes(path), new InputConfig());
    }

    private static Image<Rgb24> RandomImage(int width, int height, int seed)
    {
        var random = new Random(seed);
        var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                image[x, y] = new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
        return image;
    }
}
