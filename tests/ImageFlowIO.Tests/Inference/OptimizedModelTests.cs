using ImageFlowIO.Inference;
using ImageFlowIO.Tests.Caching;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Inference;

/// <summary>
/// The graph ONNX Runtime optimised is kept beside the disk cache's model signatures; a later process (here: after the
/// process-wide sessions are retired) loads it instead of optimising again, with byte-identical outputs. The file is
/// untrusted: one that does not load falls back to the original model and is written again.
/// </summary>
public sealed class OptimizedModelTests
{
    private const string Kept = "optimised model";

    // conv3: ORT_ENABLE_ALL rewrites its convolutions (fusions, NCHWc layout), so a wrongly loaded graph would show.
    private static CacheScenario Scenario()
    {
        var s = new CacheScenario("conv3_nchw.onnx");
        s.WriteConfig(resize: "[40, 32]");
        return s;
    }

    private static string[] OptimizedFiles(CacheScenario s) =>
        Directory.Exists(Path.Combine(s.CacheDir, "models")) ? Directory.GetFiles(Path.Combine(s.CacheDir, "models"), "*.optimized.onnx") : [];

    /// <summary>A new process's view: no session in memory, no cached outputs, only the models folder of the disk cache.</summary>
    private static void ForgetAllButModels(CacheScenario s)
    {
        SessionCache.Clear();
        foreach (var file in Directory.GetFiles(s.CacheDir)) File.Delete(file);
    }

    [Fact]
    public async Task A_later_session_loads_the_kept_optimised_model_and_gives_identical_outputs()
    {
        using var s = Scenario();
        var reference = await s.RunAsync(s.Dir.Combine("ref"), ImageFlowIO.Config.CacheMode.None);
        SessionCache.Clear(); // that session came from the original model, with nothing kept
        var first = await s.RunAsync(s.Dir.Combine("first"));
        var file = Assert.Single(OptimizedFiles(s));
        Assert.Equal(1, first.Log.Count(Kept + " " + Path.GetFileName(file) + " kept"));

        ForgetAllButModels(s);
        var second = await s.RunAsync(s.Dir.Combine("second"));
        Assert.Equal(4, second.InferenceRuns);
        Assert.Equal(1, second.Log.Count("session from " + Kept));
        Assert.Equal(0, second.Log.Count(" kept"));
        foreach (var (name, bytes) in reference.Files)
        {
            Assert.Equal(bytes, first.Files[name]);
            Assert.Equal(bytes, second.Files[name]);
        }
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    public async Task A_kept_optimised_model_that_does_not_load_falls_back_to_the_original_and_is_written_again(string damage)
    {
        using var s = Scenario();
        var first = await s.RunAsync(s.Dir.Combine("first"));
        var file = Assert.Single(OptimizedFiles(s));
        var good = File.ReadAllBytes(file);
        File.WriteAllBytes(file, damage == "garbage" ? "not an onnx model"u8.ToArray() : good[..(good.Length / 2)]);

        ForgetAllButModels(s);
        var second = await s.RunAsync(s.Dir.Combine("second"));
        Assert.Equal(1, second.Log.Count("does not load"));
        Assert.Equal(1, second.Log.Count(" kept"));
        Assert.Equal(good, File.ReadAllBytes(file));
        foreach (var (name, bytes) in first.Files) Assert.Equal(bytes, second.Files[name]);

        ForgetAllButModels(s);
        var third = await s.RunAsync(s.Dir.Combine("third"));
        Assert.Equal(1, third.Log.Count("session from " + Kept));
        Assert.Empty(Directory.GetFiles(Path.Combine(s.CacheDir, "models"), "*.tmp"));
    }

    [Fact]
    public async Task Without_a_disk_cache_no_optimised_model_is_kept()
    {
        using var s = Scenario();
        await s.RunAsync(s.Dir.Combine("out"), ImageFlowIO.Config.CacheMode.None);
        Assert.Empty(OptimizedFiles(s));
    }
}
