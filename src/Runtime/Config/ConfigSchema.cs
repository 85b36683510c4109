namespace ImageFlowIO.Config;

/// <summary>The JSON Schema of the config file, shipped in the assembly (and in the NuGet package for editors).</summary>
internal static class ConfigSchema
{
    private static readonly Lazy<string> Schema = new(() =>
    {
        using var stream = typeof(ConfigSchema).Assembly.GetManifestResourceStream("ImageFlowIO.imageflow.schema.json")
            ?? throw new InvalidOperationException("ImageFlowIO bug: the embedded config schema is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static string Text => Schema.Value;
}
