using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.PipelineStages;

/// <summary>
/// "Behaviour kept" guard: a fixed corpus through a broad set of configs, each run without a cache, then with a cold
/// and a warm disk cache; every output file must hash to the SHA-256 committed in GoldenOutputs.expected.txt.
/// To regenerate the expected file (only after a deliberate output change): set IMAGEFLOWIO_UPDATE_GOLDEN=1 and run
/// this class once; it then rewrites the file in the source tree (next to this .cs) instead of asserting.
/// Not hashed as raw bytes: meta *.json (timings, cache layers and absolute paths vary) is hashed after removing
/// timingsMs and cache and reducing paths to names relative to the run's output folder; *.npz is hashed over its entry
/// names and uncompressed contents, because the zip entries carry the write time.
/// </summary>
public sealed class GoldenOutputTests : IDisposable
{
    private const string ExpectedFileName = "GoldenOutputs.expected.txt";
    private static readonly string[] Corpus = ["photo_160x120.jpg", "photo_64x48.png", "exif_orient6_160x120.jpg", "gradient_33x17.png"];

    private readonly PipelineFixture _f = new();
    public void Dispose() => _f.Dispose();

    /// <summary>Each config: its name (the first segment of the expected file's keys) and its JSON text.</summary>
    private static IEnumerable<(string Name, string Json)> Configs()
    {
        // cacheCompression only changes how the disk cache stores entries; the outputs must not depend on it.
        static string Cfg(string model, string backend, string rest, string cacheCompression = "none") => $$"""
            {
              "model": { {{model}} },
              "execution": { "backend": "{{backend}}", "cache": { "compression": "{{cacheCompression}}" } },
              {{rest}}
            }
            """;

        yield return ("fill-normalize-invert-png8", Cfg(""" "path": "models/invert_nchw.onnx", "name": "inv" """, "onnx", """
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [48, 40], "keepAspectRatio": false, "kernel": "linear" },
                "normalize": { "apply": true, "mean": [0.1, 0.2, 0.3], "std": [0.9, 0.8, 0.7] },
                "format": { "dataType": "float32", "channels": 3 }
              },
              "postprocessing": { "clamp": { "apply": true, "min": 0, "max": 1 } },
              "output": { "save": { "apply": true, "format": "png", "bitDepth": 8 }, "writeMeta": { "apply": true } }
            """));

        yield return ("fit-pad-nhwc-batch-png16", Cfg(""" "path": "models/invert_nhwc.onnx", "layout": "nhwc" """, "onnx", """
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [64, 64], "resizeMode": "fit", "kernel": "cubic", "padColor": [10, 20, 30] },
                "format": { "dataType": "float32", "channels": 3 }
              },
              "inference": { "batchSize": 4 },
              "output": { "save": { "apply": true, "format": "png", "bitDepth": 16, "compressionLevel": 9 } }
            """));

        yield return ("crop-grayscale-identity-jpeg", Cfg(""" "path": "models/identity_nchw.onnx" """, "onnx", """
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [40, 40], "resizeMode": "crop", "kernel": "nearest" },
                "grayscale": { "apply": true },
                "format": { "dataType": "float32", "channels": 3 }
              },
              "output": { "save": { "apply": true, "format": "jpeg", "quality": 85 } }
            """));

        yield return ("fp16-tiled-feather-webp", Cfg(""" "path": "models/invert_nchw_fp16.onnx" """, "onnx", """
              "preprocessing": { "format": { "dataType": "float16", "channels": 3 } },
              "inference": { "tiling": { "apply": true, "tileSize": [32, 32], "overlap": 4, "padMode": "reflect", "blend": "feather" } },
              "output": { "save": { "apply": true, "format": "webp", "quality": 80 } }
            """));

        yield return ("uint8-nhwc-tiff16", Cfg(""" "path": "models/passthrough_uint8_nhwc.onnx", "layout": "nhwc" """, "onnx", """
              "preprocessing": { "format": { "dataType": "uint8", "channels": 3 } },
              "output": { "save": { "apply": true, "format": "tiff", "bitDepth": 16 } }
            """));

        yield return ("noop-int8-bgr-split-tiff8", Cfg(""" "path": "noop.onnx", "name": "noopmodel" """, "noop", """
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [32, 24], "resizeMode": "fill" },
                "format": { "dataType": "int8", "channels": 3, "channelOrder": "bgr" }
              },
              "output": { "save": { "apply": true, "format": "tiff", "bitDepth": 8, "splitChannels": true, "channelNames": ["b", "g", "r"], "filename": "{model}-{index}-{name}.{format}" } }
            """));

        yield return ("noop-gray1-raw-npy-png", Cfg(""" "path": "noop.onnx" """, "noop", """
              "preprocessing": {
                "centerCrop": { "apply": true, "size": [24, 16] },
                "format": { "dataType": "float32", "channels": 1 }
              },
              "output": { "save": { "apply": true, "format": "png" }, "saveRaw": { "apply": true, "format": "npy", "dtype": "float32" } }
            """));

        yield return ("classifier-softmax-npz-meta", Cfg(""" "path": "models/classifier_nchw.onnx", "labels": "models/classifier_labels.txt" """, "onnx", """
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [32, 32], "keepAspectRatio": false },
                "format": { "dataType": "float32", "channels": 3 }
              },
              "inference": { "batchSize": 2 },
              "postprocessing": { "activation": { "apply": true, "type": "softmax" } },
              "output": { "saveRaw": { "apply": true, "format": "npz", "dtype": "float32" }, "writeMeta": { "apply": true, "jsonPath": "meta.json" } }
            """));

        yield return ("segment4-voc-outline-resize-raw-bin", Cfg(""" "path": "models/segment4_nchw.onnx" """, "onnx", """
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [40, 30], "keepAspectRatio": false },
                "format": { "dataType": "float32", "channels": 3 }
              },
              "postprocessing": {
                "activation": { "apply": true, "type": "softmax" },
                "paletteMap": { "apply": true, "source": "argmax", "palette": { "mode": "preset", "preset": "pascal_voc" }, "outline": { "apply": true, "color": [255, 255, 0], "thickness": 1 } },
                "resizeTo": "input"
              },
              "output": { "save": { "apply": true, "format": "png" }, "saveRaw": { "apply": true, "format": "bin", "dtype": "uint8" } }
            """));

        yield return ("segment4-inline-palette-overlay-viz", Cfg(""" "path": "models/segment4_nchw.onnx" """, "onnx", """
              "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
              "postprocessing": {
                "paletteMap": { "apply": true, "source": "argmax", "palette": { "mode": "inline", "inline": [[200, 0, 0], [0, 200, 0], [0, 0, 200], [20, 20, 20]] } },
                "blendOverlay": { "apply": true, "alpha": 0.4 }
              },
              "output": { "save": { "apply": true, "format": "png" } },
              "visualization": { "apply": true, "type": "overlay", "alpha": 0.3, "outputPath": "viz" }
            """));

        yield return ("gray-viridis-heatmap-lz4cache", Cfg(""" "path": "models/gray_nchw.onnx" """, "onnx", """
              "preprocessing": {
                "resize": { "apply": true, "imageSize": [48, 48], "resizeMode": "fit" },
                "format": { "dataType": "float32", "channels": 3 }
              },
              "postprocessing": { "colorMap": { "apply": true, "mode": "viridis", "channel": 0 } },
              "output": { "save": { "apply": true, "format": "png" } },
              "visualization": { "apply": true, "type": "heatmap" }
            """, cacheCompression: "lz4"));

        yield return ("sigmoid-aces-sidebyside-zstdcache", Cfg(""" "path": "models/identity_nchw.onnx" """, "onnx", """
              "preprocessing": {
                "normalize": { "apply": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] },
                "format": { "dataType": "float32", "channels": 3 }
              },
              "postprocessing": {
                "activation": { "apply": true, "type": "sigmoid" },
                "toneMap": { "apply": true, "method": "aces", "exposure": 0.5, "gamma": 2.2 }
              },
              "output": { "save": { "apply": true, "format": "png", "linearToSRGB": true } },
              "visualization": { "apply": true, "type": "sideBySide" }
            """, cacheCompression: "zstd"));

        yield return ("augment-tanh-reinhard-denorm16-difference", Cfg(""" "path": "models/identity_nchw.onnx" """, "onnx", """
              "preprocessing": {
                "augmentations": { "apply": true, "methods": ["flip", "rotate", "colorJitter"],
                  "params": { "flip": { "axis": "vertical" }, "rotate": { "angle": 90 }, "colorJitter": { "brightness": 1.2, "saturation": 0.8, "hue": 0.1 } } },
                "format": { "dataType": "float32", "channels": 3 }
              },
              "postprocessing": {
                "activation": { "apply": true, "type": "tanh" },
                "toneMap": { "apply": true, "method": "reinhard", "exposure": 1.0, "gamma": 1.0 },
                "denormalize": { "apply": true, "scale": 65535, "dtype": "uint16" }
              },
              "output": { "save": { "apply": true, "format": "png" } },
              "visualization": { "apply": true, "type": "difference" }
            """));

        yield return ("tiled-max-zero-turbo-jpeg", Cfg(""" "path": "models/gray_nchw.onnx" """, "onnx", """
              "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
              "inference": { "tiling": { "apply": true, "tileSize": [16, 16], "overlap": 2, "padMode": "zero", "blend": "max" } },
              "postprocessing": { "colorMap": { "apply": true, "mode": "turbo" } },
              "output": { "save": { "apply": true, "format": "jpeg", "quality": 95 } }
            """));

        yield return ("tiled-average-edge-filmic-tiff", Cfg(""" "path": "models/invert_nchw.onnx" """, "onnx", """
              "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
              "inference": { "batchSize": 4, "tiling": { "apply": true, "tileSize": [24, 24], "overlap": 6, "padMode": "edge", "blend": "average" } },
              "postprocessing": { "toneMap": { "apply": true, "method": "filmic", "exposure": 0, "gamma": 2.2 }, "resizeTo": [50, 40] },
              "output": { "save": { "apply": true, "format": "tiff" }, "writeMeta": { "apply": true, "jsonPath": "meta/{name}.json" } }
            """));
    }

    [Fact]
    public async Task Every_config_writes_the_committed_bytes_without_a_cache_and_with_a_cold_and_a_warm_disk_cache()
    {
        var inputs = _f.Images(Corpus);
        foreach (var model in Directory.EnumerateFiles(Path.Combine(TestPaths.Root, "TestData", "models"))) _f.Model(Path.GetFileName(model));
        var items = inputs.Select(i => new InputItem(i)).ToList();

        var actual = new List<string>();
        var mismatches = new List<string>();
        foreach (var (name, json) in Configs())
        {
            var configPath = _f.Config(json, name + ".json");
            var cacheDir = _f.Dir.Combine("cache", name);
            var runs = new (string Label, CacheMode Mode)[] { ("none", CacheMode.None), ("cold", CacheMode.Disk), ("warm", CacheMode.Disk) };
            SortedDictionary<string, string>? first = null;
            foreach (var (label, mode) in runs)
            {
                var outDir = _f.Dir.Combine("out", name, label);
                var options = new PipelineOptions
                {
                    OutputDirectory = outDir,
                    CacheMode = mode,
                    CacheDirectory = mode == CacheMode.Disk ? cacheDir : null,
                    MaxParallelism = 2,
                    IntraOpThreads = 1, // one ORT thread: reductions sum in one fixed order
                };
                BatchResult batch;
                using (var pipeline = ImageFlowIO.Pipeline.FromConfig(configPath, options))
                    batch = await pipeline.RunBatchAsync(items);
                Assert.True(batch.Failed == 0, $"{name}/{label}: " + string.Join("; ", batch.Items.Where(i => !i.Succeeded).Select(i => i.Error?.ToString())));
                // Without this the warm run could silently recompute everything and prove nothing about the disk store.
                if (label == "warm") Assert.True(batch.FromCache == inputs.Length, $"{name}/warm: only {batch.FromCache} of {inputs.Length} inputs came from the disk cache");

                var hashes = HashOutputs(outDir);
                Assert.True(hashes.Count > 0, $"{name}/{label} wrote no files");
                if (first is null)
                {
                    first = hashes;
                    actual.AddRange(hashes.Select(h => $"{name}/{h.Key} {h.Value}"));
                }
                else if (!first.SequenceEqual(hashes))
                    mismatches.Add($"{name}/{label} differs from {name}/none:\n  none: {string.Join(", ", first.Select(h => h.Key + "=" + h.Value[..12]))}\n  {label}: {string.Join(", ", hashes.Select(h => h.Key + "=" + h.Value[..12]))}");
            }
        }

        if (Environment.GetEnvironmentVariable("IMAGEFLOWIO_UPDATE_GOLDEN") == "1")
        {
            Assert.Empty(mismatches); // a cache that changes bytes must not become the golden truth
            File.WriteAllText(SourceExpectedPath(), Header + string.Join("\n", actual) + "\n");
            return;
        }

        var expected = File.ReadAllLines(Path.Combine(TestPaths.Root, "Pipeline", ExpectedFileName))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var missing = expected.Except(actual).ToList();
        var unexpected = actual.Except(expected).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            mismatches.Add($"differs from {ExpectedFileName} (set IMAGEFLOWIO_UPDATE_GOLDEN=1 to regenerate after a deliberate change):\n  expected, not produced:\n    "
                + string.Join("\n    ", missing) + "\n  produced, not expected:\n    " + string.Join("\n    ", unexpected));
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    private const string Header = """
        # Golden output hashes of GoldenOutputTests: <config>/<path relative to the output folder> <sha256>.
        # Regenerate only after a deliberate output change: IMAGEFLOWIO_UPDATE_GOLDEN=1 dotnet test ... --filter GoldenOutputTests
        # *.json (meta): hashed with timingsMs and cache removed and paths made relative; *.npz: over entry names + contents.

        """;

    private static string SourceExpectedPath([CallerFilePath] string thisFile = "") => Path.Combine(Path.GetDirectoryName(thisFile)!, ExpectedFileName);

    /// <summary>Relative path (with '/') → SHA-256 hex of every file under <paramref name="outDir"/>.</summary>
    private static SortedDictionary<string, string> HashOutputs(string outDir)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(outDir, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(outDir, file).Replace('\\', '/');
            var bytes = Path.GetExtension(file) switch
            {
                ".json" => NormalisedMeta(file, outDir),
                ".npz" => NpzContent(file),
                _ => File.ReadAllBytes(file),
            };
            result[relative] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        }
        return result;
    }

    /// <summary>The meta JSON without run-dependent fields: timings, cache layers, and absolute paths (made relative).</summary>
    private static byte[] NormalisedMeta(string file, string outDir)
    {
        var root = JsonNode.Parse(File.ReadAllText(file))!;
        foreach (var item in root is JsonArray array ? array.Select(n => n!.AsObject()) : [root.AsObject()])
        {
            item.Remove("timingsMs");
            item.Remove("cache");
            item["input"] = Path.GetFileName(item["input"]!.GetValue<string>());
            if (item["outputs"] is JsonArray outputs)
                item["outputs"] = new JsonArray(outputs.Select(o => (JsonNode)JsonValue.Create(Path.GetRelativePath(outDir, o!.GetValue<string>()).Replace('\\', '/'))!).ToArray());
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Each zip entry's name and uncompressed bytes, in archive order (entry timestamps left out).</summary>
    private static byte[] NpzContent(string file)
    {
        using var zip = ZipFile.OpenRead(file);
        using var buffer = new MemoryStream();
        foreach (var entry in zip.Entries)
        {
            buffer.Write(Encoding.UTF8.GetBytes(entry.FullName + "\n"));
            using var s = entry.Open();
            s.CopyTo(buffer);
        }
        return buffer.ToArray();
    }
}
