using System.Globalization;
using ImageFlowIO.Config;

namespace ImageFlowIO.Output;

/// <summary>Expands output file name patterns: {name}, {ext}, {model}, {index}, {timestamp}, {format}.</summary>
internal static class FileNamePattern
{
    public static string Extension(ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => "jpg",
        ImageFormat.Webp => "webp",
        ImageFormat.Tiff => "tiff",
        _ => "png",
    };

    public static string Expand(string? pattern, string inputPath, string model, int index, ImageFormat format, DateTime timestampUtc)
    {
        pattern ??= "{name}.{format}";
        // Only the tokens the pattern holds are made (a batch expands each input's names several times).
        if (!pattern.Contains('{')) return pattern;
        var result = pattern;
        if (result.Contains("{name}", StringComparison.Ordinal)) result = result.Replace("{name}", Path.GetFileNameWithoutExtension(inputPath));
        if (result.Contains("{ext}", StringComparison.Ordinal)) result = result.Replace("{ext}", Path.GetExtension(inputPath).TrimStart('.'));
        if (result.Contains("{model}", StringComparison.Ordinal)) result = result.Replace("{model}", model);
        if (result.Contains("{index}", StringComparison.Ordinal)) result = result.Replace("{index}", index.ToString(CultureInfo.InvariantCulture));
        if (result.Contains("{timestamp}", StringComparison.Ordinal)) result = result.Replace("{timestamp}", timestampUtc.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture));
        if (result.Contains("{format}", StringComparison.Ordinal)) result = result.Replace("{format}", Extension(format));
        return result;
    }

    /// <summary>Joins folder and expanded name, refusing any result outside the folder.</summary>
    public static string Combine(string folder, string fileName)
    {
        var root = Path.GetFullPath(folder);
        var full = Path.GetFullPath(Path.Combine(root, fileName));
        var inside = root.EndsWith(Path.DirectorySeparatorChar)
            ? full.StartsWith(root, StringComparison.Ordinal)
            : full.Length > root.Length && full[root.Length] == Path.DirectorySeparatorChar && full.StartsWith(root, StringComparison.Ordinal);
        if (!inside)
            throw new OutputException(ErrorCodes.OutputNotWritable, full, $"the output file name '{fileName}' leaves the output folder '{root}'; remove '..' or absolute parts from output.save.filename");
        return full;
    }
}
