namespace ImageFlowIO.Chains;

/// <summary>A point in source-image pixels (x right, y down).</summary>
public readonly record struct TextPoint(float X, float Y);

/// <summary>
/// A region of the source image: four corners, clockwise from the top-left of the text as it reads (so a crop warped
/// from them is upright), in source-image pixels, and the finder's score for it.
/// </summary>
internal sealed record TextRegion(TextPoint[] Corners, float Score)
{
    /// <summary>Width (top edge) and height (left edge) of the quadrilateral, the longer of the opposite edges each.</summary>
    public (float Width, float Height) Size => (
        MathF.Max(Distance(Corners[0], Corners[1]), Distance(Corners[2], Corners[3])),
        MathF.Max(Distance(Corners[0], Corners[3]), Distance(Corners[1], Corners[2])));

    internal static float Distance(TextPoint a, TextPoint b) => MathF.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y));
}

/// <summary>The DB text detector's post-processing settings (PaddleOCR's names and defaults).</summary>
internal sealed record DbTextSettings(float Threshold = 0.3f, float BoxThreshold = 0.6f, float UnclipRatio = 1.5f, float MinSize = 3f, int MaxCandidates = 1000);

/// <summary>
/// DB text detection post-processing as PaddleOCR's <c>DBPostProcess</c> does it, in managed code: binarize the
/// probability map at a threshold, take 8-connected regions, fit each a minimum-area rotated rectangle, score it by the
/// mean probability inside, drop those under the box threshold, grow ("unclip") it by area × ratio / perimeter on every
/// side, drop tiny ones, and sort in reading order. A region is the rectangle of its pixels' centres' convex hull (the
/// hull of each row's first and last pixel is the hull of all of them), as OpenCV's <c>minAreaRect</c> of the contour.
/// </summary>
internal static class TextRegionFinder
{
    /// <summary>
    /// Regions of a <paramref name="width"/>×<paramref name="height"/> probability map, in map pixels, reading order.
    /// <paramref name="toSource"/> maps a map point to source pixels (the preprocessing's resize undone); applied
    /// before sorting so the order is the source image's.
    /// </summary>
    public static List<TextRegion> Find(ReadOnlySpan<float> map, int width, int height, DbTextSettings settings, Func<TextPoint, TextPoint>? toSource = null, float sourceWidth = float.MaxValue, float sourceHeight = float.MaxValue)
    {
        if (map.Length < (long)width * height) throw new ArgumentException("the map is smaller than its size", nameof(map));
        var labels = new int[width * height];
        var regions = new List<TextRegion>();
        var stack = new Stack<int>();
        var rowMin = new Dictionary<int, (int Min, int Max)>();
        var next = 0;
        for (var start = 0; start < width * height && regions.Count < settings.MaxCandidates; start++)
        {
            if (labels[start] != 0 || !(map[start] > settings.Threshold)) continue;
            next++;
            rowMin.Clear();
            labels[start] = next;
            stack.Push(start);
            var count = 0;
            while (stack.Count > 0)
            {
                var p = stack.Pop();
                count++;
                int x = p % width, y = p / width;
                rowMin[y] = rowMin.TryGetValue(y, out var r) ? (Math.Min(r.Min, x), Math.Max(r.Max, x)) : (x, x);
                for (var dy = -1; dy <= 1; dy++)
                {
                    var ny = y + dy;
                    if (ny < 0 || ny >= height) continue;
                    for (var dx = -1; dx <= 1; dx++)
                    {
                        var nx = x + dx;
                        if (nx < 0 || nx >= width || (dx == 0 && dy == 0)) continue;
                        var q = ny * width + nx;
                        if (labels[q] != 0 || !(map[q] > settings.Threshold)) continue;
                        labels[q] = next;
                        stack.Push(q);
                    }
                }
            }
            var points = new List<TextPoint>(rowMin.Count * 2);
            foreach (var (y, (min, max)) in rowMin)
            {
                points.Add(new TextPoint(min, y));
                if (max != min) points.Add(new TextPoint(max, y));
            }
            var box = MinAreaRect(ConvexHull(points));
            if (MinSide(box) < settings.MinSize) continue;
            var score = MeanInside(map, width, height, box);
            if (score < settings.BoxThreshold) continue;
            var grown = Unclip(box, settings.UnclipRatio);
            if (MinSide(grown) < settings.MinSize + 2) continue;
            var corners = OrderCorners(grown);
            for (var i = 0; i < 4; i++)
            {
                var s = toSource is null ? corners[i] : toSource(corners[i]);
                corners[i] = new TextPoint(Math.Clamp(MathF.Round(s.X), 0, sourceWidth), Math.Clamp(MathF.Round(s.Y), 0, sourceHeight));
            }
            regions.Add(new TextRegion(corners, score));
        }
        SortReadingOrder(regions);
        return regions;
    }

    /// <summary>PaddleOCR's <c>sorted_boxes</c>: by top-left y then x; neighbours within 10 px of each other's y read left to right.</summary>
    public static void SortReadingOrder(List<TextRegion> regions)
    {
        regions.Sort((a, b) => a.Corners[0].Y != b.Corners[0].Y ? a.Corners[0].Y.CompareTo(b.Corners[0].Y) : a.Corners[0].X.CompareTo(b.Corners[0].X));
        for (var i = 0; i < regions.Count - 1; i++)
            for (var j = i; j >= 0; j--)
            {
                if (MathF.Abs(regions[j + 1].Corners[0].Y - regions[j].Corners[0].Y) < 10 && regions[j + 1].Corners[0].X < regions[j].Corners[0].X)
                    (regions[j], regions[j + 1]) = (regions[j + 1], regions[j]);
                else break;
            }
    }

    /// <summary>Andrew's monotone chain; the hull counter-clockwise in image axes, without repeated points.</summary>
    internal static List<TextPoint> ConvexHull(List<TextPoint> points)
    {
        points.Sort((a, b) => a.X != b.X ? a.X.CompareTo(b.X) : a.Y.CompareTo(b.Y));
        if (points.Count < 3) return [.. points];
        var hull = new TextPoint[points.Count * 2];
        var k = 0;
        for (var i = 0; i < points.Count; i++)
        {
            while (k >= 2 && Cross(hull[k - 2], hull[k - 1], points[i]) <= 0) k--;
            hull[k++] = points[i];
        }
        for (int i = points.Count - 2, lower = k + 1; i >= 0; i--)
        {
            while (k >= lower && Cross(hull[k - 2], hull[k - 1], points[i]) <= 0) k--;
            hull[k++] = points[i];
        }
        return [.. hull.AsSpan(0, k - 1)];
    }

    private static float Cross(TextPoint o, TextPoint a, TextPoint b) => (a.X - o.X) * (b.Y - o.Y) - (a.Y - o.Y) * (b.X - o.X);

    /// <summary>A rotated rectangle: centre, the unit direction of its first side, and its side lengths.</summary>
    internal readonly record struct RotatedRect(float CenterX, float CenterY, float UX, float UY, float Width, float Height)
    {
        public TextPoint[] Corners()
        {
            float hx = UX * Width / 2, hy = UY * Width / 2, vx = -UY * Height / 2, vy = UX * Height / 2;
            return [new(CenterX - hx - vx, CenterY - hy - vy), new(CenterX + hx - vx, CenterY + hy - vy), new(CenterX + hx + vx, CenterY + hy + vy), new(CenterX - hx + vx, CenterY - hy + vy)];
        }
    }

    /// <summary>Rotating calipers over the hull's edges: the rectangle of least area with a side on one of them.</summary>
    internal static RotatedRect MinAreaRect(List<TextPoint> hull)
    {
        if (hull.Count == 0) return default;
        if (hull.Count == 1) return new RotatedRect(hull[0].X, hull[0].Y, 1, 0, 0, 0);
        var best = default(RotatedRect);
        var bestArea = float.MaxValue;
        for (var i = 0; i < hull.Count; i++)
        {
            var a = hull[i];
            var b = hull[(i + 1) % hull.Count];
            float ex = b.X - a.X, ey = b.Y - a.Y, len = MathF.Sqrt(ex * ex + ey * ey);
            if (len == 0) continue;
            float ux = ex / len, uy = ey / len;
            float minU = float.MaxValue, maxU = float.MinValue, minV = float.MaxValue, maxV = float.MinValue;
            foreach (var p in hull)
            {
                float u = p.X * ux + p.Y * uy, v = -p.X * uy + p.Y * ux;
                minU = MathF.Min(minU, u); maxU = MathF.Max(maxU, u); minV = MathF.Min(minV, v); maxV = MathF.Max(maxV, v);
            }
            var area = (maxU - minU) * (maxV - minV);
            if (area >= bestArea - 1e-3f) continue;
            bestArea = area;
            float cu = (minU + maxU) / 2, cv = (minV + maxV) / 2;
            best = new RotatedRect(cu * ux - cv * uy, cu * uy + cv * ux, ux, uy, maxU - minU, maxV - minV);
        }
        return best;
    }

    private static float MinSide(RotatedRect r) => MathF.Min(r.Width, r.Height);

    /// <summary>
    /// PaddleOCR grows a box with pyclipper by distance = area × ratio / perimeter (round joins) and takes the new
    /// polygon's minimum-area rectangle: for a rectangle that is the rectangle grown by the distance on every side.
    /// </summary>
    internal static RotatedRect Unclip(RotatedRect r, float ratio)
    {
        var perimeter = 2 * (r.Width + r.Height);
        if (perimeter <= 0) return r;
        var distance = r.Width * r.Height * ratio / perimeter;
        return r with { Width = r.Width + 2 * distance, Height = r.Height + 2 * distance };
    }

    /// <summary>PaddleOCR's <c>box_score_fast</c>: the mean probability over the map pixels inside the box (its bounding rows and columns, pixel centres tested).</summary>
    internal static float MeanInside(ReadOnlySpan<float> map, int width, int height, RotatedRect box)
    {
        var c = box.Corners();
        int x0 = Math.Clamp((int)MathF.Floor(c.Min(p => p.X)), 0, width - 1), x1 = Math.Clamp((int)MathF.Ceiling(c.Max(p => p.X)), 0, width - 1);
        int y0 = Math.Clamp((int)MathF.Floor(c.Min(p => p.Y)), 0, height - 1), y1 = Math.Clamp((int)MathF.Ceiling(c.Max(p => p.Y)), 0, height - 1);
        double sum = 0;
        var n = 0;
        for (var y = y0; y <= y1; y++)
            for (var x = x0; x <= x1; x++)
            {
                if (!Inside(c, x, y)) continue;
                sum += map[y * width + x];
                n++;
            }
        return n == 0 ? 0 : (float)(sum / n);
    }

    /// <summary>A point inside a convex quadrilateral or on its edge (half a pixel of slack, as a filled polygon's rasterisation includes its border).</summary>
    private static bool Inside(TextPoint[] quad, float x, float y)
    {
        var sign = 0;
        for (var i = 0; i < 4; i++)
        {
            TextPoint a = quad[i], b = quad[(i + 1) % 4];
            float ex = b.X - a.X, ey = b.Y - a.Y, len = MathF.Sqrt(ex * ex + ey * ey);
            if (len == 0) continue;
            var cross = (ex * (y - a.Y) - ey * (x - a.X)) / len;
            if (MathF.Abs(cross) <= 0.5f) continue;
            var s = cross > 0 ? 1 : -1;
            if (sign == 0) sign = s;
            else if (s != sign) return false;
        }
        return true;
    }

    /// <summary>
    /// PaddleOCR's <c>get_mini_boxes</c> order: the two leftmost corners give top-left and bottom-left (by y), the other
    /// two top-right and bottom-right; so corners run top-left, top-right, bottom-right, bottom-left.
    /// </summary>
    internal static TextPoint[] OrderCorners(RotatedRect r)
    {
        var c = r.Corners();
        Array.Sort(c, (a, b) => a.X.CompareTo(b.X));
        var (tl, bl) = c[0].Y <= c[1].Y ? (c[0], c[1]) : (c[1], c[0]);
        var (tr, br) = c[2].Y <= c[3].Y ? (c[2], c[3]) : (c[3], c[2]);
        return [tl, tr, br, bl];
    }
}
