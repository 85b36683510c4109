using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFlowIO.Benchmarks.EndToEnd;

/// <summary>
/// The overhead yardstick: the same work written by hand straight against ImageSharp and ONNX Runtime with their
/// defaults (Resize(320, 320) = bicubic, a per-pixel normalise loop into a DenseTensor, InferenceSession.Run,
/// SaveAsPng with the default encoder), on N workers. What a user would write without ImageFlowIO.
/// </summary>
internal static class HandWritten
{
    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    public static int Run(string[] argv)
    {
        var args = new Args(argv);
        var outDir = Directory.CreateDirectory(args.Required("out")).FullName;
        var workers = args.Int("workers", 2);
        var files = Directory.EnumerateFiles(args.Required("images"))
            .Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToArray();
        long prepTicks = 0, modelTicks = 0, encodeTicks = 0;

        var sw = Stopwatch.StartNew();
        using var session = new InferenceSession(args.Required("model"));
        var inputName = session.InputNames[0];
        Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = workers }, file =>
        {
            var t0 = Stopwatch.GetTimestamp();
            var tensor = new DenseTensor<float>([1, 3, 320, 320]);
            using (var image = Image.Load<Rgb24>(file))
            {
                image.Mutate(x => x.Resize(320, 320));
                image.ProcessPixelRows(rows =>
                {
                    for (var y = 0; y < rows.Height; y++)
                    {
                        var row = rows.GetRowSpan(y);
                        for (var x = 0; x < row.Length; x++)
                        {
                            tensor[0, 0, y, x] = (row[x].R / 255f - Mean[0]) / Std[0];
                            tensor[0, 1, y, x] = (row[x].G / 255f - Mean[1]) / Std[1];
                            tensor[0, 2, y, x] = (row[x].B / 255f - Mean[2]) / Std[2];
                        }
                    }
                });
            }
            var t1 = Stopwatch.GetTimestamp();
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, tensor)]);
            var output = results.First().AsTensor<float>();
            var t2 = Stopwatch.GetTimestamp();
            using (var result = new Image<Rgb24>(320, 320))
            {
                for (var y = 0; y < 320; y++)
                    for (var x = 0; x < 320; x++)
                        result[x, y] = new Rgb24(ToByte(output[0, 0, y, x]), ToByte(output[0, 1, y, x]), ToByte(output[0, 2, y, x]));
                result.SaveAsPng(Path.Combine(outDir, Path.GetFileNameWithoutExtension(file) + ".png"));
            }
            var t3 = Stopwatch.GetTimestamp();
            Interlocked.Add(ref prepTicks, t1 - t0);
            Interlocked.Add(ref modelTicks, t2 - t1);
            Interlocked.Add(ref encodeTicks, t3 - t2);
        });
        var batchMs = sw.Elapsed.TotalMilliseconds;

        static double Ms(long ticks) => Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 1);
        E2eHarness.Report(new JsonObject
        {
            ["batch_ms"] = Math.Round(batchMs, 1),
            ["stage_ms"] = new JsonObject { ["decodeResizeNormalize"] = Ms(prepTicks), ["inference"] = Ms(modelTicks), ["quantizeAndPng"] = Ms(encodeTicks) },
            ["peak_rss_mb"] = E2eHarness.PeakRssMb(),
            ["cpu_ms"] = E2eHarness.CpuMs(),
        });
        return 0;
    }

    private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v * 255f), 0f, 255f);
}
