using ImageFlowIO.Chains;

namespace ImageFlowIO.Tests.Chains;

/// <summary>DB post-processing against hand-made probability maps: boxes, scores, thresholds, unclip, reading order.</summary>
public class TextRegionFinderTests
{
    private static float[] Map(int w, int h) => new float[w * h];

    private static void Fill(float[] map, int w, int x0, int y0, int x1, int y1, float p)
    {
        for (var y = y0; y <= y1; y++) for (var x = x0; x <= x1; x++) map[y * w + x] = p;
    }

    private static DbTextSettings NoUnclip => new(UnclipRatio: 0f, MinSize: 1f);

    [Fact]
    public void An_axis_aligned_block_gives_its_pixel_centres_rectangle_and_mean_probability()
    {
        var map = Map(40, 20);
        Fill(map, 40, 5, 4, 24, 9, 0.9f); // 20 x 6 pixels
        map[6 * 40 + 10] = 0.6f;
        var regions = TextRegionFinder.Find(map, 40, 20, NoUnclip);
        var r = Assert.Single(regions);
        Assert.Equal([new TextPoint(5, 4), new TextPoint(24, 4), new TextPoint(24, 9), new TextPoint(5, 9)], r.Corners);
        Assert.Equal((0.9f * 119 + 0.6f) / 120, r.Score, 4);
    }

    [Fact]
    public void Unclip_grows_every_side_by_area_times_ratio_over_perimeter()
    {
        var map = Map(60, 30);
        Fill(map, 60, 10, 10, 40, 16, 1f); // centres span 30 x 6: distance = 180 * 1.5 / 72 = 3.75
        var r = Assert.Single(TextRegionFinder.Find(map, 60, 30, new DbTextSettings(UnclipRatio: 1.5f)));
        // Rounded to whole source pixels as PaddleOCR rounds: 10 - 3.75 = 6.25 -> 6, 40 + 3.75 = 43.75 -> 44.
        Assert.Equal([new TextPoint(6, 6), new TextPoint(44, 6), new TextPoint(44, 20), new TextPoint(6, 20)], r.Corners);
    }

    [Fact]
    public void Pixels_at_the_threshold_are_background_and_weak_boxes_are_dropped()
    {
        var map = Map(50, 20);
        Fill(map, 50, 2, 2, 20, 8, 0.3f);  // at the binarization threshold: not text
        Fill(map, 50, 25, 2, 45, 8, 0.5f); // text pixels, but the mean 0.5 is under the box threshold 0.6
        Assert.Empty(TextRegionFinder.Find(map, 50, 20, new DbTextSettings()));
        Assert.Single(TextRegionFinder.Find(map, 50, 20, new DbTextSettings(BoxThreshold: 0.45f)));
    }

    [Fact]
    public void Tiny_regions_are_dropped_before_and_after_unclip()
    {
        var map = Map(30, 30);
        Fill(map, 30, 3, 3, 20, 4, 1f); // 2 rows: centres 1 px apart, under minSize 3
        Fill(map, 30, 3, 10, 4, 25, 1f); // 2 columns
        Assert.Empty(TextRegionFinder.Find(map, 30, 30, new DbTextSettings()));
    }

    [Fact]
    public void A_rotated_bar_gets_a_rotated_box_with_corners_from_the_top_left()
    {
        const int w = 80, h = 80;
        var map = Map(w, h);
        // A bar along the 30 degree line from (15, 20), 40 long, 6 thick.
        var (ux, uy) = (MathF.Cos(MathF.PI / 6), MathF.Sin(MathF.PI / 6));
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                float dx = x - 15, dy = y - 20, along = dx * ux + dy * uy, across = -dx * uy + dy * ux;
                if (along is >= 0 and <= 40 && across is >= -3 and <= 3) map[y * w + x] = 1f;
            }
        var r = Assert.Single(TextRegionFinder.Find(map, w, h, NoUnclip));
        var top = (r.Corners[1].X - r.Corners[0].X, r.Corners[1].Y - r.Corners[0].Y);
        var angle = MathF.Atan2(top.Item2, top.Item1) * 180 / MathF.PI;
        Assert.InRange(angle, 26, 34);
        Assert.InRange(r.Size.Width, 37, 43);
        Assert.InRange(r.Size.Height, 4, 8);
        Assert.True(r.Corners[0].X < r.Corners[1].X && r.Corners[3].Y > r.Corners[0].Y);
    }

    [Fact]
    public void Regions_come_in_reading_order_rows_within_ten_pixels_read_left_to_right()
    {
        var map = Map(100, 60);
        Fill(map, 100, 60, 5, 90, 10, 1f);  // right, top at y 5
        Fill(map, 100, 5, 9, 40, 14, 1f);   // left, top 4 px lower: same row, read first
        Fill(map, 100, 5, 40, 40, 45, 1f);  // next row
        var regions = TextRegionFinder.Find(map, 100, 60, NoUnclip);
        Assert.Equal([5f, 60f, 5f], regions.Select(r => r.Corners[0].X));
        Assert.Equal([9f, 5f, 40f], regions.Select(r => r.Corners[0].Y));
    }

    [Fact]
    public void Boxes_are_mapped_to_source_pixels_and_clipped_to_the_image()
    {
        var map = Map(40, 20);
        Fill(map, 40, 0, 0, 19, 5, 1f);
        // The map is a half-size view of an 80 x 40 source.
        var r = Assert.Single(TextRegionFinder.Find(map, 40, 20, new DbTextSettings(UnclipRatio: 1.5f), p => new TextPoint(p.X * 2, p.Y * 2), 80, 40));
        Assert.All(r.Corners, c => Assert.True(c.X >= 0 && c.Y >= 0 && c.X <= 80 && c.Y <= 40));
        Assert.Equal(0, r.Corners[0].X);
        Assert.Equal(44, r.Corners[1].X); // (19 + 2.97) * 2 = 43.9 -> 44
    }
}

/// <summary>CTC greedy decoding against hand-made logits and probabilities.</summary>
public class CtcDecoderTests
{
    private static readonly TextDictionary Dictionary = TextDictionary.Parse("a\nb\nc\r\n"u8.ToArray());

    /// <summary>Rows of one-hot-ish probabilities: the class given gets p, the rest share 1 − p.</summary>
    private static float[] Steps(int classes, params (int Class, float P)[] steps)
    {
        var output = new float[steps.Length * classes];
        for (var t = 0; t < steps.Length; t++)
            for (var c = 0; c < classes; c++)
                output[t * classes + c] = c == steps[t].Class ? steps[t].P : (1 - steps[t].P) / (classes - 1);
        return output;
    }

    [Fact]
    public void The_dictionary_gets_a_space_and_the_classes_count_the_blank()
    {
        Assert.Equal(["a", "b", "c", " "], Dictionary.Entries);
        Assert.Equal(5, Dictionary.Classes);
    }

    [Fact]
    public void Repeats_collapse_blanks_separate_and_the_space_is_a_character()
    {
        // a a _ a b _ ' ' ' ' c c  ->  "aab c"
        var output = Steps(5, (1, 0.9f), (1, 0.8f), (0, 0.9f), (1, 0.7f), (2, 0.6f), (0, 0.99f), (4, 0.9f), (4, 0.9f), (3, 0.5f), (3, 0.95f));
        var path = CtcDecoder.Greedy(output, 10, 5);
        Assert.Equal([1, 1, 2, 4, 3], path.Ids);
        var (text, score) = CtcDecoder.Decode(path, Dictionary.Entries);
        Assert.Equal("aab c", text);
        Assert.Equal((0.9f + 0.7f + 0.6f + 0.9f + 0.5f) / 5, score, 5);
    }

    [Fact]
    public void Logits_are_softmaxed_for_the_score()
    {
        float[] logits = [0f, 2f, 0f, 0f, 0f];
        var path = CtcDecoder.Greedy(logits, 1, 5);
        var (text, score) = CtcDecoder.Decode(path, Dictionary.Entries);
        Assert.Equal("a", text);
        Assert.Equal(MathF.Exp(2) / (MathF.Exp(2) + 4), score, 5);
    }

    [Fact]
    public void All_blanks_give_no_text_and_score_zero()
    {
        var path = CtcDecoder.Greedy(Steps(5, (0, 0.9f), (0, 0.9f)), 2, 5);
        Assert.Equal(("", 0f), CtcDecoder.Decode(path, Dictionary.Entries));
    }

    [Fact]
    public void An_edited_dictionary_decodes_the_same_path_to_other_text()
    {
        var path = CtcDecoder.Greedy(Steps(5, (1, 0.9f), (0, 0.9f), (3, 0.9f)), 3, 5);
        Assert.Equal("ac", CtcDecoder.Decode(path, Dictionary.Entries).Text);
        Assert.Equal("xz", CtcDecoder.Decode(path, TextDictionary.Parse("x\ny\nz\n"u8.ToArray()).Entries).Text);
    }
}

/// <summary>Rotated crops: the warp samples the source where the corners say, upright, turned for 180 and tall regions.</summary>
public class RegionCropTests
{
    /// <summary>A 20 x 10 source whose red channel is 10·x and green 10·y, blue 7.</summary>
    private static RgbPixels Gradient()
    {
        var data = new byte[20 * 10 * 3];
        for (var y = 0; y < 10; y++)
            for (var x = 0; x < 20; x++)
            {
                var o = (y * 20 + x) * 3;
                (data[o], data[o + 1], data[o + 2]) = ((byte)(10 * x), (byte)(10 * y), 7);
            }
        return new RgbPixels(20, 10, data);
    }

    private static float Pixel(float v) => v / 127.5f - 1f;

    [Fact]
    public void An_axis_aligned_crop_at_source_resolution_copies_the_pixels_in_bgr_and_pads_with_zeros()
    {
        TextPoint[] corners = [new(4, 2), new(12, 2), new(12, 6), new(4, 6)];
        var t = RegionCrop.ToTensor(Gradient(), corners, 8, 4, 10);
        const int plane = 4 * 10;
        for (var v = 0; v < 4; v++)
            for (var u = 0; u < 8; u++)
            {
                Assert.Equal(Pixel(7), t[0 * plane + v * 10 + u], 4);               // B
                Assert.Equal(Pixel(10 * (2 + v)), t[1 * plane + v * 10 + u], 4);   // G
                Assert.Equal(Pixel(10 * (4 + u)), t[2 * plane + v * 10 + u], 4);   // R
            }
        Assert.Equal(0f, t[0 * plane + 9]);
        Assert.Equal(0f, t[2 * plane + 3 * 10 + 8]);
    }

    [Fact]
    public void Upside_down_turns_the_corners_half_and_the_crop_reads_from_the_far_corner()
    {
        TextPoint[] corners = [new(4, 2), new(12, 2), new(12, 6), new(4, 6)];
        var turned = RegionCrop.Oriented(corners, upsideDown: true);
        Assert.Equal([new TextPoint(12, 6), new TextPoint(4, 6), new TextPoint(4, 2), new TextPoint(12, 2)], turned);
        var t = RegionCrop.ToTensor(Gradient(), turned, 8, 4, 8);
        Assert.Equal(Pixel(120), t[2 * 32 + 0], 3); // top-left of the turned crop is source x 12
        Assert.Equal(Pixel(60), t[1 * 32 + 0], 3);  // ... at source y 6
    }

    [Fact]
    public void A_tall_region_is_read_turned_a_quarter()
    {
        TextPoint[] tall = [new(2, 0), new(6, 0), new(6, 9), new(2, 9)];
        Assert.Equal([new TextPoint(6, 0), new TextPoint(6, 9), new TextPoint(2, 9), new TextPoint(2, 0)], RegionCrop.Oriented(tall, upsideDown: false));
        TextPoint[] wide = [new(2, 0), new(12, 0), new(12, 4), new(2, 4)];
        Assert.Equal(wide, RegionCrop.Oriented(wide, upsideDown: false));
    }

    [Fact]
    public void A_rotated_quadrilateral_is_warped_upright()
    {
        // A 45 degree square region in a source whose red channel is 10·x: along the crop's top edge x grows.
        TextPoint[] diamond = [new(4, 5), new(8, 1), new(12, 5), new(8, 9)];
        var t = RegionCrop.ToTensor(Gradient(), diamond, 4, 4, 4);
        var r = t.AsSpan(2 * 16, 16).ToArray();
        Assert.Equal(Pixel(40), r[0], 3);
        Assert.True(r[1] > r[0] && r[2] > r[1]);
        Assert.Equal(Pixel(40), t[1 * 16 + 1], 3); // G at the crop's (1, 0): source (5, 4)
    }

    [Fact]
    public void The_width_follows_the_aspect_ratio_at_the_models_height_up_to_its_limit()
    {
        TextPoint[] corners = [new(0, 0), new(100, 0), new(100, 20), new(0, 20)];
        Assert.Equal(240, RegionCrop.ScaledWidth(corners, 48, 1000));
        Assert.Equal(192, RegionCrop.ScaledWidth(corners, 48, 192));
    }
}
