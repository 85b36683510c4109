using BenchmarkDotNet.Running;
using ImageFlowIO.Benchmarks.EndToEnd;
using ImageFlowIO.Benchmarks.Kernels;

namespace ImageFlowIO.Benchmarks;

/// <summary>
/// Entry point. Sub-commands: <c>e2e</c> (end-to-end harness), <c>png-sizes</c> (size and time of every PNG variant),
/// <c>model-overhead</c> (the pipeline per image against a bare ORT Run on a heavy model), <c>memory-policies</c> (the memory layer's policies on the same traces),
/// <c>resize-diff</c> (the one-pass resize + normalise's tensor against ImageSharp's resize + fill);
/// <c>jpeg-diff</c> (each JPEG decoder of JpegDecodeBenchmarks against ImageSharp's pixels);
/// anything else goes to BenchmarkDotNet (<c>--filter '*Png*' --job short</c>). <c>e2e-run</c> and <c>e2e-hand</c> are the
/// child processes the harness spawns.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "e2e": return await E2eHarness.RunAsync(args[1..]);
            case E2eHarness.PipelineChild: return await E2eChild.RunPipelineAsync(args[1..]);
            case E2eHarness.HandWrittenChild: return HandWritten.Run(args[1..]);
            case "png-sizes": return PngSizes.Run(args[1..]);
            case "memory-policies": return MemoryPolicies.Run();
            case "model-overhead": return await ModelOverhead.RunAsync(args[1..]);
            case "resize-diff": return ResizeDiff.Run(args[1..]);
            case "jpeg-diff": return JpegDiff.Run(args[1..]);
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }
}
