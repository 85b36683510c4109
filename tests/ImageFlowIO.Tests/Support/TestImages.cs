using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Tests.Support;

/// <summary>Reads test outputs back: image pixels with ImageSharp, .npy arrays by hand (so the writer is checked independently).</summary>
public static class TestImages
{
    public static Rgba32[,] Pixels(string path)
    {
        using var image = Image.Load<Rgba32>(path);
        var result = new Rgba32[image.Width, image.Height];
        for (var y = 0; y < image.Height; y++)
            for (var x = 0; x < image.Width; x++)
                result[x, y] = image[x, y];
        return result;
    }

    public static (int Width, int Height) Size(string path)
    {
        var info = Image.Identify(path);
        return (info.Width, info.Height);
    }

    /// <summary>PNG colour type and bit depth straight from the IHDR chunk.</summary>
    public static (int BitDepth, int ColorType) PngHeader(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("\x89PNG", Encoding.Latin1.GetString(bytes, 0, 4));
        return (bytes[24], bytes[25]);
    }

    public sealed record NpyArray(string Descr, int[] Shape, float[] Values);

    public static NpyArray ReadNpyFloat32(string path) => ParseNpy(File.ReadAllBytes(path));

    public static NpyArray ParseNpy(byte[] bytes)
    {
        Assert.Equal(0x93, bytes[0]);
        Assert.Equal("NUMPY", Encoding.ASCII.GetString(bytes, 1, 5));
        var headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Equal(0, (10 + headerLength) % 64);
        var descr = header.Split("'descr': '")[1].Split('\'')[0];
        var shapeText = header.Split("'shape': (")[1].Split(')')[0];
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        var data = bytes.AsSpan(10 + headerLength);
        float[] values;
        if (descr == "<f4") values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data).ToArray();
        else values = data.ToArray().Select(b => (float)b).ToArray();
        return new NpyArray(descr, shape, values);
    }
}
