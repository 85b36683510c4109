using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// <c>ImageFlowBuildServer=true</c> with the packed package and real <c>dotnet build</c>s (each a fresh MSBuild process,
/// <c>-nodeReuse:false</c>): the first build starts the server, later builds reuse the same process, the outputs are the
/// bytes the in-process task writes, an asset's error reaches the build log with its code and file, the build does not
/// wait for the server (its console is not the build's), and the server exits when asked or when idle.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed partial class BuildServerTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    private const string Config = """
        {
          "model": { "path": "models/conv3.onnx" },
          "execution": { "backend": "onnx" },
          "preprocessing": { "resize": { "apply": true, "imageSize": [96, 80], "keepAspectRatio": false, "kernel": "cubic" } },
          "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
          "output": { "save": { "apply": true, "format": "png" }, "saveRaw": { "apply": true, "format": "npy", "dtype": "float32" } }
        }
        """;

    private ConsumerProject Project(string name)
    {
        var p = new ConsumerProject(feed, name, assetsInclude: "assets/*.*");
        p.Copy(TestData("models", "conv3_nchw.onnx"), "models/conv3.onnx");
        p.WriteConfig(Config);
        p.Copy(TestData("images", "photo_160x120.jpg"), "assets/a.jpg");
        p.Copy(TestData("images", "photo_160x120.png"), "assets/b.png");
        p.Copy(TestData("images", "photo_64x48.png"), "assets/c.png");
        return p;
    }

    [Fact]
    public void Builds_reuse_one_warm_server_and_write_the_in_process_bytes()
    {
        var inProcess = Project("ServerReference");
        inProcess.Copy(TestData("images", "gradient_33x17.png"), "assets/e.png");
        var reference = inProcess.Build();
        Assert.True(reference.Summary == (4, 4, 0, 0), reference.ToString());
        Assert.DoesNotContain("build server", reference.Output);

        var p = Project("ServerBuilds");
        string[] server = ["-p:ImageFlowBuildServer=true", "-p:ImageFlowBuildServerIdleTimeout=120", "-v:d"];
        int? pid = null;
        try
        {
            var first = p.Build(server);
            Assert.True(first.ExitCode == 0 && first.Summary == (3, 3, 0, 0), first.ToString());
            pid = ServerPid(first, "started by this build");
            // The build returned while the server lives on: it did not hold the build's console open.
            Assert.False(Process.GetProcessById(pid.Value).HasExited);
            AssertSameOutputs(inProcess, p);

            // An edit (content no cache has seen): the next build, a new MSBuild process, reaches the same server.
            File.SetLastWriteTimeUtc(p.Copy(TestData("images", "gradient_33x17.png"), "assets/c.png"), DateTime.UtcNow); // as an editor saves it
            var edit = p.Build(server);
            Assert.True(edit.ExitCode == 0 && edit.Summary == (3, 1, 0, 0), edit.ToString());
            Assert.Equal(pid, ServerPid(edit, "already running"));
            Assert.Contains("ImageFlowIO: time (ms since the task started)", edit.Output); // the server task's -v:d lines reach the log
            Assert.Equal(File.ReadAllBytes(inProcess.Obj("assets/e.png")), File.ReadAllBytes(p.Obj("assets/c.png")));
            Assert.Equal(File.ReadAllBytes(inProcess.Obj("assets/e.npy")), File.ReadAllBytes(p.Obj("assets/c.npy")));

            // A broken asset: its coded error, with its file, in this build's log; the others are still processed.
            File.WriteAllBytes(p.File_("assets/d.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
            var broken = p.Build(server);
            Assert.NotEqual(0, broken.ExitCode);
            Assert.Matches(@"assets/d\.png.*error IFIO\d{4}", broken.Output);
            Assert.True(broken.Summary == (4, 0, 0, 1), broken.ToString());
            Assert.Equal(pid, ServerPid(broken, "already running"));
            Assert.True(File.Exists(p.Obj("assets/a.png")) && !File.Exists(p.Obj("assets/d.png")));

            // dotnet build -t:ImageFlowBuildServerShutdown stops it; a second call finds none.
            var shutdown = p.Build("-t:ImageFlowBuildServerShutdown");
            Assert.Contains($"ImageFlowIO: the build server (pid {pid}) is shutting down", shutdown.Output);
            Assert.True(WaitForExit(pid.Value, TimeSpan.FromSeconds(30)), "the server did not exit after the shutdown request");
            pid = null;
            Assert.Contains("ImageFlowIO: no build server was running", p.Build("-t:ImageFlowBuildServerShutdown").Output);
        }
        finally
        {
            Stop(pid);
        }
    }

    [Fact]
    public void A_killed_server_is_replaced_and_an_idle_one_exits()
    {
        var p = Project("ServerIdle");
        int? killed = null, idle = null;
        try
        {
            var first = p.Build("-p:ImageFlowBuildServer=true", "-p:ImageFlowBuildServerIdleTimeout=120", "-v:d");
            killed = ServerPid(first, "started by this build");
            Stop(killed); // SIGKILL: its socket file stays behind

            File.Delete(p.File_("assets/c.png"));
            p.Copy(TestData("images", "rgba_64x48.png"), "assets/e.png");
            var next = p.Build("-p:ImageFlowBuildServer=true", "-p:ImageFlowBuildServerIdleTimeout=2", "-v:d");
            Assert.True(next.ExitCode == 0 && next.Summary == (3, 1, 0, 0), next.ToString());
            idle = ServerPid(next, "started by this build");
            Assert.NotEqual(killed, idle);
            Assert.True(WaitForExit(idle.Value, TimeSpan.FromSeconds(30)), "the server did not exit after 2 s idle");
            idle = null;
        }
        finally
        {
            Stop(idle);
        }
    }

    [Fact]
    public async Task Two_builds_starting_at_once_share_one_server()
    {
        // As MSBuild -m builds two asset projects of a solution in parallel nodes: both find no server and start one.
        ConsumerProject[] projects = [Project("ServerRaceA"), Project("ServerRaceB")];
        foreach (var p in projects) Assert.Equal(0, p.Run("restore").ExitCode);
        var pids = new List<int>();
        try
        {
            var builds = await Task.WhenAll(projects.Select(p => Task.Run(() => p.Build("-p:ImageFlowBuildServer=true", "-p:ImageFlowBuildServerIdleTimeout=120", "-v:d"))));
            foreach (var build in builds)
            {
                Assert.True(build.ExitCode == 0 && build.Summary == (3, 3, 0, 0), build.ToString());
                Assert.DoesNotContain("the build server is not available", build.Output);
                pids.Add(int.Parse(ServerLine().Match(build.Output).Groups[1].Value));
            }
            Assert.Equal(pids[0], pids[1]);
            AssertSameOutputs(projects[0], projects[1]);
        }
        finally
        {
            foreach (var pid in pids.Distinct()) Stop(pid);
        }
    }

    private static int ServerPid(BuildLog log, string how)
    {
        var m = ServerLine().Match(log.Output);
        Assert.True(m.Success, "no build-server line:\n" + log);
        Assert.Equal(how, m.Groups[2].Value);
        return int.Parse(m.Groups[1].Value);
    }

    private static void AssertSameOutputs(ConsumerProject expected, ConsumerProject actual)
    {
        foreach (var name in new[] { "a.png", "b.png", "c.png", "a.npy", "b.npy", "c.npy" })
            Assert.True(File.ReadAllBytes(expected.Obj("assets/" + name)).AsSpan().SequenceEqual(File.ReadAllBytes(actual.Obj("assets/" + name))), name + " differs from the in-process build's");
    }

    private static bool WaitForExit(int pid, TimeSpan timeout)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.WaitForExit(timeout);
        }
        catch (ArgumentException) { return true; } // already gone
    }

    private static void Stop(int? pid)
    {
        if (pid is null) return;
        try
        {
            using var process = Process.GetProcessById(pid.Value);
            process.Kill();
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (ArgumentException) { } // already gone
        catch (InvalidOperationException) { }
    }

    [GeneratedRegex(@"ImageFlowIO: the build server \(pid (\d+), (started by this build|already running)\) ran the task")]
    private static partial Regex ServerLine();
}
