using System.Text.Json;
using ImageFlowIO.Config;

namespace ImageFlowIO.Tests.Config;

/// <summary>The shipped JSON Schema and the parser must name the same properties (SPEC §2).</summary>
public class SchemaTests
{
    private static Dictionary<string, string[]> SchemaObjects()
    {
        using var doc = JsonDocument.Parse(ConfigSchema.Text);
        var result = new Dictionary<string, string[]>();
        void Walk(JsonElement node, string path)
        {
            if (node.TryGetProperty("$ref", out var r) && r.GetString() is { } reference && reference.StartsWith("#/$defs/", StringComparison.Ordinal))
                node = doc.RootElement.GetProperty("$defs").GetProperty(reference["#/$defs/".Length..]);
            if (!node.TryGetProperty("properties", out var props)) return;
            Assert.True(node.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind == JsonValueKind.False, $"'{path}' must forbid additional properties, as the parser does");
            result[path] = props.EnumerateObject().Select(p => p.Name).ToArray();
            foreach (var p in props.EnumerateObject()) Walk(p.Value, path.Length == 0 ? p.Name : path + "." + p.Name);
        }
        Walk(doc.RootElement, "");
        return result;
    }

    [Fact]
    public void Schema_and_parser_accept_exactly_the_same_properties()
    {
        var schema = SchemaObjects();
        var parser = ConfigParser.KnownProperties;
        Assert.Equal(parser.Keys.Order(), schema.Keys.Order());
        foreach (var (path, names) in parser)
            Assert.True(names.Order().SequenceEqual(schema[path].Order()), $"'{path}': parser [{string.Join(", ", names.Order())}] vs schema [{string.Join(", ", schema[path].Order())}]");
    }

    [Fact]
    public void Schema_enums_are_accepted_by_the_parser()
    {
        using var doc = JsonDocument.Parse(ConfigSchema.Text);
        var modes = doc.RootElement.GetProperty("properties").GetProperty("preprocessing").GetProperty("properties").GetProperty("resize")
            .GetProperty("properties").GetProperty("resizeMode").GetProperty("enum").EnumerateArray().Select(e => e.GetString()).ToArray();
        foreach (var mode in modes)
        {
            var result = ConfigParser.Parse($$"""{ "model": { "path": "m.onnx" }, "preprocessing": { "resize": { "resizeMode": "{{mode}}" } } }""", "c.json");
            Assert.False(result.HasErrors, mode);
        }
    }
}
