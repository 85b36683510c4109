extern alias generator;
using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using PipelineGenerator = generator::ImageFlowIO.Generators.PipelineGenerator;

namespace ImageFlowIO.Generators.Tests.Support;

/// <summary>Runs the generator in-process with CSharpGeneratorDriver over the running framework's assemblies (nothing downloaded).</summary>
internal static class GeneratorHarness
{
    public const string RootNamespace = "Consumer";

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).ToList();
        paths.Add(typeof(Pipeline).Assembly.Location);
        paths.Add(typeof(Microsoft.Extensions.Logging.ILoggerFactory).Assembly.Location);
        // The generator assembly holds a linked copy of ImageFlowIO.Config: generated code must bind to the runtime's.
        var generatorPath = typeof(PipelineGenerator).Assembly.Location;
        return [.. paths.Distinct(StringComparer.Ordinal).Where(p => !string.Equals(p, generatorPath, StringComparison.Ordinal)).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    });

    /// <summary>The running framework's assemblies, the runtime and logging: what a consumer project compiles against.</summary>
    public static ImmutableArray<MetadataReference> MetadataReferences => References.Value;

    public static string ConfigsDirectory => Path.Combine(AppContext.BaseDirectory, "Configs");

    public static SyntaxTree Parse(string source, string path = "") =>
        CSharpSyntaxTree.ParseText(source, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview), path: path);

    public static CSharpCompilation CreateCompilation(params string[] sources) => CSharpCompilation.Create(
        "Consumer",
        sources.Select((s, i) => Parse(s, $"Source{i}.cs")),
        References.Value,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver(IEnumerable<AdditionalText> texts, string? rootNamespace = RootNamespace, IReadOnlyDictionary<string, string>? metadataByPath = null)
    {
        var global = new Dictionary<string, string>();
        if (rootNamespace is not null) global["build_property.RootNamespace"] = rootNamespace;
        return CSharpGeneratorDriver.Create(
            [new PipelineGenerator().AsSourceGenerator()],
            texts,
            CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview),
            new OptionsProvider(global, metadataByPath ?? new Dictionary<string, string>()),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
    }

    /// <summary>Runs the generator over one config text; returns the run result and the output compilation.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output, ImmutableArray<Diagnostic> Diagnostics) Run(string path, string json, params string[] sources)
    {
        // Files not named like a config take part through the ImageFlowConfig metadata, as the props allow.
        var driver = CreateDriver([new InMemoryText(path, json)], metadataByPath: new Dictionary<string, string> { [path] = "true" });
        driver = driver.RunGeneratorsAndUpdateCompilation(CreateCompilation(sources), out var output, out var diagnostics);
        return (driver.GetRunResult(), output, diagnostics);
    }

    public static (GeneratorDriverRunResult Result, Compilation Output) RunFile(string configPath, params string[] sources)
    {
        var (result, output, _) = Run(configPath, File.ReadAllText(configPath), sources);
        return (result, output);
    }

    /// <summary>Emits the compilation and loads it into a collectible context that resolves ImageFlowIO from the default one.</summary>
    public static Assembly Load(Compilation compilation, out AssemblyLoadContext context)
    {
        using var image = new MemoryStream();
        var emit = compilation.Emit(image);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        image.Position = 0;
        context = new AssemblyLoadContext("generated-" + Guid.NewGuid().ToString("N"), isCollectible: true);
        return context.LoadFromStream(image);
    }

    public static string SnapshotsDirectory([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(here)!)!, "Snapshots");

    /// <summary>An additional file whose text is given (or null: unreadable).</summary>
    public sealed class InMemoryText(string path, string? text) : AdditionalText
    {
        public override string Path { get; } = path;
        public override SourceText? GetText(CancellationToken cancellationToken = default) => text is null ? null : SourceText.From(text);
    }

    private sealed class OptionsProvider(Dictionary<string, string> global, IReadOnlyDictionary<string, string> metadataByPath) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Options(global);
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) =>
            metadataByPath.TryGetValue(textFile.Path, out var marked)
                ? new Options(new Dictionary<string, string> { [PipelineGenerator.ConfigMetadata] = marked })
                : Options.Empty;
    }

    private sealed class Options(Dictionary<string, string> values) : AnalyzerConfigOptions
    {
        public static readonly Options Empty = new([]);
        public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
    }
}
