using System.Text.RegularExpressions;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// A build says why it processed each asset (the runtime's one up-to-date decision): at normal verbosity every processed
/// asset with its reason, at detailed verbosity every up-to-date asset too. One consumer (two configs: an image model and
/// a classifier with labels), one build per reason, in sequence: first build, an edited image, a touched one (not
/// processed), a swapped model, edited labels, an output deleted by hand, one changed config section.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed partial class ExplainBuildTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    private const string ImageConfig = """
        {
          "model": { "path": "models/image.onnx" },
          "execution": { "backend": "onnx" },
          "preprocessing": { "resize": { "apply": true, "imageSize": [48, 40], "keepAspectRatio": false } },
          "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
          "output": { "save": { "apply": true, "format": "png" } }
        }
        """;

    private const string ClassifierConfig = """
        {
          "model": { "path": "models/classifier.onnx", "labels": "models/labels.txt" },
          "postprocessing": { "activation": { "apply": true, "type": "softmax" } },
          "output": { "save": { "apply": false }, "saveRaw": { "apply": true, "format": "npy" }, "writeMeta": { "apply": true } }
        }
        """;

    [Fact]
    public void Each_build_names_every_processed_asset_with_its_reason()
    {
        var p = new ConsumerProject(feed, "Explain", assetsInclude: "img/*.png",
            extraItems: """<ImageFlowAsset Include="cls/*.png" Config="classifier.imageflow.json" />""");
        p.Copy(TestData("models", "conv3_nchw.onnx"), "models/image.onnx");
        p.Copy(TestData("models", "classifier_nchw.onnx"), "models/classifier.onnx");
        p.Copy(TestData("models", "classifier_labels.txt"), "models/labels.txt");
        p.WriteConfig(ImageConfig);
        p.WriteConfig(ClassifierConfig, "classifier.imageflow.json");
        p.Copy(TestData("images", "photo_64x48.png"), "img/a.png");
        p.Copy(TestData("images", "gradient_33x17.png"), "img/b.png");
        p.Copy(TestData("images", "solid_red_32x32.png"), "cls/red.png");
        p.Copy(TestData("images", "photo_160x120.png"), "cls/photo.png");
        string[] all = ["cls/photo.png", "cls/red.png", "img/a.png", "img/b.png"];

        // First build: every asset is new.
        var first = p.Build();
        AssertProcessed(first, (4, 4), all.Select(a => (a, "it is new")).ToArray());

        // An edited image: only it, because of its content; at detailed verbosity the others are listed as up to date.
        File.SetLastWriteTimeUtc(p.Copy(TestData("images", "rgba_64x48.png"), "img/a.png"), DateTime.UtcNow.AddMinutes(1));
        var edit = p.Build("-v:d");
        AssertProcessed(edit, (4, 1), ("img/a.png", "its content changed"));
        Assert.Equal(["cls/photo.png", "cls/red.png", "img/b.png"], UpToDate(edit));

        // A touched image (same bytes, new time): the target runs, nothing is processed, and nothing is named at normal verbosity.
        File.SetLastWriteTimeUtc(p.File_("img/b.png"), DateTime.UtcNow.AddMinutes(2));
        var touch = p.Build();
        AssertProcessed(touch, (4, 0));
        Assert.Empty(UpToDate(touch)); // detailed lines stay out of a normal log

        // Another model file for the image config: its two assets, because of the model; the classifier's stay.
        File.SetLastWriteTimeUtc(p.Copy(TestData("models", "invert_nchw.onnx"), "models/image.onnx"), DateTime.UtcNow.AddMinutes(3));
        AssertProcessed(p.Build(), (4, 2), ("img/a.png", "the model changed"), ("img/b.png", "the model changed"));

        // Edited labels: the classifier's assets, because of the labels (postprocessing only).
        File.WriteAllText(p.File_("models/labels.txt"), "kitten\ndog\nbird\nfish\nhorse\n");
        File.SetLastWriteTimeUtc(p.File_("models/labels.txt"), DateTime.UtcNow.AddMinutes(4));
        AssertProcessed(p.Build(), (4, 2), ("cls/photo.png", "the labels or palette changed"), ("cls/red.png", "the labels or palette changed"));

        // An output deleted by hand: that asset, because its output is missing.
        File.Delete(p.Obj("img/b.png"));
        var deleted = p.Build();
        AssertProcessed(deleted, (4, 1), ("img/b.png", "is missing"));
        Assert.True(File.Exists(p.Obj("img/b.png")));

        // One config section changed (postprocessing of the image config): its assets, naming the section.
        p.WriteConfig(ImageConfig.Replace("\"scale\": 255", "\"scale\": 200", StringComparison.Ordinal));
        File.SetLastWriteTimeUtc(p.File_("imageflow.json"), DateTime.UtcNow.AddMinutes(5));
        AssertProcessed(p.Build(), (4, 2), ("img/a.png", "config section postprocessing changed"), ("img/b.png", "config section postprocessing changed"));
    }

    /// <summary>The build's summary (assets, processed) and its "run, because" lines: exactly these assets, each line containing its text.</summary>
    private static void AssertProcessed(BuildLog build, (int Assets, int Processed) counts, params (string Asset, string Reason)[] expected)
    {
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.True(build.Summary is { } s && (s.Assets, s.Processed) == counts, build.ToString());
        var lines = RunLine().Matches(build.Output).Select(m => (Asset: m.Groups[1].Value, Reason: m.Groups[2].Value)).OrderBy(l => l.Asset, StringComparer.Ordinal).ToList();
        Assert.True(expected.Select(e => e.Asset).Order(StringComparer.Ordinal).SequenceEqual(lines.Select(l => l.Asset)), build.ToString());
        foreach (var (asset, reason) in expected)
            Assert.Contains(reason, lines.Single(l => l.Asset == asset).Reason, StringComparison.Ordinal);
    }

    private static string[] UpToDate(BuildLog build) =>
        [.. UpToDateLine().Matches(build.Output).Select(m => m.Groups[1].Value).Distinct().Order(StringComparer.Ordinal)];

    [GeneratedRegex(@"ImageFlowIO: (\S+): run, because (.*)")]
    private static partial Regex RunLine();

    [GeneratedRegex(@"ImageFlowIO: (\S+): up to date")]
    private static partial Regex UpToDateLine();
}
