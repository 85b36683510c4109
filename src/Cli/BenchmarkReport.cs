using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml.Linq;

namespace ImageFlowIO.Cli;

/// <summary>What <c>imageflowio benchmark</c> measured on the user's own config and images (one section per benchmark type).</summary>
internal sealed record BenchmarkReport
{
    public string Tool { get; init; } = "imageflowio benchmark";
    public required string Version { get; init; }
    public required DateTime StartedUtc { get; init; }
    public required string Config { get; init; }
    public required string Backend { get; init; }
    public required string Layout { get; init; }
    public required int Images { get; init; }
    public required int Iterations { get; init; }
    public required int Warmup { get; init; }
    public required string[] Types { get; init; }
    public required MachineInfo Machine { get; init; }
    /// <summary>Per-stage latency of cold runs (no cache), one input at a time (types pipeline and backend).</summary>
    public StageLatency[]? Stages { get; init; }
    /// <summary>Wall time of one input through <c>Pipeline.RunAsync</c>, measured around the call.</summary>
    public LatencyStats? Total { get; init; }
    /// <summary>Mean of the per-input sums of the stage timings, and what the stages do not account for (mean total − that).</summary>
    public double? StageSumMeanMs { get; init; }
    public double? UnaccountedMeanMs { get; init; }
    public CacheRun[]? CacheRuns { get; init; }
    public ScalabilityPoint[]? Scalability { get; init; }
    public MemoryUse? Memory { get; init; }
}

internal sealed record MachineInfo(string Os, string Runtime, int ProcessorCount);

internal sealed record LatencyStats(int Count, double MeanMs, double P50Ms, double P95Ms, double MinMs, double MaxMs)
{
    public static LatencyStats Of(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0) return new LatencyStats(0, 0, 0, 0, 0, 0);
        var sorted = samples.Order().ToArray();
        return new LatencyStats(sorted.Length, Round(sorted.Average()), Round(Percentile(sorted, 0.50)), Round(Percentile(sorted, 0.95)), Round(sorted[0]), Round(sorted[^1]));
    }

    /// <summary>Linear interpolation between the closest ranks (numpy's default).</summary>
    public static double Percentile(double[] sorted, double p)
    {
        var rank = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    public static double Round(double ms) => Math.Round(ms, 4);
}

internal sealed record StageLatency(string Stage, LatencyStats Latency);

/// <summary>One cache mode: cold (no cache), memory (entries from an earlier pass in the same pipeline), disk (a fresh pipeline per pass reading the entries of an earlier one).</summary>
/// <summary>One cached mode's passes. <c>ExpectedHits</c>: the hits the mode should have had (every image of every measured pass); <c>ColdRatio</c>: its mean per image over the cold run's.</summary>
internal sealed record CacheRun(string Mode, LatencyStats PerImage, double ImagesPerSecond, long MemoryHits, long DiskHits, long Misses,
    long? ExpectedHits = null, double? ColdRatio = null, string? Policy = null);

/// <summary>One worker count after its own warm-up. <c>Noise</c>: the speedup exceeds what the cores allow (min(workers, cores)), so the difference is the machine's noise, not scaling.</summary>
internal sealed record ScalabilityPoint(int Workers, int Images, double ElapsedMs, double ImagesPerSecond, double Speedup, bool Noise = false, int Passes = 1);

/// <summary>Process memory while one pass over the images runs at the CLI's default concurrency (sampled every few milliseconds).</summary>
internal sealed record MemoryUse(int Images, int Workers, long BaselineWorkingSetBytes, long PeakWorkingSetBytes, long PeakManagedBytes, long AllocatedBytesPerImage);

/// <summary>Indented camelCase JSON for reports (the error document is written by <see cref="CliErrorReport"/>).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BenchmarkReport))]
internal sealed partial class BenchmarkJsonContext : JsonSerializerContext;

/// <summary>Writes a <see cref="BenchmarkReport"/> as json, csv or a self-contained html page (inline SVG charts, no scripts, no external files).</summary>
internal static class BenchmarkReportWriter
{
    public static string Json(BenchmarkReport report) => JsonSerializer.Serialize(report, BenchmarkJsonContext.Default.BenchmarkReport);

    // ---- csv: one measurement per row, the same five columns everywhere ------------------------------------------

    public static string Csv(BenchmarkReport r)
    {
        var sb = new StringBuilder();
        void Row(string section, string name, string metric, object value, string unit) =>
            sb.Append(Field(section)).Append(',').Append(Field(name)).Append(',').Append(Field(metric)).Append(',')
              .Append(Field(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")).Append(',').Append(Field(unit)).Append('\n');
        void Latency(string section, string name, LatencyStats s)
        {
            Row(section, name, "count", s.Count, "runs");
            Row(section, name, "mean", s.MeanMs, "ms");
            Row(section, name, "p50", s.P50Ms, "ms");
            Row(section, name, "p95", s.P95Ms, "ms");
            Row(section, name, "min", s.MinMs, "ms");
            Row(section, name, "max", s.MaxMs, "ms");
        }
        sb.Append("section,name,metric,value,unit\n");
        Row("run", "config", "path", r.Config, "");
        Row("run", "backend", "kind", r.Backend, "");
        Row("run", "images", "count", r.Images, "images");
        Row("run", "iterations", "count", r.Iterations, "passes");
        Row("run", "warmup", "count", r.Warmup, "passes");
        Row("run", "machine", "processors", r.Machine.ProcessorCount, "cores");
        foreach (var s in r.Stages ?? []) Latency("stage", s.Stage, s.Latency);
        if (r.Total is { } total) Latency("total", "per-image", total);
        if (r.StageSumMeanMs is { } sum) Row("total", "stage-sum", "mean", sum, "ms");
        if (r.UnaccountedMeanMs is { } other) Row("total", "unaccounted", "mean", other, "ms");
        foreach (var c in r.CacheRuns ?? [])
        {
            Latency("cache", c.Mode, c.PerImage);
            Row("cache", c.Mode, "throughput", c.ImagesPerSecond, "images/s");
            Row("cache", c.Mode, "memory-hits", c.MemoryHits, "hits");
            Row("cache", c.Mode, "disk-hits", c.DiskHits, "hits");
            Row("cache", c.Mode, "misses", c.Misses, "misses");
            if (c.ExpectedHits is { } expected) Row("cache", c.Mode, "expected-hits", expected, "hits");
            if (c.ColdRatio is { } ratio) Row("cache", c.Mode, "cold-ratio", ratio, "x");
        }
        foreach (var p in r.Scalability ?? [])
        {
            var name = p.Workers.ToString(CultureInfo.InvariantCulture) + " workers";
            Row("scalability", name, "images", p.Images, "images");
            Row("scalability", name, "elapsed", p.ElapsedMs, "ms");
            Row("scalability", name, "throughput", p.ImagesPerSecond, "images/s");
            Row("scalability", name, "speedup", p.Speedup, "x");
            if (p.Noise) Row("scalability", name, "noise", "speedup beyond the cores", "");
        }
        if (r.Memory is { } m)
        {
            Row("memory", "process", "baseline-working-set", m.BaselineWorkingSetBytes, "bytes");
            Row("memory", "process", "peak-working-set", m.PeakWorkingSetBytes, "bytes");
            Row("memory", "process", "peak-managed-heap", m.PeakManagedBytes, "bytes");
            Row("memory", "process", "allocated-per-image", m.AllocatedBytesPerImage, "bytes");
        }
        return sb.ToString();
    }

    private static string Field(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";

    // ---- html: well-formed XHTML with inline SVG ---------------------------------------------------------------

    private static readonly XNamespace Html = "http://www.w3.org/1999/xhtml";
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static readonly string[] Palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1"];

    public static string HtmlPage(BenchmarkReport r)
    {
        var body = new XElement(Html + "body",
            new XElement(Html + "h1", "imageflowio benchmark"),
            new XElement(Html + "p", $"{r.Config} — backend {r.Backend}, layout {r.Layout}, {r.Images} image(s), {r.Iterations} measured pass(es) after {r.Warmup} warm-up pass(es); "
                + $"{r.Machine.ProcessorCount} cores, {r.Machine.Os}, {r.Machine.Runtime}; {r.StartedUtc:u}."));

        if (r.Stages is { Length: > 0 } stages && r.Total is { } total)
        {
            body.Add(new XElement(Html + "h2", "Where one image's time goes (cold, no cache)"));
            body.Add(Stacked("Mean time per stage", stages.Select(s => (s.Stage, s.Latency.MeanMs)).Append(("unaccounted", Math.Max(0, r.UnaccountedMeanMs ?? 0))).ToList(), total.MeanMs));
            body.Add(new XElement(Html + "h2", "Stage latency, p50 and p95"));
            body.Add(Bars("Latency per stage (ms)", stages.Select(s => (s.Stage, new[] { s.Latency.P50Ms, s.Latency.P95Ms })).Append(("total", new[] { total.P50Ms, total.P95Ms })).ToList(), ["p50", "p95"], "ms"));
            body.Add(Table(["stage", "count", "mean ms", "p50 ms", "p95 ms", "min ms", "max ms"],
                stages.Select(s => (s.Stage, s.Latency)).Append(("total", total))
                    .Select(x => new[] { x.Item1, N(x.Item2.Count), N(x.Item2.MeanMs), N(x.Item2.P50Ms), N(x.Item2.P95Ms), N(x.Item2.MinMs), N(x.Item2.MaxMs) })));
        }
        if (r.CacheRuns is { Length: > 0 } cache)
        {
            body.Add(new XElement(Html + "h2", "Cold, memory-cached and disk-cached runs"));
            body.Add(Bars("Mean time per image (ms)", cache.Select(c => (c.Mode, new[] { c.PerImage.MeanMs })).ToList(), ["mean"], "ms"));
            body.Add(Table(["mode", "mean ms", "p50 ms", "p95 ms", "images/s", "memory hits", "disk hits", "misses", "of cold"],
                cache.Select(c => new[] { c.Mode, N(c.PerImage.MeanMs), N(c.PerImage.P50Ms), N(c.PerImage.P95Ms), N(c.ImagesPerSecond), N(c.MemoryHits), N(c.DiskHits), N(c.Misses), c.ColdRatio is { } x ? N(x * 100) + " %" : "" })));
        }
        if (r.Scalability is { Length: > 0 } scale)
        {
            body.Add(new XElement(Html + "h2", "Throughput by number of workers"));
            body.Add(Bars("Images per second", scale.Select(p => (p.Workers + (p.Workers == 1 ? " worker" : " workers"), new[] { p.ImagesPerSecond, scale[0].ImagesPerSecond * p.Workers })).ToList(), ["measured", "linear from 1 worker"], "img/s"));
            body.Add(Table(["workers", "images", "elapsed ms", "images/s", "speedup"],
                scale.Select(p => new[] { N(p.Workers), N(p.Images), N(p.ElapsedMs), N(p.ImagesPerSecond), N(p.Speedup) + "×" + (p.Noise ? " (noise: beyond the cores)" : "") })));
        }
        if (r.Memory is { } m)
        {
            body.Add(new XElement(Html + "h2", $"Memory during one pass ({m.Images} images, {m.Workers} workers)"));
            body.Add(Bars("Megabytes", [("baseline working set", [Mb(m.BaselineWorkingSetBytes)]), ("peak working set", [Mb(m.PeakWorkingSetBytes)]), ("peak managed heap", [Mb(m.PeakManagedBytes)]), ("allocated per image", [Mb(m.AllocatedBytesPerImage)])], ["MB"], "MB"));
        }

        var doc = new XDocument(new XDocumentType("html", null, null, null),
            new XElement(Html + "html", new XAttribute("lang", "en"),
                new XElement(Html + "head",
                    new XElement(Html + "meta", new XAttribute("charset", "utf-8")),
                    new XElement(Html + "title", "imageflowio benchmark"),
                    new XElement(Html + "style", Style)),
                body));
        return doc.ToString();
    }

    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
        h2 { margin-top: 2em; font-size: 1.2em; }
        table { border-collapse: collapse; margin: 1em 0; }
        td, th { padding: 0.25em 0.75em; text-align: right; border-bottom: 1px solid #ddd; }
        td:first-child, th:first-child { text-align: left; }
        svg text { font-family: system-ui, sans-serif; font-size: 12px; fill: #222; }
        """;

    private static string N(double v) => v.ToString(v >= 100 ? "0.#" : "0.###", CultureInfo.InvariantCulture);
    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static double Mb(long bytes) => Math.Round(bytes / (1024.0 * 1024), 2);

    private static XElement Table(string[] header, IEnumerable<string[]> rows) =>
        new(Html + "table",
            new XElement(Html + "tr", header.Select(h => new XElement(Html + "th", h))),
            rows.Select(row => new XElement(Html + "tr", row.Select(c => new XElement(Html + "td", c)))));

    /// <summary>Horizontal grouped bars: one group per label, one bar per series, the value written at its end.</summary>
    private static XElement Bars(string title, List<(string Label, double[] Values)> groups, string[] series, string unit)
    {
        const int labelWidth = 170, chartWidth = 460, barHeight = 16, gap = 10;
        var max = Math.Max(1e-9, groups.SelectMany(g => g.Values).DefaultIfEmpty(0).Max());
        var groupHeight = series.Length * barHeight + gap;
        var height = 30 + groups.Count * groupHeight + 24;
        var svg = new XElement(Svg + "svg", new XAttribute("width", labelWidth + chartWidth + 90), new XAttribute("height", height), new XAttribute("role", "img"),
            new XElement(Svg + "title", title),
            new XElement(Svg + "text", new XAttribute("x", 0), new XAttribute("y", 16), new XAttribute("font-weight", "bold"), title));
        for (var g = 0; g < groups.Count; g++)
        {
            var top = 30 + g * groupHeight;
            svg.Add(new XElement(Svg + "text", new XAttribute("x", 0), new XAttribute("y", top + series.Length * barHeight / 2.0 + 4), groups[g].Label));
            for (var s = 0; s < series.Length; s++)
            {
                var value = groups[g].Values[s];
                var width = Math.Max(1, value / max * chartWidth);
                var y = top + s * barHeight;
                svg.Add(new XElement(Svg + "rect", new XAttribute("x", labelWidth), new XAttribute("y", y), new XAttribute("width", F(width)), new XAttribute("height", barHeight - 2),
                    new XAttribute("fill", Palette[s % Palette.Length]), new XElement(Svg + "title", $"{groups[g].Label} {series[s]}: {N(value)} {unit}")));
                svg.Add(new XElement(Svg + "text", new XAttribute("x", F(labelWidth + width + 4)), new XAttribute("y", y + barHeight - 5), $"{N(value)} {unit}"));
            }
        }
        if (series.Length > 1) svg.Add(Legend(series, height - 8));
        return svg;
    }

    /// <summary>One horizontal bar split into the stages' shares of the mean total, with a legend.</summary>
    private static XElement Stacked(string title, List<(string Label, double Value)> parts, double total)
    {
        const int width = 720, barTop = 30, barHeight = 28;
        var sum = Math.Max(1e-9, parts.Sum(p => p.Value));
        var svg = new XElement(Svg + "svg", new XAttribute("width", width), new XAttribute("height", barTop + barHeight + 80), new XAttribute("role", "img"),
            new XElement(Svg + "title", title),
            new XElement(Svg + "text", new XAttribute("x", 0), new XAttribute("y", 16), new XAttribute("font-weight", "bold"), $"{title}: {N(total)} ms per image"));
        var x = 0.0;
        for (var i = 0; i < parts.Count; i++)
        {
            var w = parts[i].Value / sum * width;
            svg.Add(new XElement(Svg + "rect", new XAttribute("x", F(x)), new XAttribute("y", barTop), new XAttribute("width", F(Math.Max(0, w))), new XAttribute("height", barHeight),
                new XAttribute("fill", Palette[i % Palette.Length]), new XElement(Svg + "title", $"{parts[i].Label}: {N(parts[i].Value)} ms ({N(parts[i].Value / sum * 100)} %)")));
            x += w;
        }
        svg.Add(Legend(parts.Select(p => $"{p.Label} {N(p.Value)} ms").ToArray(), barTop + barHeight + 24));
        return svg;
    }

    private static XElement Legend(string[] names, double y)
    {
        var g = new XElement(Svg + "g");
        var x = 0.0;
        for (var i = 0; i < names.Length; i++)
        {
            g.Add(new XElement(Svg + "rect", new XAttribute("x", F(x)), new XAttribute("y", F(y - 10)), new XAttribute("width", 10), new XAttribute("height", 10), new XAttribute("fill", Palette[i % Palette.Length])));
            g.Add(new XElement(Svg + "text", new XAttribute("x", F(x + 14)), new XAttribute("y", F(y)), names[i]));
            x += 24 + names[i].Length * 6.5;
            if (i + 1 < names.Length && x + 24 + names[i + 1].Length * 6.5 > 720) { x = 0; y += 18; }
        }
        return g;
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
}
