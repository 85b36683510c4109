using System.Collections.Generic;
using ImageFlowIO.Config;
using DiagnosticSeverity = Microsoft.CodeAnalysis.DiagnosticSeverity;
using Microsoft.CodeAnalysis;

namespace ImageFlowIO.Generators
{
    /// <summary>
    /// One descriptor per config error code. The IDs are the parser's <see cref="ConfigErrorCodes"/>, so the build,
    /// the CLI and the IDE report the same IFIO0### for the same mistake. Never renumber (AnalyzerReleases.*.md).
    /// </summary>
    internal static class DiagnosticDescriptors
    {
        private const string Category = "ImageFlowIO.Config";

        public static readonly DiagnosticDescriptor InvalidJson = Error(ConfigErrorCodes.InvalidJson, "The config is not valid JSON");
        public static readonly DiagnosticDescriptor UnknownProperty = Error(ConfigErrorCodes.UnknownProperty, "Unknown property in the config");
        public static readonly DiagnosticDescriptor WrongType = Error(ConfigErrorCodes.WrongType, "A config value has the wrong JSON type");
        public static readonly DiagnosticDescriptor InvalidValue = Error(ConfigErrorCodes.InvalidValue, "A config value is not one of the allowed values");
        public static readonly DiagnosticDescriptor MissingProperty = Error(ConfigErrorCodes.MissingProperty, "A required config property is missing");
        public static readonly DiagnosticDescriptor OutOfRange = Error(ConfigErrorCodes.OutOfRange, "A config number is out of range");
        public static readonly DiagnosticDescriptor UnsupportedModelFormat = Error(ConfigErrorCodes.UnsupportedModelFormat, "The model format is not supported (convert it to ONNX)");
        public static readonly DiagnosticDescriptor DuplicateProperty = Error(ConfigErrorCodes.DuplicateProperty, "A property appears twice in one object");
        public static readonly DiagnosticDescriptor InvalidFilenamePattern = Error(ConfigErrorCodes.InvalidFilenamePattern, "The output file name pattern is invalid");
        public static readonly DiagnosticDescriptor InconsistentSettings = Error(ConfigErrorCodes.InconsistentSettings, "Config settings contradict each other");
        public static readonly DiagnosticDescriptor ConfigNotFound = Error(ConfigErrorCodes.ConfigNotFound, "The config file cannot be read");
        public static readonly DiagnosticDescriptor CustomFunctionNotRun = Warning(ConfigErrorCodes.CustomFunctionNotRun, "A JavaScript custom function is not run in .NET");
        public static readonly DiagnosticDescriptor NonReproducibleOutput = Warning(ConfigErrorCodes.NonReproducibleOutput, "The output file name makes builds non-reproducible");
        public static readonly DiagnosticDescriptor InvalidPath = Error(ConfigErrorCodes.InvalidPath, "A config path is empty or contains control characters");
        public static readonly DiagnosticDescriptor PathIsFolder = Error(ConfigErrorCodes.PathIsFolder, "A config path names a folder where a file is meant");

        /// <summary>The generator itself failed on a config: a bug to report, never a crash of the compiler.</summary>
        public static readonly DiagnosticDescriptor GeneratorFailed = new DiagnosticDescriptor(
            "IFIO0099", "The ImageFlowIO generator failed on this config", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        private static readonly Dictionary<string, DiagnosticDescriptor> ById = new Dictionary<string, DiagnosticDescriptor>
        {
            [InvalidJson.Id] = InvalidJson,
            [UnknownProperty.Id] = UnknownProperty,
            [WrongType.Id] = WrongType,
            [InvalidValue.Id] = InvalidValue,
            [MissingProperty.Id] = MissingProperty,
            [OutOfRange.Id] = OutOfRange,
            [UnsupportedModelFormat.Id] = UnsupportedModelFormat,
            [DuplicateProperty.Id] = DuplicateProperty,
            [InvalidFilenamePattern.Id] = InvalidFilenamePattern,
            [InconsistentSettings.Id] = InconsistentSettings,
            [ConfigNotFound.Id] = ConfigNotFound,
            [CustomFunctionNotRun.Id] = CustomFunctionNotRun,
            [NonReproducibleOutput.Id] = NonReproducibleOutput,
            [InvalidPath.Id] = InvalidPath,
            [PathIsFolder.Id] = PathIsFolder,
            [GeneratorFailed.Id] = GeneratorFailed,
        };

        /// <summary>Every descriptor the generator can report.</summary>
        public static IEnumerable<DiagnosticDescriptor> All => ById.Values;

        /// <summary>The descriptor of a parser code; a code added to the parser later still reports, as an error.</summary>
        public static DiagnosticDescriptor For(string id) => ById.TryGetValue(id, out var d) ? d : GeneratorFailed;

        private static DiagnosticDescriptor Error(string id, string title) =>
            new DiagnosticDescriptor(id, title, "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        private static DiagnosticDescriptor Warning(string id, string title) =>
            new DiagnosticDescriptor(id, title, "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);
    }
}
