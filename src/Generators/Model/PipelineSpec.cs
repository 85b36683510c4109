namespace ImageFlowIO.Generators.Model
{
    /// <summary>
    /// Everything the emitter needs for one config's pipeline class. Value-equal and free of locations, symbols and
    /// syntax, so moving text in the JSON or editing unrelated C# does not regenerate the source.
    /// </summary>
    internal sealed record PipelineSpec(
        string Namespace,
        string ClassName,
        string ConfigFileName,
        string ModelName,
        ImmutableEquatableArray<ConstantSpec> Constants,
        ObjectSpec Config,
        string? PreprocessingFn,
        string? PostprocessingFn,
        string ConfigPath)
    {
        /// <summary>Namespace-qualified class name, as hook implementations are matched by it.</summary>
        public string FullName => Namespace + "." + ClassName;
    }

    /// <summary>A <c>public const</c> of the generated class: C# type, name, literal and a one-line summary.</summary>
    internal sealed record ConstantSpec(string Type, string Name, string Literal, string Summary);

    /// <summary>An object initializer <c>new Type { Member = value, ... }</c> holding the non-default config values.</summary>
    internal sealed record ObjectSpec(string TypeName, ImmutableEquatableArray<MemberSpec> Members);

    /// <summary>One initialized member: either a literal expression or a nested object.</summary>
    internal sealed record MemberSpec(string Name, string? Literal, ObjectSpec? Object);

    /// <summary>Which hook methods the user implemented for a class (found in C# syntax, compared by value).</summary>
    internal sealed record HookImplementation(string ClassFullName, string MethodName);

    /// <summary>The spec of a class together with the hooks the user implemented for it.</summary>
    internal sealed record PipelineSource(PipelineSpec Spec, bool HasPreprocessingHook, bool HasPostprocessingHook);
}
