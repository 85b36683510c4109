namespace ImageFlowIO.Build.Tests;

/// <summary><c>ImageFlowShard=auto</c> in a real build: k/n from the CI's variables (GitLab's here); two shards cover every asset once.</summary>
[Collection(PackageFeedCollection.Name)]
public sealed class ShardAutoBuildTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    private const string Config = """
        {
          "model": { "path": "models/model.onnx" },
          "execution": { "backend": "onnx" },
          "preprocessing": { "format": { "dataType": "float32", "channels": 3, "channelOrder": "rgb" } },
          "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
          "output": { "save": { "apply": true, "path": "out", "format": "png", "filename": "{name}.out.png" } }
        }
        """;

    private static ConsumerProject Consumer(PackageFeedFixture feed, string name)
    {
        var p = new ConsumerProject(feed, name);
        p.Copy(TestData("models", "invert_nchw.onnx"), "models/model.onnx");
        p.WriteConfig(Config);
        for (var i = 0; i < 6; i++) p.Copy(TestData("images", i % 2 == 0 ? "photo_64x48.png" : "gradient_33x17.png"), $"assets/img{i}.png");
        return p;
    }

    private static HashSet<string> Outputs(ConsumerProject p) =>
        Directory.Exists(p.Obj("assets")) ? Directory.GetFiles(p.Obj("assets"), "*.out.png").Select(f => Path.GetFileName(f)).ToHashSet() : [];

    [Fact]
    public void Two_builds_with_GitLabs_parallel_variables_process_every_asset_exactly_once()
    {
        var one = Consumer(feed, "ShardAutoOne");
        var two = Consumer(feed, "ShardAutoTwo");
        var first = one.BuildWith(new Dictionary<string, string> { ["CI_NODE_INDEX"] = "1", ["CI_NODE_TOTAL"] = "2" }, "-p:ImageFlowShard=auto");
        var second = two.BuildWith(new Dictionary<string, string> { ["CI_NODE_INDEX"] = "2", ["CI_NODE_TOTAL"] = "2" }, "-p:ImageFlowShard=auto");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("ImageFlowIO: shard auto: 1/2 from CI_NODE_INDEX=1, CI_NODE_TOTAL=2 (GitLab)", first.Output);
        Assert.Contains("ImageFlowIO: shard auto: 2/2 from CI_NODE_INDEX=2, CI_NODE_TOTAL=2 (GitLab)", second.Output);
        var a = Outputs(one);
        var b = Outputs(two);
        Assert.NotEmpty(a);
        Assert.NotEmpty(b);
        Assert.Empty(a.Intersect(b));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"img{i}.out.png").Order(), a.Union(b).Order());

        // Half a pair is one located build error with its code; nothing is processed.
        var bad = one.BuildWith(new Dictionary<string, string> { ["CIRCLE_NODE_INDEX"] = "1" }, "-p:ImageFlowShard=auto");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("error IFIO5004: ImageFlowShard: auto found CIRCLE_NODE_INDEX=1, CIRCLE_NODE_TOTAL=(unset) (CircleCI): set both, or neither", bad.Output);
    }
}
