using System.Globalization;
using ImageFlowIO.Config;

namespace ImageFlowIO.Postprocessing;

/// <summary>Maps one channel (0..1) to colours with matplotlib's perceptual colour maps, indexed as matplotlib does.</summary>
internal static class ColorMaps
{
    private static readonly Lazy<float[]> Viridis = new(() => Parse(ColorMapTables.Viridis));
    private static readonly Lazy<float[]> Magma = new(() => Parse(ColorMapTables.Magma));
    private static readonly Lazy<float[]> Plasma = new(() => Parse(ColorMapTables.Plasma));
    private static readonly Lazy<float[]> Inferno = new(() => Parse(ColorMapTables.Inferno));
    private static readonly Lazy<float[]> Turbo = new(() => Parse(ColorMapTables.Turbo));

    private static float[] Parse(string hex)
    {
        var lut = new float[256 * 3];
        for (var i = 0; i < lut.Length; i++) lut[i] = byte.Parse(hex.AsSpan(i * 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture) / 255f;
        return lut;
    }

    /// <summary>The 256×RGB table of a mode (null for grayscale).</summary>
    public static float[]? Table(ColorMapMode mode) => mode switch
    {
        ColorMapMode.Viridis => Viridis.Value,
        ColorMapMode.Magma => Magma.Value,
        ColorMapMode.Plasma => Plasma.Value,
        ColorMapMode.Inferno => Inferno.Value,
        ColorMapMode.Turbo => Turbo.Value,
        _ => null,
    };

    /// <summary>The colour of <paramref name="value"/> (clamped to 0..1) as matplotlib's <c>cmap(value)</c> gives it, to 8 bits.</summary>
    public static (float R, float G, float B) Lookup(ColorMapMode mode, float value)
    {
        var v = float.IsNaN(value) ? 0f : Math.Clamp(value, 0f, 1f);
        var lut = Table(mode);
        if (lut is null) return (v, v, v);
        var i = Index(v) * 3;
        return (lut[i], lut[i + 1], lut[i + 2]);
    }

    // matplotlib's Colormap.__call__: floor(v * N), with v == 1 mapped to the last entry.
    private static int Index(float v) => Math.Min(255, (int)(v * 256f));

    /// <summary>Colours channel <paramref name="channel"/> of <paramref name="image"/>: 3 channels, or 1 for grayscale.</summary>
    public static FloatImage Apply(FloatImage image, ColorMapMode mode, int channel)
    {
        if (channel >= image.Channels)
            throw new ConfigException([new ConfigDiagnostic(ConfigErrorCodes.OutOfRange, DiagnosticSeverity.Error,
                $"postprocessing.colorMap.channel is {channel} but the model output has {image.Channels} channel(s); use 0..{image.Channels - 1}", null, 0, 0, 0, 0)], null);
        var src = image.Plane(channel);
        var lut = Table(mode);
        if (lut is null)
        {
            var gray = new FloatImage(image.Width, image.Height, 1);
            var dst = gray.Data.AsSpan();
            for (var i = 0; i < src.Length; i++) dst[i] = float.IsNaN(src[i]) ? 0f : Math.Clamp(src[i], 0f, 1f);
            return gray;
        }
        var result = new FloatImage(image.Width, image.Height, 3);
        var plane = image.PlaneLength;
        var data = result.Data;
        for (var i = 0; i < plane; i++)
        {
            var v = src[i];
            var k = Index(float.IsNaN(v) ? 0f : Math.Clamp(v, 0f, 1f)) * 3;
            data[i] = lut[k];
            data[plane + i] = lut[k + 1];
            data[2 * plane + i] = lut[k + 2];
        }
        return result;
    }
}
