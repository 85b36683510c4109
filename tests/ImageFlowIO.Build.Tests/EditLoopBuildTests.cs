using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// The IDE edit loop (SPEC §4): Visual Studio's fast up-to-date check sees every asset, config and model a build reads
/// (UpToDateCheckInput) against what it writes (UpToDateCheckBuilt), the IDE offers ImageFlowAsset as a build action
/// (AvailableItemName), and <c>dotnet watch</c> rebuilds on an asset edit (Watch) and processes that one asset.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class EditLoopBuildTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    private const string Config = """
        { // the model, its labels and a palette file: each one the build reads
          "model": { "path": "models/model.onnx", "labels": "models/labels.txt" },
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
        File.WriteAllText(p.File_("models/labels.txt"), "a\nb\nc\n");
        p.WriteConfig(Config);
        p.Copy(TestData("images", "photo_64x48.png"), "assets/a.png");
        p.Copy(TestData("images", "gradient_33x17.png"), "assets/sub/b.png");
        return p;
    }

    /// <summary><c>dotnet msbuild -getItem:…</c>: the items after evaluation (or after the targets given), as MSBuild's JSON.</summary>
    private static Dictionary<string, List<JsonElement>> Items(ConsumerProject p, params string[] extra)
    {
        var names = new[] { "UpToDateCheckInput", "UpToDateCheckBuilt", "Watch", "AvailableItemName" };
        var result = Dotnet.Run(p.Directory, ["msbuild", p.ProjectFile, "-nodeReuse:false", .. names.Select(n => "-getItem:" + n), .. extra]);
        Assert.True(result.ExitCode == 0, result.Output);
        var json = result.Output[result.Output.IndexOf('{')..];
        using var doc = JsonDocument.Parse(json);
        var items = doc.RootElement.GetProperty("Items");
        return names.ToDictionary(n => n, n => items.TryGetProperty(n, out var list) ? list.EnumerateArray().Select(e => e.Clone()).ToList() : []);
    }

    private static string Id(JsonElement item) => item.GetProperty("FullPath").GetString()!;

    [Fact]
    public void A_fresh_consumer_lists_its_assets_config_model_and_labels_for_the_IDE_and_dotnet_watch_and_design_time_builds_process_nothing()
    {
        var p = Consumer(feed, "EditLoopItems");
        var restore = Dotnet.Run(p.Directory, "restore", p.ProjectFile, "-nodeReuse:false");
        Assert.True(restore.ExitCode == 0, restore.Output);

        var items = Items(p); // evaluation only: no build has run
        var expected = new[] { "assets/a.png", "assets/sub/b.png", "imageflow.json", "models/model.onnx", "models/labels.txt" }.Select(p.File_).ToList();
        var inputs = items["UpToDateCheckInput"].Where(i => i.GetProperty("Set").GetString() == "ImageFlow").Select(Id).ToList();
        Assert.Equal(expected.Order(), inputs.Order());
        var built = Assert.Single(items["UpToDateCheckBuilt"], i => i.GetProperty("Set").GetString() == "ImageFlow");
        Assert.Equal(p.Obj("imageflow.stamp"), Id(built));
        Assert.Empty(expected.Except(items["Watch"].Select(Id)));
        Assert.Contains(items["AvailableItemName"], i => i.GetProperty("Identity").GetString() == "ImageFlowAsset");

        // A design-time build (as the IDE runs it) collects the edit loop's items and does no image work.
        var design = Dotnet.Run(p.Directory, "msbuild", p.ProjectFile, "-nodeReuse:false", "-p:DesignTimeBuild=true", "-p:BuildingProject=false",
            "-t:ResolveReferences;_ImageFlowCollectEditLoopItems;ImageFlowProcess", "-v:n");
        Assert.True(design.ExitCode == 0, design.Output);
        Assert.DoesNotContain("ImageFlowIO: ", design.Output);
        Assert.False(Directory.Exists(p.ObjFolder) && Directory.EnumerateFiles(p.ObjFolder, "*.png", SearchOption.AllDirectories).Any(), "a design-time build wrote outputs");
        Assert.False(File.Exists(built.GetProperty("FullPath").GetString()));

        // After a build, the stamp exists and is newer than every input: the up-to-date check says up to date; an edit makes an input newer.
        var log = p.Build();
        Assert.True(log.ExitCode == 0, log.ToString());
        var stamp = File.GetLastWriteTimeUtc(p.Obj("imageflow.stamp"));
        Assert.All(expected, f => Assert.True(File.GetLastWriteTimeUtc(f) <= stamp, f));
        // The last build's list adds what the config names, for design-time builds and dotnet watch (chains included).
        var afterBuild = Items(p, "-t:_ImageFlowCollectEditLoopItems", "-p:DesignTimeBuild=true");
        Assert.Contains(p.File_("models/model.onnx"), afterBuild["UpToDateCheckInput"].Select(Id));
    }

    [Fact]
    public async Task Dotnet_watch_build_rebuilds_after_one_asset_is_edited_and_processes_that_one_asset()
    {
        var p = Consumer(feed, "EditLoopWatch");
        var restore = Dotnet.Run(p.Directory, "restore", p.ProjectFile, "-nodeReuse:false");
        Assert.True(restore.ExitCode == 0, restore.Output);

        using var watch = new WatchProcess(p);
        var first = await watch.WaitForLineAsync(SummaryLine, TimeSpan.FromMinutes(4));
        Assert.True(first is not null, "no first build summary\n" + watch.Output);
        Assert.Matches(@"ImageFlowIO: 2 assets, 2 processed", first);
        var before = Pixel(p.Obj("assets/a.out.png"));
        // Let dotnet watch settle on its file set before the edit (its "waiting" line, or a moment).
        await watch.WaitForLineAsync(new Regex("(?i)waiting for (a file to change|changes)"), TimeSpan.FromSeconds(60));

        // Edit one asset: a solid blue image replaces the photo.
        using (var blue = new Image<Rgba32>(64, 48, new Rgba32(0, 0, 255, 255))) blue.SaveAsPng(p.File_("assets/a.png"));
        var second = await watch.WaitForLineAsync(SummaryLine, TimeSpan.FromMinutes(4), skip: 1);
        Assert.True(second is not null, "dotnet watch did not rebuild after the asset edit\n" + watch.Output);
        Assert.Matches(@"ImageFlowIO: 2 assets, 1 processed, 0 from cache, 0 failed", second);
        var after = Pixel(p.Obj("assets/a.out.png"));
        Assert.NotEqual(before, after);
        Assert.Equal(new Rgba32(255, 255, 0, 255), after); // the inverted blue
    }

    private static readonly Regex SummaryLine = new(@"ImageFlowIO: \d+ assets, \d+ processed, \d+ from cache, \d+ failed");

    private static Rgba32 Pixel(string path)
    {
        using var image = Image.Load<Rgba32>(path);
        return image[5, 5];
    }

    /// <summary><c>dotnet watch build</c> started by the test; its whole process tree is killed on dispose.</summary>
    private sealed class WatchProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly List<string> _lines = [];
        private readonly SemaphoreSlim _changed = new(0);

        public WatchProcess(ConsumerProject p)
        {
            var start = new ProcessStartInfo("dotnet") { WorkingDirectory = p.Directory, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var a in new[] { "watch", "--non-interactive", "--project", p.ProjectFile, "build", "--no-restore", "-nodeReuse:false", "-v:n" }) start.ArgumentList.Add(a);
            start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            start.Environment["DOTNET_NOLOGO"] = "1";
            start.Environment["DOTNET_WATCH_SUPPRESS_EMOJIS"] = "1";
            start.Environment["DOTNET_WATCH_SUPPRESS_LAUNCH_BROWSER"] = "1";
            start.Environment["DOTNET_USE_POLLING_FILE_WATCHER"] = "1"; // robust on overlay and network file systems
            foreach (var name in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath" }) start.Environment.Remove(name);
            _process = Process.Start(start)!;
            _process.OutputDataReceived += (_, e) => Add(e.Data);
            _process.ErrorDataReceived += (_, e) => Add(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output { get { lock (_lines) return _output.ToString(); } }

        private void Add(string? line)
        {
            if (line is null) return;
            lock (_lines)
            {
                _lines.Add(line);
                _output.AppendLine(line);
            }
            _changed.Release();
        }

        /// <summary>The (<paramref name="skip"/>+1)-th line matching, or null when none came in time or the process ended.</summary>
        public async Task<string?> WaitForLineAsync(Regex pattern, TimeSpan timeout, int skip = 0)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                lock (_lines)
                {
                    var matches = _lines.Where(l => pattern.IsMatch(l)).ToList();
                    if (matches.Count > skip) return matches[skip];
                }
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || _process.HasExited) return null;
                await _changed.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            }
        }

        public void Dispose()
        {
            try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            _process.WaitForExit(10_000);
            _process.Dispose();
        }
    }
}
