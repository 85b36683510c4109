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

    private ConsumerProject Project(string name, string extraItems = "")
    {
        var p = new ConsumerProject(feed, name, assetsInclude: "assets/*.*", extraItems: extraItems);
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
            // Handed over as CoreBuild started, collected by the ImageFlow target.
            Assert.Contains("ImageFlowIO: the assets' work goes to the build server now", first.Output);
            Assert.Contains($"ImageFlowIO: the build server (pid {pid}, started by this build) ran the work this build handed over early", first.Output);
            // The build returned while the server lives on: it did not hold the build's console open.
            Assert.False(Process.GetProcessById(pid.Value).HasExited);
            AssertSameOutputs(inProcess, p);

            // An edit (content no cache has seen): the next build, a new MSBuild process, reaches the same server.
            File.SetLastWriteTimeUtc(p.Copy(TestData("images", "gradient_33x17.png"), "assets/c.png"), DateTime.UtcNow); // as an editor saves it
            var edit = p.Build(server);
            Assert.True(edit.ExitCode == 0 && edit.Summary == (3, 1, 0, 0), edit.ToString());
            Assert.Equal(pid, ServerPid(edit, "already running"));
            Assert.Contains("ran the work this build handed over early", edit.Output);
            Assert.Contains("ImageFlowIO: time (ms since the task started)", edit.Output); // the server task's -v:d lines reach the log
            Assert.Equal(File.ReadAllBytes(inProcess.Obj("assets/e.png")), File.ReadAllBytes(p.Obj("assets/c.png")));
            Assert.Equal(File.ReadAllBytes(inProcess.Obj("assets/e.npy")), File.ReadAllBytes(p.Obj("assets/c.npy")));
            // Collected after AssignTargetPaths (before the compiler, for the catalogue): the edited output still reaches bin/.
            Assert.Equal(File.ReadAllBytes(p.Obj("assets/c.png")), File.ReadAllBytes(p.Bin("assets/c.png")));

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
    public void Work_started_early_is_run_afresh_when_the_build_changed_it_and_can_be_turned_off()
    {
        var reference = Project("ServerLateReference", extraItems: """<ImageFlowAsset Include="late/*.png" />""");
        reference.Copy(TestData("images", "gradient_33x17.png"), "late/e.png");
        var built = reference.Build();
        Assert.True(built.Summary == (4, 4, 0, 0), built.ToString());

        // A target that adds an asset after the work was handed over: the ImageFlow target asks for other work.
        var p = Project("ServerLate");
        p.Copy(TestData("images", "gradient_33x17.png"), "late/e.png");
        File.WriteAllText(p.File_("Directory.Build.targets"), """
            <Project>
              <Target Name="AddLateAsset" AfterTargets="_ImageFlowStartAssets">
                <ItemGroup><ImageFlowAsset Include="late/*.png" /></ItemGroup>
              </Target>
            </Project>
            """);
        int? pid = null;
        try
        {
            // Without the catalogue the results are collected just before the copy to bin/ (GetCopyToOutputDirectoryItems).
            var build = p.Build("-p:ImageFlowBuildServer=true", "-p:ImageFlowBuildServerIdleTimeout=120", "-p:ImageFlowCatalogue=false", "-v:d");
            pid = ServerPid(build, "already running"); // started by the hand-over, which this build then did not use
            // The started work wrote the first three and their records; the fresh run found them up to date.
            Assert.True(build.ExitCode == 0 && build.Summary == (4, 1, 0, 0), build.ToString());
            Assert.Contains("ImageFlowIO: this build changed the assets' work after handing it to the build server; running it again", build.Output);
            Assert.Contains($"ImageFlowIO: the build server (pid {pid}, already running) ran the task", build.Output); // afresh, after the started work ended
            Assert.DoesNotContain("ran the work this build handed over early", build.Output);
            AssertSameOutputs(reference, p);
            Assert.Equal(File.ReadAllBytes(reference.Obj("late/e.png")), File.ReadAllBytes(p.Obj("late/e.png")));
            foreach (var output in new[] { "assets/a.png", "assets/b.png", "assets/c.npy", "late/e.png" })
                Assert.Equal(File.ReadAllBytes(p.Obj(output)), File.ReadAllBytes(p.Bin(output)));

            // ImageFlowBuildServerStartEarly=false: the server runs the work when the ImageFlow target is reached.
            File.Delete(p.File_("Directory.Build.targets"));
            File.SetLastWriteTimeUtc(p.Copy(TestData("images", "rgba_64x48.png"), "assets/c.png"), DateTime.UtcNow);
            var late = p.Build("-p:ImageFlowBuildServer=true", "-p:ImageFlowBuildServerStartEarly=false", "-p:ImageFlowCatalogue=false", "-v:d");
            Assert.True(late.ExitCode == 0 && late.Summary == (3, 1, 0, 0), late.ToString());
            Assert.Equal(pid, ServerPid(late, "already running"));
            Assert.DoesNotContain("goes to the build server now", late.Output);
            Assert.Contains("ran the task", late.Output);
        }
        finally
        {
            Stop(pid);
        }
    }

    [Fact]
    public void A_build_s_cache_variables_reach_the_server_instead_of_those_it_was_started_with()
    {
        using var nginx = new ImageFlowIO.Tests.Caching.RemoteNginxServer();
        var p = Project("ServerEnvironment");
        int? pid = null;
        try
        {
            var first = p.Build("-p:ImageFlowBuildServer=true", "-p:ImageFlowBuildServerIdleTimeout=120", "-v:d");
            Assert.True(first.ExitCode == 0 && first.Summary == (3, 3, 0, 0), first.ToString());
            pid = ServerPid(first, "started by this build");
            Assert.DoesNotContain("; remote:", first.Output);

            // The remote cache named only in this build's environment: the server (started without it) uses it.
            File.SetLastWriteTimeUtc(p.Copy(TestData("images", "gradient_33x17.png"), "assets/c.png"), DateTime.UtcNow);
            var remote = p.BuildWith(new Dictionary<string, string> { ["IMAGEFLOWIO_REMOTE_CACHE"] = nginx.Url }, "-p:ImageFlowBuildServer=true", "-v:d");
            Assert.True(remote.ExitCode == 0 && remote.Summary == (3, 1, 0, 0), remote.ToString());
            Assert.Equal(pid, ServerPid(remote, "already running"));
            Assert.Matches(@"; remote: 0 hits, [1-9]\d* misses, [1-9]\d* writes", remote.Output);
            Assert.NotEmpty(nginx.Manifests);
        }
        finally
        {
            Stop(pid);
        }
    }

    [Fact]
    public void The_server_is_on_by_default_on_Linux_and_off_in_CI()
    {
        var p = Project("ServerDefault");
        File.WriteAllText(p.File_("Directory.Build.props"), "<Project />"); // not the test fixture's default (off)
        int? pid = null;
        try
        {
            // No catalogue: an asset edit then compiles nothing (the developer build below starts no compiler server).
            var ci = p.BuildWith(new Dictionary<string, string> { ["CI"] = "true" }, "-p:ImageFlowCatalogue=false", "-v:d");
            Assert.True(ci.ExitCode == 0 && ci.Summary == (3, 3, 0, 0), ci.ToString());
            Assert.DoesNotMatch(ServerLine(), ci.Output);
            Assert.DoesNotContain("goes to the build server", ci.Output);

            // A developer's terminal: no CI variables, Roslyn's compiler server not turned off (the test host turns it off).
            File.SetLastWriteTimeUtc(p.Copy(TestData("images", "gradient_33x17.png"), "assets/c.png"), DateTime.UtcNow);
            var developer = p.BuildWith(new Dictionary<string, string> { ["CI"] = "", ["TF_BUILD"] = "", ["UseSharedCompilation"] = "" }, "-p:ImageFlowCatalogue=false", "-v:d");
            Assert.True(developer.ExitCode == 0 && developer.Summary == (3, 1, 0, 0), developer.ToString());
            if (OperatingSystem.IsLinux()) pid = ServerPid(developer, "started by this build");
            else Assert.DoesNotMatch(ServerLine(), developer.Output);
        }
        finally
        {
            Stop(pid);
        }
    }

    [Fact]
    public void The_early_start_asks_for_the_work_the_ImageFlow_target_collects()
    {
        // Same inputs, outputs and task parameters in both targets: otherwise every build's early work would be run twice.
        var package = Path.Combine(feed.Feed, $"ImageFlowIO.{feed.Version}.nupkg");
        using var zip = System.IO.Compression.ZipFile.OpenRead(package);
        using var stream = zip.GetEntry("build/ImageFlowIO.targets")!.Open();
        var targets = System.Xml.Linq.XDocument.Load(stream).Root!.Elements("Target").ToDictionary(t => (string)t.Attribute("Name")!);
        var start = targets["_ImageFlowStartAssets"];
        var process = targets["_ImageFlowProcessAssets"];
        Assert.Equal((string?)process.Attribute("Inputs"), (string?)start.Attribute("Inputs"));
        Assert.Equal((string?)process.Attribute("Outputs"), (string?)start.Attribute("Outputs"));
        static Dictionary<string, string> Parameters(System.Xml.Linq.XElement target) =>
            target.Element("ImageFlowAssetTask")!.Attributes().Where(a => a.Name != "StartInBuildServer").ToDictionary(a => a.Name.LocalName, a => a.Value);
        Assert.Equal(Parameters(process), Parameters(start));
        Assert.Equal("true", (string?)start.Element("ImageFlowAssetTask")!.Attribute("StartInBuildServer"));
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
    public async Task Two_builds_from_two_shells_started_at_the_same_moment_share_one_server()
    {
        // Two terminals (two sessions: a session-scoped lock would let each start its own), or MSBuild -m building two asset
        // projects of a solution in parallel nodes: both find no server and start one; the single-instance lock keeps one.
        ConsumerProject[] projects = [Project("ServerRaceA"), Project("ServerRaceB")];
        foreach (var p in projects) Assert.Equal(0, p.Run("restore").ExitCode);
        var pids = new List<int>();
        try
        {
            using var go = new Barrier(projects.Length);
            var builds = await Task.WhenAll(projects.Select(p => Task.Run(() =>
            {
                go.SignalAndWait();
                return p.BuildInNewSession("-p:ImageFlowBuildServer=true", "-p:ImageFlowBuildServerIdleTimeout=120", "-v:d");
            })));
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

    [Fact]
    public void A_rebuilt_runtime_is_never_served_by_the_old_server()
    {
        // The package's task folder, copied so its runtime can be rebuilt in place as `dotnet build` of this repo does to src/Tasks/bin.
        var p = Project("ServerRebuilt");
        Assert.Equal(0, p.Run("restore").ExitCode);
        var tasks = Path.Combine(feed.Root, "ServerRebuiltTasks");
        CopyFolder(Path.Combine(feed.Root, "packages", "imageflowio", feed.Version.ToLowerInvariant(), "tasks", "net10.0"), tasks);
        string[] server = ["-p:ImageFlowBuildServer=true", "-p:ImageFlowBuildServerIdleTimeout=120", $"-p:ImageFlowTaskAssembly={Path.Combine(tasks, "ImageFlowIO.Tasks.dll")}", "-v:d"];
        int? old = null, fresh = null;
        try
        {
            var first = p.Build(server);
            Assert.True(first.ExitCode == 0 && first.Summary == (3, 3, 0, 0), first.ToString());
            old = ServerPid(first, "started by this build");
            if (OperatingSystem.IsLinux())
            {
                // The server hosts the plain asset build: the runtime is mapped in, no MSBuild assembly (nor the task's) is.
                var maps = File.ReadAllText($"/proc/{old}/maps");
                Assert.Contains("/ImageFlowIO.dll", maps);
                Assert.DoesNotContain("Microsoft.Build", maps);
                Assert.DoesNotContain("ImageFlowIO.Tasks.dll", maps);
            }
            var oldVersion = ToolVersions(p).Single();

            // ImageFlowIO.dll rebuilt with one constant changed: its informational version (the tool version the caches key on),
            // same length, so the same size, and the task assembly's module id is unchanged.
            var runtime = Path.Combine(tasks, "ImageFlowIO.dll");
            var size = new FileInfo(runtime).Length;
            var newVersion = oldVersion[..^1] + (oldVersion[^1] == '9' ? '8' : '9');
            ReplaceVersion(runtime, oldVersion, newVersion);
            Assert.Equal(size, new FileInfo(runtime).Length);

            var rebuilt = p.Build(server);
            Assert.True(rebuilt.ExitCode == 0 && rebuilt.Summary == (3, 3, 0, 0), rebuilt.ToString()); // a new tool version: every asset again
            fresh = ServerPid(rebuilt, "started by this build");
            Assert.NotEqual(old, fresh);
            Assert.Matches(@"ImageFlowIO: started a build server: the last one \(ifio-bs-[0-9a-f]{16}\) ran other files: assembly ImageFlowIO\.dll changed", rebuilt.Output);
            // The new code ran: the entries written this build carry the new tool version.
            Assert.Contains(newVersion, ToolVersions(p));
            // The old server, which no client can name any more, was asked to exit.
            Assert.True(WaitForExit(old.Value, TimeSpan.FromSeconds(30)), "the superseded server did not exit");
            old = null;
        }
        finally
        {
            Stop(old);
            Stop(fresh);
        }
    }

    /// <summary>The tool versions the project's disk cache entries were written by.</summary>
    private static HashSet<string> ToolVersions(ConsumerProject p) =>
        Directory.EnumerateFiles(p.CacheFolder, "*.json", SearchOption.AllDirectories)
            .Select(f => { try { return System.Text.Json.JsonDocument.Parse(File.ReadAllText(f)).RootElement.GetProperty("toolVersion").GetString(); } catch (Exception) { return null; } })
            .OfType<string>().ToHashSet();

    /// <summary>The informational version in the assembly's attribute blob: "0.1.0+commit", or length-prefixed "0.1.0" without one.</summary>
    private static void ReplaceVersion(string file, string from, string to)
    {
        var utf8 = System.Text.Encoding.UTF8;
        var bytes = File.ReadAllBytes(file);
        if (bytes.AsSpan().IndexOf(utf8.GetBytes(from + "+")) >= 0) ReplaceAll(file, bytes, utf8.GetBytes(from + "+"), utf8.GetBytes(to + "+"));
        else ReplaceAll(file, bytes, [(byte)from.Length, .. utf8.GetBytes(from)], [(byte)to.Length, .. utf8.GetBytes(to)]);
    }

    private static void ReplaceAll(string file, byte[] bytes, byte[] from, byte[] to)
    {
        var found = 0;
        for (var i = bytes.AsSpan().IndexOf(from); i >= 0; i = bytes.AsSpan(i + 1).IndexOf(from) is var next && next >= 0 ? i + 1 + next : -1, found++)
            to.CopyTo(bytes, i);
        Assert.True(found > 0, "the version string is not in " + file);
        File.WriteAllBytes(file, bytes);
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
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

    // The line that says which server ran the build's work: handed over early, or when the task ran.
    [GeneratedRegex(@"ImageFlowIO: the build server \(pid (\d+), (started by this build|already running)\) (?:ran the task|ran the work this build handed over early)")]
    private static partial Regex ServerLine();
}
