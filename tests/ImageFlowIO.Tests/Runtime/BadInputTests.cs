using System.Text.Json;
using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Runtime;

/// <summary>SPEC §7: every bad input gets its own coded error, the rest of the batch is written, nothing is half-written.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public class BadInputTests
{
    public static readonly TheoryData<string, string> BadFiles = new()
    {
        { "empty.jpg", ErrorCodes.ImageEmpty },
        { "truncated.jpg", ErrorCodes.ImageTruncated },
        { "random.png", ErrorCodes.ImageFormatUnknown },
        { "text_as.png", ErrorCodes.ImageFormatUnknown },
        { "jpeg_named.png", ErrorCodes.ImageExtensionMismatch },
        { "huge_header.png", ErrorCodes.ImageTooLarge },
        { "bomb.png", ErrorCodes.ImageTooLarge },
        { "bad_crc.png", ErrorCodes.ImageCorrupt },
        { "corrupt_scan.jpg", ErrorCodes.ImageDataCorrupt },
        { "zero_dims.jpg", ErrorCodes.ImageCorrupt },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Each_bad_file_gets_its_code_naming_the_file(string file, string code)
    {
        var path = TestPaths.Bad(file);
        var ex = Assert.Throws<ImageInputException>(() => ImageDecoder.Decode(path, File.ReadAllBytes(path), new InputConfig()));
        Assert.Equal(code, ex.Code);
        Assert.Equal(path, ex.FilePath);
        Assert.StartsWith($"{path}: error {code}: ", ex.ToString());
        Assert.Contains(";", ex.Message); // every message says what to do after the ';'
    }

    [Fact]
    public void Decompression_bomb_is_refused_from_its_header_without_a_large_allocation()
    {
        var path = TestPaths.Bad("bomb.png");
        var bytes = File.ReadAllBytes(path);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var ex = Assert.Throws<ImageInputException>(() => ImageDecoder.Decode(path, bytes, new InputConfig()));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(ErrorCodes.ImageTooLarge, ex.Code);
        Assert.Contains("20000×20000", ex.Message);
        Assert.True(allocated < 8 * 1024 * 1024, $"refusing the bomb allocated {allocated:N0} bytes (it decodes to 400 MB)");
        Assert.True(started.ElapsedMilliseconds < 1000, $"took {started.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void Max_pixels_is_configurable()
    {
        var path = TestPaths.Image("photo_160x120.jpg");
        var ex = Assert.Throws<ImageInputException>(() => ImageDecoder.Decode(path, File.ReadAllBytes(path), new InputConfig { MaxPixels = 160 * 120 - 1 }));
        Assert.Equal(ErrorCodes.ImageTooLarge, ex.Code);
        using var ok = ImageDecoder.Decode(path, File.ReadAllBytes(path), new InputConfig { MaxPixels = 160 * 120 });
    }

    [Fact]
    public async Task A_folder_with_bad_files_exits_1_writes_every_good_image_and_reports_each_error()
    {
        using var dir = new TempDir();
        foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.Root, "TestData", "bad"))) dir.Copy(file, Path.Combine("in", Path.GetFileName(file)));
        dir.Copy(TestPaths.Image("photo_160x120.jpg"), "in/good1.jpg");
        dir.Copy(TestPaths.Image("gradient_33x17.png"), "in/good2.png");
        var config = dir.Write("imageflow.json", $$"""
            { "model": { "path": "{{TestPaths.Model("invert_nchw.onnx")}}" }, "input": { "source": "in" },
              "output": { "save": { "apply": true, "path": "out" } } }
            """);

        var run = await CliRunner.RunAsync("--config", config, "--concurrency", "2");

        Assert.Equal(1, run.ExitCode);
        Assert.True(File.Exists(dir.Combine("out", "good1.png")));
        Assert.True(File.Exists(dir.Combine("out", "good2.png")));
        foreach (var (file, code) in BadFiles.Select(r => ((string)r[0], (string)r[1])))
        {
            Assert.Contains($"{dir.Combine("in", file)}: error {code}: ", run.Stderr);
            Assert.False(File.Exists(dir.Combine("out", Path.GetFileNameWithoutExtension(file) + ".png")), $"{file} left an output");
        }
        Assert.Empty(Directory.GetFiles(dir.Combine("out"), "*.tmp", SearchOption.AllDirectories));
        Assert.Contains("ImageFlowIO: 12 inputs, 2 processed, 0 from cache, 10 failed", run.Stdout);

        using var summary = JsonDocument.Parse(File.ReadAllText(dir.Combine("out", "summary.json")));
        Assert.Equal(2, summary.RootElement.GetProperty("processed").GetInt32());
        Assert.Equal(10, summary.RootElement.GetProperty("failed").GetInt32());
        var items = summary.RootElement.GetProperty("items").EnumerateArray().ToDictionary(i => Path.GetFileName(i.GetProperty("input").GetString()!));
        foreach (var (file, code) in BadFiles.Select(r => ((string)r[0], (string)r[1])))
        {
            Assert.Equal("failed", items[file].GetProperty("status").GetString());
            Assert.Equal(code, items[file].GetProperty("code").GetString());
            Assert.Contains(";", items[file].GetProperty("error").GetString());
        }
        Assert.Equal("ok", items["good1.jpg"].GetProperty("status").GetString());
        Assert.Equal(dir.Combine("out", "good1.png"), items["good1.jpg"].GetProperty("outputs")[0].GetString());
        // Only the layers in use are listed: this config caches nothing.
        Assert.Empty(summary.RootElement.GetProperty("cache").EnumerateObject());
    }
}
