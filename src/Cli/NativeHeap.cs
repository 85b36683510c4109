using System.Runtime.InteropServices;

namespace ImageFlowIO.Cli;

/// <summary>
/// The tool's native heap on transparent huge pages (Linux, glibc), set up once at process start: one malloc arena for
/// every thread, allocations up to 32 MiB from it (not each its own mmap), and its first 64+ MiB advised
/// <c>MADV_HUGEPAGE</c>. What ONNX Runtime allocates while it loads, optimises the graph and runs the model the first
/// time, and ImageSharp's pooled buffers, then land on 2 MiB pages: a cold one-image run touched ≈ 9 400 fresh 4 KiB
/// pages, each a page fault that costs ≈ 10–20 µs on a virtual machine (a third of its CPU), and now ≈ 4 000
/// (docs/performance.md, "Round five"). Only the process owner may change its allocator, so the CLI's entry point
/// calls this, never the library. <c>IMAGEFLOWIO_NATIVE_HEAP=default</c> leaves glibc's defaults (to compare).
/// </summary>
internal static partial class NativeHeap
{
    private const int MTrimThreshold = -1, MTopPad = -2, MMmapThreshold = -3, MArenaMax = -8;
    private const int MadvHugePage = 14, ProtReadWrite = 3;
    private const int TopPad = 64 << 20;
    // glibc's largest mmap threshold (half its 64 MiB heap size); bigger blocks stay their own mappings.
    private const int MmapThreshold = 32 << 20;
    // Freed memory up to this stays in the arena (on its huge pages) instead of being given back and faulted in again.
    private const int TrimThreshold = 128 << 20;
    private const long HugePage = 2 << 20;

    /// <summary>What <see cref="Prepare"/> did, for the debug log.</summary>
    public static string State { get; private set; } = "glibc defaults (not prepared)";

    /// <summary>True when the heap's start was advised for huge pages.</summary>
    public static bool Advised { get; private set; }

    /// <summary>Call first thing in the process, before its threads allocate.</summary>
    public static void Prepare(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (!OperatingSystem.IsLinux()) { State = "platform defaults (not Linux)"; return; }
        if (environment("IMAGEFLOWIO_NATIVE_HEAP") == "default") { State = "glibc defaults (IMAGEFLOWIO_NATIVE_HEAP=default)"; return; }
        string mode;
        try { mode = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled"); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { State = "glibc defaults (no transparent huge pages)"; return; }
        // Without huge pages one arena and a kept top save nothing (measured): leave the defaults.
        if (mode.Contains("[never]", StringComparison.Ordinal)) { State = "glibc defaults (transparent huge pages: never)"; return; }
        try
        {
            if (mallopt(MArenaMax, 1) != 1) { State = "defaults (the C library is not glibc)"; return; }
            mallopt(MMmapThreshold, MmapThreshold);
            mallopt(MTrimThreshold, TrimThreshold);
            mallopt(MTopPad, TopPad);
            // A block larger than the top's free space makes the heap grow by it plus the pad: advise from it to the break.
            var probe = malloc(4 << 20);
            if (probe == 0) { State = "glibc tuned, not advised (no memory)"; return; }
            var end = (long)sbrk(0);
            var start = ((long)probe + HugePage - 1) & ~(HugePage - 1);
            var length = (end - start) & ~(HugePage - 1);
            // The main heap grows by brk; where it cannot (a mapping in the way), glibc maps elsewhere: then advise nothing.
            if (length <= 0 || end - (long)probe > TopPad + (8L << 20)) State = "glibc tuned, not advised (the heap is not contiguous)";
            else if (madvise((nint)start, (nuint)length, MadvHugePage) != 0) State = "glibc tuned, not advised (madvise refused)";
            else
            {
                Advised = true;
                var others = AdviseThreadHeaps();
                State = $"one arena, {length >> 20} MiB advised for huge pages" + (others > 0 ? $", and {others} thread arena(s) made before it" : "") +
                    $" (transparent huge pages: {Mode(mode)})";
            }
            free(probe);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            State = "defaults (no C library entry points)";
        }
    }

    /// <summary>
    /// Arenas that threads of the runtime's start made before <see cref="Prepare"/> (glibc hands them out in turn with the
    /// main one, one arena or not): each is one 64 MiB-aligned heap, grown by glibc a few pages at a time, where no 2 MiB
    /// page fits. Each heap found (its header's arena pointer checked) is made writable whole, as glibc would grow it, and
    /// advised. Returns how many.
    /// </summary>
    private static int AdviseThreadHeaps()
    {
        const long heapSize = 64L << 20;
        var advised = 0;
        try
        {
            var maps = File.ReadAllLines("/proc/self/maps");
            for (var i = 0; i + 1 < maps.Length; i++)
            {
                if (!TryRange(maps[i], out var start, out var end, out var perms) || perms != "rw-p" || start % heapSize != 0) continue;
                if (!TryRange(maps[i + 1], out var nextStart, out var nextEnd, out var nextPerms) || nextPerms != "---p" || nextStart != end || nextEnd != start + heapSize) continue;
                // glibc's heap_info: the arena pointer first, and a heap's first arena right after the 48-byte header.
                if (Marshal.ReadIntPtr((nint)start) != (nint)(start + 48)) continue;
                if (mprotect((nint)end, (nuint)(nextEnd - end), ProtReadWrite) != 0) continue;
                if (madvise((nint)start, (nuint)heapSize, MadvHugePage) == 0) advised++;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return advised;
    }

    private static bool TryRange(string line, out long start, out long end, out string perms)
    {
        (start, end, perms) = (0, 0, "");
        var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        // Anonymous only: five fields (no path), inode 0.
        if (parts.Length != 5 || parts[4] != "0") return false;
        var dash = parts[0].IndexOf('-');
        if (dash < 0) return false;
        perms = parts[1];
        return long.TryParse(parts[0].AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out start)
            && long.TryParse(parts[0].AsSpan(dash + 1), System.Globalization.NumberStyles.HexNumber, null, out end);
    }

    /// <summary>This process's anonymous memory on huge pages now (kB), or null where the kernel does not say.</summary>
    public static long? AnonHugePagesKb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/smaps_rollup"))
                if (line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                    return long.Parse(line["AnonHugePages:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }

    private static string Mode(string enabled)
    {
        var open = enabled.IndexOf('[');
        var close = enabled.IndexOf(']');
        return open >= 0 && close > open ? enabled[(open + 1)..close] : enabled.Trim();
    }

    [LibraryImport("libc")]
    private static partial int mallopt(int param, int value);

    [LibraryImport("libc")]
    private static partial nint malloc(nuint size);

    [LibraryImport("libc")]
    private static partial void free(nint pointer);

    [LibraryImport("libc")]
    private static partial nint sbrk(nint increment);

    [LibraryImport("libc")]
    private static partial int mprotect(nint address, nuint length, int protection);

    [LibraryImport("libc")]
    private static partial int madvise(nint address, nuint length, int advice);
}
