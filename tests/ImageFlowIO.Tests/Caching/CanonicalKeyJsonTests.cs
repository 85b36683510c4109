using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Caching;

/// <summary>
/// The hand-written canonical key JSON (<see cref="CanonicalKeyJson"/>) must be exactly what System.Text.Json's
/// reflection serializer writes for the same key records: so a config property added to the model and forgotten in the
/// writer fails here, and keys stay what they were before the writer replaced the serializer (caches stay valid).
/// </summary>
public sealed class CanonicalKeyJsonTests
{
    private static readonly JsonSerializerOptions Reference = new()
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        Converters = { new JsonStringEnumConverter() },
    };

    [Fact]
    public void Default_config_sections_match_the_serializer()
    {
        AssertSame(new PipelineConfig(), "default");
    }

    [Fact]
    public void Every_fixture_config_gives_the_serializer_s_sections()
    {
        var files = Directory.EnumerateFiles(TestPaths.Fixture(), "*.json", SearchOption.AllDirectories).ToList();
        var parsed = 0;
        foreach (var file in files)
        {
            var result = ConfigParser.ParseFile(file);
            if (result.Config is null) continue;
            AssertSame(result.Config, file);
            parsed++;
        }
        Assert.True(parsed >= 5, $"only {parsed} configs parsed from {files.Count} files");
    }

    [Fact]
    public void Random_values_in_every_property_give_the_serializer_s_sections()
    {
        // Every settable property of every section gets a random value (odd doubles, escaped text, undefined enum
        // values, nulls, lists), so no property is left at a default the writer could get right by accident.
        var random = new Random(15);
        for (var i = 0; i < 500; i++)
        {
            var config = (PipelineConfig)RandomObject(typeof(PipelineConfig), random, depth: 0);
            AssertSame(config, $"random case {i}");
        }
    }

    private static void AssertSame(PipelineConfig config, string label)
    {
        var layout = (TensorLayout)(label.Length % 3);
        var labels = label.Length % 2 == 0 ? null : "sha-" + label.Length;
        Assert.True(Equal(JsonSerializer.Serialize(new PreprocessKeyParts(config.Preprocessing, config.Input.AutoOrient, layout), Reference), CacheKeys.PreprocessSection(config, layout)), $"preprocess section differs: {label}");
        Assert.True(Equal(JsonSerializer.Serialize(new InferenceKeyParts(config.Inference, BackendKind.Onnx, "in<put>", "ou\u00e9t"), Reference), CacheKeys.InferenceSection(config, BackendKind.Onnx, "in<put>", "ou\u00e9t")), $"inference section differs: {label}");
        Assert.True(Equal(JsonSerializer.Serialize(new OutputKeyParts(config.Postprocessing, config.Output, config.Visualization, config.Custom, config.ModelName, labels), Reference), CacheKeys.OutputSection(config, labels)), $"output section differs: {label}");
    }

    private static bool Equal(string expected, string actual)
    {
        if (expected == actual) return true;
        var at = 0;
        while (at < Math.Min(expected.Length, actual.Length) && expected[at] == actual[at]) at++;
        var from = Math.Max(0, at - 60);
        throw new Xunit.Sdk.XunitException($"first difference at {at}:\n serializer: …{expected[from..Math.Min(expected.Length, at + 60)]}\n writer:     …{actual[from..Math.Min(actual.Length, at + 60)]}");
    }

    private static readonly NullabilityInfoContext Nullability = new();

    private static object RandomObject(Type type, Random random, int depth)
    {
        var instance = Activator.CreateInstance(type)!;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var nullable = Nullability.Create(property).WriteState == NullabilityState.Nullable;
            property.SetValue(instance, RandomValue(property.PropertyType, nullable, random, depth + 1));
        }
        return instance;
    }

    private static readonly string[] Texts = ["", "outputs", "a\"b\\c", "<&>'+", "\u00e9\u4e2d\u0001", "{name}_{model}.png", "x\ny"];
    private static readonly double[] Doubles = [0, -0.0, 1, 0.1, 1e-7, 123456789.125, -2.5, double.MaxValue, double.Epsilon, 1.0 / 3];

    private static object? RandomValue(Type type, bool nullable, Random random, int depth)
    {
        if (nullable && random.Next(4) == 0) return null;
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(bool)) return random.Next(2) == 0;
        if (underlying == typeof(int)) return random.Next(5) == 0 ? int.MinValue + random.Next(3) : random.Next(-5, 5000);
        if (underlying == typeof(long)) return (long)random.Next() * random.Next();
        if (underlying == typeof(double)) return Doubles[random.Next(Doubles.Length)] * (random.Next(2) == 0 ? 1 : -1);
        if (underlying == typeof(string)) return Texts[random.Next(Texts.Length)];
        if (underlying.IsEnum)
        {
            var values = Enum.GetValues(underlying);
            return random.Next(10) == 0 ? Enum.ToObject(underlying, 97) : values.GetValue(random.Next(values.Length));
        }
        if (underlying == typeof(Size2)) return new Size2(random.Next(-3, 4000), random.Next(-3, 4000));
        if (underlying == typeof(Rgb8)) return new Rgb8((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            var element = underlying.GetGenericArguments()[0];
            var array = Array.CreateInstance(element, random.Next(4));
            for (var i = 0; i < array.Length; i++) array.SetValue(RandomValue(element, false, random, depth), i);
            return array;
        }
        if (underlying.IsClass && underlying.Namespace == typeof(PipelineConfig).Namespace && depth < 8) return RandomObject(underlying, random, depth);
        throw new InvalidOperationException($"the test has no random value for {type} (a new config property type: add it here and to CanonicalKeyJson)");
    }
}
