using System.Diagnostics;
using System.Globalization;
using ImageFlowIO.Config;
using Microsoft.ML.OnnxRuntime;

namespace ImageFlowIO.Benchmarks.EndToEnd;

/// <summary>
/// The pipeline's own cost on a heavy model: per image, the wall time of <c>Pipeline.RunAsync</c> (read, decode,
/// preprocess, model, postprocess, save; no cache, one worker, so ONNX Runtime gets every core) against ONNX Runtime's
/// bare <c>Run</c> on the same input tensors in a session with ONNX Runtime's defaults for threads (ORT_ENABLE_ALL,
/// sequential, intra-op threads = cores, spinning) and in one with the product's settings (no spinning), output bound to a preallocated array. The two alternate so
/// both see the same machine: whole passes alternate. Prints medians and their ratio (run it with
/// <c>DOTNET_TieredCompilation=0</c> so a few passes measure optimised code, as the Native AOT tool runs).
/// With <c>--workers 1,2</c>, each pass also runs the images as one batch (<c>RunBatchAsync</c>, that many workers of
/// cores ÷ workers ONNX Runtime threads, as the product sizes them) and the same tensors through as many threads calling a
/// bare session of as many threads: per image = the batch's wall ÷ images.
/// <code>model-overhead --config samples/TextDetection/imageflow.json --images /tmp/bench-imgs [--count 12] [--passes 3] [--workers 1,2]</code>
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
        // Batches through RunBatchAsync with these worker counts (cores ÷ workers ONNX Runtime threads each, as the product
        // sizes them) against bare Runs with the same parallelism: that many threads calling Run on one such session.
        var workerCounts = (args.Optional("workers") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray();
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
            var batches = workerCounts.Select(w => new Batch(w, Pipeline.Create(config, new PipelineOptions
            {
                CacheMode = CacheMode.None, MaxParallelism = w, KeepOutputTensors = false, OutputDirectory = work.FullName,
            }), new InferenceSession(config.ResolvePath(config.Model.Path), Options("session.intra_op.allow_spinning", "0", Math.Max(1, Environment.ProcessorCount / w))))).ToArray();
            // ORT's defaults for this model, optionally with one session config entry on top.
            SessionOptions Options(string? key = null, string? value = null, int? threads = null)
            {
                var o = new SessionOptions
                {
                    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                    IntraOpNumThreads = threads ?? Environment.ProcessorCount, InterOpNumThreads = 1,
                };
                if (key is not null) o.AddSessionConfigEntry(key, value);
                return o;
            }
            using var options = Options();
            using var session = new InferenceSession(config.ResolvePath(config.Model.Path), options);
            // The same with the product's one session setting on top (threads sleep instead of spinning): the pipeline's own cost alone.
            using var quietOptions = Options("session.intra_op.allow_spinning", "0");
            using var quiet = new InferenceSession(config.ResolvePath(config.Model.Path), quietOptions);
            var bareQuiet = new List<double>();
            // Spinning inside a Run, stopped when it returns (session.force_spinning_stop): threads idle between images.
            using var stopOptions = Options("session.force_spinning_stop", "1");
            using var stopping = new InferenceSession(config.ResolvePath(config.Model.Path), stopOptions);
            var bareStopping = new List<double>();
            var backendRuns = new List<double>();
            using var run = new RunOptions();
            var bare = new List<double>();
            var full = new List<double>();
            var inference = new List<double>();
            var stages = new SortedDictionary<string, List<double>>(StringComparer.Ordinal);
            // Whole passes alternate (all images through the pipeline, then all through the bare session): the two
            // sessions' intra-op pools never spin against each other's next image. Pass −1 warms both up.
            OrtValue NewOutput(TensorData t) => OrtValue.CreateTensorValueFromMemory(new float[OutputLength(signature.OutputShape, t.Shape)], OutputShape(signature.OutputShape, t.Shape));
            var inputs = tensors.Select(t => (Input: OrtValue.CreateTensorValueFromMemory(t.AsFloat32().ToArray(), t.Shape.Select(d => (long)d).ToArray()),
                Output: NewOutput(t))).ToArray();
            foreach (var batch in batches)
                batch.Outputs = Enumerable.Range(0, batch.Workers).Select(_ => tensors.Select(NewOutput).ToArray()).ToArray();
            try
            {
                for (var pass = -1; pass < passes; pass++)
                {
                    for (var i = 0; i < images.Length; i++)
                    {
                        var sw = Stopwatch.StartNew();
                        var result = await pipeline.RunAsync(images[i]);
                        var ms = sw.Elapsed.TotalMilliseconds;
                        if (!result.Succeeded) throw new InvalidOperationException(result.Error!.ToString());
                        if (pass < 0) continue;
                        full.Add(ms);
                        inference.Add(result.TimingsMs!.GetValueOrDefault("inference"));
                        foreach (var (stage, stageMs) in result.TimingsMs!)
                        {
                            if (!stages.TryGetValue(stage, out var list)) stages[stage] = list = [];
                            list.Add(stageMs);
                        }
                    }
                    // The pipeline's own backend on the same tensors, outside the pipeline: its wrapper's cost apart from the stages'.
                    for (var i = 0; i < images.Length; i++)
                    {
                        var sw = Stopwatch.StartNew();
                        var output = pipeline.Backend.Run(tensors[i]);
                        if (pass >= 0) backendRuns.Add(sw.Elapsed.TotalMilliseconds);
                        TensorBuffers.Return(output.UnsafeArray);
                    }
                    foreach (var (target, times) in new[] { (session, bare), (quiet, bareQuiet), (stopping, bareStopping) })
                        for (var i = 0; i < images.Length; i++)
                        {
                            var sw = Stopwatch.StartNew();
                            target.Run(run, [signature.InputName], [inputs[i].Input], [signature.OutputName], [inputs[i].Output]);
                            if (pass >= 0) times.Add(sw.Elapsed.TotalMilliseconds);
                        }
                    foreach (var batch in batches)
                    {
                        // The whole batch through the pipeline, then the same tensors through `workers` threads of bare Runs: per
                        // image = wall ÷ images, each pass one value (a mean, stalls included, unlike the single-image medians above).
                        Settle();
                        var sw = Stopwatch.StartNew();
                        var cpu = Cpu();
                        var result = await batch.Pipeline.RunBatchAsync(images.Select(p => new InputItem(p)).ToList());
                        var ms = sw.Elapsed.TotalMilliseconds / images.Length;
                        if (pass >= 0) batch.PipelineCpu.Add((Cpu() - cpu) / images.Length);
                        if (result.Items.FirstOrDefault(r => !r.Succeeded) is { } failed) throw new InvalidOperationException(failed.Error!.ToString());
                        if (result.Items.Any(r => r.TimingsMs?.ContainsKey("inference") != true)) throw new InvalidOperationException("a batch input did not run the model");
                        if (pass >= 0) batch.PipelinePerImage.Add(ms);
                        if (batch.Workers == 1)
                        {
                            // One worker prepares the next input while the model runs; the same without, to show what that gives.
                            batch.Pipeline.PrepareAhead = false;
                            Settle();
                            sw.Restart();
                            cpu = Cpu();
                            result = await batch.Pipeline.RunBatchAsync(images.Select(p => new InputItem(p)).ToList());
                            if (pass >= 0) batch.WithoutPrepareAhead.Add(sw.Elapsed.TotalMilliseconds / images.Length);
                            if (pass >= 0) batch.WithoutPrepareAheadCpu.Add((Cpu() - cpu) / images.Length);
                            batch.Pipeline.PrepareAhead = true;
                        }
                        var next = -1;
                        Settle();
                        sw.Restart();
                        cpu = Cpu();
                        var threads = batch.Outputs.Select(outputs => new Thread(() =>
                        {
                            using var runOptions = new RunOptions();
                            for (int i; (i = Interlocked.Increment(ref next)) < images.Length;)
                                batch.Session.Run(runOptions, [signature.InputName], [inputs[i].Input], [signature.OutputName], [outputs[i]]);
                        })).ToList();
                        threads.ForEach(t => t.Start());
                        threads.ForEach(t => t.Join());
                        if (pass >= 0) batch.BarePerImage.Add(sw.Elapsed.TotalMilliseconds / images.Length);
                        if (pass >= 0) batch.BareCpu.Add((Cpu() - cpu) / images.Length);
                        // One Run at a time on that session, on this thread: ONNX Runtime's time per image with that many threads.
                        Settle();
                        sw.Restart();
                        for (var i = 0; i < images.Length; i++)
                            batch.Session.Run(run, [signature.InputName], [inputs[i].Input], [signature.OutputName], [inputs[i].Output]);
                        if (pass >= 0) batch.OneAtATime.Add(sw.Elapsed.TotalMilliseconds / images.Length);
                    }
                }
            }
            finally
            {
                foreach (var (input, output) in inputs) { input.Dispose(); output.Dispose(); }
                foreach (var batch in batches)
                {
                    foreach (var output in batch.Outputs.SelectMany(o => o)) output.Dispose();
                    batch.Pipeline.Dispose();
                    batch.Session.Dispose();
                }
            }
            var (mFull, mBare, mInf) = (Median(full), Median(bare), Median(inference));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"model-overhead {Path.GetFileName(config.Model.Path)}, {images.Length} images × {passes} passes, {Environment.ProcessorCount} cores: " +
                $"pipeline per image {mFull:0.0} ms (its inference stage {mInf:0.0} ms), bare ORT Run {mBare:0.0} ms (ratio {mFull / mBare:0.000}), " +
                $"bare Run without spinning {Median(bareQuiet):0.0} ms (ratio {mFull / Median(bareQuiet):0.000}), spinning only inside a Run {Median(bareStopping):0.0} ms, the pipeline's backend alone {Median(backendRuns):0.0} ms; " +
                $"stage medians: {string.Join(", ", stages.Select(s => $"{s.Key} {Median(s.Value):0.0}"))}"));
            foreach (var batch in batches)
            {
                var (mPipe, mBareBatch) = (Median(batch.PipelinePerImage), Median(batch.BarePerImage));
                var without = batch.WithoutPrepareAhead.Count > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"; without preparing the next input during the model {Median(batch.WithoutPrepareAhead):0.0} ms (ratio {Median(batch.WithoutPrepareAhead) / mBareBatch:0.000}, CPU per image {Median(batch.WithoutPrepareAheadCpu):0.0} ms)") : "";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"batch, {batch.Workers} worker(s) × {Math.Max(1, Environment.ProcessorCount / batch.Workers)} ONNX Runtime thread(s): pipeline per image {mPipe:0.0} ms, " +
                    $"bare Run with the same parallelism (no spinning) {mBareBatch:0.0} ms (ratio {mPipe / mBareBatch:0.000}); against ORT's defaults one at a time {mBare:0.0} ms (ratio {mPipe / mBare:0.000}); the same bare Runs one at a time on this thread {Median(batch.OneAtATime):0.0} ms; " +
                    $"CPU per image: pipeline {Median(batch.PipelineCpu):0.0} ms, bare Runs {Median(batch.BareCpu):0.0} ms") + without);
            }
            return 0;
        }
        finally { work.Delete(recursive: true); }
    }

    /// <summary>A batch measurement: a pipeline with that many workers, a bare session with as many ONNX Runtime threads as each worker's, and their per-image times.</summary>
    private sealed record Batch(int Workers, Pipeline Pipeline, InferenceSession Session)
    {
        /// <summary>Per bare-Run thread, an output value per image (made once): runs at once must not write into one array.</summary>
        public OrtValue[][] Outputs { get; set; } = [];
        public List<double> PipelinePerImage { get; } = [];
        public List<double> BarePerImage { get; } = [];
        public List<double> WithoutPrepareAhead { get; } = [];
        public List<double> OneAtATime { get; } = [];
        public List<double> WithoutPrepareAheadCpu { get; } = [];
        public List<double> PipelineCpu { get; } = [];
        public List<double> BareCpu { get; } = [];
    }

    /// <summary>The model's output shape with its dynamic axes (−1) taken from the input's batch/height/width (the detector keeps them).</summary>
    private static long[] OutputShape(IReadOnlyList<long> declared, IReadOnlyList<int> input) =>
        declared.Select((d, k) => d > 0 ? d : k == 0 ? input[0] : k >= 2 && k < input.Count ? input[k] : 1).ToArray();

    private static long OutputLength(IReadOnlyList<long> declared, IReadOnlyList<int> input) => OutputShape(declared, input).Aggregate(1L, (a, b) => a * b);

    /// <summary>Collects before a timed batch, so one measurement's garbage is not collected during the next.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>This process's CPU time (user + system) in ms: the pipeline's own work shows even when the machine's load moves its wall times.</summary>
    private static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
