using System.Security.Cryptography;
using ImageFlowIO.Output;

namespace ImageFlowIO.Caching;

/// <summary>
/// The output stage's cached value: the files one input's postprocessing and output wrote (paths relative to the
/// input's output folder, forward slashes) and their bytes one after another. A hit writes the bytes back (temp +
/// rename, like every output) instead of postprocessing and encoding again; relative paths let a run into another
/// output folder (--output, another obj/) reuse it. Read back from a cache it is untrusted: every path must stay
/// inside the output folder, and every file's length and SHA-256 must match. It carries the output's
/// <see cref="OutputFacts"/> too, so a hit needs nothing else; a classifier that saves no file is a bundle of facts alone.
/// </summary>
internal sealed record OutputBundle(IReadOnlyList<OutputFileInfo> Files, byte[] Payload, int SourceWidth, int SourceHeight, OutputFacts Facts)
{
    /// <summary>Output file sets bigger than this are not cached (they would crowd the caches out).</summary>
    internal const long MaxBundleBytes = 64L * 1024 * 1024;
    private const int MaxPathLength = 1024;

    /// <summary>Reads back the files just written; null when one is missing, outside the folder, or the set (or its facts) too large to cache.</summary>
    public static OutputBundle? Capture(IReadOnlyList<string> files, string outputFolder, int sourceWidth, int sourceHeight, OutputFacts facts)
    {
        if (files.Count > EntryInfoJson.MaxFiles || !facts.IsStorable) return null;
        var infos = new List<OutputFileInfo>(files.Count);
        var parts = new List<byte[]>(files.Count);
        long total = 0;
        try
        {
            foreach (var file in files)
            {
                var info = new FileInfo(file);
                if (!info.Exists || info.Length > MaxBundleBytes) return null;
                var relative = Path.GetRelativePath(outputFolder, Path.GetFullPath(file)).Replace('\\', '/');
                if (CheckRelativePath(relative) is not null) return null;
                var data = File.ReadAllBytes(file);
                total += data.Length;
                if (total > MaxBundleBytes) return null;
                infos.Add(new OutputFileInfo(relative, data.Length, Convert.ToHexStringLower(SHA256.HashData(data))));
                parts.Add(data);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }

        // One file (the common case) is its own payload: no concatenating copy.
        if (parts.Count == 1) return new OutputBundle(infos, parts[0], sourceWidth, sourceHeight, facts);
        var payload = GC.AllocateUninitializedArray<byte>(checked((int)total));
        var at = 0;
        foreach (var part in parts)
        {
            part.CopyTo(payload, at);
            at += part.Length;
        }
        return new OutputBundle(infos, payload, sourceWidth, sourceHeight, facts);
    }

    /// <summary>Checks an untrusted file list against its payload: safe relative paths, lengths that add up, matching digests.</summary>
    public static bool TryValidate(IReadOnlyList<OutputFileInfo> files, byte[] payload, out string problem)
    {
        if (files.Count > EntryInfoJson.MaxFiles) { problem = $"an output entry with {files.Count} files"; return false; }
        long at = 0;
        foreach (var file in files)
        {
            if (CheckRelativePath(file.Path) is { } why) { problem = $"output path '{Printable(file.Path)}' rejected: {why}"; return false; }
            if (file.Length < 0 || file.Length > payload.Length - at) { problem = $"output '{Printable(file.Path)}' claims {file.Length} bytes, the entry holds {payload.Length - at} more"; return false; }
            var digest = Convert.ToHexStringLower(SHA256.HashData(payload.AsSpan((int)at, (int)file.Length)));
            if (!string.Equals(digest, file.Sha256, StringComparison.Ordinal)) { problem = $"output '{Printable(file.Path)}' does not match its SHA-256"; return false; }
            at += file.Length;
        }
        if (at != payload.Length) { problem = $"the entry holds {payload.Length - at} bytes no file names"; return false; }
        problem = "";
        return true;
    }

    /// <summary>Why a relative output path read from a cache is unsafe, or null when it is a plain path below the folder.</summary>
    internal static string? CheckRelativePath(string path)
    {
        if (path.Length is 0 or > MaxPathLength) return "empty or too long";
        foreach (var c in path) if (char.IsControl(c)) return "control character";
        if (path.Contains(':') || path.StartsWith('/') || path.StartsWith('\\') || Path.IsPathRooted(path)) return "absolute path";
        // Segment by segment in place: the up-to-date index checks every recorded path of a fully cached run.
        var rest = path.AsSpan();
        while (true)
        {
            var end = rest.IndexOfAny('/', '\\');
            var segment = end < 0 ? rest : rest[..end];
            if (segment is "" or "." or "..") return "'.', '..' or an empty folder name";
            if (IsDeviceName(segment)) return "a device name";
            if (end < 0) return null;
            rest = rest[(end + 1)..];
        }
    }

    private static bool IsDeviceName(ReadOnlySpan<char> segment)
    {
        var dot = segment.IndexOf('.');
        var name = (dot < 0 ? segment : segment[..dot]).TrimEnd(' ');
        if (name.Length is < 3 or > 7) return false; // CON … CONOUT$
        Span<char> upper = stackalloc char[name.Length];
        name.ToUpperInvariant(upper);
        ReadOnlySpan<char> stem = upper;
        return stem is "CON" or "PRN" or "AUX" or "NUL" or "CONIN$" or "CONOUT$"
            || (stem.Length == 4 && (stem.StartsWith("COM") || stem.StartsWith("LPT")) && char.IsAsciiDigit(stem[3]) && stem[3] != '0');
    }

    private static string Printable(string path) => new([.. path.Take(120).Select(c => char.IsControl(c) ? '?' : c)]);

    /// <summary>
    /// Writes every file below <paramref name="outputFolder"/>; false (writing nothing) when a path would leave the folder
    /// or pass through a link. Call only on a validated bundle (<see cref="TryValidate"/>).
    /// </summary>
    public bool TryWrite(string outputFolder, out List<string> written, out string problem)
    {
        written = [];
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputFolder));
        var targets = new List<(string Path, int Start, int Length)>(Files.Count);
        var at = 0;
        foreach (var file in Files)
        {
            var target = Path.GetFullPath(Path.Combine(root, file.Path.Replace('/', Path.DirectorySeparatorChar)));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
            {
                problem = $"output path '{Printable(file.Path)}' leaves the output folder";
                return false;
            }
            if (PassesThroughLink(root, target)) { problem = $"output path '{Printable(file.Path)}' passes through a link"; return false; }
            targets.Add((target, at, (int)file.Length));
            at += (int)file.Length;
        }
        foreach (var (path, start, length) in targets)
        {
            AtomicFile.Write(path, s => s.Write(Payload, start, length));
            written.Add(path);
        }
        problem = "";
        return true;
    }

    /// <summary>True when the target or a folder between it and the root is a symbolic link (a cache entry must not write elsewhere through one).</summary>
    private static bool PassesThroughLink(string root, string target)
    {
        for (var path = target; path.Length > root.Length; path = Path.GetDirectoryName(path)!)
        {
            try
            {
                var info = new FileInfo(path);
                if (info.Exists || Directory.Exists(path)) { if (info.LinkTarget is not null) return true; }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return true; }
        }
        return false;
    }
}
