using System.Buffers;
using System.Numerics;
using ImageFlowIO.Config;
using ImageFlowIO.Postprocessing;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Output;

/// <summary>Encodes a postprocessed <see cref="FloatImage"/> (0..1 display range) as PNG, JPEG, WebP or TIFF.</summary>
internal static class ImageFileWriter
{
    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, FloatImage image, SaveConfig save, int bitDepth)
    {
        var channels = Math.Min(image.Channels, 4);
        if (save.Format == ImageFormat.Png)
        {
            var samples = Quantize(image, channels, bitDepth == 16 ? 16 : 8, save.LinearToSRGB);
            try { AtomicFile.Write(path, s => PngWriter.Write(s, samples, image.Width, image.Height, channels, bitDepth == 16 ? 16 : 8, save.CompressionLevel)); }
            finally { TensorBuffers.Return(samples); } // read only by the encoder above
            return;
        }
        if (save.Format == ImageFormat.Tiff)
        {
            AtomicFile.Write(path, s => TiffWriter.Write(s, image, bitDepth, save.LinearToSRGB));
            return;
        }
        using var img = ToImageSharp(image, channels, save.LinearToSRGB);
        IImageEncoder encoder = save.Format switch
        {
            ImageFormat.Jpeg => new JpegEncoder { Quality = save.Quality },
            ImageFormat.Webp => new WebpEncoder { Quality = save.Quality, FileFormat = WebpFileFormatType.Lossy },
            _ => throw new InvalidOperationException("unreachable: TIFF is written by TiffWriter"),
        };
        AtomicFile.Write(path, s => img.Save(s, encoder));
    }

    /// <summary>Interleaved samples, big-endian for 16-bit (PNG's byte order).</summary>
    public static byte[] Quantize(FloatImage image, int channels, int bitDepth, bool linearToSrgb = false)
    {
        // The common case (8-bit, no transfer curve) is vectorised; it gives exactly QuantizeScalar's bytes.
        if (bitDepth == 8 && !linearToSrgb && Vector.IsHardwareAccelerated) return Quantize8Vectorised(image, channels);
        return QuantizeScalar(image, channels, bitDepth, linearToSrgb);
    }

    /// <summary>The reference quantizer: NaN → 0, clamp to 0..1, scale, round half to even.</summary>
    internal static byte[] QuantizeScalar(FloatImage image, int channels, int bitDepth, bool linearToSrgb = false)
    {
        var plane = image.PlaneLength;
        var bytesPerSample = bitDepth / 8;
        var result = TensorBuffers.Rent(plane * channels * bytesPerSample);
        var max = bitDepth == 16 ? 65535f : 255f;
        for (var c = 0; c < channels; c++)
        {
            var src = image.Plane(c);
            var convert = linearToSrgb && c < 3;
            for (var i = 0; i < plane; i++)
            {
                var v = src[i];
                if (float.IsNaN(v)) v = 0;
                if (convert) v = LinearToSrgb(v);
                var q = (int)MathF.Round(Math.Clamp(v, 0f, 1f) * max);
                var o = (i * channels + c) * bytesPerSample;
                if (bytesPerSample == 2) { result[o] = (byte)(q >> 8); result[o + 1] = (byte)q; }
                else result[o] = (byte)q;
            }
        }
        return result;
    }

    internal static byte[] Quantize8Vectorised(FloatImage image, int channels)
    {
        var plane = image.PlaneLength;
        var result = TensorBuffers.Rent(plane * channels);
        var planeBytes = ArrayPool<byte>.Shared.Rent(plane);
        try
        {
            var bytes = planeBytes.AsSpan(0, plane);
            for (var c = 0; c < channels; c++)
            {
                QuantizePlane8(image.Plane(c), bytes);
                if (channels == 1) { bytes.CopyTo(result); break; }
                for (int i = 0, o = c; i < bytes.Length; i++, o += channels) result[o] = bytes[i];
            }
        }
        finally { ArrayPool<byte>.Shared.Return(planeBytes); }
        return result;
    }

    /// <summary>Quantizes one plane to bytes, four float vectors narrowed into one byte vector per step.</summary>
    internal static void QuantizePlane8(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var n = Vector<float>.Count;
        var i = 0;
        for (; i + 4 * n <= src.Length; i += 4 * n)
        {
            var a = Vector.Narrow(Quantize8(new Vector<float>(src[i..])), Quantize8(new Vector<float>(src[(i + n)..])));
            var b = Vector.Narrow(Quantize8(new Vector<float>(src[(i + 2 * n)..])), Quantize8(new Vector<float>(src[(i + 3 * n)..])));
            Vector.Narrow(Vector.AsVectorUInt16(a), Vector.AsVectorUInt16(b)).CopyTo(dst[i..]);
        }
        for (; i < src.Length; i++)
        {
            var v = src[i];
            if (float.IsNaN(v)) v = 0;
            dst[i] = (byte)(int)MathF.Round(Math.Clamp(v, 0f, 1f) * 255f);
        }
    }

    private static Vector<int> Quantize8(Vector<float> v)
    {
        v = Vector.ConditionalSelect(Vector.Equals(v, v), v, Vector<float>.Zero); // NaN → 0
        v = Vector.Min(Vector.Max(v, Vector<float>.Zero), Vector<float>.One) * 255f;
        return Vector.ConvertToInt32(Vector.Round(v)); // round half to even, as MathF.Round
    }

    public static float LinearToSrgb(float v)
    {
        v = Math.Clamp(v, 0f, 1f);
        return v <= 0.0031308f ? v * 12.92f : 1.055f * MathF.Pow(v, 1f / 2.4f) - 0.055f;
    }

    /// <summary>An 8-bit ImageSharp image of the first 1, 3 or 4 channels (gray is expanded to RGB).</summary>
    public static Image<Rgba32> ToImageSharp(FloatImage image, int channels, bool linearToSrgb = false)
    {
        var samples = Quantize(image, channels, 8, linearToSrgb);
        var result = new Image<Rgba32>(image.Width, image.Height);
        result.ProcessPixelRows(a =>
        {
            for (var y = 0; y < image.Height; y++)
            {
                var row = a.GetRowSpan(y);
                for (var x = 0; x < image.Width; x++)
                {
                    var o = (y * image.Width + x) * channels;
                    row[x] = channels switch
                    {
                        1 => new Rgba32(samples[o], samples[o], samples[o], 255),
                        2 => new Rgba32(samples[o], samples[o], samples[o], samples[o + 1]),
                        3 => new Rgba32(samples[o], samples[o + 1], samples[o + 2], 255),
                        _ => new Rgba32(samples[o], samples[o + 1], samples[o + 2], samples[o + 3]),
                    };
                }
            }
        });
        return result;
    }
}
