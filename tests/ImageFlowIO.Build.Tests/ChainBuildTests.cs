using System.Text.Json;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// The OCR chain and its checks as a user meets them: a fresh consumer of the packed package builds three rendered
/// screens through the real PaddleOCR models, its program prints each asset's text from the generated catalogue, a
/// warning check is located at its asset, an error check fails the build after every asset was processed, and the
/// asset's <c>SuppressChecks</c> metadata silences it.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class ChainBuildTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    private static string Config(string checks) => $$"""
        {
          "model": { "name": "textdet", "path": "models/det.onnx" },
          "preprocessing": {
            "resize": { "apply": true, "imageSize": [640, 480], "resizeMode": "fit", "kernel": "linear" },
            "format": { "dataType": "float32", "channels": 3, "channelOrder": "bgr" },
            "normalize": { "apply": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] }
          },
          "chain": {
            "perRegion": [
              { "kind": "orientation", "path": "models/cls.onnx" },
              { "kind": "recognizer", "path": "models/rec.onnx", "dictionary": "models/keys.txt" }
            ]
          },
          "checks": {{checks}},
          "output": { "writeMeta": { "apply": true } }
        }
        """;

    private const string UpsideDown = """{ "id": "upside-down", "severity": "warning", "label": "180", "minScore": 0.9 }""";
    private const string NoCity = """{ "id": "no-city", "severity": "error", "textMatches": "(?i)city\\s+street" }""";

    private static string Project(PackageFeedFixture feed, string screen07Metadata) => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
            <Nullable>enable</Nullable>
            <RootNamespace>Shots</RootNamespace>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="ImageFlowIO" Version="{feed.Version}" />
            <ImageFlowAsset Include="assets/*.png" Exclude="assets/screen07.png" />
            <ImageFlowAsset Include="assets/screen07.png" {screen07Metadata} />
          </ItemGroup>
        </Project>
        """;

    private static string[] Truth(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestData("ocr", "truth.json")));
        return doc.RootElement.EnumerateArray().Single(e => e.GetProperty("file").GetString() == file)
            .GetProperty("lines").EnumerateArray().Select(l => l.GetString()!).ToArray();
    }

    [Fact]
    public void The_catalogue_gives_each_screens_text_and_checks_warn_fail_after_all_assets_and_are_silenced_per_item()
    {
        var app = new ConsumerProject(feed, "ShotsApp");
        File.WriteAllText(app.ProjectFile, Project(feed, ""));
        app.Copy(TestData("ocr-models", "ch_PP-OCRv4_det_infer.onnx"), "models/det.onnx");
        app.Copy(TestData("ocr-models", "ch_ppocr_mobile_v2.0_cls_infer.onnx"), "models/cls.onnx");
        app.Copy(TestData("ocr-models", "ch_PP-OCRv4_rec_infer.onnx"), "models/rec.onnx");
        app.Copy(TestData("ocr-models", "ppocr_keys_v1.txt"), "models/keys.txt");
        foreach (var screen in new[] { "screen02.png", "screen07.png", "screen21.png" }) app.Copy(TestData("ocr", screen), "assets/" + screen);
        File.WriteAllText(app.File_("Program.cs"), """
            foreach (var asset in Shots.ImageFlowAssets.All)
                Console.WriteLine("text|" + asset.Path + "|" + asset.Lines.Count + "|" + asset.Text.Replace("\n", "¶") + "|" + string.Join(",", asset.Checks.Select(c => c.Id)));
            """);

        // A warning check: the build succeeds, the warning is located at the upside-down screen.
        app.WriteConfig(Config($"[{UpsideDown}]"));
        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(build.Output, @"assets[/\\]screen21\.png\s*:\s*(ImageFlowIO )?warning IFIO7001: check 'upside-down' \(warning\)"), build.ToString());
        Assert.DoesNotContain("IFIO7002", build.Output);
        // The chain's files sit beside the app at their config paths, as the detector does (a generated pipeline class finds them).
        Assert.All(new[] { "models/det.onnx", "models/cls.onnx", "models/rec.onnx", "models/keys.txt" }, f => Assert.True(File.Exists(app.Bin(f)), f + " in bin/"));
        var run = Dotnet.Run(app.BinFolder, Path.Combine(app.BinFolder, "ShotsApp.dll"));
        Assert.True(run.ExitCode == 0, run.Output);
        var printed = run.Output.Split('\n', StringSplitOptions.TrimEntries).Where(l => l.StartsWith("text|", StringComparison.Ordinal)).Select(l => l.Split('|')).ToDictionary(f => f[1]);
        foreach (var screen in new[] { "screen02.png", "screen07.png", "screen21.png" })
        {
            Assert.Equal(string.Join("¶", Truth(screen)), printed["assets/" + screen][3]);
            Assert.Equal(Truth(screen).Length.ToString(System.Globalization.CultureInfo.InvariantCulture), printed["assets/" + screen][2]);
        }
        Assert.Equal("upside-down", printed["assets/screen21.png"][4]);

        // An error check: every asset is handled (up to date: no model runs), then the build fails at the asset.
        app.WriteConfig(Config($"[{UpsideDown}, {NoCity}]"));
        var failing = app.Build();
        Assert.NotEqual(0, failing.ExitCode);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(failing.Output, @"assets[/\\]screen07\.png\s*:\s*(ImageFlowIO )?error IFIO7002: check 'no-city' \(error\): the text matches"), failing.ToString());
        // Only the checks changed: every asset is up to date (its lines cached), none failed, and the checks were evaluated anew.
        Assert.Equal((3, 0), (failing.Summary!.Value.Assets, failing.Summary.Value.Failed));
        using (var catalogue = JsonDocument.Parse(File.ReadAllText(app.Obj("imageflow.catalogue.json"))))
        {
            var entry = catalogue.RootElement.GetProperty("assets").EnumerateArray().Single(a => a.GetProperty("path").GetString() == "assets/screen07.png");
            Assert.Equal("no-city", entry.GetProperty("checks")[0].GetProperty("id").GetString());
            Assert.Equal(Truth("screen07.png"), entry.GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("text").GetString()));
        }
        // The item's SuppressChecks metadata silences that check for that asset only: the build succeeds again.
        File.WriteAllText(app.ProjectFile, Project(feed, "SuppressChecks=\"no-city\""));
        var silenced = app.Build();
        Assert.True(silenced.ExitCode == 0, silenced.ToString());
        Assert.DoesNotContain("IFIO7002", silenced.Output);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(silenced.Output, @"screen21\.png\s*:\s*(ImageFlowIO )?warning IFIO7001"), silenced.ToString());
    }
}
