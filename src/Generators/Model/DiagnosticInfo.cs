using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ImageFlowIO.Generators.Model
{
    /// <summary>
    /// A config problem as plain values (no <see cref="Location"/>, which is not value-equal across runs).
    /// <paramref name="Subject"/>: the config property it is about (<c>custom.preprocessingFn</c>), where the generator acts on it.
    /// </summary>
    internal sealed record DiagnosticInfo(string Id, string Message, string FilePath, int Offset, int Length, int Line, int Column, string? Subject = null)
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

    /// <summary>What parsing one config produced: the spec (null on errors), the class it claims and its diagnostics, kept apart downstream.</summary>
    internal sealed record ParseOutcome(PipelineSpec? Spec, ClassClaim Claim, ImmutableEquatableArray<DiagnosticInfo> Diagnostics)
    {
        public string ClassFullName => Claim.FullName;
    }

    /// <summary>
    /// The class one config generates (a placeholder when the config has errors), and where its name comes from in the
    /// JSON (<c>model.name</c>'s value, else the file): two configs claiming one class get IFIO0098 there.
    /// </summary>
    internal sealed record ClassClaim(string Namespace, string ClassName, string ConfigPath, string ConfigFileName, int NameOffset, int NameLength, int NameLine, int NameColumn)
    {
        public string FullName => Namespace + "." + ClassName;
    }

    /// <summary>A config that lost a class name to <paramref name="OwnerPath"/> (the first path in ordinal order).</summary>
    internal sealed record ClassClash(ClassClaim Loser, string OwnerPath);

    /// <summary>The placeholder class of a config with errors: same name, members that throw, so user code gets no follow-on errors.</summary>
    internal sealed record StubSpec(ClassClaim Claim, ImmutableEquatableArray<string> ErrorIds);

    /// <summary>One config file's path and text, read from an AdditionalText.</summary>
    internal sealed record ConfigFile(string Path, string? Text);
}
