using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using ImageFlowIO.Config;
using DiagnosticSeverity = Microsoft.CodeAnalysis.DiagnosticSeverity;
using Microsoft.CodeAnalysis;

namespace ImageFlowIO.Generators
{
    /// <summary>
    /// One descriptor per config diagnostic code. IDs and titles are the parser's <see cref="ConfigErrorCodes"/> (one
    /// source), so the build, the CLI and the IDE report the same IFIO0### for the same mistake, and a code the parser
    /// adds later gets its descriptor here without an edit. Never renumber (AnalyzerReleases.*.md).
    /// </summary>
    internal static class DiagnosticDescriptors
    {
        private const string Category = "ImageFlowIO.Config";

        // Constant IDs, one field each, so the release tracking (AnalyzerReleases.*.md) sees every rule; titles from the parser's list.
        public static readonly DiagnosticDescriptor InvalidJson = Error(ConfigErrorCodes.InvalidJson);
        public static readonly DiagnosticDescriptor UnknownProperty = Error(ConfigErrorCodes.UnknownProperty);
        public static readonly DiagnosticDescriptor WrongType = Error(ConfigErrorCodes.WrongType);
        public static readonly DiagnosticDescriptor InvalidValue = Error(ConfigErrorCodes.InvalidValue);
        public static readonly DiagnosticDescriptor MissingProperty = Error(ConfigErrorCodes.MissingProperty);
        public static readonly DiagnosticDescriptor OutOfRange = Error(ConfigErrorCodes.OutOfRange);
        public static readonly DiagnosticDescriptor UnsupportedModelFormat = Error(ConfigErrorCodes.UnsupportedModelFormat);
        public static readonly DiagnosticDescriptor DuplicateProperty = Error(ConfigErrorCodes.DuplicateProperty);
        public static readonly DiagnosticDescriptor InvalidFilenamePattern = Error(ConfigErrorCodes.InvalidFilenamePattern);
        public static readonly DiagnosticDescriptor InconsistentSettings = Error(ConfigErrorCodes.InconsistentSettings);
        public static readonly DiagnosticDescriptor ConfigNotFound = Error(ConfigErrorCodes.ConfigNotFound);
        /// <summary>A JavaScript custom function: answered once the matching partial hook is implemented.</summary>
        public static readonly DiagnosticDescriptor CustomFunctionNotRun = Warning(ConfigErrorCodes.CustomFunctionNotRun);
        public static readonly DiagnosticDescriptor NonReproducibleOutput = Warning(ConfigErrorCodes.NonReproducibleOutput);
        public static readonly DiagnosticDescriptor InvalidPath = Error(ConfigErrorCodes.InvalidPath);
        public static readonly DiagnosticDescriptor PathIsFolder = Error(ConfigErrorCodes.PathIsFolder);
        /// <summary>Two configs would generate the same class (instead of the compiler's CS0101).</summary>
        public static readonly DiagnosticDescriptor ClassNameClash = Error(ConfigErrorCodes.ClassNameClash);
        /// <summary>The generator itself failed on a config: a bug to report, never a crash of the compiler.</summary>
        public static readonly DiagnosticDescriptor GeneratorFailed = Error(ConfigErrorCodes.GeneratorFailed);

        private static readonly ConcurrentDictionary<string, DiagnosticDescriptor> ById = new ConcurrentDictionary<string, DiagnosticDescriptor>(new[]
        {
            InvalidJson, UnknownProperty, WrongType, InvalidValue, MissingProperty, OutOfRange, UnsupportedModelFormat, DuplicateProperty,
            InvalidFilenamePattern, InconsistentSettings, ConfigNotFound, CustomFunctionNotRun, NonReproducibleOutput, InvalidPath, PathIsFolder, ClassNameClash, GeneratorFailed,
        }.ToDictionary(d => d.Id, d => d));

        /// <summary>Every descriptor the generator has reported or can report.</summary>
        public static IEnumerable<DiagnosticDescriptor> All => ById.Values;

        /// <summary>The descriptor of a parser code; a code the parser added later (with its title) reports under its own ID, as an error.</summary>
        public static DiagnosticDescriptor For(string id) => ById.GetOrAdd(id, code => TitleOf(code) is { } title
            ? new DiagnosticDescriptor(code, title, "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true)
            : GeneratorFailed);

        private static string? TitleOf(string id) => ConfigErrorCodes.Titles.Where(t => t.Key == id).Select(t => t.Value).FirstOrDefault();

        private static DiagnosticDescriptor Error(string id) =>
            new DiagnosticDescriptor(id, TitleOf(id) ?? id, "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        private static DiagnosticDescriptor Warning(string id) =>
            new DiagnosticDescriptor(id, TitleOf(id) ?? id, "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);
    }
}
