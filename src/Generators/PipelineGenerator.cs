using System;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using ImageFlowIO.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace ImageFlowIO.Generators
{
    /// <summary>
    /// Generates a typed pipeline class per ImageFlowIO config (an AdditionalFile named <c>imageflow.json</c>,
    /// <c>config.json</c> or <c>*.imageflow.json</c>, or any AdditionalFile with <c>ImageFlowConfig="true"</c> metadata).
    /// Steps: config text → <see cref="PipelineParser"/> → equatable <see cref="PipelineSpec"/> → <see cref="PipelineEmitter"/>;
    /// diagnostics flow in their own output so moving text in the JSON does not regenerate the source.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class PipelineGenerator : IIncrementalGenerator
    {
        /// <summary>Tracking names of the pipeline's steps (tests assert they stay cached).</summary>
        internal static class Steps
        {
            public const string ConfigFiles = "ImageFlowIO.ConfigFiles";
            public const string RootNamespace = "ImageFlowIO.RootNamespace";
            public const string Parsed = "ImageFlowIO.Parsed";
            public const string Specs = "ImageFlowIO.Specs";
            public const string Diagnostics = "ImageFlowIO.Diagnostics";
            public const string Hooks = "ImageFlowIO.Hooks";
            public const string Sources = "ImageFlowIO.Sources";
            public const string Stubs = "ImageFlowIO.Stubs";
            public const string Clashes = "ImageFlowIO.Clashes";
        }

        /// <summary>AdditionalFiles metadata that marks (true) or unmarks (false) a file as an ImageFlowIO config.</summary>
        internal const string ConfigMetadata = "build_metadata.AdditionalFiles.ImageFlowConfig";

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var configFiles = context.AdditionalTextsProvider
                .Combine(context.AnalyzerConfigOptionsProvider)
                .Where(pair => IsConfig(pair.Left.Path, pair.Right.GetOptions(pair.Left)))
                .Select((pair, ct) => new ConfigFile(pair.Left.Path, pair.Left.GetText(ct)?.ToString()))
                .WithTrackingName(Steps.ConfigFiles);

            var rootNamespace = context.AnalyzerConfigOptionsProvider
                .Select((options, _) => options.GlobalOptions.TryGetValue("build_property.RootNamespace", out var ns) ? ns : null)
                .WithTrackingName(Steps.RootNamespace);

            var parsed = configFiles
                .Combine(rootNamespace)
                .Select((pair, ct) => PipelineParser.Parse(pair.Left, pair.Right, ct))
                .WithTrackingName(Steps.Parsed);

            var hooks = context.SyntaxProvider
                .CreateSyntaxProvider(static (node, _) => IsHookImplementation(node), static (ctx, _) => ToHook((MethodDeclarationSyntax)ctx.Node))
                .Collect()
                .Select((all, _) => all.Distinct().OrderBy(h => h.ClassFullName, StringComparer.Ordinal).ThenBy(h => h.MethodName, StringComparer.Ordinal).ToImmutableEquatableArray())
                .WithTrackingName(Steps.Hooks);

            // Every config claims a class (a placeholder when it has errors); a name claimed twice is IFIO0098, not CS0101.
            var clashes = parsed
                .Select((outcome, _) => outcome.Claim)
                .Collect()
                .Select((claims, _) => FindClashes(claims))
                .WithTrackingName(Steps.Clashes);

            var sources = parsed
                .Where(outcome => outcome.Spec is not null)
                .Select((outcome, _) => outcome.Spec!)
                .WithTrackingName(Steps.Specs)
                .Combine(hooks)
                .Select((pair, _) => new PipelineSource(pair.Left,
                    pair.Right.Contains(new HookImplementation(pair.Left.FullName, "OnPreprocessing")),
                    pair.Right.Contains(new HookImplementation(pair.Left.FullName, "OnPostprocessing"))))
                .WithTrackingName(Steps.Sources)
                .Combine(clashes);
            context.RegisterSourceOutput(sources, static (spc, pair) =>
            {
                if (!LostItsName(pair.Left.Spec.ConfigPath, pair.Right)) spc.AddSource(PipelineEmitter.HintName(pair.Left.Spec), PipelineEmitter.Emit(pair.Left));
            });

            var stubs = parsed
                .Where(outcome => outcome.Spec is null)
                .Select((outcome, _) => new StubSpec(outcome.Claim, outcome.Diagnostics.Where(d => DiagnosticDescriptors.For(d.Id).DefaultSeverity == DiagnosticSeverity.Error)
                    .Select(d => d.Id).Distinct().OrderBy(id => id, StringComparer.Ordinal).ToImmutableEquatableArray()))
                .WithTrackingName(Steps.Stubs)
                .Combine(clashes);
            context.RegisterSourceOutput(stubs, static (spc, pair) =>
            {
                var claim = pair.Left.Claim;
                if (!LostItsName(claim.ConfigPath, pair.Right)) spc.AddSource(PipelineEmitter.HintName(claim.ClassName, claim.ConfigFileName), PipelineEmitter.EmitStub(pair.Left));
            });

            context.RegisterSourceOutput(clashes, static (spc, all) =>
            {
                foreach (var clash in all)
                {
                    var loser = clash.Loser;
                    var info = new DiagnosticInfo(DiagnosticDescriptors.ClassNameClash.Id,
                        "this config would generate the class '" + loser.FullName + "', which '" + clash.OwnerPath + "' already generates; give one of them another model.name (the class is its PascalCase + 'Pipeline')",
                        loser.ConfigPath, loser.NameOffset, loser.NameLength, loser.NameLine, loser.NameColumn);
                    spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ClassNameClash, info.ToLocation(), info.Message));
                }
            });

            var diagnostics = parsed
                .Select((outcome, _) => (outcome.ClassFullName, outcome.Diagnostics))
                .WithTrackingName(Steps.Diagnostics)
                .Combine(hooks);
            context.RegisterSourceOutput(diagnostics, static (spc, pair) =>
            {
                foreach (var info in pair.Left.Diagnostics)
                {
                    if (IsAnsweredByHook(info, pair.Left.ClassFullName, pair.Right)) continue;
                    spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.For(info.Id), info.ToLocation(), info.Message));
                }
            });
        }

        /// <summary>Configs whose class another config (first by ordinal path) already claims.</summary>
        private static ImmutableEquatableArray<ClassClash> FindClashes(ImmutableArray<ClassClaim> claims) =>
            claims.GroupBy(c => c.FullName, StringComparer.Ordinal)
                .Where(g => g.Count() > 1)
                .SelectMany(g =>
                {
                    var ordered = g.OrderBy(c => c.ConfigPath, StringComparer.Ordinal).ToList();
                    return ordered.Skip(1).Select(loser => new ClassClash(loser, ordered[0].ConfigPath));
                })
                .OrderBy(c => c.Loser.ConfigPath, StringComparer.Ordinal)
                .ToImmutableEquatableArray();

        private static bool LostItsName(string configPath, ImmutableEquatableArray<ClassClash> clashes) =>
            clashes.Any(c => string.Equals(c.Loser.ConfigPath, configPath, StringComparison.Ordinal));

        internal static bool IsConfig(string path, AnalyzerConfigOptions options)
        {
            if (options.TryGetValue(ConfigMetadata, out var marked) && !string.IsNullOrEmpty(marked))
                return string.Equals(marked.Trim(), "true", StringComparison.OrdinalIgnoreCase);
            var name = PipelineParser.FileNameOf(path);
            return string.Equals(name, "imageflow.json", StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, "config.json", StringComparison.OrdinalIgnoreCase)
                || name.EndsWith(".imageflow.json", StringComparison.OrdinalIgnoreCase);
        }

        private static bool IsHookImplementation(SyntaxNode node) =>
            node is MethodDeclarationSyntax method
            && (method.Identifier.ValueText == "OnPreprocessing" || method.Identifier.ValueText == "OnPostprocessing")
            && (method.Body is not null || method.ExpressionBody is not null)
            && method.Modifiers.Any(SyntaxKind.PartialKeyword)
            && method.Parent is ClassDeclarationSyntax;

        private static HookImplementation ToHook(MethodDeclarationSyntax method)
        {
            var type = (ClassDeclarationSyntax)method.Parent!;
            var name = type.Identifier.ValueText;
            for (var parent = type.Parent; parent is not null; parent = parent.Parent)
            {
                if (parent is BaseNamespaceDeclarationSyntax ns) name = ns.Name.ToString().Replace(" ", "") + "." + name;
                else if (parent is TypeDeclarationSyntax outer) name = outer.Identifier.ValueText + "." + name;
            }
            return new HookImplementation(name, method.Identifier.ValueText);
        }

        /// <summary>IFIO0012 says "implement the hook instead": once the hook of its property is implemented the warning is answered.</summary>
        private static bool IsAnsweredByHook(DiagnosticInfo info, string classFullName, ImmutableEquatableArray<HookImplementation> hooks)
        {
            if (info.Id != DiagnosticDescriptors.CustomFunctionNotRun.Id) return false;
            var hook = info.Subject switch
            {
                "custom.preprocessingFn" => "OnPreprocessing",
                "custom.postprocessingFn" => "OnPostprocessing",
                _ => null,
            };
            return hook is not null && hooks.Contains(new HookImplementation(classFullName, hook));
        }
    }
}
