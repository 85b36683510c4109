using ImageFlowIO.Config;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Postprocessing;

/// <summary>The postprocessing steps of SPEC §2 on the model's float output, in SPEC order.</summary>
internal static class Postprocessor
{
    /// <summary>
    /// Runs every enabled step in SPEC order. <paramref name="inputWidth"/>/<paramref name="inputHeight"/> are the original
    /// input's size (for <c>resizeTo: input</c>); <paramref name="palette"/> is the resolved paletteMap palette;
    /// <paramref name="original"/> gives the original input (0..1 RGB) for blendOverlay, only when that step runs.
    /// </summary>
    public static FloatImage Apply(FloatImage image, PostprocessingConfig post, int inputWidth, int inputHeight,
        Rgb8[]? palette = null, Func<FloatImage>? original = null)
    {
        if (post.Activation.Apply) Activate(image, post.Activation.Type);
        if (post.Clamp.Apply) Clamp(image, (float)post.Clamp.Min, (float)post.Clamp.Max);
        if (post.Denormalize.Apply) Denormalize(image, post.Denormalize);
        if (post.ToneMap.Apply) ToneMap(image, post.ToneMap);
        var labelImage = false;
        if (post.ColorMap.Apply) image = ColorMaps.Apply(image, post.ColorMap.Mode, post.ColorMap.Channel);
        else if (post.PaletteMap.Apply)
        {
            var pm = post.PaletteMap;
            var classes = Palettes.Classes(image, pm.Source, pm.Channel);
            image = Palettes.Map(classes, image.Width, image.Height, palette ?? Palettes.PascalVoc, pm.Outline);
            labelImage = true;
        }
        image = post.ResizeTo.Kind switch
        {
            ResizeTargetKind.Input => Resize(image, inputWidth, inputHeight, labelImage),
            ResizeTargetKind.Size => Resize(image, post.ResizeTo.Size.Width, post.ResizeTo.Size.Height, labelImage),
            _ => image,
        };
        if (post.BlendOverlay.Apply && original is not null)
            image = Blend(image, original(), (float)post.BlendOverlay.Alpha);
        return image;
    }

    /// <summary>Tone maps the colour channels: exposure (EV stops), the curve, then gamma (v^(1/gamma)).</summary>
    public static void ToneMap(FloatImage image, ToneMapConfig tone)
    {
        var exposure = MathF.Pow(2f, (float)tone.Exposure);
        var invGamma = tone.Gamma > 0 ? (float)(1.0 / tone.Gamma) : 1f;
        var whiteScale = 1f / Hable(11.2f);
        for (var c = 0; c < Math.Min(3, image.Channels); c++)
        {
            var plane = image.Plane(c);
            for (var i = 0; i < plane.Length; i++)
            {
                var x = MathF.Max(0f, plane[i] * exposure);
                x = tone.Method switch
                {
                    // Narkowicz's ACES filmic fit.
                    ToneMapMethod.Aces => Math.Clamp(x * (2.51f * x + 0.03f) / (x * (2.43f * x + 0.59f) + 0.14f), 0f, 1f),
                    ToneMapMethod.Reinhard => x / (1f + x),
                    // Hable's Uncharted 2 curve, exposure bias 2, white point 11.2.
                    _ => Math.Clamp(Hable(2f * x) * whiteScale, 0f, 1f),
                };
                plane[i] = invGamma == 1f ? x : MathF.Pow(x, invGamma);
            }
        }
    }

    private static float Hable(float x)
    {
        const float a = 0.15f, b = 0.50f, c = 0.10f, d = 0.20f, e = 0.02f, f = 0.30f;
        return (x * (a * x + c * b) + d * e) / (x * (a * x + b) + d * f) - e / f;
    }

    /// <summary><c>alpha·image + (1 − alpha)·original</c>, with the original resized to the image (gray is expanded to RGB).</summary>
    public static FloatImage Blend(FloatImage image, FloatImage original, float alpha)
    {
        original = Resize(original, image.Width, image.Height);
        var channels = Math.Max(Math.Min(image.Channels, 3), Math.Min(original.Channels, 3));
        var result = new FloatImage(image.Width, image.Height, channels);
        var plane = image.PlaneLength;
        for (var c = 0; c < channels; c++)
        {
            var a = image.Plane(Math.Min(c, image.Channels - 1));
            var o = original.Plane(Math.Min(c, original.Channels - 1));
            var dst = result.Plane(c);
            for (var i = 0; i < plane; i++) dst[i] = alpha * a[i] + (1f - alpha) * o[i];
        }
        return result;
    }

    public static void Activate(FloatImage image, ActivationType type)
    {
        var data = image.Data;
        switch (type)
        {
            case ActivationType.Sigmoid:
                for (var i = 0; i < data.Length; i++) data[i] = 1f / (1f + MathF.Exp(-data[i]));
                break;
            case ActivationType.Tanh:
                for (var i = 0; i < data.Length; i++) data[i] = MathF.Tanh(data[i]);
                break;
            case ActivationType.Softmax:
                Softmax(data, image.Channels, image.PlaneLength);
                break;
        }
    }

    /// <summary>Softmax over channels at each pixel (planar layout).</summary>
    public static void Softmax(float[] data, int channels, int plane)
    {
        for (var i = 0; i < plane; i++)
        {
            var max = float.NegativeInfinity;
            for (var c = 0; c < channels; c++) max = MathF.Max(max, data[c * plane + i]);
            var sum = 0f;
            for (var c = 0; c < channels; c++) { var e = MathF.Exp(data[c * plane + i] - max); data[c * plane + i] = e; sum += e; }
            for (var c = 0; c < channels; c++) data[c * plane + i] /= sum;
        }
    }

    public static void Clamp(FloatImage image, float min, float max)
    {
        var data = image.Data;
        for (var i = 0; i < data.Length; i++) data[i] = Math.Clamp(data[i], min, max);
    }

    /// <summary>Maps model values to the 0..1 display range: v·scale is in 0..max(dtype).</summary>
    public static void Denormalize(FloatImage image, DenormalizeConfig d)
    {
        var full = d.Dtype switch { OutputDataType.Uint16 => 65535.0, OutputDataType.Uint8 => 255.0, _ => d.Scale };
        var factor = (float)(d.Scale / full);
        if (factor == 1f) return;
        var data = image.Data;
        for (var i = 0; i < data.Length; i++) data[i] *= factor;
    }

    /// <summary>Resizes every channel plane, bilinear (ImageSharp on one float channel at a time) or nearest for label images.</summary>
    public static FloatImage Resize(FloatImage image, int width, int height, bool nearest = false)
    {
        if (image.Width == width && image.Height == height) return image;
        if (nearest) return ResizeNearest(image, width, height);
        var result = new FloatImage(width, height, image.Channels);
        for (var c = 0; c < image.Channels; c++)
        {
            // RgbaVector keeps full float precision and negative values through the resampler.
            using var plane = new Image<RgbaVector>(image.Width, image.Height);
            var srcArr = image.Data; var srcOff = c * image.PlaneLength;
            plane.ProcessPixelRows(a =>
            {
                for (var y = 0; y < image.Height; y++)
                {
                    var row = a.GetRowSpan(y);
                    for (var x = 0; x < image.Width; x++) row[x] = new RgbaVector(srcArr[srcOff + y * image.Width + x], 0, 0, 1);
                }
            });
            plane.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(width, height), Mode = SixLabors.ImageSharp.Processing.ResizeMode.Stretch, Sampler = KnownResamplers.Triangle }));
            var dstArr = result.Data; var dstOff = c * width * height;
            plane.ProcessPixelRows(a =>
            {
                for (var y = 0; y < height; y++)
                {
                    var row = a.GetRowSpan(y);
                    for (var x = 0; x < width; x++) dstArr[dstOff + y * width + x] = row[x].R;
                }
            });
        }
        return result;
    }

    private static FloatImage ResizeNearest(FloatImage image, int width, int height)
    {
        var result = new FloatImage(width, height, image.Channels);
        for (var c = 0; c < image.Channels; c++)
        {
            var src = image.Plane(c);
            var dst = result.Plane(c);
            for (var y = 0; y < height; y++)
            {
                var sy = Math.Min(image.Height - 1, (int)((y + 0.5) * image.Height / height));
                for (var x = 0; x < width; x++)
                    dst[y * width + x] = src[sy * image.Width + Math.Min(image.Width - 1, (int)((x + 0.5) * image.Width / width))];
            }
        }
        return result;
    }
}
