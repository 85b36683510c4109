using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;

namespace ImageFlowIO.Benchmarks.Kernels;

/// <summary>
/// ONNX Runtime session options per model size: one <c>Run</c> of conv3 at 320×320 (the end-to-end model) and of the
/// PP-OCRv4 detector at 640×480, input and output bound to our own arrays as <c>OnnxBackend</c> does, with 1 intra-op
/// thread (one of two workers on 2 cores) and 2 (one worker gets every core). <c>product</c> is what
/// <c>SessionCache</c> opens: ORT_ENABLE_ALL, sequential, inter-op 1, memory pattern and arena on.
/// </summary>
[MinColumn]
public class SessionOptionsBenchmarks
{
    [Params("conv3-320", "ppocr-det-640x480")] public string Model { get; set; } = "";
    [Params("product", "extended", "basic", "no-mem-pattern", "no-arena", "no-spin")] public string Options { get; set; } = "";
    [Params(1, 2)] public int Threads { get; set; }

    private InferenceSession _session = null!;
    private OrtValue _input = null!, _output = null!;
    private RunOptions _run = null!;
    private string _inputName = "", _outputName = "";

    [GlobalSetup]
    public void Setup()
    {
        var (path, input, output) = Model == "conv3-320"
            ? (BenchAssets.Conv3Model, new long[] { 1, 3, 320, 320 }, new long[] { 1, 3, 320, 320 })
            : (Path.Combine(BenchAssets.RepoRoot, "samples", "TextDetection", "models", "ch_PP-OCRv4_det_infer.onnx"), [1, 3, 480, 640], [1, 1, 480, 640]);
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = Options switch
            {
                "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = Threads,
            InterOpNumThreads = 1,
            EnableMemoryPattern = Options != "no-mem-pattern",
            EnableCpuMemArena = Options != "no-arena",
        };
        // Intra-op pool threads wait by sleeping instead of spinning (matters with 2 threads only).
        if (Options == "no-spin") options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(path, options);
        _inputName = _session.InputNames[0];
        _outputName = _session.OutputNames[0];
        var values = new float[input.Aggregate(1L, (a, b) => a * b)];
        var random = new Random(42);
        for (var i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 4 - 2);
        _input = OrtValue.CreateTensorValueFromMemory(values, input);
        _output = OrtValue.CreateTensorValueFromMemory(new float[output.Aggregate(1L, (a, b) => a * b)], output);
        _run = new RunOptions();
    }

    [Benchmark]
    public void Run() => _session.Run(_run, [_inputName], [_input], [_outputName], [_output]);

    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Dispose();
        _input.Dispose();
        _output.Dispose();
        _run.Dispose();
    }
}
