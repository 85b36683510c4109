namespace ImageFlowIO.Chains;

/// <summary>An 8-bit RGB image as interleaved bytes (the source a region is cropped from).</summary>
internal sealed record RgbPixels(int Width, int Height, byte[] Data)
{
    public static RgbPixels FromImage(SixLabors.ImageSharp.Image image)
    {
        using var rgb = image.CloneAs<SixLabors.ImageSharp.PixelFormats.Rgb24>();
        var data = new byte[rgb.Width * rgb.Height * 3];
        rgb.CopyPixelDataTo(data);
        return new RgbPixels(rgb.Width, rgb.Height, data);
    }
}

/// <summary>
/// Crops a region (four corners) out of the source image at source resolution, straight into a model's input tensor:
/// one perspective warp from the quadrilateral to the model's height (PaddleOCR's <c>get_rotate_crop_image</c> followed by
/// <c>resize_norm_img</c>, without resampling twice), bilinear, edges replicated, BGR, <c>(v / 255 − mean) / std</c>,
/// padded on the right with zeros to the model's width as PaddleOCR pads.
/// </summary>
internal static class RegionCrop
{
    /// <summary>
    /// The corners in the order that reads the crop upright: a region at least 1.5× taller than wide is turned a quarter
    /// (PaddleOCR's <c>np.rot90</c>), and <paramref name="upsideDown"/> turns it half (the orientation classifier's 180).
    /// </summary>
    public static TextPoint[] Oriented(TextPoint[] corners, bool upsideDown)
    {
        var region = new TextRegion(corners, 0);
        var (w, h) = region.Size;
        var start = MathF.Floor(h) / MathF.Max(1, MathF.Floor(w)) >= 1.5f ? 1 : 0;
        if (upsideDown) start += 2;
        return [corners[start % 4], corners[(start + 1) % 4], corners[(start + 2) % 4], corners[(start + 3) % 4]];
    }

    /// <summary>The width a region takes at <paramref name="height"/>: its aspect ratio kept, at most <paramref name="maxWidth"/>.</summary>
    public static int ScaledWidth(TextPoint[] corners, int height, int maxWidth)
    {
        var (w, h) = new TextRegion(corners, 0).Size;
        var ratio = MathF.Floor(w) / MathF.Max(1, MathF.Floor(h));
        return Math.Clamp((int)MathF.Ceiling(height * ratio), 1, maxWidth);
    }

    /// <summary>
    /// Writes the region as a [3, <paramref name="height"/>, <paramref name="tensorWidth"/>] float tensor (CHW): the
    /// quadrilateral warped to <paramref name="width"/> × <paramref name="height"/>, the rest zeros.
    /// </summary>
    public static float[] ToTensor(RgbPixels source, TextPoint[] corners, int width, int height, int tensorWidth, float mean = 0.5f, float std = 0.5f)
    {
        var tensor = new float[3 * height * tensorWidth];
        var h = Homography.FromRectangle(width, height, corners);
        var plane = height * tensorWidth;
        var src = source.Data;
        int sw = source.Width, sh = source.Height;
        for (var v = 0; v < height; v++)
            for (var u = 0; u < width; u++)
            {
                var (x, y) = h.Map(u, v);
                // Edges replicated, as OpenCV's BORDER_REPLICATE.
                x = Math.Clamp(x, 0, sw - 1);
                y = Math.Clamp(y, 0, sh - 1);
                int x0 = (int)x, y0 = (int)y, x1 = Math.Min(x0 + 1, sw - 1), y1 = Math.Min(y0 + 1, sh - 1);
                float fx = x - x0, fy = y - y0;
                var o = v * tensorWidth + u;
                for (var c = 0; c < 3; c++)
                {
                    float p00 = src[(y0 * sw + x0) * 3 + c], p01 = src[(y0 * sw + x1) * 3 + c], p10 = src[(y1 * sw + x0) * 3 + c], p11 = src[(y1 * sw + x1) * 3 + c];
                    var value = (p00 * (1 - fx) + p01 * fx) * (1 - fy) + (p10 * (1 - fx) + p11 * fx) * fy;
                    // BGR planes: PaddleOCR's models were trained on OpenCV's channel order.
                    tensor[(2 - c) * plane + o] = (value / 255f - mean) / std;
                }
            }
        return tensor;
    }
}

/// <summary>A plane-to-plane perspective map (3×3, last element 1).</summary>
internal readonly record struct Homography(double A, double B, double C, double D, double E, double F, double G, double H)
{
    public (float X, float Y) Map(double x, double y)
    {
        var w = G * x + H * y + 1;
        return ((float)((A * x + B * y + C) / w), (float)((D * x + E * y + F) / w));
    }

    /// <summary>The map taking the rectangle (0,0) (w,0) (w,h) (0,h) to the four corners, in that order.</summary>
    public static Homography FromRectangle(int width, int height, TextPoint[] corners)
    {
        (double, double)[] from = [(0, 0), (width, 0), (width, height), (0, height)];
        var m = new double[8, 9];
        for (var i = 0; i < 4; i++)
        {
            var (x, y) = from[i];
            double u = corners[i].X, v = corners[i].Y;
            double[] r1 = [x, y, 1, 0, 0, 0, -x * u, -y * u, u];
            double[] r2 = [0, 0, 0, x, y, 1, -x * v, -y * v, v];
            for (var k = 0; k < 9; k++) { m[2 * i, k] = r1[k]; m[2 * i + 1, k] = r2[k]; }
        }
        var s = Solve(m);
        return new Homography(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
    }

    /// <summary>Gaussian elimination with partial pivoting of an 8×8 system (augmented); a degenerate region maps everything to its first corner.</summary>
    private static double[] Solve(double[,] m)
    {
        const int n = 8;
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < n; r++) if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            if (Math.Abs(m[pivot, col]) < 1e-12) return [0, 0, m[0, 8], 0, 0, m[1, 8], 0, 0];
            for (var k = 0; k <= n; k++) (m[col, k], m[pivot, k]) = (m[pivot, k], m[col, k]);
            for (var r = 0; r < n; r++)
            {
                if (r == col) continue;
                var f = m[r, col] / m[col, col];
                if (f == 0) continue;
                for (var k = col; k <= n; k++) m[r, k] -= f * m[col, k];
            }
        }
        var s = new double[n];
        for (var i = 0; i < n; i++) s[i] = m[i, 8] / m[i, i];
        return s;
    }
}
