using System.Globalization;
using System.Text.Json;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// The typed asset catalogue as a user meets it: a fresh consumer of the packed package compiles against
/// <c>ImageFlowAssets.&lt;Folder&gt;.&lt;Asset&gt;</c> members and prints what its build computed; the values equal the
/// writeMeta files of the same build. Editing one image updates that asset's member only; removing one removes its member.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class CatalogueBuildTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    /// <summary>The test classifier (mean colour → 5 logits, softmax), a raw tensor and a meta file per asset.</summary>
    private const string ClassifierConfig = """
        {
          "model": { "name": "classifier", "path": "models/classifier.onnx", "labels": "models/labels.txt" },
          "postprocessing": { "activation": { "apply": true, "type": "softmax" } },
          "output": {
            "save": { "apply": false },
            "saveRaw": { "apply": true, "format": "npy" },
            "writeMeta": { "apply": true }
          }
        }
        """;

    private const string ProgramSource = """
        using Consumer.App;

        static void Print(string name, ImageFlowAsset asset) => Console.WriteLine(string.Join('|', name, asset.Path, asset.TopLabel,
            asset.TopScore.ToString("R", System.Globalization.CultureInfo.InvariantCulture), string.Join(',', asset.Outputs),
            File.Exists(asset.OutputFile(asset.Outputs.Count - 1)), $"{asset.InputWidth}x{asset.InputHeight}", string.Join(',', asset.OutputShape),
            asset.Channels.Count, asset.ErrorCode ?? "ok"));

        Print("cat", ImageFlowAssets.Assets.Photos.Cat);
        Print("gradient", ImageFlowAssets.Assets.Gradient);
        foreach (var asset in ImageFlowAssets.All) Console.WriteLine("all|" + asset.Path);
        // Every member the compiled catalogue has, found by reflection (a removed asset must be gone from the assembly).
        static IEnumerable<string> Members(Type type, string prefix) => type.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(p => p.PropertyType == typeof(ImageFlowAsset)).Select(p => prefix + p.Name)
            .Concat(type.GetNestedTypes().SelectMany(n => Members(n, prefix + n.Name + ".")));
        foreach (var member in Members(typeof(ImageFlowAssets), "").Order(StringComparer.Ordinal)) Console.WriteLine("member|" + member);
        """;

    private sealed record Printed(string Path, string Label, float Score, string Outputs, bool OutputExists, string Size, string Shape, int Channels, string Status);

    private static Dictionary<string, Printed> Parse(string output) => output.Split('\n', StringSplitOptions.TrimEntries)
        .Select(l => l.Split('|')).Where(f => f.Length == 10)
        .ToDictionary(f => f[0], f => new Printed(f[1], f[2], float.Parse(f[3], CultureInfo.InvariantCulture), f[4], bool.Parse(f[5]), f[6], f[7], int.Parse(f[8], CultureInfo.InvariantCulture), f[9]));

    private static string[] AllPaths(string output) => Lines(output, "all|");
    private static string[] MemberNames(string output) => Lines(output, "member|");
    private static string[] Lines(string output, string prefix) =>
        output.Split('\n', StringSplitOptions.TrimEntries).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l[prefix.Length..]).ToArray();

    [Fact]
    public void Program_prints_the_catalogue_members_equal_to_writeMeta_and_one_edit_or_removal_touches_only_that_member()
    {
        var app = new ConsumerProject(feed, "CatalogueApp");
        File.WriteAllText(app.ProjectFile, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <RootNamespace>Consumer.App</RootNamespace>
                <EmitCompilerGeneratedFiles>true</EmitCompilerGeneratedFiles>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ImageFlowIO" Version="{feed.Version}" />
                <ImageFlowAsset Include="assets/**/*.png" />
              </ItemGroup>
            </Project>
            """);
        app.Copy(TestData("models", "classifier_nchw.onnx"), "models/classifier.onnx");
        app.Copy(TestData("models", "classifier_labels.txt"), "models/labels.txt");
        app.Copy(TestData("images", "photo_64x48.png"), "assets/photos/cat.png");
        app.Copy(TestData("images", "solid_red_32x32.png"), "assets/photos/red.png");
        app.Copy(TestData("images", "gradient_33x17.png"), "assets/gradient.png");
        app.WriteConfig(ClassifierConfig);
        File.WriteAllText(app.File_("Program.cs"), ProgramSource);
        var generated = Path.Combine(app.Directory, "obj", "Debug", "net10.0", "generated", "ImageFlowIO.Generators", "ImageFlowIO.Generators.CatalogueGenerator");
        var catalogue = app.Obj("imageflow.catalogue.json");

        // A design-time build before any build: nothing is processed, no catalogue is handed over (the class is empty), no error.
        var restore = app.Run("restore");
        Assert.True(restore.ExitCode == 0, restore.ToString());
        var designTime = DesignTimeAdditionalFiles(app);
        Assert.DoesNotContain("imageflow.catalogue.json", designTime);
        Assert.False(File.Exists(catalogue));

        // First build: the task writes the catalogue before compilation, so the first build already compiles the members.
        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        var first = RunApp(app);
        AssertMatchesMeta(app, first["cat"], "assets/photos/cat");
        AssertMatchesMeta(app, first["gradient"], "assets/gradient");
        var firstOutput = RunOutput(app);
        Assert.Equal(["assets/gradient.png", "assets/photos/cat.png", "assets/photos/red.png"], AllPaths(firstOutput));
        Assert.Equal(["Assets.Gradient", "Assets.Photos.Cat", "Assets.Photos.Red"], MemberNames(firstOutput));
        Assert.Equal("64x48", first["cat"].Size);
        Assert.Equal("1,5", first["cat"].Shape);
        Assert.Equal(1, first["cat"].Channels);
        Assert.Equal("assets/photos/cat.npy,assets/photos/cat.json", first["cat"].Outputs);
        Assert.True(first["cat"].OutputExists, "the output file is beside the app");
        var sourcesBefore = Snapshot(generated);
        // Design-time builds now hand the generator the last catalogue.
        Assert.Contains(catalogue, DesignTimeAdditionalFiles(app));
        Assert.Contains("ImageFlowAssets.Assets.Photos.Red.g.cs", sourcesBefore.Keys);

        // No change: nothing is processed, the catalogue is not rewritten, the generated sources stay.
        var catalogueTime = File.GetLastWriteTimeUtc(catalogue);
        var again = app.Build();
        Assert.True(again.ExitCode == 0 && again.ProcessingSkipped, again.ToString());
        Assert.Equal(catalogueTime, File.GetLastWriteTimeUtc(catalogue));
        Assert.Equal(sourcesBefore, Snapshot(generated));

        // Edit one image (a bigger cat): only the Cat member's source changes, and it equals the new meta file.
        var entriesBefore = Entries(catalogue);
        app.Copy(TestData("images", "photo_160x120.png"), "assets/photos/cat.png");
        File.SetLastWriteTimeUtc(app.File_("assets/photos/cat.png"), DateTime.UtcNow.AddMinutes(1));
        var edit = app.Build();
        Assert.True(edit.ExitCode == 0, edit.ToString());
        Assert.Equal((3, 1, 0, 0), edit.Summary);
        var afterEdit = Snapshot(generated);
        Assert.Equal(sourcesBefore.Keys, afterEdit.Keys);
        Assert.Equal(["ImageFlowAssets.Assets.Photos.Cat.g.cs"], sourcesBefore.Keys.Where(k => sourcesBefore[k] != afterEdit[k]));
        var edited = RunApp(app);
        AssertMatchesMeta(app, edited["cat"], "assets/photos/cat");
        Assert.Equal("160x120", edited["cat"].Size);
        Assert.Equal(first["gradient"], edited["gradient"]);
        // Up-to-date assets that this build did not process keep their entries (the catalogue is their record).
        var entriesAfter = Entries(catalogue);
        Assert.Equal(entriesBefore["assets/photos/red.png"], entriesAfter["assets/photos/red.png"]);
        Assert.Equal(entriesBefore["assets/gradient.png"], entriesAfter["assets/gradient.png"]);
        Assert.NotEqual(entriesBefore["assets/photos/cat.png"], entriesAfter["assets/photos/cat.png"]);

        // Remove one image: its member and its place in All are gone; the other members' sources are as they were.
        File.Delete(app.File_("assets/photos/red.png"));
        var removal = app.Build();
        Assert.True(removal.ExitCode == 0, removal.ToString());
        var afterRemoval = Snapshot(generated);
        Assert.Equal(afterEdit["ImageFlowAssets.Assets.Photos.Cat.g.cs"], afterRemoval["ImageFlowAssets.Assets.Photos.Cat.g.cs"]);
        Assert.Equal(afterEdit["ImageFlowAssets.Assets.Gradient.g.cs"], afterRemoval["ImageFlowAssets.Assets.Gradient.g.cs"]);
        var removedOutput = RunOutput(app);
        Assert.Equal(["assets/gradient.png", "assets/photos/cat.png"], AllPaths(removedOutput));
        Assert.Equal(["Assets.Gradient", "Assets.Photos.Cat"], MemberNames(removedOutput));
        Assert.DoesNotContain("assets/photos/red.png", File.ReadAllText(catalogue));

        // Remove the last images: no catalogue reaches the compiler any more (the last one is deleted, not compiled stale),
        // so the class is gone with the assets; design-time builds hand over none either.
        File.Delete(app.File_("assets/photos/cat.png"));
        File.Delete(app.File_("assets/gradient.png"));
        File.WriteAllText(app.File_("Program.cs"), """
            var type = Type.GetType("Consumer.App.ImageFlowAssets");
            Console.WriteLine("catalogue|" + (type is null ? "none" : ((System.Collections.IEnumerable)type.GetProperty("All")!.GetValue(null)!).Cast<object>().Count().ToString()));
            """);
        var emptied = app.Build();
        Assert.True(emptied.ExitCode == 0, emptied.ToString());
        Assert.False(File.Exists(catalogue));
        Assert.Equal(["none"], Lines(RunOutput(app), "catalogue|"));
        Assert.DoesNotContain("imageflow.catalogue.json", DesignTimeAdditionalFiles(app, catalogueOn: false));
    }

    /// <summary>The printed top label, score and outputs equal the asset's writeMeta file (obj/) of the same build.</summary>
    private static void AssertMatchesMeta(ConsumerProject app, Printed printed, string stem)
    {
        using var meta = JsonDocument.Parse(File.ReadAllText(app.Obj(stem + ".json")));
        var top = meta.RootElement.GetProperty("topK")[0];
        Assert.Equal(top.GetProperty("label").GetString(), printed.Label);
        Assert.Equal((float)top.GetProperty("score").GetDouble(), printed.Score);
        Assert.Equal(stem + ".png", printed.Path);
        Assert.Equal("ok", printed.Status);
        Assert.Equal(meta.RootElement.GetProperty("width").GetInt32() + "x" + meta.RootElement.GetProperty("height").GetInt32(), printed.Size);
        Assert.Equal(string.Join(',', meta.RootElement.GetProperty("outputShape").EnumerateArray().Select(d => d.GetInt32())), printed.Shape);
    }

    /// <summary>The AdditionalFiles a design-time build gives the compiler (and the ImageFlowCatalogue property it sets).</summary>
    private static string DesignTimeAdditionalFiles(ConsumerProject app, bool catalogueOn = true)
    {
        var result = Dotnet.Run(app.Directory, "msbuild", app.ProjectFile, "-nodeReuse:false", "-p:DesignTimeBuild=true", "-p:BuildingProject=false",
            "-t:_ImageFlowAddCatalogue", "-getItem:AdditionalFiles", "-getProperty:ImageFlowCatalogue");
        Assert.True(result.ExitCode == 0, result.Output);
        using var json = JsonDocument.Parse(result.Output);
        Assert.Equal(catalogueOn ? "true" : "", json.RootElement.GetProperty("Properties").GetProperty("ImageFlowCatalogue").GetString());
        return string.Join('\n', json.RootElement.GetProperty("Items").GetProperty("AdditionalFiles").EnumerateArray().Select(i => i.GetProperty("FullPath").GetString()));
    }

    private static Dictionary<string, Printed> RunApp(ConsumerProject app) => Parse(RunOutput(app));

    private static string RunOutput(ConsumerProject app)
    {
        var run = Dotnet.Run(app.BinFolder, Path.Combine(app.BinFolder, "CatalogueApp.dll"));
        Assert.True(run.ExitCode == 0, run.Output);
        return run.Output;
    }

    private static Dictionary<string, string> Entries(string catalogue) =>
        JsonDocument.Parse(File.ReadAllText(catalogue)).RootElement.GetProperty("assets").EnumerateArray().ToDictionary(e => e.GetProperty("path").GetString()!, e => e.GetRawText());

    private static Dictionary<string, string> Snapshot(string folder) =>
        Directory.EnumerateFiles(folder, "*.g.cs").ToDictionary(f => Path.GetFileName(f), File.ReadAllText);
}
