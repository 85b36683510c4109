using System.Text.RegularExpressions;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Cli;

/// <summary>
/// The CLI process's native heap on transparent huge pages (NativeHeap, set up by the tool's entry point: never by the
/// library, so these run the CLI as its own process): what ONNX Runtime and ImageSharp allocate on a cold run lands on
/// 2 MiB pages, the outputs are the same bytes, and <c>IMAGEFLOWIO_NATIVE_HEAP=default</c> leaves glibc's defaults.
/// </summary>
public sealed partial class NativeHeapTests
{
    private static Task<CliProcess.Result> RunCli(string workingDirectory, string? nativeHeap, params string[] args) =>
        CliProcess.RunAsync(workingDirectory, new Dictionary<string, string?> { ["IMAGEFLOWIO_NATIVE_HEAP"] = nativeHeap, ["GLIBC_TUNABLES"] = null }, args);

    /// <summary>The kernel's transparent huge page mode ("always", "madvise", "never"), or null without them.</summary>
    private static string? HugePageMode()
    {
        const string file = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!File.Exists(file)) return null;
        var match = Regex.Match(File.ReadAllText(file), @"\[(\w+)\]");
        return match.Success ? match.Groups[1].Value : null;
    }

    [Fact]
    public async Task A_cold_run_allocates_on_huge_pages_and_writes_the_same_bytes_as_with_glibc_defaults()
    {
        if (!OperatingSystem.IsLinux()) return; // the setting is Linux's (glibc's allocator, the kernel's huge pages)
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("images"));
        dir.Copy(TestPaths.Image("photo_160x120.jpg"), Path.Combine("images", "photo.jpg"));
        dir.Copy(TestPaths.Model("conv3_nchw.onnx"), "model.onnx");
        // 320² through conv3: ONNX Runtime's intermediate tensors (16 channels) take megabytes of its arena.
        var config = dir.Write("imageflow.json", """
            {
              "model": { "path": "model.onnx" },
              "input": { "type": "image", "source": "images" },
              "preprocessing": { "resize": { "apply": true, "imageSize": [320, 320], "keepAspectRatio": false }, "format": { "dataType": "float32", "channels": 3 } },
              "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
              "execution": { "useCaching": "none" },
              "output": { "save": { "apply": true, "path": "out", "format": "png" } }
            }
            """);

        var tuned = await RunCli(dir.Path, null, "--config", config, "--no-progress", "--log-level", "debug", "-o", dir.Combine("tuned"));
        Assert.True(tuned.ExitCode == 0, tuned.Stderr);
        var plain = await RunCli(dir.Path, "default", "--config", config, "--no-progress", "--log-level", "debug", "-o", dir.Combine("plain"));
        Assert.True(plain.ExitCode == 0, plain.Stderr);

        Assert.Equal(File.ReadAllBytes(dir.Combine("plain", "photo.png")), File.ReadAllBytes(dir.Combine("tuned", "photo.png")));
        Assert.Contains("process/native-heap glibc defaults (IMAGEFLOWIO_NATIVE_HEAP=default)", plain.Stderr);
        var mode = HugePageMode();
        if (mode is null or "never")
        {
            Assert.Contains("process/native-heap glibc defaults (", tuned.Stderr);
            return;
        }
        Assert.Matches($@"process/native-heap one arena, \d+ MiB advised for huge pages(, and \d+ thread arena\(s\) made before it)? \(transparent huge pages: {mode}\)", tuned.Stderr);
        var huge = HugeKb().Match(tuned.Stderr);
        Assert.True(huge.Success, tuned.Stderr);
        // At least one 2 MiB page of the process's anonymous memory (ONNX Runtime's arena, ImageSharp's buffers) is huge.
        Assert.True(long.Parse(huge.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 2048, huge.Value);
        if (mode == "madvise")
            Assert.Matches(@"process/native-heap 0 kB of anonymous memory on huge pages after the batch", plain.Stderr);
    }

    [GeneratedRegex(@"process/native-heap (\d+) kB of anonymous memory on huge pages after the batch")]
    private static partial Regex HugeKb();
}
