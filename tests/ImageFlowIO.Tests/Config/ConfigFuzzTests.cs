using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageFlowIO.Cli;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;
using Xunit.Abstractions;

namespace ImageFlowIO.Tests.Config;

/// <summary>
/// Seeded mutations of the original's example configs and of our test configs (wrong types, extreme and negative
/// numbers, empty, very long and control-character strings, huge sizes, missing and extra sections, broken JSON), each
/// through the parser, <c>--validate-only</c> and, when valid, a real CLI run on a tiny image: exit codes 0–4 only,
/// never an unexpected failure (IFIO9001) or an exception out of the parser, never a hang.
/// <para>
/// CI runs a fixed seed and <see cref="DefaultCases"/> cases (about a minute on two cores). A larger local run:
/// <c>IMAGEFLOWIO_FUZZ_CASES=20000 IMAGEFLOWIO_FUZZ_SEED=7 dotnet test tests/ImageFlowIO.Tests -c Release --filter ConfigFuzzTests</c>;
/// a failure names its seed and case number and prints the config, and <c>IMAGEFLOWIO_FUZZ_CASE=n</c> reruns that case alone.
/// </para>
/// </summary>
public sealed class ConfigFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int DefaultCases = 1000;
    private const int DefaultSeed = 14;
    private static readonly TimeSpan PerCaseLimit = TimeSpan.FromSeconds(30);
    // CI bound: a slow machine runs fewer cases rather than a longer test.
    private static readonly TimeSpan DefaultBudget = TimeSpan.FromSeconds(75);

    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static int EnvInt(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;

    [Fact]
    public async Task Mutated_configs_never_crash_or_hang_the_cli()
    {
        var cases = EnvInt("IMAGEFLOWIO_FUZZ_CASES", DefaultCases);
        var seed = EnvInt("IMAGEFLOWIO_FUZZ_SEED", DefaultSeed);
        var only = EnvInt("IMAGEFLOWIO_FUZZ_CASE", -1);
        var budget = Environment.GetEnvironmentVariable("IMAGEFLOWIO_FUZZ_CASES") is null ? DefaultBudget : TimeSpan.MaxValue;
        var bases = BaseConfigs();
        var image = _dir.Copy(TestPaths.Image("gradient_33x17.png"), "inputs/gradient_33x17.png");

        var failures = new List<string>();
        var stats = new Dictionary<string, int>();
        void Count(string key) => stats[key] = stats.GetValueOrDefault(key) + 1;
        var clock = Stopwatch.StartNew();
        var ran = 0;
        for (var n = only >= 0 ? only : 0; n < (only >= 0 ? only + 1 : cases) && clock.Elapsed < budget; n++)
        {
            ran++;
            // Seeded Random is deterministic across runs and machines (HashCode.Combine would not be: it is randomised per process).
            var random = new Random(unchecked(seed * 1_000_003 + n));
            // The richest base (every section on) a quarter of the time: mutations there reach the most stages.
            var (baseName, baseJson) = random.Next(4) == 0 ? bases.Single(b => b.Name == "test:full-output") : bases[random.Next(bases.Count)];
            var text = Mutate(baseJson, random);
            var folder = _dir.Combine("cases", n.ToString());
            Directory.CreateDirectory(folder);
            var config = Path.Combine(folder, "imageflow.json");
            File.WriteAllText(config, text);
            string Describe(string what) => $"seed {seed} case {n} (from {baseName}): {what}\n--- config ---\n{text}\n";

            ConfigParseResult parsed;
            try { parsed = ConfigParser.ParseFile(config); }
            catch (Exception ex) { failures.Add(Describe("the parser threw " + ex)); continue; }
            Count(parsed.Config is null ? "invalid" : "valid");

            var validate = await RunCli(["--config", config, "--validate-only"]);
            if (Problem(validate) is { } vp) { failures.Add(Describe("--validate-only: " + vp)); continue; }
            if (parsed.Config is null)
            {
                if (validate.ExitCode != 2) failures.Add(Describe($"an invalid config gave exit code {validate.ExitCode} at --validate-only, not 2"));
                continue;
            }

            string[] args = ["--config", config, "--input", random.Next(4) == 0 ? Path.GetDirectoryName(image)! : image, "--output", Path.Combine(folder, "out"), "--no-progress", "--concurrency", "1"];
            if (random.Next(3) == 0) args = [.. args, "--backend", "noop"];
            var run = await RunCli(args);
            if (Problem(run) is { } rp) failures.Add(Describe("run: " + rp));
            else Count("exit " + run.ExitCode);
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        output.WriteLine($"seed {seed}: {ran} cases in {clock.Elapsed.TotalSeconds:0.0} s; " + string.Join(", ", stats.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.True(failures.Count == 0, $"{failures.Count} of {ran} cases failed; the first ones:\n" + string.Join("\n", failures.Take(5)));
        if (only < 0 && budget == DefaultBudget) Assert.True(ran >= 300, $"only {ran} cases ran within the time budget");
    }

    private sealed record CliRun(int ExitCode, string Stdout, string Stderr, bool TimedOut);

    private static async Task<CliRun> RunCli(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var task = Task.Run(() => ImageFlowCli.RunAsync(args, stdout, stderr));
        if (await Task.WhenAny(task, Task.Delay(PerCaseLimit)) != task) return new CliRun(-1, "", "", TimedOut: true);
        try { return new CliRun(await task, stdout.ToString(), stderr.ToString(), false); }
        catch (Exception ex) { return new CliRun(-2, stdout.ToString(), stderr + "\nexception out of ImageFlowCli.RunAsync: " + ex, false); }
    }

    private static string? Problem(CliRun r)
    {
        if (r.TimedOut) return $"no answer within {PerCaseLimit.TotalSeconds} s (a hang)";
        if (r.ExitCode is < 0 or > 4) return $"exit code {r.ExitCode}\n{r.Stderr}";
        if (r.Stderr.Contains(ErrorCodes.Internal) || r.Stderr.Contains("Unhandled exception")) return $"unexpected failure (exit {r.ExitCode})\n{r.Stderr}";
        return null;
    }

    // ---- base configs ------------------------------------------------------------------------------------

    /// <summary>The compat examples with their model paths pointed at our small models, plus configs of our own tests.</summary>
    private List<(string Name, string Json)> BaseConfigs()
    {
        string Model(string name) => _dir.Copy(TestPaths.Model(name), Path.Combine("models", name));
        var invert = Model("invert_nchw.onnx");
        var invertNhwc = Model("invert_nhwc.onnx");
        var classifier = Model("classifier_nchw.onnx");
        var labels = Model("classifier_labels.txt");
        var segment = Model("segment4_nchw.onnx");
        var named = Model("identity_nchw_named.onnx");
        var gray = Model("gray_nchw.onnx");
        var palette = _dir.Write("palette.json", "[[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]");

        var list = new List<(string, string)>();
        foreach (var file in Directory.GetFiles(TestPaths.Fixture("compat"), "*.json").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            var json = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
            var model = json["model"]!.AsObject();
            var stand = name switch
            {
                "classification.json" => classifier,
                "layout-nhwc.json" => invertNhwc,
                "detection.json" or "palette-file.json" or "onnx-unet.json" => segment,
                "grayscale-float.json" => gray,
                _ => invert,
            };
            if (model["inputName"] is not null) { stand = named; model["inputName"] = "input_0"; model["outputName"] = "output_0"; }
            if (name != "tfjs.json") model["path"] = stand;
            if (model["labels"] is not null) model["labels"] = labels;
            if (json["postprocessing"]?["paletteMap"]?["palette"]?["file"] is not null) json["postprocessing"]!["paletteMap"]!["palette"]!["file"] = palette;
            list.Add((name, json.ToJsonString()));
        }
        // Configs of our own tests: every section the compat examples leave out.
        list.Add(("test:full-output", $$"""
            { "model": { "path": "{{Esc(invert)}}", "layout": "nchw" }, "execution": { "backend": "onnx", "useCaching": "disk", "cacheDir": "cache", "cache": { "memoryLimitMB": 64, "diskLimitMB": 64, "compression": "lz4" } },
              "input": { "maxPixels": 1000000, "autoOrient": true },
              "preprocessing": { "resize": { "apply": true, "imageSize": [24, 16], "resizeMode": "fit", "kernel": "linear", "padColor": [1, 2, 3] }, "centerCrop": { "apply": true, "size": [16, 16] },
                "augmentations": { "apply": true, "methods": ["flip", "rotate", "colorJitter"], "params": { "flip": { "axis": "vertical" }, "rotate": { "angle": 90 }, "colorJitter": { "brightness": 1.1, "saturation": 0.9, "hue": 10 } } },
                "format": { "dataType": "float32", "channels": 3, "channelOrder": "bgr" }, "normalize": { "apply": true, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25] } },
              "inference": { "batchSize": 2, "tiling": { "apply": true, "tileSize": [8, 8], "overlap": 2, "padMode": "edge", "blend": "feather" } },
              "postprocessing": { "activation": { "apply": true, "type": "sigmoid" }, "clamp": { "apply": true, "min": 0, "max": 1 }, "toneMap": { "apply": true, "method": "reinhard", "exposure": 0.5, "gamma": 2.2 },
                "denormalize": { "apply": true, "scale": 65535, "dtype": "uint16" }, "resizeTo": [40, 20], "blendOverlay": { "apply": true, "alpha": 0.3 } },
              "output": { "save": { "apply": true, "path": "out", "format": "png", "bitDepth": 16, "splitChannels": true, "channelNames": ["r", "g", "b"], "filename": "{model}_{name}_{index}.{format}", "compressionLevel": 6 },
                "saveRaw": { "apply": true, "format": "npz", "dtype": "uint8", "path": "raw" }, "writeMeta": { "apply": true, "jsonPath": "meta/{name}.json" } },
              "logging": { "level": "debug", "saveLogs": true, "logPath": "logs/run.log" },
              "visualization": { "apply": true, "type": "heatmap", "outputPath": "viz", "alpha": 0.4 } }
            """));
        list.Add(("test:segmentation", $$"""
            { "model": { "path": "{{Esc(segment)}}" }, "execution": { "useCaching": "memory" },
              "postprocessing": { "colorMap": { "apply": false, "mode": "turbo", "channel": 1 }, "paletteMap": { "apply": true, "source": "argmax", "palette": { "mode": "inline", "inline": [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]] }, "outline": { "apply": true, "color": [255, 255, 0], "thickness": 1 } } },
              "output": { "save": { "apply": true, "format": "tiff", "bitDepth": 8 }, "writeMeta": { "apply": true, "jsonPath": "meta.json" } } }
            """));
        list.Add(("test:classifier", $$"""
            { "model": { "path": "{{Esc(classifier)}}", "labels": "{{Esc(labels)}}" }, "preprocessing": { "resize": { "apply": true, "imageSize": [8, 8], "keepAspectRatio": false } },
              "postprocessing": { "activation": { "apply": true, "type": "softmax" } }, "output": { "saveRaw": { "apply": true, "format": "bin" }, "writeMeta": { "apply": true } } }
            """));
        list.Add(("test:jpeg-colormap", $$"""
            { "model": { "path": "{{Esc(gray)}}" }, "preprocessing": { "grayscale": { "apply": true }, "format": { "dataType": "float16" } },
              "postprocessing": { "colorMap": { "apply": true, "mode": "viridis" }, "denormalize": { "apply": true } },
              "output": { "save": { "apply": true, "format": "jpeg", "quality": 50, "linearToSRGB": true, "colorSpace": "linear" } } }
            """));
        return list.Select(c => (c.Item1, Bounded(c.Item2))).ToList();
    }

    /// <summary>Sizes are bounded by input.maxPixels: a small bound keeps a mutated size from making one case take minutes.</summary>
    private static string Bounded(string config)
    {
        var json = JsonNode.Parse(config, documentOptions: Lenient)!.AsObject();
        if (json["input"] is JsonObject input) input["maxPixels"] ??= SmallMaxPixels;
        else json["input"] = new JsonObject { ["maxPixels"] = SmallMaxPixels };
        return json.ToJsonString();
    }

    private const int SmallMaxPixels = 1_000_000;

    private static string Esc(string path) => path.Replace("\\", "\\\\");

    // ---- mutations ---------------------------------------------------------------------------------------

    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static string Mutate(string json, Random random)
    {
        var root = JsonNode.Parse(json, documentOptions: Lenient)!;
        var count = random.Next(10) < 6 ? 1 : random.Next(2, 4);
        for (var i = 0; i < count; i++) MutateOnce(root, random);
        var text = root.ToJsonString(new JsonSerializerOptions { WriteIndented = random.Next(2) == 0 });
        // A few cases break the JSON itself.
        if (random.Next(25) == 0) text = text[..random.Next(text.Length)];
        else if (random.Next(25) == 0) text = text.Insert(random.Next(text.Length), ((char)random.Next(0, 128)).ToString());
        return text;
    }

    private sealed record Slot(JsonNode? Parent, string? Key, int Index, JsonNode? Value, string ObjectPath);

    private static List<Slot> Slots(JsonNode root)
    {
        var slots = new List<Slot>();
        void Walk(JsonNode? node, JsonNode? parent, string? key, int index, string path)
        {
            if (parent is not null) slots.Add(new Slot(parent, key, index, node, path));
            if (node is JsonObject o)
                foreach (var (k, v) in o.ToList()) Walk(v, o, k, -1, path.Length == 0 ? k : path + "." + k);
            else if (node is JsonArray a)
                for (var i = 0; i < a.Count; i++) Walk(a[i], a, null, i, path + "[]");
        }
        Walk(root, null, null, -1, "");
        return slots;
    }

    private static void MutateOnce(JsonNode root, Random random)
    {
        var slots = Slots(root);
        var op = random.Next(13);
        var bools = slots.Where(s => s.Value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False).ToList();
        if (op <= 2 && bools.Count > 0)
        {
            // Flip a boolean: turns stages on and off with the values the config already has.
            var slot = bools[random.Next(bools.Count)];
            Set(slot, JsonValue.Create(slot.Value!.GetValueKind() == JsonValueKind.False));
        }
        else if (op <= 4 && slots.Any(x => x.Value is JsonValue v && v.GetValueKind() == JsonValueKind.Number))
        {
            // Perturb a number: a sign flip, an order of magnitude, off by one, zero (breaks relations such as clamp min ≤ max).
            var numbers = slots.Where(x => x.Value is JsonValue v && v.GetValueKind() == JsonValueKind.Number).ToList();
            var slot = numbers[random.Next(numbers.Count)];
            var x = double.Parse(slot.Value!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
            Set(slot, JsonValue.Create(random.Next(6) switch { 0 => -x, 1 => x * 1000, 2 => x / 1000, 3 => x + 1, 4 => x - 1, _ => 0.0 }));
        }
        else if (op <= 8 && slots.Count > 0)
        {
            // Replace a value: numbers mostly by extreme numbers, strings mostly by hostile strings, else any type.
            var slot = slots[random.Next(slots.Count)];
            var value = slot.Value switch
            {
                JsonValue v when v.GetValueKind() == JsonValueKind.Number && random.Next(4) != 0 => Number(random),
                JsonValue v when v.GetValueKind() == JsonValueKind.String && random.Next(4) != 0 => JsonValue.Create(Text(random)),
                JsonArray when random.Next(2) == 0 => Array(random),
                _ => AnyValue(random),
            };
            Set(slot, value);
        }
        else if (op <= 10 && slots.Count > 0)
        {
            // Remove a property, an array item or a whole section.
            var slot = slots[random.Next(slots.Count)];
            if (slot.Parent is JsonObject o) o.Remove(slot.Key!);
            else if (slot.Parent is JsonArray a) a.RemoveAt(slot.Index);
        }
        else
        {
            // Add a property: mostly one the parser knows at that place (so valid configs reach more stages), else an extra one.
            var objects = slots.Where(s => s.Value is JsonObject).Select(s => (Node: (JsonObject)s.Value!, s.ObjectPath)).Prepend(((JsonObject)root, "")).ToList();
            var (target, path) = objects[random.Next(objects.Count)];
            var known = ConfigParser.KnownProperties.TryGetValue(path, out var names) ? names : [];
            var name = known.Length > 0 && random.Next(4) != 0 ? known[random.Next(known.Length)] : "extra" + random.Next(100);
            var childPath = path.Length == 0 ? name : path + "." + name;
            target[name] = ConfigParser.KnownProperties.ContainsKey(childPath) && random.Next(3) != 0 ? KnownSection(childPath, random) : AnyValue(random);
        }
    }

    /// <summary>An object for a known section with some of its known properties, each a random value.</summary>
    private static JsonObject KnownSection(string path, Random random)
    {
        var o = new JsonObject();
        foreach (var name in ConfigParser.KnownProperties[path].Where(_ => random.Next(2) == 0))
        {
            var childPath = path + "." + name;
            o[name] = ConfigParser.KnownProperties.ContainsKey(childPath) ? KnownSection(childPath, random)
                : name == "apply" ? JsonValue.Create(random.Next(4) != 0)
                : AnyValue(random);
        }
        return o;
    }

    private static void Set(Slot slot, JsonNode? value)
    {
        if (slot.Parent is JsonObject o) o[slot.Key!] = value;
        else if (slot.Parent is JsonArray a) a[slot.Index] = value;
    }

    private static readonly double[] Numbers =
    [
        0, -1, 1, 2, 3, 4, 5, 8, 16, 90, 180, 255, 256, 1000, 4096, 65535, 65536, -65536, int.MaxValue, int.MaxValue + 1.0, long.MaxValue,
        1e308, -1e308, 1e-300, 0.5, -0.5, 1.5, 2.2, 9.2e18, 1e19, 100_000_000, 1 << 20,
    ];

    private static JsonNode Number(Random random) => random.Next(8) == 0
        ? JsonValue.Create(random.NextDouble() * Math.Pow(10, random.Next(-5, 12)) * (random.Next(2) == 0 ? 1 : -1))
        : JsonValue.Create(Numbers[random.Next(Numbers.Length)]);

    private static readonly string[] Strings =
    [
        "", " ", "\u0000", "x\u0000y", "\n", "\t", "\u001b[2J", "{name}\u0000.png", "../../escape", "..", ".", "out/", "out\\", "{name}", "{bogus}", "{", "}",
        "{name}.{format}", "{model}/{name}_{index}.{ext}", "{timestamp}.png", "ü€😀", "C:\\x", "con", "a:b", "what?.png", "*", "models", "missing.onnx",
        "png", "jpeg", "jpg", "webp", "tiff", "memory", "disk", "none", "nchw", "nhwc", "onnx", "noop", "auto", "tfjs", "fit", "fill", "crop", "float16", "uint8", "int8", "uint16",
        "overlay", "heatmap", "sideBySide", "difference", "viridis", "turbo", "argmax", "channel", "npz", "npy", "bin", "input", "sigmoid", "softmax", "tanh", "aces", "filmic",
        "pascal_voc", "cityscapes", "file", "inline", "preset", "reflect", "edge", "zero", "feather", "max", "average", "lanczos3", "nearest", "bgr", "rgb", "debug", "warning",
        "http://127.0.0.1:1/cache", "lz4", "zstd", "linear", "srgb", "image", "vertical", "horizontal", "flip", "rotate", "colorJitter",
    ];

    private static string Text(Random random) => random.Next(12) switch
    {
        0 => new string('a', 5000),
        1 => string.Concat(Enumerable.Repeat("dir/", 200)) + "x.png",
        2 => new string((char)random.Next(0, 32), 3),
        _ => Strings[random.Next(Strings.Length)],
    };

    private static JsonArray Array(Random random) => random.Next(10) switch
    {
        0 => [],
        1 => [Number(random)],
        2 => [Number(random), Number(random)],
        3 => [65535, 65535],
        4 => [1, 1],
        5 => [Number(random), Number(random), Number(random)],
        6 => [JsonValue.Create(Text(random))],
        7 => [new JsonArray(0, 0, 0), new JsonArray(255, 0, 0), new JsonArray(Number(random), 1, 2)],
        8 => new JsonArray(Enumerable.Range(0, 1000).Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()),
        _ => [16, 16],
    };

    private static JsonNode? AnyValue(Random random) => random.Next(7) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(2) == 0),
        2 => Number(random),
        3 => JsonValue.Create(Text(random)),
        4 => Array(random),
        5 => new JsonObject(),
        _ => new JsonObject { ["apply"] = true, ["extra"] = Number(random) },
    };
}
