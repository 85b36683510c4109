using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Runtime;

/// <summary>A missing model, a non-ONNX file and sizes the model cannot take: exit code 3 before any image is read.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public class ModelErrorTests
{
    private static async Task<(CliRunner.Result Run, TempDir Dir)> RunWith(string modelJson, string preprocessing = "{}", string backend = "onnx")
    {
        var dir = new TempDir();
        dir.Copy(TestPaths.Image("photo_160x120.jpg"), "in/a.jpg");
        var config = dir.Write("imageflow.json", $$"""
            { "model": {{modelJson}}, "execution": { "backend": "{{backend}}" }, "input": { "source": "in" },
              "preprocessing": {{preprocessing}}, "output": { "save": { "apply": true, "path": "out" } } }
            """);
        return (await CliRunner.RunAsync("--config", config), dir);
    }

    [Fact]
    public async Task Missing_model_exits_3_naming_the_file()
    {
        var (run, dir) = await RunWith("""{ "path": "models/nope.onnx" }""");
        using (dir)
        {
            Assert.Equal(3, run.ExitCode);
            Assert.Contains($"{dir.Combine("models", "nope.onnx")}: error IFIO1001: the model file does not exist", run.Stderr);
            Assert.False(Directory.Exists(dir.Combine("out")));
        }
    }

    [Fact]
    public async Task A_file_that_is_not_onnx_exits_3()
    {
        var (run, dir) = await RunWith($$"""{ "path": "{{TestPaths.Model("not_a_model.onnx")}}" }""");
        using (dir)
        {
            Assert.Equal(3, run.ExitCode);
            Assert.Contains("error IFIO1002: ONNX Runtime cannot load the model", run.Stderr);
        }
    }

    [Fact]
    public async Task A_size_the_model_cannot_take_exits_3_with_the_fix()
    {
        var (run, dir) = await RunWith($$"""{ "path": "{{TestPaths.Model("fixed_64_nchw.onnx")}}" }""",
            """{ "resize": { "apply": true, "imageSize": [32, 32] } }""");
        using (dir)
        {
            Assert.Equal(3, run.ExitCode);
            Assert.Contains("error IFIO1003: the model takes 64×64 images but preprocessing.resize.imageSize (or centerCrop.size) gives 32×32; set it to [64, 64]", run.Stderr);
        }
    }

    [Fact]
    public async Task A_fixed_size_model_without_resize_exits_3()
    {
        var (run, dir) = await RunWith($$"""{ "path": "{{TestPaths.Model("fixed_64_nchw.onnx")}}" }""");
        using (dir)
        {
            Assert.Equal(3, run.ExitCode);
            Assert.Contains("IFIO1003", run.Stderr);
            Assert.Contains("\"imageSize\": [64, 64]", run.Stderr);
        }
    }

    [Fact]
    public async Task Channel_mismatch_exits_3()
    {
        var (run, dir) = await RunWith($$"""{ "path": "{{TestPaths.Model("invert_nchw.onnx")}}" }""", """{ "format": { "channels": 1 } }""");
        using (dir)
        {
            Assert.Equal(3, run.ExitCode);
            Assert.Contains("the model takes 3 channels", run.Stderr);
        }
    }

    [Fact]
    public async Task Wrong_input_name_exits_3_listing_the_real_names()
    {
        var (run, dir) = await RunWith($$"""{ "path": "{{TestPaths.Model("invert_nchw.onnx")}}", "inputName": "images" }""");
        using (dir)
        {
            Assert.Equal(3, run.ExitCode);
            Assert.Contains("error IFIO1004: the model has no input named 'images'; its inputs are: x", run.Stderr);
        }
    }

    [Fact]
    public async Task Backend_auto_with_a_missing_model_runs_noop()
    {
        var (run, dir) = await RunWith("""{ "path": "later.onnx" }""", backend: "auto");
        using (dir)
        {
            Assert.Equal(0, run.ExitCode);
            Assert.True(File.Exists(dir.Combine("out", "a.png")));
        }
    }
}
