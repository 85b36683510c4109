// Child process of CrashSafetyTests: loops writing (and reading, and evicting) disk cache entries, both synthetic
// ones (CrashEntries) and real pipeline runs, until the test kills it with SIGKILL at a random moment.
//   ImageFlowIO.CacheCrashChild <cacheDir> <configsDir> <outDir> <seed>
using ImageFlowIO;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.CacheCrashChild;
using Microsoft.Extensions.Logging.Abstractions;

var (cacheDir, configsDir, outDir, seed) = (args[0], args[1], args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
var random = new Random(seed);
var configs = Directory.GetFiles(configsDir, "*.json").Order(StringComparer.Ordinal).ToArray();
var compression = (CacheCompression)(seed % 3);
var disk = DiskStore.Open(cacheDir, CrashEntries.DiskLimitBytes, compression, new CacheLayerStatistics(), NullLogger.Instance)
    ?? throw new InvalidOperationException("cache folder not writable");
Console.Out.WriteLine("ready");
Console.Out.Flush();

while (true)
{
    if (random.Next(4) == 0)
    {
        var config = configs[random.Next(configs.Length)];
        using var pipeline = Pipeline.FromConfig(config, new PipelineOptions { CacheDirectory = cacheDir, OutputDirectory = Path.Combine(outDir, seed.ToString(System.Globalization.CultureInfo.InvariantCulture)), MaxParallelism = 1 });
        var inputs = Directory.GetFiles(Path.Combine(configsDir, "images")).Order(StringComparer.Ordinal).Select(p => new InputItem(p)).ToList();
        await pipeline.RunBatchAsync(inputs);
    }
    else
    {
        var n = random.Next(CrashEntries.Count);
        if (random.Next(3) == 0) disk.TryGet(CacheStage.Inference, CrashEntries.Key(n));
        else
        {
            disk.Put(CrashEntries.Entry(n));
            // Tells the test that writing is under way, so its kill lands among writes rather than before the first.
            Console.Out.WriteLine("wrote");
            Console.Out.Flush();
        }
    }
}
