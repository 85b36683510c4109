using System.Text.Json;
using ImageFlowIO.Caching;

namespace ImageFlowIO.Output;

/// <summary>Writes <c>summary.json</c> (SPEC §6) and <c>writeMeta</c> files.</summary>
internal static class RunReport
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>How much JSON a report holds before it goes to the file (a 240-input summary is ≈ 50 KB).</summary>
    private const int FlushBytes = 16 * 1024;

    /// <summary>summary.json: the counts of <paramref name="batch"/>, and one item per result of <paramref name="listed"/> (default: the batch's).</summary>
    public static void WriteSummary(string path, BatchResult batch, IReadOnlyList<PipelineResult>? listed = null)
    {
        AtomicFile.Write(path, s =>
        {
            using var w = new Utf8JsonWriter(s, Indented);
            w.WriteStartObject();
            w.WriteNumber("processed", batch.Processed);
            w.WriteNumber("failed", batch.Failed);
            w.WriteNumber("fromCache", batch.FromCache);
            w.WriteNumber("elapsedMs", Math.Round(batch.ElapsedMs, 1));
            w.WriteStartArray("items");
            foreach (var item in listed ?? batch.Items)
            {
                w.WriteStartObject();
                w.WriteString("input", item.Input);
                w.WriteString("status", item.Succeeded ? "ok" : "failed");
                if (item.Reason is { } reason)
                {
                    // The up-to-date decision: "upToDate", or why it ran ("contentChanged") and the words for it.
                    w.WriteString("reason", reason.Code);
                    w.WriteString("explain", reason.Text);
                }
                w.WriteStartArray("outputs");
                foreach (var o in item.Outputs) w.WriteStringValue(o);
                w.WriteEndArray();
                if (item.Error is { } e)
                {
                    w.WriteString("code", e.Code);
                    w.WriteString("error", e.Message);
                }
                WriteChecks(w, item);
                w.WriteEndObject();
                if (w.BytesPending > FlushBytes) w.Flush(); // the file's bytes in slices, not all in one growing buffer
            }
            w.WriteEndArray();
            WriteCache(w, batch.Cache);
            w.WriteEndObject();
        });
    }

    public static void WriteCache(Utf8JsonWriter w, CacheStatistics stats)
    {
        w.WriteStartObject("cache");
        foreach (var (layer, s) in stats.Layers)
        {
            w.WriteStartObject(layer);
            w.WriteNumber("hits", s.Hits);
            w.WriteNumber("misses", s.Misses);
            w.WriteNumber("writes", s.Writes);
            w.WriteNumber("evictions", s.Evictions);
            w.WriteNumber("bytes", s.Bytes);
            if (layer == "remote")
            {
                w.WriteNumber("bytesDownloaded", s.BytesRead);
                w.WriteNumber("bytesUploaded", s.BytesWritten);
                w.WriteNumber("rejected", s.Corrupt);
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>One meta object per input: sizes, shapes, stage timings, cache hits, top-k for classifiers.</summary>
    public static void WriteMetaObject(Utf8JsonWriter w, PipelineResult r)
    {
        w.WriteStartObject();
        w.WriteString("input", r.Input);
        w.WriteString("status", r.Succeeded ? "ok" : "failed");
        if (r.Error is { } e) { w.WriteString("code", e.Code); w.WriteString("error", e.Message); }
        w.WriteNumber("width", r.SourceWidth);
        w.WriteNumber("height", r.SourceHeight);
        if (r.OutputShape.Count > 0)
        {
            w.WriteStartArray("outputShape");
            foreach (var d in r.OutputShape) w.WriteNumberValue(d);
            w.WriteEndArray();
        }
        w.WriteStartArray("outputs");
        foreach (var f in r.Outputs) w.WriteStringValue(f);
        w.WriteEndArray();
        w.WriteStartObject("timingsMs");
        foreach (var (k, v) in r.TimingsMs) w.WriteNumber(k, Math.Round(v, 3));
        w.WriteEndObject();
        w.WriteStartObject("cache");
        foreach (var (k, v) in r.Cache) w.WriteString(k, v);
        w.WriteEndObject();
        if (r.TopK.Count > 0)
        {
            w.WriteStartArray("topK");
            foreach (var (label, score) in r.TopK)
            {
                w.WriteStartObject();
                w.WriteString("label", label);
                // A model can output NaN or infinity; JSON has no such numbers, so they are written as null.
                if (float.IsFinite(score)) w.WriteNumber("score", Math.Round(score, 6));
                else w.WriteNull("score");
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (r.Lines is { } lines)
        {
            w.WriteStartArray("lines");
            foreach (var line in lines)
            {
                w.WriteStartObject();
                w.WriteString("text", line.Text);
                w.WriteNumber("score", Math.Round(line.Score, 6));
                w.WriteStartArray("box");
                foreach (var p in line.Box)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(p.X);
                    w.WriteNumberValue(p.Y);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                if (line.Angle != 0) w.WriteNumber("angle", line.Angle);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        WriteChecks(w, r);
        w.WriteEndObject();
    }

    /// <summary>The checks that fired for an input (<c>checks</c>: id, code, severity, message); nothing when none did.</summary>
    private static void WriteChecks(Utf8JsonWriter w, PipelineResult r)
    {
        if (r.Checks.Count == 0) return;
        w.WriteStartArray("checks");
        foreach (var c in r.Checks)
        {
            w.WriteStartObject();
            w.WriteString("id", c.Id);
            w.WriteString("code", c.Code);
            w.WriteString("severity", c.Severity.ToString().ToLowerInvariant());
            w.WriteString("message", c.Message);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Writes one object (single input) or one array (a batch) to <paramref name="path"/>.</summary>
    public static void WriteMeta(string path, IReadOnlyList<PipelineResult> results, bool asArray, CacheStatistics? stats = null)
    {
        AtomicFile.Write(path, s =>
        {
            using var w = new Utf8JsonWriter(s, Indented);
            if (asArray)
            {
                w.WriteStartArray();
                foreach (var r in results) WriteMetaObject(w, r);
                w.WriteEndArray();
            }
            else WriteMetaObject(w, results[0]);
        });
    }
}
