using ImageFlowIO.Tests.Caching;

namespace ImageFlowIO.Build.Tests;

/// <summary>Two "machines" (two copies of a consumer project, separate obj/ and local caches) sharing one nginx remote cache.</summary>
[Collection(PackageFeedCollection.Name)]
public sealed class RemoteCacheBuildTests(PackageFeedFixture feed)
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

    private ConsumerProject Machine(string name)
    {
        var p = new ConsumerProject(feed, name);
        p.Copy(TestData("models", "invert_nchw.onnx"), "models/model.onnx");
        p.WriteConfig(Config);
        p.Copy(TestData("images", "photo_64x48.png"), "assets/a.png");
        p.Copy(TestData("images", "gradient_33x17.png"), "assets/sub/b.png");
        p.Copy(TestData("images", "solid_red_32x32.png"), "assets/c.png");
        return p;
    }

    [Fact]
    public void A_second_machine_builds_every_asset_from_the_remote_with_no_inference_and_identical_outputs()
    {
        using var nginx = new RemoteNginxServer();
        var a = Machine("RemoteMachineA");
        var b = Machine("RemoteMachineB");

        // Basic auth in the URL's user info: sent to the server, never printed by us in the build log or summary.json
        // (at detailed verbosity MSBuild itself echoes its command line and task parameters: docs/remote-cache.md says to
        // keep credentials in the environment).
        var first = a.Build($"-p:ImageFlowRemoteCache=http://ci-writer:pw-Zq81x@127.0.0.1:{nginx.Port}/", "-v:d");
        Assert.True(first.ExitCode == 0, first.ToString());
        var ours = first.Output.Split('\n').Where(l => !l.Contains("Task Parameter:", StringComparison.Ordinal) && !l.Contains("Command line arguments =", StringComparison.Ordinal)).ToList();
        var leaks = ours.Where(l => l.Contains("pw-Zq81x", StringComparison.Ordinal)).ToList();
        Assert.True(leaks.Count == 0, string.Join("\n", leaks));
        Assert.Contains(ours, l => l.Contains($"remote http://127.0.0.1:{nginx.Port}/", StringComparison.Ordinal));
        Assert.DoesNotContain("pw-Zq81x", File.ReadAllText(a.Obj("summary.json")));
        Assert.Contains(" ci-writer ", File.ReadAllText(nginx.AccessLog));
        Assert.True(first.Summary == (3, 3, 0, 0), first.ToString());
        Assert.Matches(@"; remote: 0 hits, 6 misses, 6 writes, 0 bytes downloaded, [1-9]\d* bytes uploaded", first.Output);
        Assert.Equal(6, nginx.Manifests.Length);

        var second = b.Build($"-p:ImageFlowRemoteCache={nginx.Url}", "-p:ImageFlowRemoteCacheReadOnly=true");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.True(second.Summary == (3, 3, 3, 0), second.ToString());
        Assert.Matches(@"; remote: 3 hits, 0 misses, 0 writes, [1-9]\d* bytes downloaded, 0 bytes uploaded", second.Output);
        Assert.Equal(3, b.Summary().GetProperty("cache").GetProperty("remote").GetProperty("hits").GetInt32());
        foreach (var output in new[] { "assets/a.out.png", "assets/sub/b.out.png", "assets/c.out.png" })
        {
            Assert.Equal(File.ReadAllBytes(a.Obj(output)), File.ReadAllBytes(b.Obj(output)));
            Assert.Equal(File.ReadAllBytes(a.Obj(output)), File.ReadAllBytes(b.Bin(output)));
        }

        // A shard that is not k/n is one located build error with its code.
        var badShard = b.Build($"-p:ImageFlowRemoteCache={nginx.Url}", "-p:ImageFlowShard=3/2");
        Assert.NotEqual(0, badShard.ExitCode);
        Assert.Contains("error IFIO5004: ImageFlowShard: the shard '3/2' is not k/n", badShard.Output);
    }
}
