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
        var ext = Extension(format);
        pattern ??= "{name}.{format}";
        var result = pattern
            .Replace("{name}", Path.GetFileNameWithoutExtension(inputPath))
            .Replace("{ext}", Path.GetExtension(inputPath).TrimStart('.'))
            .Replace("{model}", model)
            .Replace("{index}", index.ToString(CultureInfo.InvariantCulture))
            .Replace("{timestamp}", timestampUtc.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture))
            .Replace("{format}", ext);
        return result;
    }

    /// <summary>Joins folder and expanded name, refusing any result outside the folder.</summary>
    public static string Combine(string folder, string fileName)
    {
        var root = Path.GetFullPath(folder);
        var full = Path.GetFullPath(Path.Combine(root, fileName));
        var rootWithSep = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSep, StringComparison.Ordinal))
            throw new OutputException(ErrorCodes.OutputNotWritable, full, $"the output file name '{fileName}' leaves the output folder '{root}'; remove '..' or absolute parts from output.save.filename");
        return full;
    }
}
