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
            // Arrays of objects (chain.perRegion, checks): the parser names their items' shape "<path>[]".
            if (node.TryGetProperty("items", out var items) && items.TryGetProperty("properties", out _)) Walk(items, path + "[]");
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

/// <summary>One source per fact: every default and every enum the schema shows is what the parser and config model really do.</summary>
public class SchemaFactsTests
{
    /// <summary>Each schema node with its path: property names, "[]" for array items.</summary>
    private static IEnumerable<(string[] Path, JsonElement Node)> Nodes(JsonElement root)
    {
        var stack = new Stack<(string[] Path, JsonElement Node)>();
        stack.Push(([], root));
        while (stack.Count > 0)
        {
            var (path, node) = stack.Pop();
            if (node.ValueKind != JsonValueKind.Object) continue;
            if (node.TryGetProperty("$ref", out var r) && r.GetString() is { } reference && reference.StartsWith("#/$defs/", StringComparison.Ordinal))
                node = root.GetProperty("$defs").GetProperty(reference["#/$defs/".Length..]);
            yield return (path, node);
            if (node.TryGetProperty("properties", out var props))
                foreach (var p in props.EnumerateObject()) stack.Push(([.. path, p.Name], p.Value));
            if (node.TryGetProperty("items", out var items)) stack.Push(([.. path, "[]"], items));
            foreach (var alt in new[] { "oneOf", "anyOf" })
                if (node.TryGetProperty(alt, out var options))
                    foreach (var option in options.EnumerateArray()) stack.Push((path, option));
        }
    }

    /// <summary>Where the config model keeps a value the JSON nests differently (augmentation parameters are flattened).</summary>
    private static readonly Dictionary<string, string> ModelPaths = new()
    {
        ["preprocessing.augmentations.params.flip.axis"] = "Preprocessing.Augmentations.FlipAxis",
        ["preprocessing.augmentations.params.rotate.angle"] = "Preprocessing.Augmentations.RotateAngle",
        ["preprocessing.augmentations.params.colorJitter.brightness"] = "Preprocessing.Augmentations.Brightness",
        ["preprocessing.augmentations.params.colorJitter.saturation"] = "Preprocessing.Augmentations.Saturation",
        ["preprocessing.augmentations.params.colorJitter.hue"] = "Preprocessing.Augmentations.Hue",
    };

    /// <summary>Schema values the model holds as null ("auto": decided at run time).</summary>
    private static readonly HashSet<string> NullMeansAuto = ["execution.threads.count"];

    /// <summary>Siblings a value needs to be valid at all (bit depths 1, 2 and 4 exist for TIFF only).</summary>
    private static readonly Dictionary<string, string> Context = new() { ["output.save.bitDepth"] = "\"format\": \"tiff\", " };

    /// <summary>A config that sets only <paramref name="path"/> to <paramref name="valueJson"/> (plus the required model path).</summary>
    private static string ConfigWith(string[] path, string valueJson)
    {
        var json = valueJson;
        var context = Context.GetValueOrDefault(string.Join(".", path), "");
        for (var i = path.Length - 1; i >= 0; i--)
        {
            json = path[i] == "[]" ? $"[{json}]" : $"{{ {context}\"{path[i]}\": {json} }}";
            context = "";
        }
        if (path[0] == "model") return json.Replace("{ \"model\": { ", "{ \"model\": { \"path\": \"m.onnx\", ", StringComparison.Ordinal);
        return "{ \"model\": { \"path\": \"m.onnx\" }, " + json[1..];
    }

    [Fact]
    public void Every_schema_enum_value_is_accepted_by_the_parser_and_others_are_not()
    {
        using var doc = JsonDocument.Parse(ConfigSchema.Text);
        var checkedEnums = 0;
        foreach (var (path, node) in Nodes(doc.RootElement))
        {
            if (path.Length == 0 || !node.TryGetProperty("enum", out var values)) continue;
            checkedEnums++;
            foreach (var value in values.EnumerateArray())
            {
                var config = ConfigWith(path, value.GetRawText());
                var result = ConfigParser.Parse(config, "c.json");
                Assert.False(result.Diagnostics.Any(d => d.Code is ConfigErrorCodes.InvalidValue or ConfigErrorCodes.WrongType),
                    $"{string.Join(".", path)} = {value.GetRawText()}: {string.Join("; ", result.Diagnostics)}");
            }
            if (values[0].ValueKind == JsonValueKind.String)
            {
                var wrong = ConfigParser.Parse(ConfigWith(path, "\"surely-not-a-value\""), "c.json");
                Assert.True(wrong.Diagnostics.Any(d => d.Code is ConfigErrorCodes.InvalidValue or ConfigErrorCodes.WrongType), $"{string.Join(".", path)} accepted a value the schema does not list");
            }
        }
        Assert.True(checkedEnums >= 20, $"only {checkedEnums} enums found in the schema");
    }

    [Fact]
    public void Every_schema_default_is_the_effective_default_of_the_config_model()
    {
        using var doc = JsonDocument.Parse(ConfigSchema.Text);
        var parsed = ConfigParser.Parse("""{ "model": { "path": "m.onnx" } }""", Path.Combine(Path.GetTempPath(), "c.json"));
        Assert.False(parsed.HasErrors);
        var problems = new List<string>();
        var checkedDefaults = 0;
        foreach (var (path, node) in Nodes(doc.RootElement))
        {
            if (path.Length == 0 || path.Contains("[]") || !node.TryGetProperty("default", out var expected)) continue;
            object? value = parsed.Config;
            var joined = string.Join(".", path);
            foreach (var segment in ModelPaths.TryGetValue(joined, out var modelPath) ? modelPath.Split('.') : path)
            {
                var property = value?.GetType().GetProperties().FirstOrDefault(p => string.Equals(p.Name, segment, StringComparison.OrdinalIgnoreCase));
                if (property is null) { problems.Add($"{string.Join(".", path)}: no config model property '{segment}'"); value = null; break; }
                value = property.GetValue(value);
                // An optional section (null when absent) has its defaults on its type.
                if (value is null && property.PropertyType.IsClass && property.PropertyType != typeof(string) && property.PropertyType.GetConstructor(Type.EmptyTypes) is { } ctor)
                    value = ctor.Invoke(null);
            }
            if (problems.Count > 0 && problems[^1].StartsWith(string.Join(".", path) + ":", StringComparison.Ordinal)) continue;
            checkedDefaults++;
            if (value is null && NullMeansAuto.Contains(joined) && expected.GetString() == "auto") continue;
            if (!SameValue(expected, value)) problems.Add($"{string.Join(".", path)}: schema default {expected.GetRawText()}, config model {Describe(value)}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(checkedDefaults >= 60, $"only {checkedDefaults} defaults checked");
    }

    private static bool SameValue(JsonElement expected, object? actual) => expected.ValueKind switch
    {
        JsonValueKind.Null => actual is null,
        JsonValueKind.True or JsonValueKind.False => actual is bool b && b == expected.GetBoolean(),
        JsonValueKind.Number => actual is not null and not bool and not Enum && Convert.ToDouble(actual, System.Globalization.CultureInfo.InvariantCulture) == expected.GetDouble(),
        JsonValueKind.String => actual is Enum e ? string.Equals(e.ToString(), expected.GetString(), StringComparison.OrdinalIgnoreCase) : Equals(actual?.ToString(), expected.GetString()),
        JsonValueKind.Array => actual switch
        {
            Size2 s => expected.GetArrayLength() == 2 && expected[0].GetInt32() == s.Width && expected[1].GetInt32() == s.Height,
            System.Collections.IEnumerable list and not string => list.Cast<object?>().Select(Describe).SequenceEqual(expected.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText())),
            _ => false,
        },
        _ => false,
    };

    private static string? Describe(object? value) => value switch
    {
        null => "null",
        double d => d.ToString(System.Globalization.CultureInfo.InvariantCulture),
        float f => f.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
