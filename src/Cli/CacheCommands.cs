using System.CommandLine;
using System.Globalization;
using ImageFlowIO.Caching;

namespace ImageFlowIO.Cli;

/// <summary><c>imageflowio cache stats|clear|prune [--cache-dir &lt;dir&gt;] [--max-mb &lt;n&gt;]</c>: inspect and manage a disk cache folder.</summary>
internal static class CacheCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var cache = new Command("cache", "Inspect and manage a disk cache folder");

        var stats = new Command("stats", "Entries, bytes and stages held by a cache folder");
        var statsDir = CacheDirOption();
        stats.Options.Add(statsDir);
        stats.SetAction(parse => Stats(Folder(parse.GetValue(statsDir)), stdout));

        var clear = new Command("clear", "Delete every entry of a cache folder");
        var clearDir = CacheDirOption();
        clear.Options.Add(clearDir);
        clear.SetAction(parse =>
        {
            var folder = Folder(parse.GetValue(clearDir));
            var removed = DiskCacheFolder.Clear(folder);
            stdout.WriteLine($"{folder}: removed {removed} entries");
            return ExitCodes.Ok;
        });

        var prune = new Command("prune", "Delete least recently used entries until the folder holds at most --max-mb, and leftovers of killed runs");
        var pruneDir = CacheDirOption();
        var maxMb = new Option<int>("--max-mb") { Description = "Size to prune down to, in MB (default 2048, the diskLimitMB default)", DefaultValueFactory = _ => 2048 };
        maxMb.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--max-mb must be 0 or more"); });
        prune.Options.Add(pruneDir);
        prune.Options.Add(maxMb);
        prune.SetAction(parse =>
        {
            var folder = Folder(parse.GetValue(pruneDir));
            var (removed, remaining) = DiskCacheFolder.Prune(folder, parse.GetValue(maxMb) * 1024L * 1024);
            stdout.WriteLine($"{folder}: removed {removed} entries, {Mb(remaining)} MB remain");
            return ExitCodes.Ok;
        });

        cache.Subcommands.Add(stats);
        cache.Subcommands.Add(clear);
        cache.Subcommands.Add(prune);
        return cache;
    }

    private static Option<string?> CacheDirOption() =>
        new("--cache-dir") { Description = $"Cache folder (default: ${StageCacheFactory.EnvironmentVariable}, else {StageCacheFactory.DefaultFolderName} in the current folder)" };

    private static string Folder(string? given) => Path.GetFullPath(
        given is { Length: > 0 } ? given
        : Environment.GetEnvironmentVariable(StageCacheFactory.EnvironmentVariable) is { Length: > 0 } env ? env
        : StageCacheFactory.DefaultFolderName);

    private static int Stats(string folder, TextWriter stdout)
    {
        if (!Directory.Exists(folder))
        {
            stdout.WriteLine($"{folder}: no cache folder");
            return ExitCodes.Ok;
        }
        var all = DiskCacheFolder.Scan(folder, includeLeftovers: true).ToList();
        var entries = all.Where(e => !e.IsLeftover).ToList();
        var leftovers = all.Where(e => e.IsLeftover).ToList();
        stdout.WriteLine($"cache folder: {folder}");
        stdout.WriteLine($"entries: {entries.Count} ({entries.Count(e => e.Stage == CacheStage.Preprocess)} preprocess, {entries.Count(e => e.Stage == CacheStage.Inference)} inference)");
        stdout.WriteLine($"bytes: {entries.Sum(e => e.Bytes)} ({Mb(entries.Sum(e => e.Bytes))} MB)");
        if (entries.Count > 0)
        {
            stdout.WriteLine($"least recently used: {entries.Min(e => e.LastUsedUtc).ToString("u", CultureInfo.InvariantCulture)}");
            stdout.WriteLine($"most recently used: {entries.Max(e => e.LastUsedUtc).ToString("u", CultureInfo.InvariantCulture)}");
        }
        stdout.WriteLine($"leftovers of killed runs: {leftovers.Count} ({leftovers.Sum(e => e.Bytes)} bytes; 'imageflowio cache prune' removes them)");
        return ExitCodes.Ok;
    }

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture);
}
