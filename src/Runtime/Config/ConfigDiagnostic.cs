// Shared with the netstandard2.0 generator (linked source).
using System;
using System.Collections.Generic;

namespace ImageFlowIO.Config
{
    public enum DiagnosticSeverity { Warning, Error }

    /// <summary>One problem found in a config file, located at the JSON token that caused it.</summary>
    public sealed class ConfigDiagnostic : IEquatable<ConfigDiagnostic>
    {
        public ConfigDiagnostic(string code, DiagnosticSeverity severity, string message, string? filePath, int line, int column, int offset, int length, string? subject = null)
        {
            Code = code; Severity = severity; Message = message; FilePath = filePath;
            Line = line; Column = column; Offset = offset; Length = length; Subject = subject;
        }

        /// <summary>The config property the diagnostic is about (<c>custom.preprocessingFn</c>), where a host acts on it; else null.</summary>
        public string? Subject { get; }

        /// <summary>Stable code, <c>IFIO0###</c>.</summary>
        public string Code { get; }
        public DiagnosticSeverity Severity { get; }
        public string Message { get; }
        public string? FilePath { get; }
        /// <summary>1-based line of the token (0 when unknown).</summary>
        public int Line { get; }
        /// <summary>1-based column of the token, in UTF-16 characters (0 when unknown).</summary>
        public int Column { get; }
        /// <summary>0-based character offset of the token in the file.</summary>
        public int Offset { get; }
        /// <summary>Length of the token in characters.</summary>
        public int Length { get; }

        public bool IsError => Severity == DiagnosticSeverity.Error;

        /// <summary>MSBuild/compiler canonical form: <c>file(line,col): error IFIO0002: message</c>.</summary>
        public override string ToString()
        {
            var where = FilePath ?? "config";
            if (Line > 0) where += "(" + Line + "," + Column + ")";
            return where + ": " + (IsError ? "error " : "warning ") + Code + ": " + Message;
        }

        public bool Equals(ConfigDiagnostic? other) => other is not null && Code == other.Code && Severity == other.Severity
            && Message == other.Message && FilePath == other.FilePath && Line == other.Line && Column == other.Column
            && Offset == other.Offset && Length == other.Length && Subject == other.Subject;
        public override bool Equals(object? obj) => Equals(obj as ConfigDiagnostic);
        public override int GetHashCode() => (Code.GetHashCode() * 31 + Offset) * 31 + Message.GetHashCode();
    }

    /// <summary>Stable diagnostic IDs for config problems. Never renumber: users suppress and search by them.</summary>
    public static class ConfigErrorCodes
    {
        // The generator's own codes, at the end of the range so parser codes can keep growing from the start.
        public const string ClassNameClash = "IFIO0098";
        public const string GeneratorFailed = "IFIO0099";
        public const string InvalidJson = "IFIO0001";
        public const string UnknownProperty = "IFIO0002";
        public const string WrongType = "IFIO0003";
        public const string InvalidValue = "IFIO0004";
        public const string MissingProperty = "IFIO0005";
        public const string OutOfRange = "IFIO0006";
        public const string UnsupportedModelFormat = "IFIO0007";
        public const string DuplicateProperty = "IFIO0008";
        public const string InvalidFilenamePattern = "IFIO0009";
        public const string InconsistentSettings = "IFIO0010";
        public const string ConfigNotFound = "IFIO0011";
        public const string CustomFunctionNotRun = "IFIO0012";
        public const string NonReproducibleOutput = "IFIO0013";
        public const string InvalidPath = "IFIO0014";
        public const string PathIsFolder = "IFIO0015";

        /// <summary>Every config diagnostic ID with its one-line title (for docs and the generator's descriptors).</summary>
        public static readonly IReadOnlyList<KeyValuePair<string, string>> Titles = new[]
        {
            new KeyValuePair<string, string>(ClassNameClash, "Two configs generate a pipeline class of the same name"),
            new KeyValuePair<string, string>(GeneratorFailed, "The ImageFlowIO generator failed on this config (a bug: please report it)"),
            new KeyValuePair<string, string>(InvalidJson, "The config is not valid JSON"),
            new KeyValuePair<string, string>(UnknownProperty, "Unknown property in the config"),
            new KeyValuePair<string, string>(WrongType, "A config value has the wrong JSON type"),
            new KeyValuePair<string, string>(InvalidValue, "A config value is not one of the allowed values"),
            new KeyValuePair<string, string>(MissingProperty, "A required config property is missing"),
            new KeyValuePair<string, string>(OutOfRange, "A config number is out of range"),
            new KeyValuePair<string, string>(UnsupportedModelFormat, "The model format is not supported (convert it to ONNX)"),
            new KeyValuePair<string, string>(DuplicateProperty, "A property appears twice in one object"),
            new KeyValuePair<string, string>(InvalidFilenamePattern, "The output file name pattern is invalid"),
            new KeyValuePair<string, string>(InconsistentSettings, "Config settings contradict each other"),
            new KeyValuePair<string, string>(ConfigNotFound, "The config file cannot be read"),
            new KeyValuePair<string, string>(CustomFunctionNotRun, "A JavaScript custom function is not run in .NET"),
            new KeyValuePair<string, string>(NonReproducibleOutput, "The output file name makes builds non-reproducible"),
            new KeyValuePair<string, string>(InvalidPath, "A config path is empty or contains control characters"),
            new KeyValuePair<string, string>(PathIsFolder, "A config path names a folder where a file is meant"),
        };
    }
}
