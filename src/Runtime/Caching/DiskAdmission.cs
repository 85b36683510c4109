namespace ImageFlowIO.Caching;

/// <summary>
/// Whether an inference entry is worth writing to the local disk layer, by what it saves per byte written (issue 15,
/// measured in bench/README.md). When the host keeps no tensors, a re-run is served by the output entry (the files,
/// ≈ 0.1 MB a photo) and the inference entry (the raw model output, 1.2 MB for a float32 1×3×320×320) is read back
/// only after a postprocessing or output change; writing it costs ≈ 3 ms of CPU per MiB here on every cold miss
/// (page-cache copy and file creation). So a large entry is written only when recomputing it (decode, preprocess and
/// the model, as timed in this process) costs at least <see cref="MinSavedMsPerMiB"/> per MiB, ≈ 30× its write
/// cost; entries up to <see cref="AlwaysKeptBytes"/> (classifier scores, small masks) are always written. The lowest
/// cost per MiB seen so far is what counts: the least contended measurement is the closest to what recomputing
/// costs, and one slow (contended, first-run) input does not decide for the rest. Thread-safe; one per pipeline.
/// </summary>
internal sealed class DiskAdmission
{
    /// <summary>Entries up to this size are always written: their write costs well under a millisecond.</summary>
    public const int AlwaysKeptBytes = 256 * 1024;
    /// <summary>Milliseconds of recompute an entry must save per MiB it writes (≈ 30× writing it on the bench machine).</summary>
    public const double DefaultMinSavedMsPerMiB = 100;

    /// <summary>The threshold in use (tests set it to make the decision independent of timing).</summary>
    public double MinSavedMsPerMiB { get; set; } = DefaultMinSavedMsPerMiB;

    private double _cheapestMsPerMiB = double.PositiveInfinity;

    /// <summary>The cheapest recompute cost per MiB measured so far (infinity before the first).</summary>
    public double CheapestMsPerMiB => Volatile.Read(ref _cheapestMsPerMiB);

    /// <summary>
    /// True when an inference entry of <paramref name="bytes"/> that took <paramref name="recomputeMs"/> to compute
    /// should be written; <paramref name="msPerMiB"/> is the cost per MiB it was judged by.
    /// </summary>
    public bool KeepInference(long bytes, double recomputeMs, out double msPerMiB)
    {
        msPerMiB = bytes <= 0 ? double.PositiveInfinity : recomputeMs / (bytes / (1024.0 * 1024.0));
        if (bytes <= AlwaysKeptBytes) return true;
        var seen = Volatile.Read(ref _cheapestMsPerMiB);
        while (msPerMiB < seen)
        {
            var was = Interlocked.CompareExchange(ref _cheapestMsPerMiB, msPerMiB, seen);
            if (was == seen) break;
            seen = was;
        }
        msPerMiB = Math.Min(msPerMiB, Volatile.Read(ref _cheapestMsPerMiB));
        return msPerMiB >= MinSavedMsPerMiB;
    }
}
