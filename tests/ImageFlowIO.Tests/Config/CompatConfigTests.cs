using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Config;

/// <summary>Every example config of the original Node.js ImageFlowIO (Fixtures/compat, MIT) must parse.</summary>
public class CompatConfigTests
{
    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(TestPaths.Fixture("compat"), "*.json").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void All_twenty_examples_are_present()
    {
        Assert.Equal(20, Directory.GetFiles(TestPaths.Fixture("compat"), "*.json").Length);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_parses_without_errors(string file)
    {
        var result = ConfigParser.ParseFile(TestPaths.Fixture("compat", file));
        if (file == "tfjs.json")
        {
            var error = Assert.Single(result.Diagnostics, d => d.IsError);
            Assert.Equal(ConfigErrorCodes.UnsupportedModelFormat, error.Code);
            Assert.Contains("convert the model to ONNX", error.Message);
            return;
        }
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        Assert.NotNull(result.Config);
    }

    [Fact]
    public void Examples_bind_their_values()
    {
        var c = ConfigParser.ParseFile(TestPaths.Fixture("compat", "onnx-advanced.json")).Config!;
        Assert.Equal("advanced-onnx", c.Model.Name);
        Assert.Equal(TensorLayout.Nchw, c.Model.Layout);
        Assert.Equal("input_tensor", c.Model.InputName);
        Assert.Equal(BackendKind.Onnx, c.Execution.Backend);
        Assert.True(c.Execution.Threads.Apply);
        Assert.Null(c.Execution.Threads.Count);
        Assert.Equal(3, c.Execution.WarmupRuns);
        Assert.Equal(CacheMode.Memory, c.Execution.UseCaching);
        Assert.Equal(new Size2(512, 512), c.Preprocessing.Resize.ImageSize);
        Assert.Equal([0.485, 0.456, 0.406], c.Preprocessing.Normalize.Mean);
        Assert.Equal(ResizeTargetKind.Input, c.Postprocessing.ResizeTo.Kind);
        Assert.Equal("{model}_advanced_{timestamp}.png", c.Output.Save.Filename);
        Assert.Equal(LogLevel.Debug, c.Logging.Level);

        var palette = ConfigParser.ParseFile(TestPaths.Fixture("compat", "palette-file.json")).Config!;
        Assert.Equal(PaletteMode.File, palette.Postprocessing.PaletteMap.Palette.Mode);
        Assert.Equal(PaletteSource.Channel, palette.Postprocessing.PaletteMap.Source);
        Assert.Equal(RawFormat.Bin, palette.Output.SaveRaw.Format);

        var tiling = ConfigParser.ParseFile(TestPaths.Fixture("compat", "tiling.json")).Config!;
        Assert.Equal(new Size2(128, 128), tiling.Inference.Tiling.TileSize);
        Assert.Equal(16, tiling.Inference.Tiling.Overlap);
    }

    [Fact]
    public void Timestamp_filenames_and_js_hooks_warn_but_parse()
    {
        var result = ConfigParser.ParseFile(TestPaths.Fixture("compat", "custom-functions.json"));
        Assert.NotNull(result.Config);
        Assert.Contains(result.Diagnostics, d => d.Code == ConfigErrorCodes.CustomFunctionNotRun && !d.IsError && d.Message.Contains("not run in .NET"));
        Assert.Contains(result.Diagnostics, d => d.Code == ConfigErrorCodes.NonReproducibleOutput && !d.IsError);
    }
}
