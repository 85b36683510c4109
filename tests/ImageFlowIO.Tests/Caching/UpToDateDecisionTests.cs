using System.Text.Json;
using System.Text.Json.Nodes;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Caching;

/// <summary>
/// The one up-to-date decision with its reason, as the CLI shows it (<c>--explain</c>, <c>--dry-run --explain</c>) and
/// summary.json lists it: one test per reason, each on real CLI runs over the cache scenario's four images.
/// </summary>
public sealed class UpToDateDecisionTests
{
    private static async Task<CliRunner.Result> Cli(CacheScenario s, params string[] extra)
    {
        var result = await CliRunner.RunAsync(["--config", s.ConfigPath, "--no-progress", "--log-level", "warn", .. extra]);
        return result;
    }

    /// <summary>The --explain lines by input file name: "up to date" or "run, because …".</summary>
    private static Dictionary<string, string> Explained(CliRunner.Result result) => result.Stdout.Split('\n')
        .Where(l => l.Contains(": up to date", StringComparison.Ordinal) || l.Contains(": run, because ", StringComparison.Ordinal))
        .ToDictionary(l => Path.GetFileName(l[..l.IndexOf(": ", l.LastIndexOf('/'), StringComparison.Ordinal)]), l => l[(l.IndexOf(": ", l.LastIndexOf('/'), StringComparison.Ordinal) + 2)..]);

    /// <summary>Explains without running (and checks nothing changed on disk), then runs with --explain: both must say the same.</summary>
    private static async Task<Dictionary<string, string>> ExplainThenRun(CacheScenario s)
    {
        var before = Snapshot(s.OutDir);
        var dry = await Cli(s, "--dry-run", "--explain");
        Assert.True(dry.ExitCode == 0, dry.Stderr);
        Assert.Equal(before, Snapshot(s.OutDir)); // answered without running anything
        var dryLines = Explained(dry);
        Assert.Equal(4, dryLines.Count);

        var run = await Cli(s, "--explain");
        var runLines = Explained(run);
        Assert.Equal(dryLines, runLines);
        // summary.json lists the same reason per item.
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(s.OutDir, "summary.json")));
        foreach (var item in summary.RootElement.GetProperty("items").EnumerateArray())
            Assert.Equal(runLines[Path.GetFileName(item.GetProperty("input").GetString()!)], item.GetProperty("explain").GetString());
        return runLines;
    }

    private static Dictionary<string, (long Length, DateTime Time)> Snapshot(string folder) => Directory.Exists(folder)
        ? Directory.GetFiles(folder).ToDictionary(f => Path.GetFileName(f), f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)))
        : [];

    private static async Task FirstRunAsync(CacheScenario s)
    {
        var first = await Cli(s, "--explain");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.All(Explained(first).Values, v => Assert.Equal("run, because it is new (no earlier run of it into this output folder is recorded)", v));
    }

    [Fact]
    public async Task First_run_every_input_is_new_and_a_dry_run_says_so_without_creating_anything()
    {
        using var s = new CacheScenario();
        var dry = await Cli(s, "--dry-run", "--explain");
        Assert.True(dry.ExitCode == 0, dry.Stderr);
        Assert.Equal(4, Explained(dry).Count);
        Assert.All(Explained(dry).Values, v => Assert.StartsWith("run, because ", v));
        Assert.False(Directory.Exists(s.OutDir));
        Assert.False(Directory.Exists(s.CacheDir));
        await FirstRunAsync(s);

        var again = await ExplainThenRun(s);
        Assert.All(again.Values, v => Assert.Equal("up to date", v));
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(s.OutDir, "summary.json")));
        Assert.All(summary.RootElement.GetProperty("items").EnumerateArray(), i => Assert.Equal("upToDate", i.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task Editing_one_image_runs_that_one_because_its_content_changed()
    {
        using var s = new CacheScenario();
        await FirstRunAsync(s);
        File.Copy(TestPaths.Image("photo_160x120.png"), s.Images[1], overwrite: true); // photo_64x48.png gets other pixels
        var lines = await ExplainThenRun(s);
        Assert.Equal("run, because its content changed", lines["photo_64x48.png"]);
        Assert.Equal(3, lines.Values.Count(v => v == "up to date"));
    }

    [Fact]
    public async Task Touching_one_image_keeps_it_up_to_date_and_its_output_is_not_written()
    {
        using var s = new CacheScenario();
        await FirstRunAsync(s);
        var output = Path.Combine(s.OutDir, "photo_64x48.png");
        var written = File.GetLastWriteTimeUtc(output);
        File.SetLastWriteTimeUtc(s.Images[1], DateTime.UtcNow);
        var lines = await ExplainThenRun(s);
        Assert.All(lines.Values, v => Assert.Equal("up to date", v));
        Assert.Equal(written, File.GetLastWriteTimeUtc(output));
    }

    [Fact]
    public async Task Swapping_the_model_runs_every_input_because_the_model_changed()
    {
        using var s = new CacheScenario();
        await FirstRunAsync(s);
        File.Copy(TestPaths.Model("identity_nchw.onnx"), s.Dir.Combine("model.onnx"), overwrite: true);
        var lines = await ExplainThenRun(s);
        Assert.All(lines.Values, v => Assert.Equal("run, because the model changed", v));
    }

    [Fact]
    public async Task Editing_the_labels_runs_postprocessing_only_because_the_labels_changed()
    {
        using var s = new CacheScenario("classifier_nchw.onnx");
        s.Dir.Copy(TestPaths.Model("classifier_labels.txt"), "labels.txt");
        File.WriteAllText(s.ConfigPath, File.ReadAllText(s.ConfigPath)
            .Replace("\"path\": \"model.onnx\"", "\"path\": \"model.onnx\", \"labels\": \"labels.txt\"", StringComparison.Ordinal)
            .Replace("\"output\": {", "\"output\": { \"writeMeta\": { \"apply\": true },", StringComparison.Ordinal));
        await FirstRunAsync(s);
        File.WriteAllText(s.Dir.Combine("labels.txt"), "tabby\ndog\nbird\nfish\nhorse\n");
        var lines = await ExplainThenRun(s);
        Assert.All(lines.Values, v => Assert.Equal("run, because the labels or palette changed (postprocessing only)", v));

        // Postprocessing only: the inference entries serve it, no session opens, and the meta files name the new label.
        File.WriteAllText(s.Dir.Combine("labels.txt"), "cat\ndoggo\nbird\nfish\nhorse\n");
        var debug = await CliRunner.RunAsync("--config", s.ConfigPath, "--no-progress", "--log-level", "debug");
        Assert.True(debug.ExitCode == 0, debug.Stderr);
        Assert.Equal(4, debug.Stderr.Split('\n').Count(l => l.Contains("cache/disk hit", StringComparison.Ordinal) && l.Contains("(inference)", StringComparison.Ordinal)));
        Assert.DoesNotContain("model/session open", debug.Stderr);
        var metas = Directory.GetFiles(s.OutDir, "*.json").Where(f => !f.EndsWith("summary.json", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, metas.Count);
        Assert.All(metas, m => Assert.Contains(JsonNode.Parse(File.ReadAllText(m))!["topK"]!.AsArray(), k => (string?)k!["label"] is "cat" or "doggo"));
    }

    [Fact]
    public async Task Deleting_one_output_by_hand_runs_that_input_because_its_output_is_missing()
    {
        using var s = new CacheScenario();
        await FirstRunAsync(s);
        File.Delete(Path.Combine(s.OutDir, "gradient_33x17.png"));
        var lines = await ExplainThenRun(s);
        Assert.Equal("run, because output gradient_33x17.png is missing", lines["gradient_33x17.png"]);
        Assert.Equal(3, lines.Values.Count(v => v == "up to date"));
        Assert.True(File.Exists(Path.Combine(s.OutDir, "gradient_33x17.png")));
    }

    [Fact]
    public async Task Changing_one_config_section_names_that_section()
    {
        using var s = new CacheScenario();
        await FirstRunAsync(s);
        s.WriteConfig(postprocessing: "\"clamp\": { \"apply\": true, \"min\": 0, \"max\": 0.5 }, \"denormalize\": { \"apply\": true, \"scale\": 255, \"dtype\": \"uint8\" }");
        Assert.All((await ExplainThenRun(s)).Values, v => Assert.Equal("run, because config section postprocessing changed", v));

        s.WriteConfig(postprocessing: "\"clamp\": { \"apply\": true, \"min\": 0, \"max\": 0.5 }, \"denormalize\": { \"apply\": true, \"scale\": 255, \"dtype\": \"uint8\" }", resize: "[32, 16]");
        Assert.All((await ExplainThenRun(s)).Values, v => Assert.Equal("run, because config section preprocessing changed", v));
    }

    [Fact]
    public async Task An_input_whose_run_failed_runs_again_because_its_previous_run_failed()
    {
        using var s = new CacheScenario();
        await FirstRunAsync(s);
        File.WriteAllBytes(s.Images[2], [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]); // a truncated PNG
        var failed = await Cli(s, "--explain");
        Assert.Equal(1, failed.ExitCode);
        Assert.Equal("run, because its content changed", Explained(failed)["gradient_33x17.png"]);

        var again = await Cli(s, "--explain");
        Assert.Equal(1, again.ExitCode);
        Assert.Matches(@"^run, because its previous run failed \(IFIO\d{4}\)$", Explained(again)["gradient_33x17.png"]);
        Assert.Equal(3, Explained(again).Values.Count(v => v == "up to date"));
    }

    [Fact]
    public async Task Editing_the_palette_file_runs_postprocessing_again_and_recolours_the_outputs()
    {
        using var s = new CacheScenario("segment4_nchw.onnx");
        File.WriteAllText(s.Dir.Combine("palette.json"), "[[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]]");
        s.WriteConfig(postprocessing: "\"paletteMap\": { \"apply\": true, \"source\": \"argmax\", \"palette\": { \"mode\": \"file\", \"file\": \"palette.json\" } }");
        await FirstRunAsync(s);
        var before = File.ReadAllBytes(Path.Combine(s.OutDir, "photo_160x120.png"));
        File.WriteAllText(s.Dir.Combine("palette.json"), "[[0, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]]");
        var lines = await ExplainThenRun(s);
        Assert.All(lines.Values, v => Assert.Equal("run, because the labels or palette changed (postprocessing only)", v));
        // The palette's content is part of the output key: the files are recoloured, not served from the old entries.
        Assert.NotEqual(before, File.ReadAllBytes(Path.Combine(s.OutDir, "photo_160x120.png")));
    }

    [Fact]
    public async Task A_forced_run_rewrites_up_to_date_outputs_and_says_it_was_forced()
    {
        using var s = new CacheScenario();
        await FirstRunAsync(s);
        using (var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { Force = true, KeepOutputTensors = false, MaxParallelism = 2 }))
        {
            Assert.All(pipeline.CheckUpToDate(s.Inputs), d => Assert.Equal(RunReason.Forced, d.Reason));
            var batch = await pipeline.RunBatchAsync(s.Inputs);
            Assert.All(batch.Items, i => Assert.Equal(RunReason.Forced, i.Reason!.Reason));
            Assert.All(batch.Items, i => Assert.Equal("hit", i.Cache["output"])); // written again, from the output entries
        }

        using var plain = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { KeepOutputTensors = false, MaxParallelism = 2 });
        Assert.All(plain.CheckUpToDate(s.Inputs), d => Assert.True(d.IsUpToDate, d.ToString()));
    }

    [Fact]
    public void The_first_part_that_changed_is_the_reason()
    {
        var last = new RunRecord("1.0.0", "content", "model", "labels", "pre", "inf", "post", "out", "key", "");
        UpToDateDecision Decide(RunRecord current) => UpToDateCheck.Decide("a.png", current, last, null);
        Assert.Equal(RunReason.ToolVersionChanged, Decide(last with { Tool = "2.0.0", Content = "other" }).Reason);
        Assert.Equal("the tool version changed (1.0.0 -> 2.0.0)", Decide(last with { Tool = "2.0.0" }).Detail);
        Assert.Equal(RunReason.ContentChanged, Decide(last with { Content = "other", Model = "other" }).Reason);
        Assert.Equal(RunReason.InferenceChanged, Decide(last with { Inference = "other", Postprocessing = "other" }).Reason);
        Assert.Equal(RunReason.OutputChanged, Decide(last with { OutputKey = "other" }).Reason);
        Assert.Equal(RunReason.PreviousRunFailed, UpToDateCheck.Decide("a.png", last, last with { Failure = "IFIO2001" }, null).Reason);
        Assert.Equal(RunReason.OutputMissingOrChanged, UpToDateCheck.Decide("a.png", last, last, "output a.png is missing").Reason);
        Assert.Equal(RunReason.NewInput, UpToDateCheck.Decide("a.png", last, null, null).Reason);
        // Read back from the index (untrusted): exactly its fields, each bounded.
        Assert.Equal(last, RunRecord.TryParse(last.Fields()));
        Assert.Null(RunRecord.TryParse(last.Fields()[..9]));
        Assert.Null(RunRecord.TryParse([.. last.Fields()[..9], new string('x', 500)]));
    }
}
