using System.Text.Json;
using ImageFlowIO.Config;

namespace ImageFlowIO.Postprocessing;

/// <summary>Class maps to colours (paletteMap): presets, palette files and inline palettes, with optional class outlines.</summary>
internal static class Palettes
{
    /// <summary>The PASCAL VOC colour map (the dataset's bit-interleaving formula), 256 entries; 255 is the "void" colour.</summary>
    public static Rgb8[] PascalVoc { get; } = BuildPascalVoc();

    /// <summary>Cityscapes' 19 train-id colours (cityscapesScripts labels.py), road first.</summary>
    public static Rgb8[] Cityscapes { get; } =
    [
        new(128, 64, 128), new(244, 35, 232), new(70, 70, 70), new(102, 102, 156), new(190, 153, 153),
        new(153, 153, 153), new(250, 170, 30), new(220, 220, 0), new(107, 142, 35), new(152, 251, 152),
        new(70, 130, 180), new(220, 20, 60), new(255, 0, 0), new(0, 0, 142), new(0, 0, 70),
        new(0, 60, 100), new(0, 80, 100), new(0, 0, 230), new(119, 11, 32),
    ];

    private static Rgb8[] BuildPascalVoc()
    {
        var map = new Rgb8[256];
        for (var i = 0; i < 256; i++)
        {
            int r = 0, g = 0, b = 0, c = i;
            for (var j = 0; j < 8; j++)
            {
                r |= ((c >> 0) & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            map[i] = new Rgb8((byte)r, (byte)g, (byte)b);
        }
        return map;
    }

    /// <summary>Resolves the palette a config names (a file is read and checked here: a bad file is a config error).</summary>
    public static Rgb8[] Resolve(PaletteConfig palette, PipelineConfig config)
    {
        switch (palette.Mode)
        {
            case PaletteMode.Inline: return palette.Inline.ToArray();
            case PaletteMode.File: return LoadFile(config.ResolvePath(palette.File!), config.ConfigPath);
            default: return palette.Preset == "cityscapes" ? Cityscapes : PascalVoc;
        }
    }

    /// <summary>Reads a palette file: a JSON array of [r, g, b] triples (0..255).</summary>
    public static Rgb8[] LoadFile(string path, string? configPath)
    {
        ConfigException Bad(string why) => new([new ConfigDiagnostic(ConfigErrorCodes.InvalidValue, DiagnosticSeverity.Error,
            $"palette file '{path}' {why}; it must be a JSON array of [r, g, b] colours, for example [[0, 0, 0], [255, 0, 0]]", configPath, 0, 0, 0, 0)], configPath);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { throw Bad($"cannot be read ({ex.Message})"); }
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind != JsonValueKind.Array || doc.RootElement.GetArrayLength() == 0) throw Bad("is not a non-empty array");
            var result = new List<Rgb8>();
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Array || item.GetArrayLength() != 3) throw Bad($"has an entry that is not [r, g, b] (entry {result.Count})");
                var c = item.EnumerateArray().Select(e => e.TryGetInt32(out var v) && v is >= 0 and <= 255 ? v : -1).ToArray();
                if (c.Any(v => v < 0)) throw Bad($"has a value outside 0..255 (entry {result.Count})");
                result.Add(new Rgb8((byte)c[0], (byte)c[1], (byte)c[2]));
            }
            return result.ToArray();
        }
        catch (JsonException ex) { throw Bad($"is not valid JSON ({ex.Message})"); }
    }

    /// <summary>The class of each pixel: the argmax over channels, or the 8-bit value of one channel (0..1 → 0..255).</summary>
    public static int[] Classes(FloatImage image, PaletteSource source, int channel)
    {
        var plane = image.PlaneLength;
        var classes = new int[plane];
        if (source == PaletteSource.Channel)
        {
            var src = image.Plane(Math.Min(channel, image.Channels - 1));
            for (var i = 0; i < plane; i++) classes[i] = float.IsNaN(src[i]) ? 0 : (int)MathF.Round(Math.Clamp(src[i], 0f, 1f) * 255f);
            return classes;
        }
        var data = image.Data;
        for (var i = 0; i < plane; i++)
        {
            var best = 0;
            var bestValue = data[i];
            for (var c = 1; c < image.Channels; c++)
            {
                var v = data[c * plane + i];
                if (v > bestValue) { bestValue = v; best = c; }
            }
            classes[i] = best;
        }
        return classes;
    }

    /// <summary>Colours a class map; classes beyond the palette wrap around. Outline pixels (class borders) get the outline colour.</summary>
    public static FloatImage Map(int[] classes, int width, int height, Rgb8[] palette, OutlineConfig outline)
    {
        var result = new FloatImage(width, height, 3);
        var plane = width * height;
        var data = result.Data;
        var border = outline.Apply ? Borders(classes, width, height, Math.Max(1, outline.Thickness)) : null;
        for (var i = 0; i < plane; i++)
        {
            var c = border is not null && border[i] ? outline.Color : palette[(classes[i] % palette.Length + palette.Length) % palette.Length];
            data[i] = c.R / 255f;
            data[plane + i] = c.G / 255f;
            data[2 * plane + i] = c.B / 255f;
        }
        return result;
    }

    /// <summary>Pixels with a 4-neighbour of another class, grown by thickness − 1 pixels.</summary>
    public static bool[] Borders(int[] classes, int width, int height, int thickness)
    {
        var edge = new bool[classes.Length];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var i = y * width + x;
                var c = classes[i];
                edge[i] = (x > 0 && classes[i - 1] != c) || (x < width - 1 && classes[i + 1] != c)
                    || (y > 0 && classes[i - width] != c) || (y < height - 1 && classes[i + width] != c);
            }
        if (thickness <= 1) return edge;
        var grown = new bool[classes.Length];
        var r = thickness - 1;
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                if (!edge[y * width + x]) continue;
                for (var yy = Math.Max(0, y - r); yy <= Math.Min(height - 1, y + r); yy++)
                    for (var xx = Math.Max(0, x - r); xx <= Math.Min(width - 1, x + r); xx++) grown[yy * width + xx] = true;
            }
        return grown;
    }
}
