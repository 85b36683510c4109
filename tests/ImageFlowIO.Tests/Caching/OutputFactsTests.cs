using System.Text.Json.Nodes;
using ImageFlowIO.Caching;
using ImageFlowIO.Inference;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Caching;

/// <summary>
/// Output-stage entries carry their facts (output shape, channel statistics, top-k, saved image size): a run served
/// from them gives the results and writeMeta files a computed run gives, reading no inference entry and opening no
/// model session. Entries without facts are never trusted as such.
/// </summary>
public sealed class OutputFactsTests
{
    private static CacheScenario Classifier()
    {
        var s = new CacheScenario("classifier_nchw.onnx");
        s.Dir.Copy(TestPaths.Model("classifier_labels.txt"), "labels.txt");
        File.WriteAllText(s.ConfigPath, File.ReadAllText(s.ConfigPath)
            .Replace("\"path\": \"model.onnx\"", "\"path\": \"model.onnx\", \"labels\": \"labels.txt\"", StringComparison.Ordinal)
            .Replace("\"output\": {", "\"output\": { \"writeMeta\": { \"apply\": true },", StringComparison.Ordinal)
            .Replace("\"postprocessing\": {", "\"postprocessing\": { \"activation\": { \"apply\": true, \"type\": \"softmax\" },", StringComparison.Ordinal));
        return s;
    }

    private static CacheScenario Images()
    {
        var s = new CacheScenario();
        File.WriteAllText(s.ConfigPath, File.ReadAllText(s.ConfigPath)
            .Replace("\"output\": {", "\"output\": { \"writeMeta\": { \"apply\": true, \"jsonPath\": \"out/meta.json\" }, \"saveRaw\": { \"apply\": true, \"format\": \"npy\" },", StringComparison.Ordinal)
            .Replace("\"postprocessing\": {", "\"postprocessing\": { \"resizeTo\": [40, 30],", StringComparison.Ordinal));
        return s;
    }

    /// <summary>A host that keeps no tensors (CLI, task), each run in its own pipeline and cache (as a new process).</summary>
    private static async Task<(BatchResult Batch, ListLoggerProvider Log, bool SessionCreated)> RunAsync(CacheScenario s, string outDir)
    {
        var log = new ListLoggerProvider();
        using var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { LoggerFactory = log, OutputDirectory = outDir, KeepOutputTensors = false, MaxParallelism = 2 });
        var batch = await pipeline.RunBatchAsync(s.Inputs);
        Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
        return (batch, log, ((OnnxBackend)pipeline.Backend).IsSessionCreated);
    }

    /// <summary>A meta document without what differs between runs by design (timings, cache layers) and with paths relative to its run's folder.</summary>
    private static string Portable(string metaFile, string outDir)
    {
        var node = JsonNode.Parse(File.ReadAllText(metaFile))!;
        foreach (var obj in node is JsonArray array ? array.Select(n => n!.AsObject()) : [node.AsObject()])
        {
            obj.Remove("timingsMs");
            obj.Remove("cache");
            obj["outputs"] = new JsonArray([.. obj["outputs"]!.AsArray().Select(o => JsonValue.Create(Path.GetRelativePath(outDir, (string)o!)))]);
        }
        return node.ToJsonString();
    }

    private static void AssertSameFacts(PipelineResult expected, PipelineResult actual)
    {
        Assert.Equal(expected.OutputShape, actual.OutputShape);
        Assert.Equal(expected.OutputStatistics, actual.OutputStatistics);
        Assert.Equal(expected.TopK, actual.TopK);
        Assert.Equal((expected.SavedImageWidth, expected.SavedImageHeight), (actual.SavedImageWidth, actual.SavedImageHeight));
        Assert.Equal((expected.SourceWidth, expected.SourceHeight), (actual.SourceWidth, actual.SourceHeight));
    }

    [Theory]
    [InlineData("classifier")]
    [InlineData("images")]
    public async Task A_run_served_by_output_entries_reports_every_fact_with_no_inference_entry_and_no_session(string kind)
    {
        using var s = kind == "classifier" ? Classifier() : Images();
        var cold = await RunAsync(s, s.Dir.Combine("a"));
        Assert.True(cold.SessionCreated);
        if (kind == "classifier") Assert.All(cold.Batch.Items, i => Assert.Equal(5, i.TopK.Count));
        else Assert.All(cold.Batch.Items, i => Assert.Equal((40, 30), (i.SavedImageWidth, i.SavedImageHeight)));

        // Another output folder: no up-to-date record there, so every input is served by its output entry.
        var served = await RunAsync(s, s.Dir.Combine("b"));
        Assert.False(served.SessionCreated);
        Assert.All(served.Batch.Items, i => Assert.Equal("hit", i.Cache["output"]));
        Assert.Equal(0, served.Log.Count("(inference)"));
        for (var i = 0; i < cold.Batch.Items.Count; i++) AssertSameFacts(cold.Batch.Items[i], served.Batch.Items[i]);
        var metas = Directory.GetFiles(s.Dir.Combine("a"), "*.json").Select(Path.GetFileName).Order().ToList();
        Assert.NotEmpty(metas);
        Assert.Equal(metas, Directory.GetFiles(s.Dir.Combine("b"), "*.json").Select(Path.GetFileName).Order());
        foreach (var meta in metas) Assert.Equal(Portable(s.Dir.Combine("a", meta!), s.Dir.Combine("a")), Portable(s.Dir.Combine("b", meta!), s.Dir.Combine("b")));

        // Up to date in its own folder: the index record carries the same facts.
        var upToDate = await RunAsync(s, s.Dir.Combine("b"));
        Assert.False(upToDate.SessionCreated);
        Assert.All(upToDate.Batch.Items, i => Assert.Equal("up-to-date", i.Cache["output"]));
        for (var i = 0; i < cold.Batch.Items.Count; i++) AssertSameFacts(cold.Batch.Items[i], upToDate.Batch.Items[i]);
        foreach (var meta in metas) Assert.Equal(Portable(s.Dir.Combine("a", meta!), s.Dir.Combine("a")), Portable(s.Dir.Combine("b", meta!), s.Dir.Combine("b")));
    }

    [Fact]
    public async Task An_output_entry_without_facts_is_not_used_and_the_outputs_are_computed_again()
    {
        using var s = Classifier();
        var cold = await RunAsync(s, s.Dir.Combine("a"));
        // Entries as a version without facts (or a tamperer) would leave them under today's keys.
        var stripped = 0;
        foreach (var file in s.EntryFiles(".json"))
        {
            var node = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            var info = node.ContainsKey("facts") ? node : node.Select(p => p.Value).OfType<JsonObject>().FirstOrDefault(o => o.ContainsKey("facts"));
            if (info is null) continue;
            info.Remove("facts");
            File.WriteAllText(file, node.ToJsonString());
            stripped++;
        }
        Assert.Equal(4, stripped);

        var again = await RunAsync(s, s.Dir.Combine("b"));
        Assert.All(again.Batch.Items, i => Assert.NotEqual("hit", i.Cache["output"]));
        for (var i = 0; i < cold.Batch.Items.Count; i++) AssertSameFacts(cold.Batch.Items[i], again.Batch.Items[i]);
    }
    [Fact]
    public void Facts_read_back_in_one_pass_as_written_and_anything_malformed_is_a_format_error()
    {
        var facts = new OutputFacts([1, 3, 8, 8], [new(0f, 1.5f, 0.25f), new(float.NaN, float.PositiveInfinity, float.NegativeInfinity)],
            [("cat", 0.75f), ("dög \"x\"", 1e-20f)], 640, 480);
        var json = facts.ToJson();
        var back = OutputFacts.FromJson(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal([1, 3, 8, 8], back.OutputShape);
        Assert.True(float.IsNaN(back.Channels[1].Min) && float.IsPositiveInfinity(back.Channels[1].Max) && float.IsNegativeInfinity(back.Channels[1].Mean));
        Assert.Equal(("dög \"x\"", 1e-20f), back.TopK[1]);
        // Properties in another order and one it does not know are read alike (the document reader's rules).
        var reordered = """{"savedHeight":480,"x":{"y":[1,{"z":2}]},"topK":[["cat",0.75]],"channels":[],"outputShape":[2],"savedWidth":640}""";
        Assert.Equal((640, 480, 1), (OutputFacts.FromJson(reordered).SavedWidth, OutputFacts.FromJson(reordered).SavedHeight, OutputFacts.FromJson(reordered).TopK.Count));

        string[] malformed =
        [
            "", "[]", "{", """{"outputShape":[2],"channels":[],"topK":[],"savedWidth":1}""", // cut off, not an object, a fact missing
            """{"outputShape":[],"channels":[],"topK":[],"savedWidth":1,"savedHeight":1}""", // no dimensions
            """{"outputShape":[1,2,3,4,5,6,7,8,9],"channels":[],"topK":[],"savedWidth":1,"savedHeight":1}""", // rank above 8
            """{"outputShape":[0],"channels":[],"topK":[],"savedWidth":1,"savedHeight":1}""",
            """{"outputShape":[1.5],"channels":[],"topK":[],"savedWidth":1,"savedHeight":1}""",
            """{"outputShape":[2],"channels":[[1,2]],"topK":[],"savedWidth":1,"savedHeight":1}""", // two statistics, not three
            """{"outputShape":[2],"channels":[[1,2,"big"]],"topK":[],"savedWidth":1,"savedHeight":1}""",
            """{"outputShape":[2],"channels":[],"topK":[[3,0.5]],"savedWidth":1,"savedHeight":1}""", // a label that is not a string
            """{"outputShape":[2],"channels":[],"topK":[],"savedWidth":-1,"savedHeight":1}""",
            """{"outputShape":[2],"channels":[],"topK":[],"savedWidth":1,"savedHeight":1} {}""", // something after it
            """{"outputShape":[2],"channels":[],"topK":[],"savedWidth":1,"savedHeight":1,"deep":[[[[[[[[[1]]]]]]]]]}""",
            "{\"outputShape\":[2],\"channels\":[" + string.Join(",", Enumerable.Repeat("[0,0,0]", 4097)) + "],\"topK\":[],\"savedWidth\":1,\"savedHeight\":1}",
        ];
        foreach (var text in malformed)
        {
            var ex = Record.Exception(() => OutputFacts.FromJson(text));
            Assert.True(ex is FormatException or KeyNotFoundException, $"{text[..Math.Min(80, text.Length)]}: {ex?.GetType().Name ?? "read"}");
        }
    }
}
