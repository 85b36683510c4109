using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Benchmarks.Kernels;

/// <summary>
/// <c>-- resize-diff [--images DIR]</c>: how far the one-pass resize + normalise's tensor is from ImageSharp's resize +
/// TensorWriter's, per kernel, over the JPEGs of a folder (default: the 8 sample photos at 640×480): max and mean
/// |difference| in tensor units and in 8-bit steps (× std × 255).
/// </summary>
internal static class ResizeDiff
{
    private static readonly double[] Mean = [0.485, 0.456, 0.406];
    private static readonly double[] Std = [0.229, 0.224, 0.225];

    /// <summary>W1's preprocessing: 320×320 stretch with the kernel, float32 NCHW RGB, ImageNet normalise.</summary>
    public static PreprocessingConfig W1Preprocessing(ResizeKernel kernel) => new()
    {
        Resize = new ResizeConfig { Apply = true, ImageSize = new Size2(320, 320), KeepAspectRatio = false, Kernel = kernel },
        Format = new FormatConfig { DataType = TensorDataType.Float32, Channels = 3 },
        Normalize = new NormalizeConfig { Apply = true, Mean = Mean, Std = Std },
    };

    public static int Run(string[] args)
    {
        if (args.FirstOrDefault() == "--loop") return Loop(int.Parse(args[1]), args.Length > 2 && args[2] == "imagesharp");
        if (args.FirstOrDefault() == "--hash") return Hash();
        var folder = args.Length >= 2 && args[0] == "--images" ? args[1] : null;
        var inputs = folder is null
            ? Directory.GetFiles(BenchAssets.PhotoFolder, "*.jpg").Order().Select(p => (Path.GetFileName(p), Photo640x480(p))).ToList()
            : Directory.GetFiles(folder, "*.jpg").Order().Select(p => (Path.GetFileName(p), File.ReadAllBytes(p))).ToList();
        Console.WriteLine($"{inputs.Count} images from {folder ?? BenchAssets.PhotoFolder + " (at 640×480)"}; |fused − ImageSharp + fill| per tensor element");
        Console.WriteLine($"{"kernel",-8} {"layout",-6} {"max",10} {"mean",10} {"max (8-bit steps)",18} {"mean (8-bit steps)",19} {"elements differing",19}");
        foreach (var kernel in new[] { ResizeKernel.Cubic, ResizeKernel.Linear })
            foreach (var layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
            {
                var pre = W1Preprocessing(kernel);
                double max = 0, sum = 0, maxSteps = 0, sumSteps = 0;
                long count = 0, differing = 0;
                foreach (var (name, bytes) in inputs)
                {
                    using var a = ImageDecoder.Decode(name, bytes, new InputConfig());
                    using var b = ImageDecoder.Decode(name, bytes, new InputConfig());
                    var fused = ResizeNormalizeKernel.Write((Image<Rgb24>)a.Image, pre, layout).AsFloat32();
                    Preprocessor.Apply(b, pre);
                    var reference = TensorWriter.Write(b, pre, layout).AsFloat32();
                    var plane = 320 * 320;
                    for (var i = 0; i < fused.Length; i++)
                    {
                        var c = layout == TensorLayout.Nhwc ? i % 3 : i / plane;
                        var d = Math.Abs((double)fused[i] - reference[i]);
                        var steps = d * Std[c] * 255;
                        (max, sum, maxSteps, sumSteps) = (Math.Max(max, d), sum + d, Math.Max(maxSteps, steps), sumSteps + steps);
                        if (d != 0) differing++;
                        count++;
                    }
                }
                Console.WriteLine($"{kernel,-8} {layout,-6} {max,10:G4} {sum / count,10:G4} {maxSteps,18:F4} {sumSteps / count,19:F4} {100.0 * differing / count,18:F1}%");
            }
        return 0;
    }

    /// <summary><c>--loop N [imagesharp]</c>: N cubic W1 tensors of one photo, for a profiler (perf record) to look into.</summary>
    private static int Loop(int count, bool imageSharp)
    {
        var pre = W1Preprocessing(ResizeKernel.Cubic);
        using var decoded = ImageDecoder.Decode("photo.jpg", BenchAssets.Jpeg640x480(), new InputConfig());
        var source = (Image<Rgb24>)decoded.Image;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            TensorData tensor;
            if (imageSharp)
            {
                using var resized = source.Clone(x => x.Resize(new ResizeOptions { Size = new Size(320, 320), Mode = SixLabors.ImageSharp.Processing.ResizeMode.Stretch, Sampler = Preprocessor.Sampler(ResizeKernel.Cubic) }));
                tensor = TensorWriter.Write(resized, pre, TensorLayout.Nchw);
            }
            else tensor = ResizeNormalizeKernel.Write(source, pre, TensorLayout.Nchw);
            TensorBuffers.Return(tensor.UnsafeArray);
        }
        Console.WriteLine($"{(imageSharp ? "ImageSharp + fill" : "fused")}: {sw.Elapsed.TotalMicroseconds / count:F0} µs per tensor ({count})");
        return 0;
    }

    /// <summary>
    /// <c>--hash</c>: one SHA-256 over the kernel's tensors, for every kernel, layout and channel order and at sizes whose
    /// rows leave vector tails (320², 317×203 down, 1 000×750 up), of a lossless photo (tests' photo_160x120.png, stretched
    /// to 640×480 by nearest neighbour) and of 640×480 random noise (cubic's overshoot clamped everywhere). Sources that
    /// decode alike everywhere (ImageSharp's JPEG decoder does not with other instruction sets): run it with
    /// DOTNET_EnableAVX2=0 or DOTNET_EnableHWIntrinsic=0 to see the Vector128 and scalar paths give the same floats.
    /// </summary>
    private static int Hash()
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var photo = Image.Load<Rgb24>(Path.Combine(BenchAssets.RepoRoot, "tests", "TestData", "images", "photo_160x120.png"));
        photo.Mutate(x => x.Resize(640, 480, KnownResamplers.NearestNeighbor));
        using var noise = new Image<Rgb24>(640, 480);
        var random = new Random(25);
        for (var y = 0; y < 480; y++)
            for (var x = 0; x < 640; x++)
                noise[x, y] = new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
        foreach (var image in new[] { photo, noise })
            foreach (var kernel in new[] { ResizeKernel.Cubic, ResizeKernel.Linear })
                foreach (var layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
                    foreach (var order in new[] { ChannelOrder.Rgb, ChannelOrder.Bgr })
                        foreach (var (w, h) in new[] { (320, 320), (317, 203), (1000, 750) })
                        {
                            var pre = new PreprocessingConfig
                            {
                                Resize = new ResizeConfig { Apply = true, ImageSize = new Size2(w, h), KeepAspectRatio = false, Kernel = kernel },
                                Format = new FormatConfig { DataType = TensorDataType.Float32, Channels = 3, ChannelOrder = order },
                                Normalize = new NormalizeConfig { Apply = true, Mean = Mean, Std = Std },
                            };
                            sha.AppendData(ResizeNormalizeKernel.Write(image, pre, layout).Bytes);
                        }
        Console.WriteLine($"{Convert.ToHexStringLower(sha.GetHashAndReset())}  Vector256 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}, Vector128 {System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated}, AVX2 {System.Runtime.Intrinsics.X86.Avx2.IsSupported}");
        return 0;
    }

    internal static byte[] Photo640x480(string path)
    {
        using var image = Image.Load<Rgb24>(path);
        image.Mutate(x => x.Resize(640, 480));
        using var ms = new MemoryStream();
        image.SaveAsJpeg(ms, new SixLabors.ImageSharp.Formats.Jpeg.JpegEncoder { Quality = 90 });
        return ms.ToArray();
    }
}
