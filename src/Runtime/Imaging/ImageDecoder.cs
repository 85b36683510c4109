using ImageFlowIO.Config;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Imaging;

/// <summary>Decodes input images with ImageSharp after checking the header, so bad or huge files fail early and clearly.</summary>
internal static class ImageDecoder
{
    /// <summary>Extensions a folder input picks up.</summary>
    public static readonly IReadOnlyList<string> SupportedExtensions = [".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"];

    private static Configuration DecodeConfiguration => Decoding.Configuration;

    // A holder class, so listing a folder (or a fully cached run) never loads ImageSharp: only a decode does.
    private static class Decoding
    {
        public static readonly Configuration Configuration = Create();

        private static Configuration Create()
        {
            var c = Configuration.Default.Clone();
            c.PreferContiguousImageBuffers = true;
            return c;
        }
    }

    public static bool IsSupportedExtension(string path)
    {
        var ext = Path.GetExtension(path.AsSpan()); // no string per listed file
        for (var i = 0; i < SupportedExtensions.Count; i++)
            if (ext.Equals(SupportedExtensions[i], StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Decodes <paramref name="bytes"/> (the content of <paramref name="path"/>), applying EXIF orientation.</summary>
    public static DecodedImage Decode(string path, ReadOnlyMemory<byte> bytes, InputConfig input, bool needsAlpha = false)
    {
        if (bytes.Length == 0)
            throw new ImageInputException(ErrorCodes.ImageEmpty, path, "the image file is empty (0 bytes); re-export or re-copy it");

        IImageFormat? format;
        IImageInfo? info;
        using (var stream = AsStream(bytes))
        {
            try { info = Image.Identify(DecodeConfiguration, stream, out format); }
            catch (Exception ex) when (ex is ImageFormatException or InvalidDataException or NotSupportedException or ArgumentException)
            {
                throw new ImageInputException(ErrorCodes.ImageCorrupt, path, $"the image header is corrupt ({ex.Message}); re-export the image", ex);
            }
        }
        if (info is null || format is null)
            throw new ImageInputException(ErrorCodes.ImageFormatUnknown, path,
                "the file is not an image in a supported format (PNG, JPEG, WebP, TIFF, BMP, GIF); convert it or remove it from the inputs");

        var formatName = format.Name.ToLowerInvariant();
        var ext = Path.GetExtension(path).TrimStart('.').ToLowerInvariant();
        if (ext.Length > 0 && IsSupportedExtension(path) && !format.FileExtensions.Contains(ext, StringComparer.OrdinalIgnoreCase))
            throw new ImageInputException(ErrorCodes.ImageExtensionMismatch, path,
                $"the file is named .{ext} but holds {format.Name} data; rename it to .{format.FileExtensions.First()}");

        var pixels = (long)info.Width * info.Height;
        if (info.Width <= 0 || info.Height <= 0 || pixels > input.MaxPixels)
            throw new ImageInputException(ErrorCodes.ImageTooLarge, path,
                $"the image header claims {info.Width}×{info.Height} = {pixels:N0} pixels, over input.maxPixels ({input.MaxPixels:N0}); downscale it or raise input.maxPixels");

        if (formatName == "jpeg" && !HasJpegEnd(bytes.Span))
            throw new ImageInputException(ErrorCodes.ImageTruncated, path, "the JPEG file is truncated (no end-of-image marker); re-copy or re-export it");

        var highPrecision = IsHighPrecision(formatName, info);
        Image image;
        using (var stream = AsStream(bytes))
        {
            try
            {
                image = highPrecision ? Image.Load<Rgba64>(DecodeConfiguration, stream)
                    : needsAlpha || info.PixelType.AlphaRepresentation is PixelAlphaRepresentation.Unassociated or PixelAlphaRepresentation.Associated
                        ? Image.Load<Rgba32>(DecodeConfiguration, stream)
                        : Image.Load<Rgb24>(DecodeConfiguration, stream);
            }
            catch (Exception ex) when (ex is ImageFormatException or InvalidDataException or NotSupportedException or ArgumentException or IndexOutOfRangeException or EndOfStreamException)
            {
                throw new ImageInputException(ErrorCodes.ImageDataCorrupt, path, $"the image data is corrupt ({ex.Message}); re-export the image or remove it from the inputs", ex);
            }
        }

        if (input.AutoOrient) image.Mutate(x => x.AutoOrient());
        return new DecodedImage(image, formatName, highPrecision, image.Width, image.Height);
    }

    private static MemoryStream AsStream(ReadOnlyMemory<byte> bytes) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);

    private static bool IsHighPrecision(string format, IImageInfo info)
    {
        if (format == "png") return info.Metadata.GetPngMetadata().BitDepth == PngBitDepth.Bit16;
        if (format == "tiff") return info.PixelType.BitsPerPixel is 16 or 48 or 64;
        return false;
    }

    private static bool HasJpegEnd(ReadOnlySpan<byte> data)
    {
        // Some encoders pad after EOI; accept a little trailing padding.
        var end = data.Length;
        var scanFrom = Math.Max(1, end - 64);
        for (var i = end - 1; i >= scanFrom; i--)
            if (data[i] == 0xD9 && data[i - 1] == 0xFF) return true;
        return false;
    }
}
