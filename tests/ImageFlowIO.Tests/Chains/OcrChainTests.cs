using System.Text.Json;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Chains;

/// <summary>
/// The OCR chain end to end with the real PaddleOCR models (detector → regions → orientation → recognizer) on images of
/// the repo's rendered test set (tests/TestData/ocr, tools/testdata/make_ocr_testset.py), and what each cache step saves.
/// </summary>
public class OcrChainTests
{
    private static string Model(string name) => Path.Combine(TestPaths.Root, "TestData", "ocr-models", name);
    private static string Screen(string name) => Path.Combine(TestPaths.Root, "TestData", "ocr", name);

    private static string[] Truth(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Screen("truth.json")));
        return doc.RootElement.EnumerateArray().Single(e => e.GetProperty("file").GetString() == file)
            .GetProperty("lines").EnumerateArray().Select(l => l.GetString()!).ToArray();
    }

    /// <summary>A chain config in <paramref name="dir"/>; models and dictionary may be swapped for copies, checks added.</summary>
    private static string WriteConfig(TempDir dir, string? recognizer = null, string? dictionary = null, string checks = "[]", string overlay = "{}")
    {
        static string J(string path) => JsonSerializer.Serialize(path);
        return dir.Write("ocr.json", $$"""
            {
              "model": { "name": "textdet", "path": {{J(Model("ch_PP-OCRv4_det_infer.onnx"))}} },
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [640, 480], "resizeMode": "fit", "kernel": "linear" },
                "format": { "dataType": "float32", "channels": 3, "channelOrder": "bgr" },
                "normalize": { "apply": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] }
              },
              "chain": {
                "regions": { "finder": "dbText" },
                "perRegion": [
                  { "kind": "orientation", "path": {{J(Model("ch_ppocr_mobile_v2.0_cls_infer.onnx"))}} },
                  { "kind": "recognizer", "path": {{J(recognizer ?? Model("ch_PP-OCRv4_rec_infer.onnx"))}}, "dictionary": {{J(dictionary ?? Model("ppocr_keys_v1.txt"))}} }
                ],
                "overlay": {{overlay}}
              },
              "checks": {{checks}},
              "execution": { "useCaching": "disk", "cacheDir": {{J(dir.Combine("cache"))}} },
              "output": { "writeMeta": { "apply": true, "jsonPath": {{J(dir.Combine("out", "meta.json"))}} } }
            }
            """);
    }

    private static async Task<(BatchResult Batch, int Detections, int Readings, ListLoggerProvider Log)> Run(string config, params string[] screens)
    {
        var log = new ListLoggerProvider();
        using var pipeline = Pipeline.FromConfig(config, new PipelineOptions { LoggerFactory = log, MaxParallelism = 1 });
        var batch = await pipeline.RunBatchAsync(screens.Select(s => new InputItem(Screen(s))).ToList());
        Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
        return (batch, pipeline.InferenceRuns, pipeline.ChainRegionRuns, log);
    }

    [Fact]
    public async Task Upright_and_upside_down_screens_read_exactly_in_reading_order_with_source_pixel_boxes()
    {
        using var dir = new TempDir();
        var (batch, detections, readings, _) = await Run(WriteConfig(dir), "screen02.png", "screen21.png");
        Assert.Equal(2, detections);
        Assert.Equal(Truth("screen02.png"), batch.Items[0].Lines!.Select(l => l.Text));
        // Rendered upside down: every line turned by the orientation classifier, the order that of the turned page.
        Assert.Equal(Truth("screen21.png"), batch.Items[1].Lines!.Select(l => l.Text));
        Assert.All(batch.Items[1].Lines!, l => Assert.Equal(180, l.Angle));
        Assert.All(batch.Items[0].Lines!, l => Assert.Equal(0, l.Angle));
        Assert.Equal(readings, batch.Items.Sum(i => i.Lines!.Count));
        Assert.Equal(string.Join("\n", Truth("screen02.png")), batch.Items[0].Text);

        // writeMeta: input and lines with four source-pixel corners; the title bar (y < 57) holds the first line's box.
        using var meta = JsonDocument.Parse(File.ReadAllText(dir.Combine("out", "meta.json")));
        var first = meta.RootElement[0];
        Assert.EndsWith("screen02.png", first.GetProperty("input").GetString());
        var lines = first.GetProperty("lines").EnumerateArray().ToArray();
        Assert.Equal(Truth("screen02.png"), lines.Select(l => l.GetProperty("text").GetString()));
        var box = lines[0].GetProperty("box").EnumerateArray().Select(p => (X: p[0].GetSingle(), Y: p[1].GetSingle())).ToArray();
        Assert.Equal(4, box.Length);
        Assert.All(box, p => Assert.InRange(p.Y, 0, 57));
        Assert.InRange(box[0].X, 5, 25);
        Assert.True(box[1].X > box[0].X && box[3].Y > box[0].Y);
        Assert.All(lines, l => Assert.InRange(l.GetProperty("score").GetDouble(), 0.5, 1));
    }

    [Fact]
    public async Task A_rerun_reads_regions_and_readings_from_the_disk_cache_and_runs_no_model()
    {
        using var dir = new TempDir();
        var config = WriteConfig(dir);
        var cold = await Run(config, "screen07.png");
        var warm = await Run(config, "screen07.png");
        Assert.Equal((0, 0), (warm.Detections, warm.Readings));
        Assert.Equal(cold.Batch.Items[0].Lines!.Select(l => l.Text), warm.Batch.Items[0].Lines!.Select(l => l.Text));
        Assert.Contains(warm.Log.Lines, l => l.Contains("cache/disk hit", StringComparison.Ordinal) && l.EndsWith("screen07.png (regions)", StringComparison.Ordinal));
        Assert.Equal(cold.Batch.Items[0].Lines!.Count, warm.Log.Lines.Count(l => l.Contains("cache/disk hit", StringComparison.Ordinal) && l.EndsWith("(region)", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_edited_dictionary_only_decodes_again()
    {
        using var dir = new TempDir();
        var keys = dir.Copy(Model("ppocr_keys_v1.txt"), "keys.txt");
        await Run(WriteConfig(dir, dictionary: keys), "screen07.png");
        // Same number of entries (the model's classes), one character changed: every 'e' now reads 'E'.
        var entries = File.ReadAllText(keys).Split('\n');
        entries[Array.IndexOf(entries, "e")] = "E";
        File.WriteAllText(keys, string.Join('\n', entries));
        var edited = await Run(WriteConfig(dir, dictionary: keys), "screen07.png");
        Assert.Equal((0, 0), (edited.Detections, edited.Readings));
        Assert.Equal(Truth("screen07.png").Select(t => t.Replace('e', 'E')), edited.Batch.Items[0].Lines!.Select(l => l.Text));
    }

    [Fact]
    public async Task A_new_recognizer_reads_the_regions_again_without_detecting_them()
    {
        using var dir = new TempDir();
        var cold = await Run(WriteConfig(dir), "screen07.png");
        // Another recognizer file: the same network with an unknown protobuf field appended (field 100, varint 1), so
        // its digest differs and ONNX Runtime loads it as before.
        var swapped = dir.Combine("rec2.onnx");
        File.WriteAllBytes(swapped, [.. File.ReadAllBytes(Model("ch_PP-OCRv4_rec_infer.onnx")), 0xA0, 0x06, 0x01]);
        var after = await Run(WriteConfig(dir, recognizer: swapped), "screen07.png");
        Assert.Equal(0, after.Detections);
        Assert.Equal(cold.Readings, after.Readings);
        Assert.Contains(after.Log.Lines, l => l.Contains("cache/disk hit", StringComparison.Ordinal) && l.EndsWith("screen07.png (regions)", StringComparison.Ordinal));
        Assert.Equal(Truth("screen07.png"), after.Batch.Items[0].Lines!.Select(l => l.Text));
    }

    [Fact]
    public async Task A_re_encoded_copy_runs_the_detector_but_reads_no_line_again()
    {
        using var dir = new TempDir();
        var config = WriteConfig(dir);
        var cold = await Run(config, "screen07.png");
        // Same pixels, other bytes: a new input (its digest), so the detector runs; every crop's content is the same.
        var copy = dir.Combine("copy.png");
        using (var image = SixLabors.ImageSharp.Image.Load(Screen("screen07.png")))
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, copy, new SixLabors.ImageSharp.Formats.Png.PngEncoder { CompressionLevel = SixLabors.ImageSharp.Formats.Png.PngCompressionLevel.NoCompression });
        Assert.NotEqual(File.ReadAllBytes(Screen("screen07.png")), File.ReadAllBytes(copy));
        var again = await Run(config, copy);
        Assert.Equal((1, 0), (again.Detections, again.Readings));
        Assert.Equal(Truth("screen07.png"), again.Batch.Items[0].Lines!.Select(l => l.Text));
        Assert.Equal(cold.Batch.Items[0].Lines!.Count, again.Log.Lines.Count(l => l.Contains("cache/disk hit", StringComparison.Ordinal) && l.EndsWith("copy.png (region)", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_overlay_draws_each_line_box_over_the_source_and_a_deleted_one_is_drawn_again_from_the_cache()
    {
        using var dir = new TempDir();
        var config = WriteConfig(dir, overlay: "{ \"apply\": true, \"path\": " + JsonSerializer.Serialize(dir.Combine("overlays")) + " }");
        var (batch, _, _, _) = await Run(config, "screen02.png", "screen21.png");
        var upright = dir.Combine("overlays", "screen02.lines.png");
        Assert.Contains(upright, batch.Items[0].Outputs);
        AssertBoxesDrawn(upright, batch.Items[0].Lines!, (255, 0, 0));
        // The upside-down screen's lines were turned by the classifier: their boxes are blue.
        AssertBoxesDrawn(dir.Combine("overlays", "screen21.lines.png"), batch.Items[1].Lines!, (0, 64, 255));

        File.Delete(upright);
        var again = await Run(config, "screen02.png");
        Assert.Equal((0, 0), (again.Detections, again.Readings));
        AssertBoxesDrawn(upright, again.Batch.Items[0].Lines!, (255, 0, 0));
    }

    /// <summary>Every box's top edge has the colour at its midpoint; the source's pixels away from the boxes are kept.</summary>
    private static void AssertBoxesDrawn(string overlayPath, IReadOnlyList<ImageFlowIO.Chains.TextLine> lines, (byte R, byte G, byte B) colour)
    {
        using var drawn = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(overlayPath);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var (a, b) = (line.Box[0], line.Box[1]);
            var p = drawn[(int)MathF.Floor((a.X + b.X) / 2), (int)MathF.Floor((a.Y + b.Y) / 2)];
            Assert.Equal(colour, (p.R, p.G, p.B));
        }
        using var source = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Screen(Path.GetFileName(overlayPath).Replace(".lines.png", ".png")));
        Assert.Equal((source.Width, source.Height), (drawn.Width, drawn.Height));
        Assert.Equal(source[2, source.Height - 3], drawn[2, drawn.Height - 3]);
    }

    [Fact]
    public async Task Checks_are_evaluated_from_cached_results_and_an_edited_check_runs_no_model()
    {
        using var dir = new TempDir();
        await Run(WriteConfig(dir), "screen07.png", "screen21.png");
        var checks = """
            [
              { "id": "upside-down", "severity": "warning", "label": "180", "minScore": 0.9 },
              { "id": "no-city", "severity": "error", "textMatches": "(?i)city\\s+street" },
              { "id": "brand", "severity": "info", "textMissing": "Shipping" }
            ]
            """;
        var gated = await Run(WriteConfig(dir, checks: checks), "screen07.png", "screen21.png");
        Assert.Equal((0, 0), (gated.Detections, gated.Readings));
        var shipping = gated.Batch.Items[0].Checks;
        var turned = gated.Batch.Items[1].Checks;
        Assert.Equal(["no-city"], shipping.Select(c => c.Id));
        Assert.Equal(ErrorCodes.CheckTextMatches, shipping[0].Code);
        Assert.Equal(CheckSeverity.Error, shipping[0].Severity);
        Assert.Contains("\"City street\"", shipping[0].Message);
        Assert.Equal(["upside-down", "brand"], turned.Select(c => c.Id));
        Assert.Equal([ErrorCodes.CheckLabel, ErrorCodes.CheckTextMissing], turned.Select(c => c.Code));
        using var meta = JsonDocument.Parse(File.ReadAllText(dir.Combine("out", "meta.json")));
        Assert.Equal("no-city", meta.RootElement[0].GetProperty("checks")[0].GetProperty("id").GetString());
    }

    [Fact]
    public void A_dictionary_that_does_not_fit_the_recognizer_is_a_model_error_naming_it()
    {
        using var dir = new TempDir();
        var keys = dir.Write("short.txt", "a\nb\nc\n");
        var ex = Assert.Throws<ModelException>(() => Pipeline.FromConfig(WriteConfig(dir, dictionary: keys)));
        Assert.Equal(ErrorCodes.ModelInputMismatch, ex.Code);
        Assert.Contains("short.txt", ex.ToString());
        Assert.Contains("6625 classes", ex.Message);
    }

    [Fact]
    public async Task The_cli_prints_line_counts_and_text_lists_fired_checks_and_exits_1_for_an_error_check()
    {
        using var dir = new TempDir();
        var input = dir.Combine("shots");
        dir.Copy(Screen("screen07.png"), Path.Combine("shots", "screen07.png"));
        dir.Copy(Screen("screen21.png"), Path.Combine("shots", "screen21.png"));
        var config = WriteConfig(dir, checks: """
            [
              { "id": "upside-down", "severity": "warning", "label": "180", "minScore": 0.9 },
              { "id": "no-city", "severity": "error", "textMatches": "(?i)city\\s+street" }
            ]
            """);
        var run = await CliRunner.RunAsync("--config", config, "--input", input, "--output", dir.Combine("out"), "--log-level", "debug", "--no-progress");
        var all = run.Stdout + run.Stderr;
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("screen07.png: 4 lines (4 regions)", all);
        Assert.Contains("screen07.png: City street 9400", all);
        Assert.Contains($"{Path.Combine(input, "screen07.png")}: error IFIO7002: check 'no-city' (error)", run.Stderr);
        Assert.Contains($"{Path.Combine(input, "screen21.png")}: warning IFIO7001: check 'upside-down' (warning)", run.Stderr);
        Assert.Contains("2 checks fired (1 errors)", run.Stdout);
        using var summary = JsonDocument.Parse(File.ReadAllText(dir.Combine("out", "summary.json")));
        var items = summary.RootElement.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal("IFIO7002", items[0].GetProperty("checks")[0].GetProperty("code").GetString());
        Assert.Equal("error", items[0].GetProperty("checks")[0].GetProperty("severity").GetString());
        Assert.Equal("upside-down", items[1].GetProperty("checks")[0].GetProperty("id").GetString());
    }
}
