extern alias generator;
using System.Collections.Immutable;
using System.Reflection;
using CacheMode = ImageFlowIO.Config.CacheMode;
using ConfigParser = ImageFlowIO.Config.ConfigParser;
using ImageFlowIO.Generators.Tests.Support;
using ImageFlowIO.BuildServer;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using CatalogueGenerator = generator::ImageFlowIO.Generators.CatalogueGenerator;
using PipelineGenerator = generator::ImageFlowIO.Generators.PipelineGenerator;
using Steps = generator::ImageFlowIO.Generators.CatalogueGenerator.Steps;

namespace ImageFlowIO.Generators.Tests;

/// <summary>
/// The typed asset catalogue: the source emitted from a catalogue file (snapshot, compiled and read back), identifier
/// rules, step caching, and determinism from the task's writer (two project folders, identical catalogue and source).
/// </summary>
public sealed class CatalogueGeneratorTests
{
    private const string CataloguePath = "/work/app/obj/Debug/net10.0/imageflow/imageflow.catalogue.json";
    private static string Small => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Catalogues", "small.catalogue.json"));

    [Fact]
    public void A_small_catalogue_generates_the_expected_source_which_compiles_and_gives_the_entries_back()
    {
        var (result, output) = Run([Text(CataloguePath, Small)]);

        Snapshot.Match("ImageFlowAssets.catalogue.expected", Joined(result));
        var assembly = GeneratorHarness.Load(output, out var context);
        try
        {
            var all = All(assembly);
            Assert.Equal(["assets/broken.jpg", "assets/photos/cat.png", "assets/photos/dog.png", "logo.png"], all.Select(a => (string)Get(a, "Path")!));
            var cat = Member(assembly, "ImageFlowAssets+Assets+Photos", "Cat");
            Assert.Same(all[1], cat);
            Assert.Equal("cat", Get(cat, "TopLabel"));
            Assert.Equal(0.912345f, (float)Get(cat, "TopScore")!);
            Assert.Null(Get(cat, "ErrorCode"));
            Assert.Equal(new[] { 1, 5 }, ((IReadOnlyList<int>)Get(cat, "OutputShape")!).ToArray());
            Assert.Equal(["assets/photos/cat.json"], (IReadOnlyList<string>)Get(cat, "Outputs")!);

            var broken = Member(assembly, "ImageFlowAssets+Assets", "Broken");
            Assert.Equal("IFIO1002", Get(broken, "ErrorCode"));
            Assert.False((bool)Get(broken, "Succeeded")!);
            Assert.Null(Get(broken, "TopLabel"));

            var logo = Member(assembly, "ImageFlowAssets", "Logo");
            Assert.Null(Get(logo, "TopLabel"));
            Assert.Equal(0f, (float)Get(logo, "TopScore")!);
            var channels = ((System.Collections.IEnumerable)Get(logo, "Channels")!).Cast<object>().ToList();
            Assert.Equal(3, channels.Count);
            Assert.Equal(0.333333f, (float)Get(channels[0], "Mean")!);
            Assert.True(float.IsNaN((float)Get(channels[2], "Max")!));
        }
        finally { context.Unload(); }
    }

    [Fact]
    public void No_catalogue_yet_gives_an_empty_class_and_no_error_when_the_project_has_assets()
    {
        var (result, output) = Run([], catalogueFlag: "true");
        Assert.Empty(result.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var assembly = GeneratorHarness.Load(output, out var context);
        try { Assert.Empty(All(assembly)); }
        finally { context.Unload(); }

        // A project without assets and without a catalogue gets no class; ImageFlowCatalogue=false turns it off altogether.
        Assert.Empty(Run([]).Result.Results.Single().GeneratedSources);
        Assert.Empty(Run([Text(CataloguePath, Small)], catalogueFlag: "false").Result.Results.Single().GeneratedSources);
    }

    [Fact]
    public void Identifiers_are_sanitised_and_collisions_resolved_in_a_fixed_order()
    {
        string[] paths =
        [
            "photos/cat.jpg", "photos/cat.png", "photos/cat-1.png", "photos/photos.png", "photos/cat/tabby.png",
            "photos/Cat!.gif", "2024/summer photo.png", "all.png", "ImageFlowAssets.png", "class.png", "über grün.png", "__.png", "-.png",
        ];
        // The same paths in another order: names do not depend on the order of the catalogue.
        foreach (var order in new[] { paths, paths.Reverse().ToArray() })
        {
            var (_, output) = Run([Text(CataloguePath, Catalogue(order.Select(p => Entry(p))))]);
            var assembly = GeneratorHarness.Load(output, out var context);
            try
            {
                var names = MemberPaths(assembly);
                Assert.Equal("photos/cat/tabby.png", names["Photos.Cat.Tabby"]);
                // Folders claim their names first; files whose stems collide keep their extension; the rest get _2.
                Assert.Equal("photos/Cat!.gif", names["Photos.CatGif"]);
                Assert.Equal("photos/cat.jpg", names["Photos.CatJpg"]);
                Assert.Equal("photos/cat.png", names["Photos.CatPng"]);
                Assert.Equal("photos/cat-1.png", names["Photos.Cat1"]);
                Assert.Equal("photos/photos.png", names["Photos.Photos_2"]);
                Assert.Equal("2024/summer photo.png", names["_2024.SummerPhoto"]);
                Assert.Equal("all.png", names["All_2"]);
                Assert.Equal("ImageFlowAssets.png", names["ImageFlowAssets_2"]);
                Assert.Equal("class.png", names["Class"]);
                Assert.Equal("über grün.png", names["ÜberGrün"]);
                Assert.Equal("__.png", names["__"]);
                Assert.Equal("-.png", names["_"]);
                Assert.Equal(paths.Length, names.Count);
            }
            finally { context.Unload(); }
        }
    }

    [Fact]
    public void An_unchanged_catalogue_or_an_unrelated_csharp_edit_emits_nothing_again()
    {
        var compilation = GeneratorHarness.CreateCompilation("namespace Consumer { public class Program { public static int Main() => 0; } }");
        var original = Text(CataloguePath, Small);
        var driver = CreateDriver([original]).RunGenerators(compilation);

        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.First(), GeneratorHarness.Parse("namespace Consumer { public class Program { public static int Main() => 1; } }"));
        // The same bytes written again (the task rewrites only on change, but an IDE may reload the file).
        var reloaded = driver.ReplaceAdditionalText(original, Text(CataloguePath, Small));
        foreach (var run in new[] { driver.RunGenerators(edited), reloaded.RunGenerators(compilation) })
        {
            var result = run.GetRunResult().Results.Single();
            foreach (var name in new[] { Steps.Texts, Steps.Settings, Steps.Parsed, Steps.Index, Steps.Members })
            {
                Assert.True(result.TrackedSteps.ContainsKey(name), $"step {name} is not tracked");
                Assert.All(result.TrackedSteps[name].SelectMany(s => s.Outputs), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{name}: {o.Reason}"));
            }
            Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
                o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output ran again: {o.Reason}"));
        }
        // The C# edit did not even look at the catalogue again.
        var afterEdit = driver.RunGenerators(edited).GetRunResult().Results.Single();
        Assert.All(afterEdit.TrackedSteps[Steps.Parsed].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void Editing_one_asset_changes_only_its_member_and_removing_it_removes_its_member()
    {
        var compilation = GeneratorHarness.CreateCompilation("class Program { }");
        var original = Text(CataloguePath, Small);
        var driver = CreateDriver([original]).RunGenerators(compilation);
        var before = Sources(driver.GetRunResult());

        var editedText = Text(CataloguePath, Small.Replace("\"score\": 0.8 }", "\"score\": 0.7 }").Replace("\"label\": \"cat\", \"score\": 0.2", "\"label\": \"cat\", \"score\": 0.3"));
        var edited = driver.ReplaceAdditionalText(original, editedText).RunGenerators(compilation);
        var result = edited.GetRunResult().Results.Single();
        var after = Sources(edited.GetRunResult());

        Assert.Equal(before.Keys, after.Keys);
        var changed = before.Keys.Where(k => before[k] != after[k]).ToList();
        Assert.Equal(["ImageFlowAssets.Assets.Photos.Dog.g.cs"], changed);
        Assert.Contains("new global::Consumer.ImageFlowAssetScore(\"dog\", 0.7f)", after["ImageFlowAssets.Assets.Photos.Dog.g.cs"]);
        var members = result.TrackedSteps[Steps.Members].SelectMany(s => s.Outputs).ToList();
        Assert.Equal(4, members.Count);
        Assert.Equal(1, members.Count(o => o.Reason == IncrementalStepRunReason.Modified));
        Assert.Equal(3, members.Count(o => o.Reason == IncrementalStepRunReason.Unchanged));
        Assert.All(result.TrackedSteps[Steps.Index].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));

        // Removing the asset removes its member (and its place in All); the others stay as they were.
        var withoutDog = Catalogue(AssetCatalogueWriter.Read(System.Text.Encoding.UTF8.GetBytes(Small)).Where(e => e.Path != "assets/photos/dog.png"));
        var removed = edited.ReplaceAdditionalText(editedText, Text(CataloguePath, withoutDog)).RunGenerators(compilation);
        var left = Sources(removed.GetRunResult());
        Assert.DoesNotContain("ImageFlowAssets.Assets.Photos.Dog.g.cs", left.Keys);
        Assert.DoesNotContain("Photos.Dog,", left["ImageFlowAssets.g.cs"]);
        Assert.Equal(before["ImageFlowAssets.Assets.Photos.Cat.g.cs"], left["ImageFlowAssets.Assets.Photos.Cat.g.cs"]);
    }

    [Fact]
    public void Works_beside_the_typed_pipeline_class_of_the_same_config_and_honours_the_class_name_property()
    {
        var config = File.ReadAllText(Path.Combine(GeneratorHarness.ConfigsDirectory, "minimal.imageflow.json"));
        var driver = CreateDriver([Text("/work/app/imageflow.json", config), Text(CataloguePath, Small)], withPipelineGenerator: true, className: "Shipped");
        driver = driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.CreateCompilation(
            "namespace Consumer { static class Use { static string? Label() => Shipped.Assets.Photos.Cat.TopLabel; } }"), out var output, out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var hints = driver.GetRunResult().Results.SelectMany(r => r.GeneratedSources).Select(s => s.HintName).ToList();
        Assert.Contains("Shipped.g.cs", hints);
        Assert.Contains(hints, h => h.EndsWith("Pipeline.imageflow_json.g.cs", StringComparison.Ordinal) || h.Contains("Pipeline", StringComparison.Ordinal));
    }

    [Fact]
    public void Two_project_folders_write_identical_catalogues_and_generate_identical_source()
    {
        var texts = new List<string>();
        foreach (var folder in new[] { "first-clone", Path.Combine("deeper", "second clone") })
        {
            var root = Path.Combine(Path.GetTempPath(), "ifio-catalogue-" + Guid.NewGuid().ToString("N")[..8]);
            var project = Path.Combine(root, folder);
            try
            {
                var catalogue = BuildCatalogue(project);
                var text = File.ReadAllText(catalogue);
                Assert.DoesNotContain(root, text);
                Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), text);
                texts.Add(text);
            }
            finally { Directory.Delete(root, recursive: true); }
        }
        Assert.Equal(texts[0], texts[1]);
        var sources = texts.Select((t, i) => Joined(Run([Text($"/clone{i}/obj/imageflow.catalogue.json", t)]).Result)).ToList();
        Assert.Equal(sources[0], sources[1]);
        Assert.Contains("TopK", sources[0]);
        Assert.Contains("new global::Consumer.ImageFlowAssetScore(\"cat\", ", sources[0]);
    }

    [Fact]
    public void A_result_served_from_the_output_cache_still_gets_its_shape_statistics_and_top_k()
    {
        var project = Path.Combine(Path.GetTempPath(), "ifio-catalogue-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var first = File.ReadAllText(BuildCatalogue(project, writeMeta: false));
            // The same inputs again into a fresh output folder: the pipeline serves the files from its output cache.
            Directory.Delete(Path.Combine(project, "obj", "out"), recursive: true);
            File.Delete(Path.Combine(project, "obj", "imageflow.catalogue.json"));
            var second = File.ReadAllText(BuildCatalogue(project, writeMeta: false, expectServed: true));
            Assert.Equal(first, second);
            var cat = AssetCatalogueWriter.Read(System.Text.Encoding.UTF8.GetBytes(second)).Single(e => e.Path == "assets/red.png");
            Assert.Equal([1, 5], cat.OutputShape);
            Assert.Single(cat.Channels);
            Assert.Equal(5, cat.TopK.Count);
        }
        finally { Directory.Delete(project, recursive: true); }
    }

    /// <summary>
    /// Runs the classifier test model over two images in <paramref name="project"/> as the build task does, and writes the
    /// catalogue with <see cref="AssetCatalogueWriter"/>. Scores after softmax: the solid red image's top label is fixed
    /// by the model's weights (see tests/TestData/models/README.md).
    /// </summary>
    private static string BuildCatalogue(string project, bool writeMeta = true, bool expectServed = false)
    {
        Directory.CreateDirectory(Path.Combine(project, "models"));
        Directory.CreateDirectory(Path.Combine(project, "assets", "photos"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "models", "classifier_nchw.onnx"), Path.Combine(project, "models", "classifier.onnx"), overwrite: true);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "models", "classifier_labels.txt"), Path.Combine(project, "models", "labels.txt"), overwrite: true);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "images", "photo_64x48.png"), Path.Combine(project, "assets", "photos", "cat.png"), overwrite: true);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "images", "solid_red_32x32.png"), Path.Combine(project, "assets", "red.png"), overwrite: true);
        File.WriteAllText(Path.Combine(project, "imageflow.json"), $$"""
            {
              "model": { "name": "classifier", "path": "models/classifier.onnx", "labels": "models/labels.txt" },
              "preprocessing": { "resize": { "apply": true, "imageSize": [32, 32], "resizeMode": "fill" } },
              "postprocessing": { "activation": { "apply": true, "type": "softmax" } },
              "output": { "save": { "apply": false }, "saveRaw": { "apply": true, "format": "npy" }, "writeMeta": { "apply": {{(writeMeta ? "true" : "false")}} } }
            }
            """);
        var parsed = ConfigParser.ParseFile(Path.Combine(project, "imageflow.json"));
        Assert.True(parsed.Config is not null, string.Join("\n", parsed.Diagnostics.Select(d => d.Message)));
        var outputDir = Path.Combine(project, "obj", "out");
        var catalogueFile = Path.Combine(project, "obj", "imageflow.catalogue.json");
        var assets = new[] { "assets/photos/cat.png", "assets/red.png" }.Select(r => (Path.Combine(project, r), r)).ToList();
        var writer = AssetCatalogueWriter.Open(catalogueFile, project, outputDir, assets);
        var options = new PipelineOptions { OutputDirectory = outputDir, CacheMode = CacheMode.Disk, CacheDirectory = Path.Combine(project, "obj", "cache"), KeepOutputTensors = false, MaxParallelism = 2 };
        var inputs = assets.Select((a, i) => new InputItem(a.Item1) { OutputDirectory = Path.GetFullPath(Path.Combine(outputDir, Path.GetDirectoryName(a.Item2)!)), Index = i }).ToList();
        using (var pipeline = Pipeline.Create(parsed.Config, options))
        {
            var batch = pipeline.RunBatchAsync(inputs).GetAwaiter().GetResult();
            Assert.All(batch.Items, r => Assert.True(r.Succeeded, r.Error?.Message));
            // Served from the output cache: the output entry carries the shape, statistics and top-k (no second pipeline run).
            if (expectServed) Assert.All(batch.Items, r => Assert.Equal("hit", r.Cache["output"]));
            Assert.All(batch.Items, r => Assert.NotEmpty(r.OutputShape));
            writer.Record(parsed.Config, batch, _ => null);
        }
        Assert.True(writer.Save());
        return catalogueFile;
    }

    [Fact]
    public void A_chains_lines_and_fired_checks_become_typed_Text_Lines_and_Checks()
    {
        var shot = Entry("assets/shot.png") with
        {
            Lines = [new CatalogueLine("Account overview", 0.9981, [11, 10, 266, 10, 266, 47, 11, 47]), new CatalogueLine("Lorem ipsum 42", 0.95, [20, 80, 200, 80, 200, 110, 20, 110])],
            Checks = [new CatalogueCheck("placeholder", "IFIO7002", "warning", "check 'placeholder' (warning): the text matches /(?i)lorem ipsum/: \"Lorem ipsum\"")],
        };
        var text = Catalogue([shot, Entry("assets/plain.png")]);
        // The writer's file reads back the same entries (what the next build carries over for an up-to-date asset).
        var back = AssetCatalogueWriter.Read(System.Text.Encoding.UTF8.GetBytes(text)).Single(e => e.Path == "assets/shot.png");
        Assert.Equal(["Account overview", "Lorem ipsum 42"], back.Lines.Select(l => l.Text));
        Assert.Equal([20.0, 80, 200, 80, 200, 110, 20, 110], back.Lines[1].Box);
        Assert.Equal("IFIO7002", back.Checks.Single().Code);

        var (result, output) = Run([Text(CataloguePath, text)]);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var assembly = GeneratorHarness.Load(output, out var context);
        try
        {
            var asset = Member(assembly, "ImageFlowAssets+Assets", "Shot");
            Assert.Equal("Account overview\nLorem ipsum 42", Get(asset, "Text"));
            var lines = ((System.Collections.IEnumerable)Get(asset, "Lines")!).Cast<object>().ToList();
            Assert.Equal(0.9981f, (float)Get(lines[0], "Score")!);
            var box = ((System.Collections.IEnumerable)Get(lines[0], "Box")!).Cast<object>().ToList();
            Assert.Equal([11f, 266f, 266f, 11f], box.Select(p => (float)Get(p, "X")!));
            Assert.Equal([10f, 10f, 47f, 47f], box.Select(p => (float)Get(p, "Y")!));
            var check = ((System.Collections.IEnumerable)Get(asset, "Checks")!).Cast<object>().Single();
            Assert.Equal(("placeholder", "IFIO7002", "warning"), ((string)Get(check, "Id")!, (string)Get(check, "Code")!, (string)Get(check, "Severity")!));
            var plain = Member(assembly, "ImageFlowAssets+Assets", "Plain");
            Assert.Equal("", Get(plain, "Text"));
            Assert.Empty((System.Collections.IEnumerable)Get(plain, "Checks")!);
        }
        finally { context.Unload(); }
    }

    private static (GeneratorDriverRunResult Result, Compilation Output) Run(IEnumerable<AdditionalText> texts, string? catalogueFlag = null)
    {
        var driver = CreateDriver(texts, catalogueFlag: catalogueFlag);
        driver = driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.CreateCompilation("namespace Consumer { class Program { } }"), out var output, out _);
        return (driver.GetRunResult(), output);
    }

    private static GeneratorDriver CreateDriver(IEnumerable<AdditionalText> texts, bool withPipelineGenerator = false, string? className = null, string? catalogueFlag = null)
    {
        var global = new Dictionary<string, string> { ["build_property.RootNamespace"] = GeneratorHarness.RootNamespace };
        if (className is not null) global["build_property.ImageFlowCatalogueClass"] = className;
        if (catalogueFlag is not null) global["build_property.ImageFlowCatalogue"] = catalogueFlag;
        ISourceGenerator[] generators = withPipelineGenerator
            ? [new CatalogueGenerator().AsSourceGenerator(), new PipelineGenerator().AsSourceGenerator()]
            : [new CatalogueGenerator().AsSourceGenerator()];
        return CSharpGeneratorDriver.Create(generators, texts, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview),
            new OptionsProvider(global), new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
    }

    private static GeneratorHarness.InMemoryText Text(string path, string text) => new(path, text);

    private static Dictionary<string, string> Sources(GeneratorDriverRunResult result) =>
        result.Results.Single().GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString());

    /// <summary>Every generated file, ordered by hint name, each under a header line.</summary>
    private static string Joined(GeneratorDriverRunResult result) => string.Concat(
        result.Results.SelectMany(r => r.GeneratedSources).OrderBy(s => s.HintName, StringComparer.Ordinal)
            .Select(s => "//// " + s.HintName + "\n" + s.SourceText.ToString()));

    private static string Catalogue(IEnumerable<CatalogueEntry> entries) => System.Text.Encoding.UTF8.GetString(AssetCatalogueWriter.Serialize(entries));

    private static CatalogueEntry Entry(string path) => new() { Path = path, Config = "imageflow.json", InputWidth = 1, InputHeight = 1, Outputs = [path] };

    private static IReadOnlyList<object> All(Assembly assembly) =>
        ((System.Collections.IEnumerable)assembly.GetType("Consumer.ImageFlowAssets")!.GetProperty("All")!.GetValue(null)!).Cast<object>().ToList();

    private static object Member(Assembly assembly, string type, string name) =>
        assembly.GetType("Consumer." + type)!.GetProperty(name, BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    private static object? Get(object instance, string property) => instance.GetType().GetProperty(property)!.GetValue(instance);

    /// <summary>Qualified member name (below ImageFlowAssets) → the entry's Path, over every nested class.</summary>
    private static Dictionary<string, string> MemberPaths(Assembly assembly)
    {
        var root = assembly.GetType("Consumer.ImageFlowAssets")!;
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        void Visit(Type type, string prefix)
        {
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Static).Where(p => p.PropertyType.Name == "ImageFlowAsset"))
                names.Add(prefix + p.Name, (string)Get(p.GetValue(null)!, "Path")!);
            foreach (var nested in type.GetNestedTypes()) Visit(nested, prefix + nested.Name + ".");
        }
        Visit(root, "");
        return names;
    }

    private sealed class OptionsProvider(Dictionary<string, string> global) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Options(global);
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;
    }

    private sealed class Options(Dictionary<string, string> values) : AnalyzerConfigOptions
    {
        public static readonly Options Empty = new([]);
        public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
    }
}
