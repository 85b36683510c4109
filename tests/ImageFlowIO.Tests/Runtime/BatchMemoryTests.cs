using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Runtime;

public class BatchMemoryTests
{
    [Fact]
    public async Task Hosts_that_only_need_files_do_not_keep_output_tensors()
    {
        using var dir = new TempDir();
        var config = dir.Write("imageflow.json", $$"""
            { "model": { "path": "{{TestPaths.Model("invert_nchw.onnx")}}" },
              "output": { "save": { "apply": true, "path": "out" }, "writeMeta": { "apply": true, "jsonPath": "out/meta.json" } } }
            """);
        var inputs = new[] { "photo_64x48.png", "gradient_33x17.png" }.Select(f => new InputItem(TestPaths.Image(f))).ToList();

        using var keeping = Pipeline.FromConfig(config);
        var kept = await keeping.RunBatchAsync(inputs);
        Assert.All(kept.Items, i => Assert.NotNull(i.Output));

        using var lean = Pipeline.FromConfig(config, new PipelineOptions { KeepOutputTensors = false });
        var batch = await lean.RunBatchAsync(inputs);
        Assert.All(batch.Items, i => Assert.Null(i.Output));
        Assert.Equal([1, 3, 48, 64], batch.Items[0].OutputShape);
        Assert.Equal([1, 3, 17, 33], batch.Items[1].OutputShape);
        Assert.True(File.Exists(dir.Combine("out", "photo_64x48.png")));
        using var meta = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.Combine("out", "meta.json")));
        Assert.Equal(33, meta.RootElement[1].GetProperty("outputShape")[3].GetInt32());
    }
}
