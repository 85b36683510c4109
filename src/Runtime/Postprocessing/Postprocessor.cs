using ImageFlowIO.Config;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Postprocessing;

/// <summary>The postprocessing steps of SPEC §2 on the model's float output, in SPEC order.</summary>
public static class Postprocessor
{
    /// <summary>Runs every enabled step. <paramref name="inputWidth"/>/<paramref name="inputHeight"/> are the original input's size (for resizeTo: input).</summary>
    public static FloatImage Apply(FloatImage image, PostprocessingConfig post, int inputWidth, int inputHeight)
    {
        if (post.Activation.Apply) Activate(image, post.Activation.Type);
        if (post.Clamp.Apply) Clamp(image, (float)post.Clamp.Min, (float)post.Clamp.Max);
        if (post.Denormalize.Apply) Denormalize(image, post.Denormalize);
        image = post.ResizeTo.Kind switch
        {
            ResizeTargetKind.Input => Resize(image, inputWidth, inputHeight),
            ResizeTargetKind.Size => Resize(image, post.ResizeTo.Size.Width, post.ResizeTo.Size.Height),
            _ => image,
        };
        return image;
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

    /// <summary>Resizes every channel plane with a bilinear-like kernel (ImageSharp on one float channel at a time).</summary>
    public static FloatImage Resize(FloatImage image, int width, int height)
    {
        if (image.Width == width && image.Height == height) return image;
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
}
