using System.Globalization;
using System.Text;
using System.Text.Json;
using ImageFlowIO.Config;
using ImageFlowIO.Output;

namespace ImageFlowIO.BuildServer;

/// <summary>
/// Keeps the asset catalogue (<c>imageflow.catalogue.json</c> in obj/): one deterministic record per asset of what the build
/// computed — paths relative to the project and to the app's base directory, sizes, output shape, per-channel statistics,
/// top-k for classifiers, the error of a failed asset — which the source generator turns into <c>ImageFlowAssets</c>.
/// The file itself is the record of assets this build did not process (up to date): their entries are carried over, so
/// it always describes every current asset. No timings, no absolute paths, invariant numbers, entries ordered by path;
/// rewritten only when its bytes change.
/// </summary>
internal sealed class AssetCatalogueWriter
{
    /// <summary>The catalogue format; the generator ignores other versions (and so does this writer: all assets are processed again).</summary>
    public const int FormatVersion = 1;
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    private readonly string _file;
    private readonly string _projectDirectory;
    private readonly string _outputDirectory;
    /// <summary>This build's assets (full path → relative path), in item order.</summary>
    private readonly List<(string FullPath, string RelativePath)> _assets;
    private readonly Dictionary<string, CatalogueEntry> _previous;
    private readonly Dictionary<string, CatalogueEntry> _fresh = new(StringComparer.Ordinal);

    private AssetCatalogueWriter(string file, string projectDirectory, string outputDirectory, List<(string, string)> assets, Dictionary<string, CatalogueEntry> previous)
    {
        _file = file;
        _projectDirectory = projectDirectory;
        _outputDirectory = outputDirectory;
        _assets = assets;
        _previous = previous;
    }

    /// <summary>Opens the catalogue at <paramref name="file"/> (missing or unreadable: no previous entries).</summary>
    public static AssetCatalogueWriter Open(string file, string projectDirectory, string outputDirectory, IEnumerable<(string FullPath, string RelativePath)> assets)
    {
        var previous = new Dictionary<string, CatalogueEntry>(StringComparer.Ordinal);
        try
        {
            if (File.Exists(file))
                foreach (var entry in Read(File.ReadAllBytes(file))) previous[entry.Path] = entry;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException)
        {
            previous.Clear();
        }
        return new AssetCatalogueWriter(file, Path.GetFullPath(projectDirectory), Path.GetFullPath(outputDirectory), assets.ToList(), previous);
    }

    /// <summary>
    /// Records the results of one config's batch. Every succeeded result carries its facts (shape, statistics, top-k,
    /// saved size), also when its outputs came from a cache: the output entry keeps them.
    /// </summary>
    /// <param name="config">The config the batch ran.</param>
    /// <param name="batch">The batch's results.</param>
    /// <param name="outputsOf">The files the task recorded for an input (full paths), or null to take the result's.</param>
    public void Record(PipelineConfig config, BatchResult batch, Func<string, IEnumerable<string>?> outputsOf)
    {
        foreach (var result in batch.Items)
            _fresh[result.Input] = ToEntry(config, result, result.Succeeded ? (outputsOf(result.Input) ?? result.Outputs).ToList() : []);
    }

    /// <summary>Writes the catalogue for this build's assets (fresh entries, else the previous ones); true when the file changed.</summary>
    public bool Save()
    {
        var entries = new SortedDictionary<string, CatalogueEntry>(StringComparer.Ordinal);
        foreach (var (fullPath, relative) in _assets)
        {
            CatalogueEntry? entry = _fresh.TryGetValue(fullPath, out var fresh) ? fresh with { Path = relative }
                : _previous.TryGetValue(relative, out var kept) ? kept : null;
            if (entry is not null) entries[relative] = entry;
        }
        var bytes = Serialize(entries.Values);
        try { if (File.Exists(_file) && File.ReadAllBytes(_file).AsSpan().SequenceEqual(bytes)) return false; }
        catch (IOException) { }
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        AtomicFile.WriteAllBytes(_file, bytes);
        return true;
    }

    private CatalogueEntry ToEntry(PipelineConfig config, PipelineResult result, List<string> outputs)
    {
        var configPath = config.ConfigPath is { } c ? Relative(_projectDirectory, c) : "";
        if (result.Error is { } error)
            return new CatalogueEntry { Path = Relative(_projectDirectory, result.Input), Config = configPath, ErrorCode = error.Code, ErrorMessage = Portable(error.Message) };
        var classifier = config.Model.Labels is not null && result.OutputShape.Count == 2;
        return new CatalogueEntry
        {
            Path = Relative(_projectDirectory, result.Input),
            Config = configPath,
            Outputs = outputs.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).Select(o => Relative(_outputDirectory, o)).ToList(),
            InputWidth = result.SourceWidth,
            InputHeight = result.SourceHeight,
            OutputWidth = result.SavedImageWidth,
            OutputHeight = result.SavedImageHeight,
            OutputShape = [.. result.OutputShape],
            Channels = result.OutputStatistics.Select(s => new CatalogueChannel(Significant(s.Min), Significant(s.Max), Significant(s.Mean))).ToList(),
            // Rounded as writeMeta rounds them, so the catalogue and the meta files agree.
            TopK = classifier ? result.TopK.Select(k => new CatalogueScore(k.Label, Math.Round(k.Score, 6))).ToList() : [],
            // Scores to 4 decimals: what the text is matters, not the last bits a CPU gives a probability.
            Lines = result.Lines?.Select(l => new CatalogueLine(l.Text, Math.Round(l.Score, 4), [.. l.Box.SelectMany(p => new[] { (double)p.X, p.Y })])).ToList() ?? [],
            Checks = result.Checks.Select(c => new CatalogueCheck(c.Id, c.Code, c.Severity.ToString().ToLowerInvariant(), Portable(c.Message))).ToList(),
        };
    }

    /// <summary>6 significant digits: the last bits of a float model output may differ between CPUs; the catalogue should not.</summary>
    private static double Significant(float value) =>
        float.IsFinite(value) ? double.Parse(value.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : value;

    /// <summary>A message without this machine's folders (they would differ between two clones).</summary>
    private string Portable(string message) => message
        .Replace(_projectDirectory + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)
        .Replace(_projectDirectory, ".", StringComparison.Ordinal);

    private static string Relative(string root, string path) => Path.GetRelativePath(root, Path.GetFullPath(path, root)).Replace('\\', '/');

    /// <summary>An asset's project-relative path as the outputs keep it: its Link, else its path inside the project, else RecursiveDir + file name.</summary>
    public static string RelativePath(string projectDirectory, string fullPath, string? link, string? recursiveDir)
    {
        if (!string.IsNullOrEmpty(link)) return link.Replace('\\', '/');
        var fromProject = Path.GetRelativePath(projectDirectory, fullPath);
        if (!fromProject.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(fromProject)) return fromProject.Replace('\\', '/');
        return Path.Combine(recursiveDir ?? "", Path.GetFileName(fullPath)).Replace('\\', '/');
    }

    /// <summary>(full path, relative path) of the build's items.</summary>
    public static IEnumerable<(string FullPath, string RelativePath)> Items(IEnumerable<AssetItem> items, string projectDirectory) =>
        items.Select(i => (i.FullPath, RelativePath(projectDirectory, i.FullPath, i.Link, i.RecursiveDir)))
            .DistinctBy(a => a.Item1, StringComparer.Ordinal);

    public static byte[] Serialize(IEnumerable<CatalogueEntry> entries)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Indented))
        {
            w.WriteStartObject();
            w.WriteNumber("version", FormatVersion);
            w.WriteStartArray("assets");
            foreach (var e in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("path", e.Path);
                w.WriteString("config", e.Config);
                w.WriteString("status", e.ErrorCode is null ? "ok" : "failed");
                if (e.ErrorCode is not null)
                {
                    w.WriteString("code", e.ErrorCode);
                    w.WriteString("error", e.ErrorMessage);
                }
                w.WriteNumber("inputWidth", e.InputWidth);
                w.WriteNumber("inputHeight", e.InputHeight);
                w.WriteNumber("outputWidth", e.OutputWidth);
                w.WriteNumber("outputHeight", e.OutputHeight);
                w.WriteStartArray("outputShape");
                foreach (var d in e.OutputShape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("outputs");
                foreach (var o in e.Outputs) w.WriteStringValue(o);
                w.WriteEndArray();
                w.WriteStartArray("channels");
                foreach (var c in e.Channels)
                {
                    w.WriteStartObject();
                    Number(w, "min", c.Min);
                    Number(w, "max", c.Max);
                    Number(w, "mean", c.Mean);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("topK");
                foreach (var k in e.TopK)
                {
                    w.WriteStartObject();
                    w.WriteString("label", k.Label);
                    Number(w, "score", k.Score);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (e.Lines.Count > 0)
                {
                    w.WriteStartArray("lines");
                    foreach (var line in e.Lines)
                    {
                        w.WriteStartObject();
                        w.WriteString("text", line.Text);
                        Number(w, "score", line.Score);
                        w.WriteStartArray("box");
                        foreach (var v in line.Box) w.WriteNumberValue(v);
                        w.WriteEndArray();
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                if (e.Checks.Count > 0)
                {
                    w.WriteStartArray("checks");
                    foreach (var c in e.Checks)
                    {
                        w.WriteStartObject();
                        w.WriteString("id", c.Id);
                        w.WriteString("code", c.Code);
                        w.WriteString("severity", c.Severity);
                        w.WriteString("message", c.Message);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteString(name, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }

    public static List<CatalogueEntry> Read(byte[] json)
    {
        var result = new List<CatalogueEntry>();
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("version", out var v) || v.GetInt32() != FormatVersion) return result;
        foreach (var a in root.GetProperty("assets").EnumerateArray())
        {
            result.Add(new CatalogueEntry
            {
                Path = a.GetProperty("path").GetString()!,
                Config = a.GetProperty("config").GetString()!,
                ErrorCode = a.TryGetProperty("code", out var code) ? code.GetString() : null,
                ErrorMessage = a.TryGetProperty("error", out var error) ? error.GetString() : null,
                InputWidth = a.GetProperty("inputWidth").GetInt32(),
                InputHeight = a.GetProperty("inputHeight").GetInt32(),
                OutputWidth = a.GetProperty("outputWidth").GetInt32(),
                OutputHeight = a.GetProperty("outputHeight").GetInt32(),
                OutputShape = a.GetProperty("outputShape").EnumerateArray().Select(d => d.GetInt32()).ToList(),
                Outputs = a.GetProperty("outputs").EnumerateArray().Select(o => o.GetString()!).ToList(),
                Channels = a.GetProperty("channels").EnumerateArray().Select(c => new CatalogueChannel(ReadNumber(c, "min"), ReadNumber(c, "max"), ReadNumber(c, "mean"))).ToList(),
                TopK = a.GetProperty("topK").EnumerateArray().Select(k => new CatalogueScore(k.GetProperty("label").GetString()!, ReadNumber(k, "score"))).ToList(),
                Lines = a.TryGetProperty("lines", out var lines)
                    ? lines.EnumerateArray().Select(l => new CatalogueLine(l.GetProperty("text").GetString()!, ReadNumber(l, "score"), [.. l.GetProperty("box").EnumerateArray().Select(v => v.GetDouble())])).ToList() : [],
                Checks = a.TryGetProperty("checks", out var checks)
                    ? checks.EnumerateArray().Select(c => new CatalogueCheck(c.GetProperty("id").GetString()!, c.GetProperty("code").GetString()!, c.GetProperty("severity").GetString()!, c.GetProperty("message").GetString()!)).ToList() : [],
            });
        }
        return result;
    }

    private static double ReadNumber(JsonElement e, string name)
    {
        var v = e.GetProperty(name);
        return v.ValueKind == JsonValueKind.String
            ? v.GetString() switch { "Infinity" => double.PositiveInfinity, "-Infinity" => double.NegativeInfinity, _ => double.NaN }
            : v.GetDouble();
    }
}

/// <summary>One asset's record in the catalogue file (see <see cref="AssetCatalogueWriter"/>).</summary>
internal sealed record CatalogueEntry
{
    public string Path { get; init; } = "";
    public string Config { get; init; } = "";
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    public int InputWidth { get; init; }
    public int InputHeight { get; init; }
    public int OutputWidth { get; init; }
    public int OutputHeight { get; init; }
    public IReadOnlyList<int> OutputShape { get; init; } = [];
    public IReadOnlyList<string> Outputs { get; init; } = [];
    public IReadOnlyList<CatalogueChannel> Channels { get; init; } = [];
    public IReadOnlyList<CatalogueScore> TopK { get; init; } = [];
    public IReadOnlyList<CatalogueLine> Lines { get; init; } = [];
    public IReadOnlyList<CatalogueCheck> Checks { get; init; } = [];
}

/// <summary>A chain's line: text, score and box (x0, y0, … x3, y3 in source pixels).</summary>
internal sealed record CatalogueLine(string Text, double Score, double[] Box);
internal readonly record struct CatalogueCheck(string Id, string Code, string Severity, string Message);

internal readonly record struct CatalogueChannel(double Min, double Max, double Mean);
internal readonly record struct CatalogueScore(string Label, double Score);
