using ImageFlowIO.Config;

namespace ImageFlowIO.Tests.Config;

public class ConfigParserTests
{
    [Fact]
    public void Comments_and_trailing_commas_are_accepted()
    {
        var result = ConfigParser.Parse("""
            // a comment
            { "model": { "path": "m.onnx", /* inline */ }, "preprocessing": { "resize": { "apply": true, "imageSize": [32, 16], }, }, }
            """, "c.json", "/base");
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        Assert.Equal(new Size2(32, 16), result.Config!.Preprocessing.Resize.ImageSize);
        Assert.True(result.Config.Preprocessing.Resize.Apply);
    }

    [Fact]
    public void Unknown_property_is_located_with_a_did_you_mean_hint()
    {
        var result = ConfigParser.Parse("{\n  \"model\": { \"path\": \"m.onnx\" },\n  \"preprocesing\": {}\n}", "c.json");
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal("IFIO0002", d.Code);
        Assert.Equal(3, d.Line);
        Assert.Equal(3, d.Column);
        Assert.Contains("did you mean 'preprocessing'", d.Message);
        Assert.Equal("c.json(3,3): error IFIO0002: " + d.Message, d.ToString());
        Assert.Null(result.Config);
    }

    [Fact]
    public void Relative_paths_resolve_against_the_config_folder()
    {
        using var dir = new Support.TempDir();
        var path = dir.Write("sub/config.json", """{ "model": { "path": "models/m.onnx" } }""");
        var result = ConfigParser.ParseFile(path);
        Assert.Equal(Path.Combine(dir.Path, "sub", "models", "m.onnx"), result.Config!.ResolvePath(result.Config.Model.Path));
    }
}
