using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// Real `dotnet build` runs of consumer projects restoring the packed package. One consumer walks through a sequence of
/// edits (each step asserts what the build did), which keeps the suite to a few dozen builds.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class IncrementalBuildTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    /// <summary>Inverts each image with a tiny ONNX model and saves it as {name}.out.png (postprocess: scale 255).</summary>
    private static string Config(int scale = 255, string extraPreprocessing = "", string filename = "{name}.out.png", string padding = "") => $$"""
        {{padding}}{
          "model": { "path": "models/model.onnx" },
          "execution": { "backend": "onnx" },
          "preprocessing": {
            {{extraPreprocessing}}
            "format": { "dataType": "float32", "channels": 3, "channelOrder": "rgb" }
          },
          "postprocessing": { "denormalize": { "apply": true, "scale": {{scale}}, "dtype": "uint8" } },
          "output": { "save": { "apply": true, "path": "out", "format": "png", "filename": "{{filename}}" } }
        }
        """;


    private static Rgba32 Pixel(string path, int x, int y)
    {
        using var image = Image.Load<Rgba32>(path);
        return image[x, y];
    }

    private static void WriteSolidPng(string path, Rgba32 color)
    {
        using var image = new Image<Rgba32>(20, 10, color);
        image.SaveAsPng(path);
    }

    private static Rgba32 Inverted(Rgba32 p) => new((byte)(255 - p.R), (byte)(255 - p.G), (byte)(255 - p.B), 255);

    private static void AssertClose(Rgba32 expected, Rgba32 actual)
    {
        Assert.InRange(Math.Abs(expected.R - actual.R), 0, 1);
        Assert.InRange(Math.Abs(expected.G - actual.G), 0, 1);
        Assert.InRange(Math.Abs(expected.B - actual.B), 0, 1);
    }

    private static void AssertSummary((int, int, int, int) expected, BuildLog log) =>
        Assert.True(expected == log.Summary, $"expected summary {expected}, got {log.Summary?.ToString() ?? "none"}\n{log}");

    [Fact]
    public void Walkthrough_first_build_no_change_touch_edit_add_remove_rename_config_model_clean_rebuild()
    {
        var p = new ConsumerProject(feed, "Walk");
        p.Copy(TestData("models", "invert_nchw.onnx"), "models/model.onnx");
        p.WriteConfig(Config());
        var photo = p.Copy(TestData("images", "photo_64x48.png"), "assets/a.png");
        p.Copy(TestData("images", "gradient_33x17.png"), "assets/sub/b.png");
        p.Copy(TestData("images", "solid_red_32x32.png"), "assets/c.png");

        // First build: every asset runs through the model; outputs keep their folders in obj/ and bin/.
        var log = p.Build();
        Assert.True(log.ExitCode == 0, log.ToString());
        AssertSummary((3, 3, 0, 0), log);
        foreach (var output in new[] { "assets/a.out.png", "assets/sub/b.out.png", "assets/c.out.png" })
        {
            Assert.True(File.Exists(p.Obj(output)), output + " missing in obj\n" + log);
            Assert.True(File.Exists(p.Bin(output)), output + " missing in bin\n" + log);
        }
        AssertClose(Inverted(Pixel(p.File_("assets/a.png"), 10, 20)), Pixel(p.Obj("assets/a.out.png"), 10, 20));
        Assert.True(File.Exists(p.Bin("models/model.onnx")), "the config's model is copied to bin at its relative path (where generated classes look)");
        Assert.Equal(3, p.Summary().GetProperty("processed").GetInt32());
        var firstBytes = File.ReadAllBytes(p.Obj("assets/c.out.png"));

        // No change: the target is skipped (nothing decoded), and the outputs stay registered (IncrementalClean keeps them).
        log = p.Build();
        Assert.True(log.ExitCode == 0, log.ToString());
        Assert.Null(log.Summary);
        Assert.True(log.ProcessingSkipped, log.ToString());
        Assert.True(File.Exists(p.Obj("assets/sub/b.out.png")) && File.Exists(p.Bin("assets/sub/b.out.png")), log.ToString());

        // Touch: the target runs (a newer input) but the same bytes are not processed again.
        File.SetLastWriteTimeUtc(p.File_("assets/a.png"), DateTime.UtcNow.AddMinutes(1));
        log = p.Build();
        AssertSummary((3, 0, 0, 0), log);

        // One image edited: only that one is processed.
        p.Copy(TestData("images", "photo_160x120.png"), "assets/a.png");
        log = p.Build();
        AssertSummary((3, 1, 0, 0), log);
        AssertClose(Inverted(Pixel(p.File_("assets/a.png"), 100, 70)), Pixel(p.Obj("assets/a.out.png"), 100, 70));
        AssertClose(Inverted(Pixel(p.File_("assets/a.png"), 100, 70)), Pixel(p.Bin("assets/a.out.png"), 100, 70));
        Assert.Equal(firstBytes, File.ReadAllBytes(p.Obj("assets/c.out.png")));

        // Added: d.png has the bytes a.png had at first, so the content-addressed cache serves it (no model run).
        p.Copy(TestData("images", "photo_64x48.png"), "assets/d.png");
        log = p.Build();
        AssertSummary((4, 1, 1, 0), log);
        Assert.True(File.Exists(p.Bin("assets/d.out.png")), log.ToString());

        // Removed: its output leaves obj/ and bin/.
        File.Delete(p.File_("assets/c.png"));
        log = p.Build();
        Assert.True(log.ExitCode == 0, log.ToString());
        AssertSummary((3, 0, 0, 0), log);
        Assert.False(File.Exists(p.Obj("assets/c.out.png")), "removed asset's output still in obj");
        Assert.False(File.Exists(p.Bin("assets/c.out.png")), "removed asset's output still in bin");

        // Renamed (also into another folder): written under its new name, from the cache (a move recomputes nothing).
        File.Move(p.File_("assets/d.png"), p.File_("assets/sub/e.png"));
        log = p.Build();
        AssertSummary((3, 1, 1, 0), log);
        Assert.False(File.Exists(p.Obj("assets/d.out.png")) || File.Exists(p.Bin("assets/d.out.png")), "renamed asset's old output remains");
        Assert.True(File.Exists(p.Obj("assets/sub/e.out.png")) && File.Exists(p.Bin("assets/sub/e.out.png")), log.ToString());

        // Whitespace-only config edit: same values, nothing processed.
        p.WriteConfig(Config(padding: "\n\n   "));
        log = p.Build();
        AssertSummary((3, 0, 0, 0), log);

        // Postprocessing-only edit: all outputs rewritten, inference read from the cache (once the disk cache exists).
        p.WriteConfig(Config(scale: 128));
        log = p.Build();
        AssertSummary((3, 3, 3, 0), log); // postprocessing-only edit: inference from the disk cache in obj/
        Assert.Equal(3, p.Summary().GetProperty("fromCache").GetInt32());
        var half = Inverted(Pixel(p.File_("assets/sub/b.png"), 5, 5));
        var scaled = Pixel(p.Obj("assets/sub/b.out.png"), 5, 5);
        Assert.InRange(Math.Abs(half.R * 128 / 255 - scaled.R), 0, 1);

        // Preprocessing edit: everything processed, nothing from the cache.
        p.WriteConfig(Config(scale: 128, extraPreprocessing: "\"grayscale\": { \"apply\": true },"));
        log = p.Build();
        AssertSummary((3, 3, 0, 0), log);

        // Model swapped in place (identity instead of invert): everything processed, outputs follow the new model.
        p.WriteConfig(Config());
        p.Build();
        File.Copy(TestData("models", "identity_nchw.onnx"), p.File_("models/model.onnx"), overwrite: true);
        // An older file than the one it replaces (as unzip or cp -p leave it) must still be noticed.
        File.SetLastWriteTimeUtc(p.File_("models/model.onnx"), DateTime.UtcNow.AddDays(-30));
        log = p.Build();
        AssertSummary((3, 3, 0, 0), log);
        AssertClose(Pixel(p.File_("assets/a.png"), 100, 70), Pixel(p.Obj("assets/a.out.png"), 100, 70));
        AssertClose(Pixel(p.File_("assets/a.png"), 100, 70), Pixel(p.Bin("assets/a.out.png"), 100, 70));

        // Clean removes outputs, copies, bookkeeping and the default cache.
        log = p.Clean();
        Assert.True(log.ExitCode == 0, log.ToString());
        Assert.False(System.IO.Directory.Exists(p.ObjFolder), "obj/imageflow survives clean");
        Assert.False(System.IO.Directory.Exists(p.CacheFolder), "the cache survives clean");
        Assert.False(File.Exists(p.Bin("assets/a.out.png")) || File.Exists(p.Bin("assets/sub/e.out.png")), "bin copies survive clean");

        // A design-time build does no image work.
        log = p.Build("-p:DesignTimeBuild=true", "-t:ResolveReferences;ResolveProjectReferences");
        Assert.Null(log.Summary);
        Assert.False(System.IO.Directory.Exists(p.ObjFolder) && System.IO.Directory.EnumerateFiles(p.ObjFolder, "*.png", SearchOption.AllDirectories).Any(), log.ToString());

        // Rebuild: everything again.
        log = p.Run("build", "--no-restore", "-t:Rebuild");
        Assert.True(log.ExitCode == 0, log.ToString());
        AssertSummary((3, 3, 0, 0), log);
        Assert.True(File.Exists(p.Bin("assets/sub/e.out.png")), log.ToString());
    }

    [Fact]
    public void Default_verbosity_shows_the_summary_line_and_an_unwritable_cache_is_a_coded_warning()
    {
        var p = new ConsumerProject(feed, "Quiet");
        p.Copy(TestData("models", "invert_nchw.onnx"), "models/model.onnx");
        p.WriteConfig(Config());
        p.Copy(TestData("images", "photo_64x48.png"), "assets/a.png");
        p.Copy(TestData("images", "gradient_33x17.png"), "assets/sub/b.png");

        // No -v: what a CI log shows. The summary is there; per-asset detail (low importance) is not.
        var log = p.BuildAtDefaultVerbosity();
        Assert.True(log.ExitCode == 0, log.ToString());
        AssertSummary((2, 2, 0, 0), log);
        Assert.DoesNotContain("ImageFlowIO: time (ms since the task started)", log.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("cache statistics", log.Output, StringComparison.Ordinal);

        // One edit, still at default verbosity: the line says one image was processed.
        WriteSolidPng(p.File_("assets/a.png"), new Rgba32(200, 40, 90, 255));
        log = p.BuildAtDefaultVerbosity();
        AssertSummary((2, 1, 0, 0), log);

        // A cache folder below a regular file cannot be created: a warning whose code is MSBuild's code field
        // (so `warning IFIO4001:`, and the code not repeated inside the text), and the build still writes every output.
        File.WriteAllText(p.File_("not-a-folder"), "a file where the cache folder's parent should be");
        log = p.BuildAtDefaultVerbosity("-p:ImageFlowCacheDir=not-a-folder/cache/", "-t:Rebuild");
        Assert.True(log.ExitCode == 0, log.ToString());
        var warnings = log.Output.Split('\n').Where(l => l.Contains("warning IFIO4001:", StringComparison.Ordinal)).Distinct().ToList();
        Assert.True(warnings.Count >= 1, "no IFIO4001 warning\n" + log);
        Assert.All(warnings, w => Assert.Single(System.Text.RegularExpressions.Regex.Matches(w, "IFIO4001")));
        Assert.Contains("ImageFlowIO warning IFIO4001:", warnings[0], StringComparison.Ordinal);
        Assert.Contains("set the ImageFlowCacheDir property", warnings[0], StringComparison.Ordinal); // the build's own hint
        AssertSummary((2, 2, 0, 0), log);
        AssertClose(Inverted(Pixel(p.File_("assets/sub/b.png"), 5, 5)), Pixel(p.Obj("assets/sub/b.out.png"), 5, 5));
        Assert.True(File.Exists(p.Bin("assets/a.out.png")) && File.Exists(p.Bin("assets/sub/b.out.png")), log.ToString());
    }

    /// <summary>A config that classifies (no image saved) and writes one meta file per asset under a pattern's folder.</summary>
    private const string MetaConfig = """
        {
          "model": { "path": "models/model.onnx" },
          "execution": { "backend": "onnx" },
          "preprocessing": { "format": { "dataType": "float32", "channels": 3, "channelOrder": "rgb" } },
          "output": { "save": { "apply": false }, "writeMeta": { "apply": true, "jsonPath": "cls/{name}.json" } }
        }
        """;

    [Fact]
    public void Two_configs_in_one_project_per_asset_metas_are_outputs_like_images()
    {
        var p = new ConsumerProject(feed, "TwoConfigs", assetsInclude: "assets/main/**/*.png",
            extraItems: """<ImageFlowAsset Include="assets/q/**/*.png" Config="cls.imageflow.json" />""");
        p.Copy(TestData("models", "invert_nchw.onnx"), "models/model.onnx");
        p.WriteConfig(Config());
        p.WriteConfig(MetaConfig, "cls.imageflow.json");
        p.Copy(TestData("images", "photo_64x48.png"), "assets/main/a.png");
        p.Copy(TestData("images", "gradient_33x17.png"), "assets/main/b.png");
        // One file name in two folders: their metas must not meet.
        p.Copy(TestData("images", "solid_red_32x32.png"), "assets/q/x.png");
        p.Copy(TestData("images", "photo_160x120.png"), "assets/q/sub/x.png");
        // As images: the asset's relative folder, then the pattern's folders.
        string[] metas = ["assets/q/cls/x.json", "assets/q/sub/cls/x.json"];

        var log = p.Build();
        Assert.True(log.ExitCode == 0, log.ToString());
        AssertSummary((4, 4, 0, 0), log);
        foreach (var (meta, asset) in metas.Zip(["assets/q/x.png", "assets/q/sub/x.png"]))
        {
            Assert.True(File.Exists(p.Obj(meta)), meta + " missing in obj\n" + log);
            Assert.True(File.Exists(p.Bin(meta)), meta + " missing in bin\n" + log);
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(p.Bin(meta)));
            Assert.Equal(p.File_(asset), json.RootElement.GetProperty("input").GetString());
        }
        Assert.Equal(160, System.Text.Json.JsonDocument.Parse(File.ReadAllText(p.Obj(metas[1]))).RootElement.GetProperty("width").GetInt32());
        var outputsList = File.ReadAllLines(Path.Combine(p.ObjFolder, "imageflow.outputs.txt"));
        Assert.Contains(p.Obj(metas[0]), outputsList);
        Assert.Contains(p.Obj(metas[1]), outputsList);

        // One asset of the other config edited: exactly that one is processed (the metas' assets are up to date).
        WriteSolidPng(p.File_("assets/main/b.png"), new Rgba32(10, 200, 30, 255)); // content no cache has seen
        log = p.Build();
        Assert.True(log.ExitCode == 0, log.ToString());
        AssertSummary((4, 1, 0, 0), log);

        // An asset of the meta config removed: its meta leaves obj/ and bin/, the other stays.
        File.Delete(p.File_("assets/q/sub/x.png"));
        log = p.Build();
        AssertSummary((3, 0, 0, 0), log);
        Assert.False(File.Exists(p.Obj(metas[1])) || File.Exists(p.Bin(metas[1])), "a removed asset's meta remains\n" + log);
        Assert.True(File.Exists(p.Bin(metas[0])), log.ToString());

        // A meta deleted by hand: the target runs and the meta is back. The runtime's up-to-date decision covers the files
        // the output stage recorded (the .npy here, unchanged), so the asset is served, not processed; a served result's
        // meta is written from the facts its output entry carries.
        File.Delete(p.Obj(metas[0]));
        log = p.Build();
        AssertSummary((3, 0, 0, 0), log);
        Assert.True(File.Exists(p.Obj(metas[0])) && File.Exists(p.Bin(metas[0])), log.ToString());

        // Clean removes the metas from bin/ too.
        log = p.Clean();
        Assert.True(log.ExitCode == 0, log.ToString());
        Assert.False(File.Exists(p.Bin(metas[0])), "a meta survives clean in bin\n" + log);
    }

    [Fact]
    public void Two_projects_sharing_one_asset_folder_build_in_parallel()
    {
        var root = Path.Combine(feed.Root, "Shared");
        var shared = Path.Combine(root, "photos");
        System.IO.Directory.CreateDirectory(Path.Combine(shared, "nested"));
        File.Copy(TestData("images", "photo_64x48.png"), Path.Combine(shared, "one.png"));
        File.Copy(TestData("images", "gradient_33x17.png"), Path.Combine(shared, "nested", "two.png"));
        var projects = new[] { "First", "Second" }.Select(name =>
        {
            var p = new ConsumerProject(feed, name, assetsInclude: "../photos/**/*.png", directory: Path.Combine(root, name));
            p.Copy(TestData("models", "invert_nchw.onnx"), "models/model.onnx");
            p.WriteConfig(Config());
            return p;
        }).ToArray();
        File.WriteAllText(Path.Combine(root, "all.slnx"), """
            <Solution>
              <Project Path="First/First.csproj" />
              <Project Path="Second/Second.csproj" />
            </Solution>
            """);

        var build = Dotnet.Run(root, "build", "all.slnx", "-m:2", "-nodeReuse:false", "-v:n");
        Assert.True(build.ExitCode == 0, build.Output);
        // Neither build trips over the other (no IFIO warning or error from a shared file).
        Assert.DoesNotMatch(@"(warning|error) IFIO\d{4}", build.Output);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(build.Output, @"ImageFlowIO: 2 assets, 2 processed, 0 from cache, 0 failed").Count);
        foreach (var p in projects)
        {
            // Assets outside the project keep their folder below the glob's wildcard (RecursiveDir).
            Assert.True(File.Exists(p.Obj("one.out.png")) && File.Exists(p.Obj("nested/two.out.png")), build.Output);
            Assert.True(File.Exists(p.Bin("nested/two.out.png")), build.Output);
            AssertClose(Inverted(Pixel(Path.Combine(shared, "nested", "two.png"), 7, 9)), Pixel(p.Obj("nested/two.out.png"), 7, 9));
        }

        build = Dotnet.Run(root, "build", "all.slnx", "-m:2", "-nodeReuse:false", "-v:n", "--no-restore");
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.DoesNotContain("ImageFlowIO: ", build.Output.Replace("ImageFlowIO: deleted", ""), StringComparison.Ordinal);
        // Both projects skipped their processing target.
        Assert.True(System.Text.RegularExpressions.Regex.Matches(build.Output, "Skipping target \"_ImageFlowProcessAssets\" because all output files are up-to-date").Count == 2, build.Output);
    }

    [Fact]
    public void A_broken_image_fails_the_build_with_its_code_and_file_while_the_good_ones_are_written_and_kept()
    {
        var p = new ConsumerProject(feed, "Broken", assetsInclude: "assets/*.*");
        p.Copy(TestData("models", "invert_nchw.onnx"), "models/model.onnx");
        p.WriteConfig(Config());
        p.Copy(TestData("images", "photo_64x48.png"), "assets/good1.png");
        p.Copy(TestData("images", "gradient_33x17.png"), "assets/good2.png");
        p.Copy(TestData("bad", "truncated.jpg"), "assets/broken.jpg");

        var log = p.Build();
        Assert.NotEqual(0, log.ExitCode);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(log.Output, @"broken\.jpg : ImageFlowIO error IFIO2\d\d\d"), log.ToString());
        AssertSummary((3, 2, 0, 1), log);
        Assert.True(File.Exists(p.Obj("assets/good1.out.png")) && File.Exists(p.Obj("assets/good2.out.png")), log.ToString());
        Assert.False(File.Exists(p.Obj("assets/broken.out.png")));

        // Nothing changed, but the failure is reported again (never a silently green build) and the good ones are not redone.
        log = p.Build();
        Assert.NotEqual(0, log.ExitCode);
        AssertSummary((3, 0, 0, 1), log);

        // Fixed: the build passes with no more image work.
        File.Delete(p.File_("assets/broken.jpg"));
        log = p.Build();
        Assert.True(log.ExitCode == 0, log.ToString());
        AssertSummary((2, 0, 0, 0), log);

        // Config errors are located (file, line, column); a {timestamp} file name is a warning (non-reproducible build).
        p.WriteConfig(Config(filename: "{name}-{timestamp}.png").Replace("\"execution\"", "\"colour\": 1,\n  \"execution\""));
        log = p.Build();
        Assert.NotEqual(0, log.ExitCode);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(log.Output, @"imageflow\.json\(3,\d+\): ImageFlowIO error IFIO0002"), log.ToString());
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(log.Output, @"imageflow\.json\(\d+,\d+\): ImageFlowIO warning IFIO0013"), log.ToString());
    }
}
