extern alias generator;
using System.Collections;
using System.Reflection;
using ImageFlowIO.Generators.Tests.Support;
using Microsoft.CodeAnalysis;
using Steps = generator::ImageFlowIO.Generators.PipelineGenerator.Steps;

namespace ImageFlowIO.Generators.Tests;

/// <summary>Editing C# or moving JSON text must not redo work (NetEscapades.EnumGenerators' TestHelpers pattern).</summary>
public sealed class IncrementalityTests
{
    private static readonly string[] TrackedSteps = [Steps.ConfigFiles, Steps.RootNamespace, Steps.Parsed, Steps.Specs, Steps.Diagnostics, Steps.Hooks, Steps.Sources, Steps.Stubs, Steps.Clashes];

    private static string Textdet => File.ReadAllText(Path.Combine(GeneratorHarness.ConfigsDirectory, "textdet", "imageflow.json"));

    [Fact]
    public void An_unrelated_csharp_edit_leaves_every_step_cached_or_unchanged()
    {
        var compilation = GeneratorHarness.CreateCompilation("namespace Consumer { public class Program { public static int Main() => 0; } }");
        // A broken config too, so the placeholder's steps are walked as well.
        var driver = GeneratorHarness.CreateDriver([new GeneratorHarness.InMemoryText("/app/imageflow.json", Textdet), new GeneratorHarness.InMemoryText("/app/broken.imageflow.json", "{ \"modle\": 1 }")]);
        driver = driver.RunGenerators(compilation);
        var first = driver.GetRunResult();

        var edited = compilation
            .AddSyntaxTrees(GeneratorHarness.Parse("namespace Consumer { internal static class Helper { public static int Two => 2; } }"))
            .ReplaceSyntaxTree(compilation.SyntaxTrees.First(), GeneratorHarness.Parse("namespace Consumer { public class Program { public static int Main() => 1; } }"));
        var second = driver.RunGenerators(edited).GetRunResult();

        Assert.Equal(2, first.Results.Single().GeneratedSources.Length);
        Assert.Equal(first.Results.Single().GeneratedSources.Select(g => g.SourceText.ToString()), second.Results.Single().GeneratedSources.Select(g => g.SourceText.ToString()));
        var steps = second.Results.Single().TrackedSteps;
        foreach (var name in TrackedSteps)
        {
            Assert.True(steps.ContainsKey(name), $"step {name} is not tracked");
            foreach (var step in steps[name])
                foreach (var (_, reason) in step.Outputs)
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {name} ran again: {reason}");
        }
        foreach (var (_, reason) in second.Results.Single().TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs))
            Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output ran again: {reason}");
    }

    [Fact]
    public void Moving_text_in_the_json_moves_the_diagnostic_but_does_not_regenerate_the_source()
    {
        var json = Textdet.Replace("\"path\": \"out\", \"format\": \"png\", \"filename\": \"{name}.textmap.png\"", "\"path\": \"out\", \"format\": \"png\", \"filename\": \"{timestamp}.png\"");
        var original = new GeneratorHarness.InMemoryText("/app/imageflow.json", json);
        var compilation = GeneratorHarness.CreateCompilation("class Program { }");
        var driver = GeneratorHarness.CreateDriver([original]).RunGenerators(compilation);
        var first = driver.GetRunResult();

        var moved = new GeneratorHarness.InMemoryText("/app/imageflow.json", "\n\n" + json);
        var second = driver.ReplaceAdditionalText(original, moved).RunGenerators(compilation).GetRunResult();

        Assert.Equal("IFIO0013", Assert.Single(first.Diagnostics).Id);
        Assert.Equal(Assert.Single(first.Diagnostics).Location.GetLineSpan().StartLinePosition.Line + 2, Assert.Single(second.Diagnostics).Location.GetLineSpan().StartLinePosition.Line);
        var steps = second.Results.Single().TrackedSteps;
        Assert.Contains(steps[Steps.Parsed].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.All(steps[Steps.Specs].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
        Assert.All(steps[Steps.Sources].SelectMany(s => s.Outputs), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));
    }

    [Fact]
    public void Implementing_a_hook_regenerates_the_source_with_the_hook_wired()
    {
        var compilation = GeneratorHarness.CreateCompilation("class Program { }");
        var config = new GeneratorHarness.InMemoryText("/app/custom.imageflow.json", File.ReadAllText(Path.Combine(GeneratorHarness.ConfigsDirectory, "custom.imageflow.json")));
        var driver = GeneratorHarness.CreateDriver([config]).RunGenerators(compilation);
        var before = driver.GetRunResult();
        var after = driver.RunGenerators(compilation.AddSyntaxTrees(GeneratorHarness.Parse(GeneratedSourceTests.HookSource))).GetRunResult();

        Assert.Equal(["IFIO0012", "IFIO0012"], before.Diagnostics.Select(d => d.Id));
        Assert.DoesNotContain("WithHooks", before.Results.Single().GeneratedSources.Single().SourceText.ToString());
        Assert.Empty(after.Diagnostics);
        Assert.Contains("WithHooks", after.Results.Single().GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void No_step_output_holds_a_compilation_a_symbol_or_a_syntax_node()
    {
        var compilation = GeneratorHarness.CreateCompilation(GeneratedSourceTests.HookSource);
        var texts = new[] { "textdet/imageflow.json", "custom.imageflow.json", "gray64.imageflow.json" }
            .Select(f => new GeneratorHarness.InMemoryText("/app/" + f.Replace('/', '_'), File.ReadAllText(Path.Combine(GeneratorHarness.ConfigsDirectory, f))))
            .Append(new GeneratorHarness.InMemoryText("/app/broken.imageflow.json", "{ \"modle\": 1 }"));
        var run = GeneratorHarness.CreateDriver(texts, metadataByPath: new Dictionary<string, string> { ["/app/textdet_imageflow.json"] = "true" })
            .RunGenerators(compilation).GetRunResult().Results.Single();

        var walked = 0;
        foreach (var step in run.TrackedSteps.SelectMany(s => s.Value).Concat(run.TrackedOutputSteps.SelectMany(s => s.Value)))
            foreach (var (value, _) in step.Outputs)
                walked += AssertNoRoslynObjects(value, new HashSet<object>(ReferenceEqualityComparer.Instance), step.Name ?? "output");
        Assert.True(walked > 50, $"walked only {walked} objects");
        // The walker itself finds a compilation hidden in a tuple.
        Assert.ThrowsAny<Exception>(() => AssertNoRoslynObjects((1, new[] { compilation }), new HashSet<object>(ReferenceEqualityComparer.Instance), "probe"));
    }

    private static int AssertNoRoslynObjects(object? value, HashSet<object> seen, string path)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || !seen.Add(value)) return 0;
        Assert.False(value is Compilation or ISymbol or SyntaxNode or SyntaxTree or SemanticModel, $"{path} holds a {value.GetType().Name}");
        var count = 1;
        if (value is IEnumerable items)
        {
            List<object?> list;
            try { list = items.Cast<object?>().ToList(); }
            catch (InvalidOperationException) { list = []; } // a default ImmutableArray holds nothing
            foreach (var item in list) count += AssertNoRoslynObjects(item, seen, path + "[]");
            if (value.GetType().IsArray) return count;
        }
        for (var type = value.GetType(); type is not null && type != typeof(object); type = type.BaseType)
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                count += AssertNoRoslynObjects(field.GetValue(value), seen, path + "." + field.Name);
        return count;
    }
}
