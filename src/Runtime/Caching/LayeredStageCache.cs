using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Caching;

/// <summary>
/// Memory in front of disk (SPEC §3): a lookup tries memory, then disk, and promotes a disk hit into memory. With a disk
/// layer a store goes to disk only (write-around): a cold batch writes every result once and rarely reads it again in
/// the same process, so holding it would only grow memory with the number of inputs; what is read back gets promoted.
/// Without a disk layer (<c>useCaching: "memory"</c>) a store goes to memory.
/// </summary>
public sealed class LayeredStageCache : IStageCache
{
    public LayeredStageCache(MemoryStageCache? memory, DiskStageCache? disk, InputDigestIndex inputDigests, CacheStatistics statistics)
    {
        Memory = memory;
        Disk = disk;
        InputDigests = inputDigests;
        Statistics = statistics;
    }

    public MemoryStageCache? Memory { get; }
    public DiskStageCache? Disk { get; }
    public InputDigestIndex InputDigests { get; }
    public CacheStatistics Statistics { get; }

    /// <summary>Builds the layers with their own statistics (hosts and tests; the pipeline uses <see cref="StageCacheFactory"/>).</summary>
    public static LayeredStageCache Create(long memoryLimitBytes, string? diskFolder, long diskLimitBytes, Config.CacheCompression compression, ILogger logger)
    {
        var stats = new CacheStatistics();
        var memory = memoryLimitBytes > 0 ? new MemoryStageCache(memoryLimitBytes, stats.Memory, logger) : null;
        var disk = diskFolder is null ? null : DiskStageCache.Open(diskFolder, diskLimitBytes, compression, stats.Disk, logger);
        var index = new InputDigestIndex(disk is null ? null : Path.Combine(disk.Folder, InputDigestIndex.FileName));
        return new LayeredStageCache(memory, disk, index, stats);
    }

    public StageValue? TryGet(CacheStage stage, string key, string inputLabel)
    {
        if (Memory?.TryGet(stage, key, inputLabel) is { } fromMemory) return fromMemory;
        if (Disk?.TryGet(stage, key, inputLabel) is not { } fromDisk) return null;
        Memory?.Put(stage, key, fromDisk, inputLabel);
        return fromDisk;
    }

    public void Put(CacheStage stage, string key, StageValue value, string inputLabel)
    {
        if (Disk is null) Memory?.Put(stage, key, value, inputLabel);
        else Disk.Put(stage, key, value, inputLabel);
    }

    InputDigestIndex? IStageCache.InputDigests => InputDigests;

    public void Dispose() => InputDigests.Dispose();
}
