using System.Diagnostics;
using System.Globalization;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageFlowIO.Benchmarks;

/// <summary>
/// <c>memory-policies</c>: the memory layer's policies side by side on the same access traces, through the real
/// <see cref="MemoryStore"/> (payload sizes as the pipeline makes them; no image work, so the hit counts are exact and the
/// run takes seconds). Policies: plain LRU over one class (what shipped before), then LRU, SIEVE and S3-FIFO each with
/// outputs kept first. The end-to-end numbers (time of a repeated pass) come from <c>imageflowio benchmark
/// --benchmark-type pipeline</c>, which runs the shipped policy and plain LRU in one process.
/// </summary>
internal static class MemoryPolicies
{
    private const long MB = 1024 * 1024;

    private static readonly (string Name, MemoryEviction Eviction, bool Admission)[] Policies =
    [
        ("lru (one class)", MemoryEviction.Lru, false),
        ("lru, outputs first", MemoryEviction.Lru, true),
        ("sieve, outputs first", MemoryEviction.Sieve, true),
        ("s3-fifo, outputs first", MemoryEviction.S3Fifo, true),
    ];

    public static int Run()
    {
        Console.WriteLine("trace                                         policy                  hits        of   evictions   refused");
        foreach (var (trace, limitMb, run) in Traces())
            foreach (var (name, eviction, admission) in Policies)
            {
                var store = new MemoryStore(limitMb * MB, new CacheLayerStatistics(), NullLogger.Instance, eviction: eviction, admission: admission);
                var sw = Stopwatch.StartNew();
                var (hits, lookups) = run(store);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{trace,-45} {name,-22} {hits,6} {lookups,9} {store.Statistics.Evictions,11} {store.Refused,9}   ({sw.Elapsed.TotalMilliseconds:0} ms)"));
            }
        return 0;
    }

    private static readonly Dictionary<long, byte[]> Payloads = [];

    private static CacheEntry Entry(CacheStage stage, string key, long bytes)
    {
        if (!Payloads.TryGetValue(bytes, out var payload)) Payloads[bytes] = payload = new byte[bytes]; // contents do not matter to a policy
        return new CacheEntry(stage, key, new EntryInfo { DataType = TensorDataType.Float32, Shape = [(int)bytes / 4], Input = key }, payload);
    }

    /// <summary>One image as the pipeline looks it up: output entry first; on a miss inference, then preprocess; a miss computes and stores each.</summary>
    private static int Image(MemoryStore store, string name, long tensor, long output)
    {
        if (store.TryGet(CacheStage.Output, name).Entry is not null) return 1;
        if (store.TryGet(CacheStage.Inference, name).Entry is null)
        {
            if (store.TryGet(CacheStage.Preprocess, name).Entry is null) store.Put(Entry(CacheStage.Preprocess, name, tensor));
            store.Put(Entry(CacheStage.Inference, name, tensor));
        }
        store.Put(Entry(CacheStage.Output, name, output));
        return 0;
    }

    private static IEnumerable<(string, long, Func<MemoryStore, (long Hits, long Lookups)>)> Traces()
    {
        const long tensor = 3 * 320 * 320 * 4, output = 40 * 1024;
        // The case: a batch larger than the limit, run twice in one process at the default limit.
        yield return ("240 images x2, 512 MB (repeat pass hits)", 512, store =>
        {
            for (var i = 0; i < 240; i++) Image(store, "img" + i, tensor, output);
            long hits = 0;
            for (var i = 0; i < 240; i++) hits += Image(store, "img" + i, tensor, output);
            return (hits, 240);
        });
        // A hot batch that a build host re-runs, with a one-off scan of new images larger than the limit in between.
        yield return ("hot 240 x3, scan 2000 new, hot again, 512 MB", 512, store =>
        {
            for (var pass = 0; pass < 3; pass++)
                for (var i = 0; i < 240; i++) Image(store, "hot" + i, tensor, output);
            for (var i = 0; i < 2000; i++) Image(store, "scan" + i, tensor, output);
            long hits = 0;
            for (var i = 0; i < 240; i++) hits += Image(store, "hot" + i, tensor, output);
            return (hits, 240);
        });
        // Output entries alone: a hot set hit 3 times, then a one-off scan of new outputs 2.5x the limit, then the hot set again.
        yield return ("hot 240 outputs x3, scan 4000 new, 64 MB", 64, store =>
        {
            for (var pass = 0; pass < 3; pass++)
                for (var i = 0; i < 240; i++)
                    if (store.TryGet(CacheStage.Output, "hot" + i).Entry is null) store.Put(Entry(CacheStage.Output, "hot" + i, output));
            for (var i = 0; i < 4000; i++)
                if (store.TryGet(CacheStage.Output, "scan" + i).Entry is null) store.Put(Entry(CacheStage.Output, "scan" + i, output));
            long hits = 0;
            for (var i = 0; i < 240; i++)
                if (store.TryGet(CacheStage.Output, "hot" + i).Entry is not null) hits++;
            return (hits, 240);
        });
        // Output entries alone beyond the limit: Zipf-like reuse (a few inputs often, most once) over 20000 inputs, 64 MB.
        yield return ("zipf 1.0 over 20000 outputs, 64 MB (~1600 fit)", 64, store =>
        {
            var random = new Random(7);
            var weights = Enumerable.Range(1, 20000).Select(r => 1.0 / r).ToArray();
            var cumulative = new double[weights.Length];
            double sum = 0;
            for (var i = 0; i < weights.Length; i++) cumulative[i] = sum += weights[i];
            long hits = 0;
            const int lookups = 200_000;
            for (var n = 0; n < lookups; n++)
            {
                var x = random.NextDouble() * sum;
                var i = Array.BinarySearch(cumulative, x);
                if (i < 0) i = ~i;
                var key = "z" + i.ToString(CultureInfo.InvariantCulture);
                if (store.TryGet(CacheStage.Output, key).Entry is not null) hits++;
                else store.Put(Entry(CacheStage.Output, key, output));
            }
            return (hits, lookups);
        });
        // Output entries alone, a loop larger than the limit (the worst case for recency): 2000 outputs x5, 64 MB.
        yield return ("loop 2000 outputs x5, 64 MB (~1600 fit)", 64, store =>
        {
            long hits = 0;
            for (var pass = 0; pass < 5; pass++)
                for (var i = 0; i < 2000; i++)
                {
                    var key = "l" + i.ToString(CultureInfo.InvariantCulture);
                    if (store.TryGet(CacheStage.Output, key).Entry is not null) hits++;
                    else store.Put(Entry(CacheStage.Output, key, output));
                }
            return (hits, 10_000);
        });
    }
}
