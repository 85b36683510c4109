using ImageFlowIO.Config;

namespace ImageFlowIO.Caching;

/// <summary>
/// Content digests for hosts that decide for themselves which inputs to run (the MSBuild task): the same SHA-256
/// (<see cref="CacheKeys.ContentDigest"/>) the pipeline keys inputs by and a backend names its model by, through the
/// same size+mtime index (with its racy-timestamp guard) a pipeline with these options keeps, so an input the host
/// digested is found by the pipeline's fast path instead of being hashed again.
/// </summary>
internal static class InputDigests
{
    /// <summary>
    /// The index a pipeline with <paramref name="options"/> keeps in its disk cache folder; without a disk cache, one kept
    /// at <paramref name="fallbackIndexPath"/> (null: in memory only). Call <see cref="InputDigestIndex.Save"/> before
    /// the pipeline runs so it can use what the host learned.
    /// </summary>
    public static InputDigestIndex Open(PipelineConfig config, PipelineOptions options, string? fallbackIndexPath)
    {
        var mode = options.CacheMode ?? config.Execution.UseCaching;
        var path = mode == CacheMode.Disk
            ? Path.Combine(StageCacheFactory.ResolveCacheDirectory(config, options), InputDigestIndex.FileName)
            : fallbackIndexPath;
        if (path is not null)
        {
            // The index is written with temp + rename inside its folder; an unwritable folder only costs the fast path.
            try { Directory.CreateDirectory(Path.GetDirectoryName(path)!); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException) { }
        }
        return new InputDigestIndex(path);
    }

    /// <summary>The file's content digest (read and hashed only when its size or last write time changed), or null when it cannot be read.</summary>
    public static string? TryGet(InputDigestIndex index, string path)
    {
        try { return index.GetDigest(path, File.ReadAllBytes, out _); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }
}
