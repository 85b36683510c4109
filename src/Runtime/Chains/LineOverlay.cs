using ImageFlowIO.Output;

namespace ImageFlowIO.Chains;

/// <summary>
/// The optional overlay of a chain (<c>chain.overlay</c>): the source image with each line's box drawn over it, 2 pixels
/// wide (red for a line read upright, blue for one the orientation classifier turned), written as an 8-bit RGB PNG.
/// Boxes only: the text is in the meta file and the catalogue (no font is shipped to draw it with).
/// </summary>
internal static class LineOverlay
{
    public static readonly (byte R, byte G, byte B) Upright = (255, 0, 0);
    public static readonly (byte R, byte G, byte B) Turned = (0, 64, 255);

    /// <summary>Draws the boxes into a copy of <paramref name="source"/>.</summary>
    public static RgbPixels Draw(RgbPixels source, IReadOnlyList<TextLine> lines)
    {
        var data = (byte[])source.Data.Clone();
        foreach (var line in lines)
        {
            var colour = line.Angle == 180 ? Turned : Upright;
            for (var k = 0; k < line.Box.Count; k++)
                Edge(data, source.Width, source.Height, line.Box[k], line.Box[(k + 1) % line.Box.Count], colour);
        }
        return source with { Data = data };
    }

    /// <summary>Writes the overlay PNG in one piece (temp file and rename).</summary>
    public static void Write(string path, RgbPixels source, IReadOnlyList<TextLine> lines)
    {
        var overlay = Draw(source, lines);
        AtomicFile.Write(path, stream => PngWriter.Write(stream, overlay.Data, overlay.Width, overlay.Height, 3, 8));
    }

    // Stepped at half a pixel, each step sets a 2×2 block: a closed 2-pixel line at any angle.
    private static void Edge(byte[] data, int width, int height, TextPoint a, TextPoint b, (byte R, byte G, byte B) colour)
    {
        float dx = b.X - a.X, dy = b.Y - a.Y;
        var steps = Math.Max(1, (int)MathF.Ceiling(2 * MathF.Max(MathF.Abs(dx), MathF.Abs(dy))));
        for (var s = 0; s <= steps; s++)
        {
            int x = (int)MathF.Floor(a.X + dx * s / steps), y = (int)MathF.Floor(a.Y + dy * s / steps);
            for (var oy = 0; oy < 2; oy++)
                for (var ox = 0; ox < 2; ox++)
                {
                    int px = x + ox, py = y + oy;
                    if ((uint)px >= (uint)width || (uint)py >= (uint)height) continue;
                    var o = (py * width + px) * 3;
                    (data[o], data[o + 1], data[o + 2]) = colour;
                }
        }
    }
}
