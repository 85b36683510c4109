using ImageFlowIO.Generators.Model;

namespace ImageFlowIO.Generators
{
    /// <summary>Where and whether the catalogue class is generated (MSBuild properties, value-equal).</summary>
    internal sealed record CatalogueSettings(string Namespace, string ClassName, bool Requested, bool Disabled);

    /// <summary>
    /// One asset as the build recorded it. Numbers are kept as the C# literals the emitter writes (already invariant and
    /// rounded by the task), so equal catalogue text gives equal specs and equal source.
    /// </summary>
    internal sealed record CatalogueEntrySpec(
        string Path,
        string Config,
        ImmutableEquatableArray<string> Outputs,
        int InputWidth,
        int InputHeight,
        int OutputWidth,
        int OutputHeight,
        ImmutableEquatableArray<int> OutputShape,
        ImmutableEquatableArray<ChannelSpec> Channels,
        ImmutableEquatableArray<ScoreSpec> TopK,
        string? ErrorCode,
        string? ErrorMessage,
        ImmutableEquatableArray<LineSpec> Lines,
        ImmutableEquatableArray<CheckSpec> Checks);

    /// <summary>A chain's line of text: the text, its score (C# float literal) and its box's eight coordinates (C# float literals).</summary>
    internal sealed record LineSpec(string Text, string Score, ImmutableEquatableArray<string> Box);

    /// <summary>A check that fired for the asset.</summary>
    internal sealed record CheckSpec(string Id, string Code, string Severity, string Message);

    /// <summary>Per-channel min/max/mean of the model output, as C# float literals.</summary>
    internal sealed record ChannelSpec(string Min, string Max, string Mean);

    /// <summary>One of a classifier's top-k: label and score (C# float literal).</summary>
    internal sealed record ScoreSpec(string Label, string Score);

    /// <summary>An asset's member: the nested folder classes it lives in (identifiers, outermost first) and its own identifier.</summary>
    internal sealed record CatalogueMember(ImmutableEquatableArray<string> Scope, string Name, CatalogueEntrySpec Entry)
    {
        /// <summary>The member as C# code names it inside the catalogue class, e.g. <c>Photos.Cat</c>.</summary>
        public string QualifiedName => Scope.Count == 0 ? Name : string.Join(".", Scope) + "." + Name;
    }

    /// <summary>A folder's nested class: identifiers of its enclosing folders and itself, and the folder as written.</summary>
    internal sealed record CatalogueFolder(ImmutableEquatableArray<string> Scope, string Folder);

    /// <summary>The parsed catalogue: every member with its identifier resolved, ordered by path.</summary>
    internal sealed record CatalogueModel(CatalogueSettings Settings, bool Emit, ImmutableEquatableArray<CatalogueMember> Members, ImmutableEquatableArray<CatalogueFolder> Folders);

    /// <summary>What the main file needs: the folder classes and the members listed by <c>All</c> (not their values).</summary>
    internal sealed record CatalogueIndex(CatalogueSettings Settings, bool Emit, ImmutableEquatableArray<string> AllMembers, ImmutableEquatableArray<CatalogueFolder> Folders);

    /// <summary>One member's source file: settings (namespace, class) and the member.</summary>
    internal sealed record CatalogueMemberSource(CatalogueSettings Settings, CatalogueMember Member);
}
