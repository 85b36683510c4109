using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ImageFlowIO.Generators.Model
{
    /// <summary>A config problem as plain values (no <see cref="Location"/>, which is not value-equal across runs).</summary>
    internal sealed record DiagnosticInfo(string Id, string Message, string FilePath, int Offset, int Length, int Line, int Column)
    {
        /// <summary>The location in the JSON file: line and column are the parser's 1-based ones.</summary>
        public Location ToLocation()
        {
            if (Line <= 0) return Location.Create(FilePath, default, default);
            var start = new LinePosition(Line - 1, System.Math.Max(0, Column - 1));
            var end = new LinePosition(Line - 1, start.Character + System.Math.Max(0, Length));
            return Location.Create(FilePath, new TextSpan(Offset, System.Math.Max(0, Length)), new LinePositionSpan(start, end));
        }
    }

    /// <summary>What parsing one config produced: the spec (null on errors) and its diagnostics, kept apart downstream.</summary>
    internal sealed record ParseOutcome(PipelineSpec? Spec, string ClassFullName, ImmutableEquatableArray<DiagnosticInfo> Diagnostics);

    /// <summary>One config file's path and text, read from an AdditionalText.</summary>
    internal sealed record ConfigFile(string Path, string? Text);
}
