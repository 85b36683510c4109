using System.Diagnostics;
using System.Globalization;
using ImageFlowIO.Config;
using Microsoft.ML.OnnxRuntime;

namespace ImageFlowIO.Benchmarks.EndToEnd;

/// <summary>
/// The pipeline's own cost on a heavy model: per image, the wall time of <c>Pipeline.RunAsync</c> (read, decode,
/// preprocess, model, postprocess, save; no cache, one worker, so ONNX Runtime gets every core) against ONNX Runtime's
/// bare <c>Run</c> on the same input tensor in a session opened as the product opens its own (ORT_ENABLE_ALL,
/// sequential, intra-op threads = cores), output bound to a preallocated array. The two alternate image by image so
/// both see the same machine. Prints medians and their ratio.
/// <code>model-overhead --config samples/TextDetection/imageflow.json --images /tmp/bench-imgs [--count 12] [--passes 3]</code>
/// </summary>
internal static class ModelOverhead
{
    public static async Task<int> RunAsync(string[] argv)
    {
        var args = new Args(argv);
        var parsed = ConfigParser.ParseFile(args.Required("config"));
        var config = parsed.Config ?? throw new InvalidOperationException(string.Join("\n", parsed.Diagnostics));
        var images = Directory.EnumerateFiles(args.Required("images"), "*.jpg").Order(StringComparer.Ordinal).Take(args.Int("count", 12)).ToArray();
        var passes = args.Int("passes", 3);
        var work = Directory.CreateTempSubdirectory("ifio-overhead-");
        try
        {
            using var pipeline = Pipeline.Create(config, new PipelineOptions
            {
                CacheMode = CacheMode.None, MaxParallelism = 1, KeepOutputTensors = false, OutputDirectory = work.FullName,
            });
            // The tensors the pipeline feeds the model, made once (untimed) for the bare runs.
            var tensors = images.Select(pipeline.Preprocess).ToArray();
            var signature = pipeline.ModelSignature;
            using var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = Environment.ProcessorCount, InterOpNumThreads = 1,
            };
            using var session = new InferenceSession(config.ResolvePath(config.Model.Path), options);
            using var run = new RunOptions();
            var bare = new List<double>();
            var full = new List<double>();
            var inference = new List<double>();
            for (var pass = -1; pass < passes; pass++) // pass −1 warms both up
            {
                for (var i = 0; i < images.Length; i++)
                {
                    var sw = Stopwatch.StartNew();
                    var result = await pipeline.RunAsync(images[i]);
                    var ms = sw.Elapsed.TotalMilliseconds;
                    if (!result.Succeeded) throw new InvalidOperationException(result.Error!.ToString());
                    var tensor = tensors[i];
                    var output = new float[OutputLength(signature.OutputShape, tensor.Shape)];
                    using var input = OrtValue.CreateTensorValueFromMemory(tensor.AsFloat32().ToArray(), tensor.Shape.Select(d => (long)d).ToArray());
                    using var outputValue = OrtValue.CreateTensorValueFromMemory(output, OutputShape(signature.OutputShape, tensor.Shape));
                    sw.Restart();
                    session.Run(run, [signature.InputName], [input], [signature.OutputName], [outputValue]);
                    var bareMs = sw.Elapsed.TotalMilliseconds;
                    if (pass < 0) continue;
                    full.Add(ms);
                    bare.Add(bareMs);
                    inference.Add(result.TimingsMs!.GetValueOrDefault("inference"));
                }
            }
            var (mFull, mBare, mInf) = (Median(full), Median(bare), Median(inference));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"model-overhead {Path.GetFileName(config.Model.Path)}, {images.Length} images × {passes} passes, {Environment.ProcessorCount} cores: " +
                $"pipeline per image {mFull:0.0} ms (its inference stage {mInf:0.0} ms), bare ORT Run {mBare:0.0} ms, ratio {mFull / mBare:0.000}"));
            return 0;
        }
        finally { work.Delete(recursive: true); }
    }

    /// <summary>The model's output shape with its dynamic axes (−1) taken from the input's batch/height/width (the detector keeps them).</summary>
    private static long[] OutputShape(IReadOnlyList<long> declared, IReadOnlyList<int> input) =>
        declared.Select((d, k) => d > 0 ? d : k == 0 ? input[0] : k >= 2 && k < input.Count ? input[k] : 1).ToArray();

    private static long OutputLength(IReadOnlyList<long> declared, IReadOnlyList<int> input) => OutputShape(declared, input).Aggregate(1L, (a, b) => a * b);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
