using ImageFlowIO.Cli;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Cli;

/// <summary><c>--shard auto</c>: k/n from each CI's own parallelism variables; two shards cover every input exactly once.</summary>
public sealed class ShardAutoTests : IDisposable
{
    private const int Inputs = 12;
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string Config()
    {
        _dir.Copy(TestPaths.Model("invert_nchw.onnx"), "model.onnx");
        for (var i = 0; i < Inputs; i++) _dir.Copy(TestPaths.Image("photo_64x48.png"), Path.Combine("in", $"img{i:00}.png"));
        return _dir.Write("imageflow.json", """
            { "model": { "path": "model.onnx" }, "input": { "source": "in" },
              "preprocessing": { "resize": { "apply": true, "imageSize": [16, 12] } },
              "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
              "execution": { "useCaching": "none" },
              "output": { "save": { "apply": true, "path": "out", "format": "png", "filename": "{name}.png" } } }
            """);
    }

    private async Task<(int Exit, string Stdout, string Stderr, HashSet<string> Outputs)> RunAsync(string config, string outDir, Dictionary<string, string> environment, params string[] extra)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await ImageFlowCli.RunAsync(["--config", config, "-o", _dir.Combine(outDir), "--no-progress", "--shard", "auto", .. extra], stdout, stderr,
            name => environment.GetValueOrDefault(name));
        var folder = _dir.Combine(outDir);
        var outputs = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.png").Select(Path.GetFileName).Select(n => n!).ToHashSet() : [];
        return (exit, stdout.ToString(), stderr.ToString(), outputs);
    }

    public static TheoryData<string, string, string, string, string, string> EachCi => new()
    {
        // system, index variable, total variable, first index, second index, total
        { "GitLab", "CI_NODE_INDEX", "CI_NODE_TOTAL", "1", "2", "2" },
        { "Azure Pipelines", "SYSTEM_JOBPOSITIONINPHASE", "SYSTEM_TOTALJOBSINPHASE", "1", "2", "2" },
        { "CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", "0", "1", "2" },
        { "Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", "0", "1", "2" },
        { "Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", "IMAGEFLOWIO_SHARD_COUNT", "0", "1", "2" },
    };

    [Theory]
    [MemberData(nameof(EachCi))]
    public async Task Two_shards_from_the_CIs_variables_cover_every_input_exactly_once(string system, string indexVariable, string totalVariable, string first, string second, string total)
    {
        var config = Config();
        var one = await RunAsync(config, "out1", new() { [indexVariable] = first, [totalVariable] = total });
        var two = await RunAsync(config, "out2", new() { [indexVariable] = second, [totalVariable] = total });
        Assert.True(one.Exit == 0 && two.Exit == 0, one.Stderr + two.Stderr);
        Assert.Contains($"info: shard auto: 1/2 from {indexVariable}={first}, {totalVariable}={total} ({system})", one.Stderr);
        Assert.Contains($"info: shard auto: 2/2 from {indexVariable}={second}, {totalVariable}={total} ({system})", two.Stderr);
        Assert.Empty(one.Outputs.Intersect(two.Outputs));
        Assert.Equal(Enumerable.Range(0, Inputs).Select(i => $"img{i:00}.png"), one.Outputs.Union(two.Outputs).Order());
        Assert.NotEmpty(one.Outputs);
        Assert.NotEmpty(two.Outputs);
        // The same split as the explicit k/n (the same stable hash): a fleet may mix both.
        var explicitOne = await ImageFlowCli.RunAsync(["--config", config, "-o", _dir.Combine("explicit1"), "--no-progress", "--shard", "1/2"], new StringWriter(), new StringWriter());
        Assert.Equal(0, explicitOne);
        Assert.Equal(one.Outputs.Order(), Directory.GetFiles(_dir.Combine("explicit1"), "*.png").Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task No_CI_variables_runs_every_input_and_says_so()
    {
        var config = Config();
        var r = await RunAsync(config, "out", new() { ["CI_NODE_TOTAL"] = "1" }); // GitLab's job without parallel: is one whole run
        Assert.Equal(0, r.Exit);
        Assert.Equal(Inputs, r.Outputs.Count);
        Assert.Contains("info: shard auto: 1/1 from CI_NODE_INDEX=(unset), CI_NODE_TOTAL=1 (GitLab)", r.Stderr);
        var none = await RunAsync(config, "out0", []);
        Assert.Equal(0, none.Exit);
        Assert.Equal(Inputs, none.Outputs.Count);
        Assert.Contains("info: shard auto: no CI parallelism variables are set", none.Stderr);
    }

    [Theory]
    [InlineData("CI_NODE_INDEX=2", "set both, or neither")]
    [InlineData("CI_NODE_INDEX=3,CI_NODE_TOTAL=2", "the index must be 1 to 2")]
    [InlineData("CIRCLE_NODE_INDEX=2,CIRCLE_NODE_TOTAL=2", "the index must be 0 to 1")]
    [InlineData("JOB_COMPLETION_INDEX=1", "set both, or neither")]
    [InlineData("BUILDKITE_PARALLEL_JOB=x,BUILDKITE_PARALLEL_JOB_COUNT=2", "both must be whole numbers")]
    [InlineData("SYSTEM_TOTALJOBSINPHASE=0,SYSTEM_JOBPOSITIONINPHASE=1", "both must be whole numbers, the total at least 1")]
    [InlineData("CI_NODE_INDEX=1,CI_NODE_TOTAL=2,CIRCLE_NODE_INDEX=1,CIRCLE_NODE_TOTAL=2", "more than one CI that disagree")]
    public async Task Inconsistent_CI_variables_are_a_usage_error_that_writes_nothing(string variables, string message)
    {
        var config = Config();
        var environment = variables.Split(',').Select(v => v.Split('=')).ToDictionary(p => p[0], p => p[1]);
        var r = await RunAsync(config, "out", environment);
        Assert.Equal(2, r.Exit);
        Assert.Contains("error: --shard: auto found ", r.Stderr);
        Assert.Contains(message, r.Stderr);
        Assert.Empty(r.Outputs);
    }

    [Fact]
    public void Agreeing_variables_of_two_CIs_are_one_shard()
    {
        var environment = new Dictionary<string, string> { ["CI_NODE_INDEX"] = "2", ["CI_NODE_TOTAL"] = "3", ["CIRCLE_NODE_INDEX"] = "1", ["CIRCLE_NODE_TOTAL"] = "3" };
        Assert.True(InputShard.TryResolve("auto", n => environment.GetValueOrDefault(n), out var shard, out var source, out _));
        Assert.Equal(new InputShard(2, 3), shard);
        Assert.Contains("(GitLab); CIRCLE_NODE_INDEX=1", source);
    }
}
