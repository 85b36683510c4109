using ImageFlowIO.Config;

namespace ImageFlowIO.Tests.Config;

/// <summary>Each config error has its stable code and points at the offending token (line, column).</summary>
public class ConfigDiagnosticsTests
{
    private static ConfigDiagnostic Single(string json)
    {
        var result = ConfigParser.Parse(json, "imageflow.json");
        Assert.Null(result.Config);
        return Assert.Single(result.Diagnostics, d => d.IsError);
    }

    [Fact]
    public void Invalid_json_points_at_the_syntax_error()
    {
        var d = Single("{\n  \"model\": { \"path\": \"m.onnx\" }\n  \"input\": {}\n}");
        Assert.Equal(ConfigErrorCodes.InvalidJson, d.Code);
        Assert.Equal(3, d.Line);
    }

    [Fact]
    public void Wrong_type_is_located_at_the_value()
    {
        var d = Single("{ \"model\": { \"path\": \"m.onnx\" },\n  \"preprocessing\": { \"resize\": { \"apply\": \"yes\" } } }");
        Assert.Equal(ConfigErrorCodes.WrongType, d.Code);
        Assert.Equal((2, 43), (d.Line, d.Column));
        Assert.Equal(5, d.Length);
        Assert.Contains("'preprocessing.resize.apply' must be true or false, not a string", d.Message);
    }

    [Fact]
    public void Enum_value_gets_a_hint_and_the_allowed_values()
    {
        var d = Single("{ \"model\": { \"path\": \"m.onnx\", \"layout\": \"nchv\" } }");
        Assert.Equal(ConfigErrorCodes.InvalidValue, d.Code);
        Assert.Contains("did you mean 'nchw'", d.Message);
        Assert.Contains("allowed: auto, nchw, nhwc", d.Message);
        Assert.Equal(42, d.Column); // the value "nchv"
    }

    [Fact]
    public void Missing_model_path_is_reported()
    {
        var d = Single("{ \"model\": { \"name\": \"x\" } }");
        Assert.Equal(ConfigErrorCodes.MissingProperty, d.Code);
        Assert.Contains("'model.path' is required", d.Message);
    }

    [Fact]
    public void Resize_without_image_size_is_reported()
    {
        var d = Single("{ \"model\": { \"path\": \"m.onnx\" }, \"preprocessing\": { \"resize\": { \"apply\": true } } }");
        Assert.Equal(ConfigErrorCodes.MissingProperty, d.Code);
        Assert.Contains("imageSize", d.Message);
    }

    [Fact]
    public void Out_of_range_numbers_are_reported()
    {
        var d = Single("{ \"model\": { \"path\": \"m.onnx\" }, \"output\": { \"save\": { \"quality\": 101 } } }");
        Assert.Equal(ConfigErrorCodes.OutOfRange, d.Code);
        Assert.Contains("between 1 and 100", d.Message);
    }

    [Fact]
    public void Duplicate_properties_are_reported()
    {
        var d = Single("{ \"model\": { \"path\": \"a.onnx\", \"path\": \"b.onnx\" } }");
        Assert.Equal(ConfigErrorCodes.DuplicateProperty, d.Code);
        Assert.Equal(32, d.Column); // the second "path"
    }

    [Theory]
    [InlineData("../escape.png", "must not leave the output folder")]
    [InlineData("/abs/out.png", "must be relative")]
    [InlineData("{nmae}.png", "did you mean 'name'")]
    public void Filename_patterns_that_escape_or_are_unknown_are_rejected(string pattern, string message)
    {
        var d = Single($$"""{ "model": { "path": "m.onnx" }, "output": { "save": { "filename": "{{pattern}}" } } }""");
        Assert.Equal(ConfigErrorCodes.InvalidFilenamePattern, d.Code);
        Assert.Contains(message, d.Message);
    }

    [Fact]
    public void Normalize_on_an_integer_tensor_is_inconsistent()
    {
        var d = Single("""{ "model": { "path": "m.onnx" }, "preprocessing": { "format": { "dataType": "uint8" }, "normalize": { "apply": true } } }""");
        Assert.Equal(ConfigErrorCodes.InconsistentSettings, d.Code);
        Assert.Contains("float tensors only", d.Message);
    }

    [Fact]
    public void Tfjs_backend_says_to_convert_to_onnx()
    {
        var d = Single("""{ "model": { "path": "m.onnx" }, "execution": { "backend": "tfjs" } }""");
        Assert.Equal(ConfigErrorCodes.UnsupportedModelFormat, d.Code);
        Assert.Contains("convert the model to ONNX", d.Message);
    }

    [Fact]
    public void Every_problem_is_reported_once_and_in_order()
    {
        var result = ConfigParser.Parse("""{ "modle": {}, "input": { "srouce": "x" }, "model": { "path": "m.onnx" } }""", "imageflow.json");
        Assert.Equal([ConfigErrorCodes.UnknownProperty, ConfigErrorCodes.UnknownProperty], result.Diagnostics.Select(d => d.Code));
        Assert.Contains("did you mean 'model'", result.Diagnostics[0].Message);
        Assert.Contains("did you mean 'source'", result.Diagnostics[1].Message);
    }

    [Fact]
    public void Use_caching_accepts_booleans_and_modes()
    {
        foreach (var (json, mode) in new[] { ("true", CacheMode.Memory), ("false", CacheMode.None), ("\"disk\"", CacheMode.Disk), ("\"memory\"", CacheMode.Memory) })
        {
            var c = ConfigParser.Parse($$"""{ "model": { "path": "m.onnx" }, "execution": { "useCaching": {{json}} } }""", null).Config!;
            Assert.Equal(mode, c.Execution.UseCaching);
        }
    }
}
