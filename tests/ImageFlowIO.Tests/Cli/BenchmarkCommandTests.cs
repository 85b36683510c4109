using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Cli;

/// <summary>
/// Measurements run alone: other test classes running in parallel in this process would queue the pipeline's
/// thread-pool work, and that wait shows up in the measured totals but in no stage.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BenchmarkCollection
{
    public const string Name = "benchmark measurements";
}

/// <summary><c>imageflowio benchmark</c>: the original's flags, honest numbers from the user's config, and reports that parse.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
[Collection(BenchmarkCollection.Name)]
public sealed class BenchmarkCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly string[] Stages = ["read", "decode", "preprocess", "inference", "postprocessAndSave"];

    /// <summary>A small conv net at 96×96 over two photos, with a memory cache: every stage takes measurable time.</summary>
    private string Config()
    {
        _dir.Copy(TestPaths.Model("conv3_nchw.onnx"), "models/conv3_nchw.onnx");
        _dir.Copy(TestPaths.Image("photo_160x120.jpg"), "in/a.jpg");
        _dir.Copy(TestPaths.Image("photo_64x48.png"), "in/b.png");
        return _dir.Write("imageflow.json", """
            { "model": { "path": "models/conv3_nchw.onnx" }, "input": { "source": "in" }, "execution": { "useCaching": "memory" },
              "preprocessing": { "resize": { "apply": true, "imageSize": [96, 96] } },
              "output": { "save": { "apply": true, "path": "out" } } }
            """);
    }

    private async Task<CliRunner.Result> Bench(params string[] extra) =>
        await CliRunner.RunAsync(["benchmark", "--benchmark-config", Config(), "--benchmark-iterations", "3", "--benchmark-warmup", "1", "--benchmark-workers", "2", "--benchmark-min-seconds", "0.3", .. extra]);

    [Fact]
    public async Task Json_report_has_every_section_and_the_stages_add_up_to_the_measured_total()
    {
        var report = _dir.Combine("report.json");
        var r = await Bench("--benchmark-format", "json", "--benchmark-output", report);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("report: " + report, r.Stdout);
        Assert.False(Directory.Exists(_dir.Combine("out")), "the benchmark writes outputs to a temporary folder, not the config's");

        using var doc = JsonDocument.Parse(File.ReadAllText(report));
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("images").GetInt32());
        Assert.Equal("onnx", root.GetProperty("backend").GetString());
        var stages = root.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(Stages, stages.Select(s => s.GetProperty("stage").GetString()));
        foreach (var s in stages)
        {
            var latency = s.GetProperty("latency");
            Assert.Equal(6, latency.GetProperty("count").GetInt32()); // 2 images × 3 passes
            Assert.True(latency.GetProperty("p50Ms").GetDouble() <= latency.GetProperty("p95Ms").GetDouble());
            Assert.True(latency.GetProperty("minMs").GetDouble() > 0);
        }
        Assert.Equal(stages.Sum(s => s.GetProperty("latency").GetProperty("meanMs").GetDouble()), root.GetProperty("stageSumMeanMs").GetDouble(), tolerance: 0.01); // each mean is rounded on its own: the sum may differ in the last digit
        // Stages account for the measured time: never more than it (no stage counted twice), and most of it (none left
        // out). The lower bound leaves room for a shared CI machine stalling a worker between stages; a noisy run is measured again.
        if (StageShare(root) is < 0.6 or > 1.1)
        {
            Assert.Equal(0, (await Bench("--benchmark-type", "pipeline", "--benchmark-output", report)).ExitCode);
            using var again = JsonDocument.Parse(File.ReadAllText(report));
            Assert.InRange(StageShare(again.RootElement), 0.6, 1.1);
        }

        var scale = root.GetProperty("scalability").EnumerateArray().ToList();
        Assert.Equal([1, 2], scale.Select(p => p.GetProperty("workers").GetInt32()));
        Assert.All(scale, p => Assert.True(p.GetProperty("imagesPerSecond").GetDouble() > 0));
        // Whole passes of 2 images × 3 iterations, after each width's own warm-up, repeated for at least --benchmark-min-seconds.
        Assert.All(scale, p => Assert.Equal(6 * p.GetProperty("passes").GetInt32(), p.GetProperty("images").GetInt32()));
        Assert.All(scale, p => Assert.True(p.GetProperty("elapsedMs").GetDouble() >= 300));
        // A speedup beyond the cores is flagged as noise, never reported as scaling.
        Assert.All(scale, p => Assert.Equal(p.GetProperty("speedup").GetDouble() > Math.Min(p.GetProperty("workers").GetInt32(), Environment.ProcessorCount) * 1.1, p.GetProperty("noise").GetBoolean()));

        var memory = root.GetProperty("memory");
        Assert.True(memory.GetProperty("peakWorkingSetBytes").GetInt64() >= memory.GetProperty("baselineWorkingSetBytes").GetInt64());
        Assert.True(memory.GetProperty("allocatedBytesPerImage").GetInt64() > 96 * 96 * 3 * 4, "at least the input tensor is allocated per image");
    }

    [Fact]
    public async Task A_cached_config_reports_its_cache_hits_and_cold_runs_none()
    {
        var report = _dir.Combine("report.json");
        Assert.Equal(0, (await Bench("--benchmark-type", "pipeline", "--benchmark-output", report)).ExitCode);
        using var doc = JsonDocument.Parse(File.ReadAllText(report));
        var runs = doc.RootElement.GetProperty("cacheRuns").EnumerateArray().ToDictionary(c => c.GetProperty("mode").GetString()!);
        Assert.Equal(["cold", "memory", "memory-lru", "disk"], runs.Keys); // the shipped memory policy beside the plain LRU it replaced
        Assert.Equal(6, runs["memory"].GetProperty("expectedHits").GetInt64());
        Assert.True(runs["memory"].GetProperty("coldRatio").GetDouble() < 1);
        Assert.Equal(0, runs["cold"].GetProperty("memoryHits").GetInt64() + runs["cold"].GetProperty("diskHits").GetInt64());
        // Every measured image (2 × 3 passes) is served from the layer under test.
        Assert.True(runs["memory"].GetProperty("memoryHits").GetInt64() >= 6);
        Assert.Equal(0, runs["memory"].GetProperty("diskHits").GetInt64());
        Assert.True(runs["disk"].GetProperty("diskHits").GetInt64() >= 6);
        Assert.Equal(0, runs["disk"].GetProperty("misses").GetInt64());
        // Served from memory, an image only has its cached files written back: less work than decode, preprocess, model and encode (medians, robust to one stall).
        Assert.True(runs["memory"].GetProperty("perImage").GetProperty("p50Ms").GetDouble() < runs["cold"].GetProperty("perImage").GetProperty("p50Ms").GetDouble());
        Assert.False(doc.RootElement.TryGetProperty("scalability", out _));
    }

    [Fact]
    public async Task Csv_report_is_one_measurement_per_row_in_five_columns()
    {
        var report = _dir.Combine("bench.csv");
        var r = await Bench("--benchmark-output", report); // format from the extension
        Assert.Equal(0, r.ExitCode);
        var lines = File.ReadAllLines(report);
        Assert.Equal("section,name,metric,value,unit", lines[0]);
        var rows = lines.Skip(1).Select(ParseCsvLine).ToList();
        Assert.All(rows, row => Assert.Equal(5, row.Count));
        Assert.Equal(_dir.Combine("imageflow.json"), rows.Single(x => x[0] == "run" && x[1] == "config")[3]);
        foreach (var stage in Stages)
            Assert.True(double.Parse(rows.Single(x => x[0] == "stage" && x[1] == stage && x[2] == "p95")[3], System.Globalization.CultureInfo.InvariantCulture) > 0, stage);
        Assert.Equal(["1 workers", "2 workers"], rows.Where(x => x[0] == "scalability" && x[2] == "throughput").Select(x => x[1]));
        Assert.Contains(rows, x => x[0] == "cache" && x[1] == "disk" && x[2] == "disk-hits" && long.Parse(x[3]) >= 6);
        Assert.Contains(rows, x => x[0] == "memory" && x[2] == "peak-working-set" && x[4] == "bytes");
    }

    [Fact]
    public async Task Html_report_is_well_formed_xhtml_with_its_svg_charts_and_nothing_external()
    {
        var report = _dir.Combine("bench.html");
        var r = await Bench("--benchmark-format", "html", "--benchmark-output", report);
        Assert.Equal(0, r.ExitCode);
        XDocument doc;
        using (var reader = XmlReader.Create(report, new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore }))
            doc = XDocument.Load(reader);
        XNamespace html = "http://www.w3.org/1999/xhtml", svg = "http://www.w3.org/2000/svg";
        Assert.Equal(html + "html", doc.Root!.Name);
        var charts = doc.Descendants(svg + "svg").ToList();
        Assert.Equal(5, charts.Count); // time breakdown, stage latency, cache modes, scalability, memory
        Assert.All(charts, c => Assert.NotEmpty(c.Descendants(svg + "rect")));
        Assert.Contains(charts, c => c.Element(svg + "title")!.Value == "Latency per stage (ms)" && c.Descendants(svg + "text").Any(t => t.Value == "inference"));
        Assert.Empty(doc.Descendants(html + "script"));
        Assert.DoesNotContain(doc.Descendants().Attributes(), a => !a.IsNamespaceDeclaration && (a.Value.Contains("http:") || a.Value.Contains("https:") || a.Name.LocalName is "src" or "href"));
    }

    [Fact]
    public async Task Benchmark_type_selects_the_sections()
    {
        var report = _dir.Combine("r.json");
        Assert.Equal(0, (await Bench("--benchmark-type", "backend", "--benchmark-output", report)).ExitCode);
        using (var doc = JsonDocument.Parse(File.ReadAllText(report)))
        {
            Assert.Equal(["inference"], doc.RootElement.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()));
            Assert.False(doc.RootElement.TryGetProperty("memory", out _));
            Assert.False(doc.RootElement.TryGetProperty("cacheRuns", out _));
        }
        Assert.Equal(0, (await Bench("--benchmark-type", "memory", "--benchmark-output", report)).ExitCode);
        using (var doc = JsonDocument.Parse(File.ReadAllText(report)))
        {
            Assert.True(doc.RootElement.TryGetProperty("memory", out _));
            Assert.False(doc.RootElement.TryGetProperty("stages", out _));
            Assert.False(doc.RootElement.TryGetProperty("scalability", out _));
        }
    }

    [Theory]
    [InlineData("--benchmark-iterations", "0")]
    [InlineData("--benchmark-warmup", "-1")]
    [InlineData("--benchmark-type", "speed")]
    [InlineData("--benchmark-format", "xml")]
    public async Task Bad_benchmark_flags_are_usage_errors(string flag, string value)
    {
        var r = await CliRunner.RunAsync("benchmark", "--benchmark-config", Config(), flag, value);
        Assert.Equal(2, r.ExitCode);
    }

    [Fact]
    public async Task A_bad_image_stops_the_benchmark_with_its_error()
    {
        var config = Config();
        _dir.Copy(TestPaths.Bad("random.png"), "in/c.png");
        var report = _dir.Combine("r.json");
        var r = await CliRunner.RunAsync("benchmark", "--benchmark-config", config, "--benchmark-output", report);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(_dir.Combine("in", "c.png") + ": error IFIO2", r.Stderr);
        Assert.False(File.Exists(report));
    }

    [Fact]
    public async Task Benchmark_help_lists_the_original_flags()
    {
        var r = await CliRunner.RunAsync("benchmark", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("imageflowio benchmark [options]", r.Stdout);
        foreach (var flag in new[] { "--benchmark-type <type>", "-c, --benchmark-config, --config <file>", "--benchmark-output <file>", "--benchmark-format <format>", "--benchmark-iterations <n>", "--benchmark-warmup <n>" })
            Assert.Contains(flag, r.Stdout);
    }

    /// <summary>The stages' mean times summed, as a share of the mean measured total per image.</summary>
    private static double StageShare(JsonElement root) =>
        root.GetProperty("stages").EnumerateArray().Sum(s => s.GetProperty("latency").GetProperty("meanMs").GetDouble())
        / root.GetProperty("total").GetProperty("meanMs").GetDouble();

    private static List<string> ParseCsvLine(string line)
    {
        var fields = new List<string>();
        var i = 0;
        while (true)
        {
            var sb = new System.Text.StringBuilder();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (i < line.Length && !(line[i] == '"' && (i + 1 >= line.Length || line[i + 1] != '"'))) { if (line[i] == '"') i++; sb.Append(line[i++]); }
                i++;
            }
            else while (i < line.Length && line[i] != ',') sb.Append(line[i++]);
            fields.Add(sb.ToString());
            if (i >= line.Length) return fields;
            i++; // the comma
        }
    }
}
