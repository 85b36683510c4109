using System.Text.RegularExpressions;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// The build's up-to-date record lives in obj/ whatever <c>ImageFlowCacheMode</c> says (the cache mode governs stage
/// results, not the build's incremental record), and an up-to-date asset is left alone: after one edited image, only it
/// is processed, the others' outputs and writeMeta files keep their bytes and times in obj/ and bin/, each asset is
/// decided once, and summary.json lists every asset with its reason.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed partial class UpToDateRecordBuildTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    private const string Config = """
        {
          "model": { "path": "models/image.onnx" },
          "execution": { "backend": "onnx" },
          "preprocessing": { "resize": { "apply": true, "imageSize": [48, 40], "keepAspectRatio": false } },
          "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
          "output": { "save": { "apply": true, "format": "png" }, "writeMeta": { "apply": true } }
        }
        """;

    [Theory]
    [InlineData("none")]
    [InlineData("memory")]
    [InlineData("disk")]
    public void An_edit_build_processes_the_edited_asset_and_leaves_the_others_files_untouched(string cacheMode)
    {
        var p = new ConsumerProject(feed, "Record" + cacheMode, assetsInclude: "img/*.png");
        p.Copy(TestData("models", "conv3_nchw.onnx"), "models/image.onnx");
        p.WriteConfig(Config);
        p.Copy(TestData("images", "photo_64x48.png"), "img/a.png");
        p.Copy(TestData("images", "gradient_33x17.png"), "img/b.png");
        p.Copy(TestData("images", "solid_red_32x32.png"), "img/c.png");
        var mode = "-p:ImageFlowCacheMode=" + cacheMode;

        var first = p.Build(mode);
        Assert.True(first.ExitCode == 0 && first.Summary == (3, 3, 0, 0), first.ToString());
        string[] untouched = ["img/b.png", "img/b.json", "img/c.png", "img/c.json"];
        var before = untouched.ToDictionary(f => f, f => (Obj: Stamp(p.Obj(f)), Bin: Stamp(p.Bin(f))));

        File.SetLastWriteTimeUtc(p.Copy(TestData("images", "rgba_64x48.png"), "img/a.png"), DateTime.UtcNow.AddMinutes(1));
        var edit = p.Build(mode, "-v:d");
        Assert.True(edit.ExitCode == 0, edit.ToString());
        // a: processed, because of its content; b and c: up to date (the record in obj/ knew them, whatever the cache mode).
        Assert.True(edit.Summary is { Assets: 3, Processed: 1 }, edit.ToString());
        Assert.Matches(@"ImageFlowIO: img/a\.png: run, because its content changed", edit.Output);
        Assert.Matches(@"ImageFlowIO: img/b\.png: up to date", edit.Output);
        Assert.Matches(@"ImageFlowIO: img/c\.png: up to date", edit.Output);

        // Up-to-date assets leave their files alone: outputs and writeMeta files keep their bytes and times, so bin/ gets no copy.
        foreach (var f in untouched)
        {
            Assert.True(before[f].Obj == Stamp(p.Obj(f)), $"obj/{f} was rewritten\n{edit}");
            Assert.True(before[f].Bin == Stamp(p.Bin(f)), $"bin/{f} was copied again\n{edit}");
        }

        // One decision per asset (made once, then acted on).
        foreach (var asset in new[] { "a", "b", "c" })
            Assert.True(Regex.Matches(edit.Output, $@"input/decision \S*img/{asset}\.png:").Count == 1, $"{asset}.png decided other than once\n{edit}");

        // summary.json: every asset with its reason; the counts are the processed ones.
        var summary = p.Summary();
        Assert.Equal(1, summary.GetProperty("processed").GetInt32());
        var reasons = summary.GetProperty("items").EnumerateArray()
            .ToDictionary(i => Path.GetFileName(i.GetProperty("input").GetString()!), i => (Reason: i.GetProperty("reason").GetString(), Explain: i.GetProperty("explain").GetString()));
        Assert.Equal(["a.png", "b.png", "c.png"], reasons.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("contentChanged", "run, because its content changed"), reasons["a.png"]);
        Assert.Equal(("upToDate", "up to date"), reasons["b.png"]);
        Assert.Equal(("upToDate", "up to date"), reasons["c.png"]);
    }

    private static (long Length, DateTime Time) Stamp(string path)
    {
        var info = new FileInfo(path);
        Assert.True(info.Exists, path + " missing");
        return (info.Length, info.LastWriteTimeUtc);
    }
}
