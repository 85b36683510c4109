using SixLabors.ImageSharp;

namespace ImageFlowIO.Imaging;

/// <summary>
/// A decoded input image. Owns <see cref="Image"/> (pixel memory from ImageSharp's pool): dispose it.
/// The pixel type is Rgb24 or Rgba32 for 8-bit sources and Rgba64 for 16-bit ones, so precision is kept.
/// </summary>
internal sealed class DecodedImage : IDisposable
{
    internal DecodedImage(Image image, string format, bool highPrecision, int sourceWidth, int sourceHeight)
    {
        Image = image;
        Format = format;
        HighPrecision = highPrecision;
        SourceWidth = sourceWidth;
        SourceHeight = sourceHeight;
    }

    public Image Image { get; }
    /// <summary>Detected container format, lower case (png, jpeg, webp, tiff, bmp, gif).</summary>
    public string Format { get; }
    /// <summary>True for 16-bit-per-channel sources: values are divided by 65535, not 255.</summary>
    public bool HighPrecision { get; }
    /// <summary>Size after EXIF orientation, before preprocessing.</summary>
    public int SourceWidth { get; }
    public int SourceHeight { get; }

    public void Dispose() => Image.Dispose();
}
