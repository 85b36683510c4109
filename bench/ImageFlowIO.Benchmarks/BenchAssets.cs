using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Benchmarks;

/// <summary>Inputs the kernel benchmarks share: real photos from samples/TextDetection/assets, found from the repository root.</summary>
internal static class BenchAssets
{
    private static string? _root;

    /// <summary>The repository root (the folder holding ImageFlowIO.slnx), found by walking up from the binaries or the current folder.</summary>
    public static string RepoRoot => _root ??= FindRoot(AppContext.BaseDirectory) ?? FindRoot(Environment.CurrentDirectory)
        ?? throw new InvalidOperationException("ImageFlowIO.slnx not found above " + AppContext.BaseDirectory + "; run from the repository");

    private static string? FindRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ImageFlowIO.slnx"))) return dir.FullName;
        return null;
    }

    public static string SamplePhoto(string name = "astronaut.jpg") => Path.Combine(PhotoFolder, name);

    /// <summary>The sample photos (8 JPEGs; samples/images until the sample became self-contained).</summary>
    public static string PhotoFolder => Path.Combine(RepoRoot, "samples", "TextDetection", "assets");

    public static string Conv3Model => Path.Combine(RepoRoot, "tests", "TestData", "models", "conv3_nchw.onnx");

    /// <summary>A 640×480 JPEG (quality 90) of a real photo, like the end-to-end inputs.</summary>
    public static byte[] Jpeg640x480()
    {
        using var image = Image.Load<Rgb24>(SamplePhoto());
        image.Mutate(x => x.Resize(640, 480));
        using var ms = new MemoryStream();
        image.SaveAsJpeg(ms, new SixLabors.ImageSharp.Formats.Jpeg.JpegEncoder { Quality = 90 });
        return ms.ToArray();
    }

    /// <summary>A 320×320 RGB photo: the size the end-to-end config feeds the model and writes back.</summary>
    public static Image<Rgb24> Photo320() 
    {
        var image = Image.Load<Rgb24>(SamplePhoto());
        image.Mutate(x => x.Resize(320, 320));
        return image;
    }

    /// <summary>Interleaved 8-bit samples of an image (PNG encoder input).</summary>
    public static byte[] Samples(Image<Rgb24> image)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }

    /// <summary>The 320×320 photo as a planar 1×3×320×320 float tensor in [0, 1]: a model output's shape and range.</summary>
    public static TensorData Tensor320()
    {
        using var photo = Photo320();
        var samples = Samples(photo);
        var values = new float[3 * 320 * 320];
        for (var i = 0; i < 320 * 320; i++)
            for (var c = 0; c < 3; c++) values[c * 320 * 320 + i] = samples[i * 3 + c] / 255f;
        return TensorData.FromFloats([1, 3, 320, 320], values);
    }

    /// <summary>
    /// What the end-to-end benchmark writes as PNG: conv3's output for a sample photo stretched to 320×320
    /// (ImageNet-normalised planar input, sigmoid output × 255, rounded), as interleaved 8-bit RGB. Noise-like, unlike a photo.
    /// </summary>
    public static byte[] Conv3Output320(string photoName = "astronaut.jpg")
    {
        using var photo = Image.Load<Rgb24>(SamplePhoto(photoName));
        photo.Mutate(x => x.Resize(320, 320));
        var samples = Samples(photo);
        const int plane = 320 * 320;
        ReadOnlySpan<float> mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        var input = new float[3 * plane];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++) input[c * plane + i] = (samples[i * 3 + c] / 255f - mean[c]) / std[c];
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Conv3Model);
        using var x = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(input, [1, 3, 320, 320]);
        using var outputs = session.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), ["x"], [x], ["y"]);
        var y = outputs[0].GetTensorDataAsSpan<float>();
        var bytes = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++) bytes[i * 3 + c] = (byte)Math.Clamp(MathF.Round(y[c * plane + i] * 255f), 0, 255);
        return bytes;
    }
}
