using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ImageFlowIO.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using Xunit.Abstractions;

namespace ImageFlowIO.Tests.Caching;

/// <summary>Cached re-runs as users meet them: the CLI as its own process, each run a new process.</summary>
public sealed class CachedRerunProcessTests(ITestOutputHelper output)
{
    private static Task<CliProcess.Result> RunCli(string workingDirectory, params string[] args) =>
        CliProcess.RunAsync(workingDirectory, null, args);

    private static int Count(string text, string fragment) => text.Split('\n').Count(l => l.Contains(fragment, StringComparison.Ordinal));

    [Fact]
    public async Task A_rerun_of_40_images_in_a_new_process_prints_40_disk_hits_and_counts_them()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("images"));
        for (var i = 0; i < 40; i++)
        {
            using var image = new Image<Rgb24>(32, 24, new Rgb24((byte)(i * 6), (byte)(255 - i * 6), (byte)(i * 3)));
            image.SaveAsPng(dir.Combine("images", $"img{i:000}.png"));
        }
        dir.Copy(TestPaths.Model("invert_nchw.onnx"), "model.onnx");
        var config = dir.Write("imageflow.json", """
            {
              "model": { "path": "model.onnx" },
              "input": { "type": "image", "source": "images" },
              "preprocessing": { "resize": { "apply": true, "imageSize": [16, 12] }, "format": { "dataType": "float32", "channels": 3 } },
              "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
              "execution": { "useCaching": "disk", "cacheDir": "cache" },
              "output": { "save": { "apply": true, "path": "out", "format": "png" } }
            }
            """);

        var first = await RunCli(dir.Path, "--config", config, "--no-progress", "--log-level", "debug");
        Assert.True(first.ExitCode == 0, first.Stderr);
        var rerun = await RunCli(dir.Path, "--config", config, "--no-progress", "--log-level", "debug");
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);

        Assert.Equal(40, Count(rerun.Stderr, "cache/disk hit "));
        for (var i = 0; i < 40; i++) Assert.Equal(1, Count(rerun.Stderr, $"cache/disk hit {dir.Combine("images", $"img{i:000}.png")} (outputs up to date)"));
        Assert.Contains("disk: 40 hits, 0 misses, 0 writes", rerun.Stderr);
        Assert.Contains("40 inputs, 40 processed, 40 from cache, 0 failed", rerun.Stdout);
        using var summary = JsonDocument.Parse(File.ReadAllBytes(dir.Combine("out", "summary.json")));
        Assert.Equal(40, summary.RootElement.GetProperty("cache").GetProperty("disk").GetProperty("hits").GetInt32());
        Assert.DoesNotContain("model/session open", rerun.Stderr);
    }

    /// <summary>One machine's clone of a consumer: the TextDetection sample's config and model, and 16 photos.</summary>
    private static string Clone(TempDir dir, string name)
    {
        var sample = Path.Combine(TestPaths.RepoRoot, "samples", "TextDetection");
        var root = dir.Combine(name);
        Directory.CreateDirectory(Path.Combine(root, "models"));
        Directory.CreateDirectory(Path.Combine(root, "assets"));
        File.Copy(Path.Combine(sample, "imageflow.json"), Path.Combine(root, "imageflow.json"));
        foreach (var model in Directory.GetFiles(Path.Combine(sample, "models"), "*.onnx")) File.Copy(model, Path.Combine(root, "models", Path.GetFileName(model)));
        var photos = Directory.GetFiles(Path.Combine(sample, "assets"), "*.jpg").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(8, photos.Count);
        foreach (var photo in photos)
        {
            File.Copy(photo, Path.Combine(root, "assets", Path.GetFileName(photo)));
            // Eight more photos: the same, mirrored (other pixels, other keys).
            using var image = Image.Load<Rgb24>(photo);
            image.Mutate(x => x.Flip(FlipMode.Horizontal));
            image.SaveAsJpeg(Path.Combine(root, "assets", "mirrored_" + Path.GetFileName(photo)));
        }
        return root;
    }

    /// <summary>The outputs of a clone by relative path: PNG bytes as they are, meta.json without timings and cache layers and with paths made relative.</summary>
    private static Dictionary<string, string> Outputs(string root)
    {
        var outDir = Path.Combine(root, "out");
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var png in Directory.GetFiles(outDir, "*.png")) files[Path.GetFileName(png)] = Convert.ToHexString(File.ReadAllBytes(png));
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "meta.json")))!.AsArray();
        foreach (var item in meta.Select(n => n!.AsObject()))
        {
            item.Remove("timingsMs");
            item.Remove("cache");
            item["input"] = Path.GetRelativePath(root, (string)item["input"]!);
            item["outputs"] = new JsonArray([.. item["outputs"]!.AsArray().Select(o => JsonValue.Create(Path.GetRelativePath(root, (string)o!)))]);
        }
        files["meta.json"] = meta.ToJsonString();
        return files;
    }

    [Fact]
    public async Task A_fleet_machine_fed_by_an_nginx_remote_downloads_only_outputs_and_opens_no_session()
    {
        using var nginx = new RemoteNginxServer();
        using var dir = new TempDir();
        var a = Clone(dir, "a");
        var b = Clone(dir, "b");
        string[] Args(string root) => ["--config", Path.Combine(root, "imageflow.json"), "--no-progress", "--log-level", "debug", "--remote-cache", nginx.Url];

        var runA = await RunCli(a, Args(a));
        Assert.True(runA.ExitCode == 0, runA.Stderr);
        Assert.Contains("16 inputs, 16 processed, 0 from cache, 0 failed", runA.Stdout);
        Assert.Equal(1, Count(runA.Stderr, "model/session open ch_PP-OCRv4_det_infer.onnx"));

        var runB = await RunCli(b, Args(b));
        Assert.True(runB.ExitCode == 0, runB.Stderr);
        Assert.Contains("16 inputs, 16 processed, 16 from cache, 0 failed", runB.Stdout);
        Assert.Equal(16, Count(runB.Stderr, "cache/remote hit "));
        Assert.Equal(0, Count(runB.Stderr, "(inference"));
        Assert.Equal(0, Count(runB.Stderr, "model/session open"));
        Assert.Equal(0, Count(runB.Stderr, "cache/session"));

        var outputsA = Outputs(a);
        var outputsB = Outputs(b);
        Assert.Equal(17, outputsB.Count);
        Assert.Equal(outputsA, outputsB);

        var remote = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(b, "out", "summary.json"))).RootElement.GetProperty("cache").GetProperty("remote");
        var downloaded = remote.GetProperty("bytesDownloaded").GetInt64();
        var written = Directory.GetFiles(Path.Combine(b, "out")).Where(f => !f.EndsWith("summary.json", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        static double Reported(CliProcess.Result run) => double.Parse(Regex.Match(run.Stdout, @"failed \((\d+) ms\)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"A: {Reported(runA)} ms run, {runA.WallMs:0} ms process; B: {Reported(runB)} ms run, {runB.WallMs:0} ms process; " +
            $"B/A run {Reported(runB) / Reported(runA):0.###}, process {runB.WallMs / runA.WallMs:0.###}; B downloaded {downloaded} bytes, wrote {written} bytes");
        Assert.True(downloaded <= 2 * written, $"B downloaded {downloaded} bytes to write {written}");
    }
}
