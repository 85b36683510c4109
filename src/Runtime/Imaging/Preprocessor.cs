using ImageFlowIO.Config;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SixLabors.ImageSharp.Processing.Processors.Transforms;
using IsResizeMode = SixLabors.ImageSharp.Processing.ResizeMode;

namespace ImageFlowIO.Imaging;

/// <summary>The geometric and colour steps of preprocessing (SPEC §2 steps 1, 2 and 4), applied to the decoded image in place.</summary>
internal static class Preprocessor
{
    /// <summary>Applies resize, centre crop and augmentations, in that order.</summary>
    public static void Apply(DecodedImage decoded, PreprocessingConfig pre)
    {
        var image = decoded.Image;
        if (pre.Resize.Apply && pre.Resize.ImageSize is { } size)
            Resize(image, size, pre.Resize);
        if (pre.CenterCrop.Apply && pre.CenterCrop.Size is { } crop)
            CenterCrop(image, crop, pre.Resize.PadColor);
        if (pre.Augmentations.Apply)
            Augment(image, pre.Augmentations);
    }

    /// <summary>The output size of preprocessing for an input of the given size (no pixels touched).</summary>
    public static (int Width, int Height) OutputSize(int width, int height, PreprocessingConfig pre)
    {
        if (pre.Resize.Apply && pre.Resize.ImageSize is { } size) (width, height) = (size.Width, size.Height);
        if (pre.CenterCrop.Apply && pre.CenterCrop.Size is { } crop) (width, height) = (crop.Width, crop.Height);
        if (pre.Augmentations.Apply && pre.Augmentations.Methods.Contains(AugmentationMethod.Rotate) && pre.Augmentations.RotateAngle % 180 == 90)
            (width, height) = (height, width);
        return (width, height);
    }

    /// <summary>The target size of preprocessing when the config fixes it (resize or crop), else null.</summary>
    public static (int Width, int Height)? FixedOutputSize(PreprocessingConfig pre)
    {
        if (!(pre.Resize.Apply && pre.Resize.ImageSize is not null) && !(pre.CenterCrop.Apply && pre.CenterCrop.Size is not null)) return null;
        return OutputSize(0, 0, pre);
    }

    public static IResampler Sampler(ResizeKernel kernel) => kernel switch
    {
        ResizeKernel.Nearest => KnownResamplers.NearestNeighbor,
        ResizeKernel.Linear => KnownResamplers.Triangle,
        ResizeKernel.Cubic => KnownResamplers.Bicubic,
        _ => KnownResamplers.Lanczos3,
    };

    private static void Resize(Image image, Size2 size, ResizeConfig resize)
    {
        var sampler = Sampler(resize.Kernel);
        var target = new Size(size.Width, size.Height);
        switch (resize.EffectiveMode)
        {
            case Config.ResizeMode.Fill:
                image.Mutate(x => x.Resize(new ResizeOptions { Size = target, Mode = IsResizeMode.Stretch, Sampler = sampler }));
                break;
            case Config.ResizeMode.Crop:
                image.Mutate(x => x.Resize(new ResizeOptions { Size = target, Mode = IsResizeMode.Crop, Position = AnchorPositionMode.Center, Sampler = sampler }));
                break;
            default:
            {
                // Fit: scale inside the box keeping the aspect ratio, then pad centred to exactly w×h.
                var scale = Math.Min((double)size.Width / image.Width, (double)size.Height / image.Height);
                var w = Math.Clamp((int)Math.Round(image.Width * scale), 1, size.Width);
                var h = Math.Clamp((int)Math.Round(image.Height * scale), 1, size.Height);
                var pad = Color.FromRgb(resize.PadColor.R, resize.PadColor.G, resize.PadColor.B);
                image.Mutate(x =>
                {
                    if (w != image.Width || h != image.Height) x.Resize(new ResizeOptions { Size = new Size(w, h), Mode = IsResizeMode.Stretch, Sampler = sampler });
                    x.Pad(size.Width, size.Height, pad);
                });
                break;
            }
        }
    }

    private static void CenterCrop(Image image, Size2 crop, Rgb8 padColor)
    {
        // Smaller images are padded (centred) first, as torchvision's CenterCrop does, so the size is always exact.
        if (image.Width < crop.Width || image.Height < crop.Height)
        {
            var pad = Color.FromRgb(padColor.R, padColor.G, padColor.B);
            image.Mutate(x => x.Pad(Math.Max(image.Width, crop.Width), Math.Max(image.Height, crop.Height), pad));
        }
        var left = (image.Width - crop.Width) / 2;
        var top = (image.Height - crop.Height) / 2;
        image.Mutate(x => x.Crop(new Rectangle(left, top, crop.Width, crop.Height)));
    }

    private static void Augment(Image image, AugmentationsConfig aug)
    {
        foreach (var method in aug.Methods)
        {
            switch (method)
            {
                case AugmentationMethod.Flip:
                    image.Mutate(x => x.Flip(aug.FlipAxis == FlipAxis.Vertical ? FlipMode.Vertical : FlipMode.Horizontal));
                    break;
                case AugmentationMethod.Rotate:
                    var mode = (aug.RotateAngle % 360) switch { 90 => RotateMode.Rotate90, 180 => RotateMode.Rotate180, 270 => RotateMode.Rotate270, _ => RotateMode.None };
                    if (mode != RotateMode.None) image.Mutate(x => x.Rotate(mode));
                    break;
                case AugmentationMethod.ColorJitter:
                    // Fixed parameters, no randomness: a build must give the same bytes every time.
                    image.Mutate(x =>
                    {
                        if (aug.Brightness != 1.0) x.Brightness((float)aug.Brightness);
                        if (aug.Saturation != 1.0) x.Saturate((float)aug.Saturation);
                        if (aug.Hue != 0) x.Hue((float)aug.Hue);
                    });
                    break;
            }
        }
    }
}
