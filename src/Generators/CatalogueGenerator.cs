using System;
using System.Linq;
using ImageFlowIO.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace ImageFlowIO.Generators
{
    /// <summary>
    /// Generates the typed asset catalogue (<c>ImageFlowAssets</c>) from the catalogue file the ImageFlowIO build task
    /// writes in obj/ (an AdditionalFile named <c>imageflow.catalogue.json</c> or marked <c>ImageFlowCatalogue="true"</c>).
    /// Steps: catalogue text → <see cref="CatalogueParser"/> → equatable <see cref="CatalogueModel"/> → one source per asset
    /// member, one for the class and <c>All</c>, one for the entry types (<see cref="CatalogueEmitter"/>). A build that
    /// changed no asset leaves every step cached; an edited asset re-emits only its member's file.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class CatalogueGenerator : IIncrementalGenerator
    {
        /// <summary>Tracking names of the catalogue's steps (tests assert they stay cached).</summary>
        internal static class Steps
        {
            public const string Texts = "ImageFlowIO.Catalogue.Texts";
            public const string Settings = "ImageFlowIO.Catalogue.Settings";
            public const string Parsed = "ImageFlowIO.Catalogue.Parsed";
            public const string Index = "ImageFlowIO.Catalogue.Index";
            public const string Members = "ImageFlowIO.Catalogue.Members";
        }

        /// <summary>AdditionalFiles metadata that marks (true) or unmarks (false) a file as the asset catalogue.</summary>
        internal const string CatalogueMetadata = "build_metadata.AdditionalFiles.ImageFlowCatalogue";
        /// <summary>The file name the task writes.</summary>
        internal const string CatalogueFileName = "imageflow.catalogue.json";

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var texts = context.AdditionalTextsProvider
                .Combine(context.AnalyzerConfigOptionsProvider)
                .Where(pair => IsCatalogue(pair.Left.Path, pair.Right.GetOptions(pair.Left)))
                // Only the text goes on: the file's absolute path must not reach the model (two clones, same source).
                .Select((pair, ct) => pair.Left.GetText(ct)?.ToString())
                .Where(text => text != null)
                .Collect()
                .Select((all, _) => all.Select(t => t!).OrderBy(t => t, StringComparer.Ordinal).ToImmutableEquatableArray())
                .WithTrackingName(Steps.Texts);

            var settings = context.AnalyzerConfigOptionsProvider
                .Select((options, _) => CatalogueParser.Settings(
                    Get(options.GlobalOptions, "build_property.RootNamespace"),
                    Get(options.GlobalOptions, "build_property.ImageFlowCatalogueClass"),
                    Get(options.GlobalOptions, "build_property.ImageFlowCatalogue")))
                .WithTrackingName(Steps.Settings);

            var parsed = texts
                .Combine(settings)
                .Select((pair, ct) => CatalogueParser.Parse(pair.Left, pair.Right, ct))
                .WithTrackingName(Steps.Parsed);

            var index = parsed
                .Select((model, _) => new CatalogueIndex(model.Settings, model.Emit,
                    model.Members.Select(m => m.QualifiedName).ToImmutableEquatableArray(), model.Folders))
                .WithTrackingName(Steps.Index);
            context.RegisterSourceOutput(index, static (spc, i) =>
            {
                if (!i.Emit) return;
                spc.AddSource(CatalogueEmitter.TypesHintName(i.Settings), CatalogueEmitter.EmitTypes(i.Settings));
                spc.AddSource(CatalogueEmitter.IndexHintName(i.Settings), CatalogueEmitter.EmitIndex(i));
            });

            var members = parsed
                .SelectMany((model, _) => model.Members.Select(m => new CatalogueMemberSource(model.Settings, m)))
                .WithTrackingName(Steps.Members);
            context.RegisterSourceOutput(members, static (spc, m) => spc.AddSource(CatalogueEmitter.MemberHintName(m), CatalogueEmitter.EmitMember(m)));
        }

        internal static bool IsCatalogue(string path, AnalyzerConfigOptions options)
        {
            if (options.TryGetValue(CatalogueMetadata, out var marked) && !string.IsNullOrEmpty(marked))
                return string.Equals(marked.Trim(), "true", StringComparison.OrdinalIgnoreCase);
            return string.Equals(PipelineParser.FileNameOf(path), CatalogueFileName, StringComparison.OrdinalIgnoreCase);
        }

        private static string? Get(AnalyzerConfigOptions options, string key) => options.TryGetValue(key, out var value) ? value : null;
    }
}
