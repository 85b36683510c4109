using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageFlowIO.Benchmarks.EndToEnd;

/// <summary>
/// The end-to-end harness: one config (resize 320×320 cubic, normalize, the model, PNG) over a folder of images.
/// Every measured run is its own child process (this executable with a sub-command), so each starts cold (JIT,
/// ONNX Runtime session, file cache aside) and its peak RSS is its own:
/// cold (empty disk cache) + in-process memory re-run, disk re-run in a new process, the hand-written ImageSharp +
/// ONNX Runtime version with library defaults, and cold runs without cache on one and two workers.
/// </summary>
internal static class E2eHarness
{
    public const string PipelineChild = "e2e-run";
    public const string HandWrittenChild = "e2e-hand";
    private const string ResultPrefix = "E2E-RESULT ";

    public static async Task<int> RunAsync(string[] argv)
    {
        var args = new Args(argv);
        var images = Path.GetFullPath(args.Required("images"));
        var model = Path.GetFullPath(args.Optional("model") ?? BenchAssets.Conv3Model);
        var jsonPath = args.Optional("json");
        var workers = args.Int("workers", 2);
        // "cold": just the cold run (peak-memory scaling checks); "cache": the disk cache's own cost (cold with and
        // without the disk cache, memory and disk re-runs), nothing else.
        var only = args.Optional("only");
        // --stream: the cold run goes through RunAsync per input and keeps no results (see E2eChild.StreamAsync).
        var count = Directory.EnumerateFiles(images).Count(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".png", StringComparison.OrdinalIgnoreCase));
        if (count == 0) { Console.Error.WriteLine($"no .jpg/.png images in {images}"); return 2; }

        var work = Directory.CreateTempSubdirectory("imageflowio-e2e-").FullName;
        try
        {
            var config = WriteConfig(work, images, model);
            var cacheDir = Path.Combine(work, "cache");
            var report = new JsonObject
            {
                ["images"] = count,
                ["workers"] = workers,
                ["model"] = Path.GetFileName(model),
                ["machine"] = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}",
                ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            };

            Console.WriteLine($"e2e: {count} images from {images}, model {Path.GetFileName(model)}, {workers} workers, work folder {work}");
            var cold = Child(PipelineChild, "--config", config, "--cache", "disk", "--cache-dir", cacheDir, "--out", Path.Combine(work, "out-cold"), "--workers", Str(workers), args.Flag("stream") ? "--stream" : "--rerun");
            report["cold_ms"] = cold["batch_ms"]!.GetValue<double>();
            report["memory_rerun_ms"] = cold["rerun_ms"]?.GetValue<double>();
            report["peak_rss_mb"] = cold["peak_rss_mb"]!.GetValue<double>();
            report["peak_rss_after_rerun_mb"] = cold["peak_rss_after_rerun_mb"]?.GetValue<double>();
            report["cold_cpu_ms"] = cold["cpu_ms"]!.GetValue<double>();
            report["cold_system_cpu_ms"] = cold["system_cpu_ms"]?.DeepClone();
            report["cold_process_ms"] = cold["process_ms"]!.GetValue<double>();
            report["cold_stage_ms_summed"] = cold["stage_ms"]!.DeepClone();
            report["cold_cache"] = cold["cache"]!.DeepClone();
            report["cold_disk_bytes_written"] = cold["disk_bytes_written"]?.DeepClone();
            report["memory_rerun_cpu_ms"] = cold["rerun_cpu_ms"]?.DeepClone();
            if (only != "cold")
            {
                var disk = Child(PipelineChild, "--config", config, "--cache", "disk", "--cache-dir", cacheDir, "--out", Path.Combine(work, "out-disk"), "--workers", Str(workers));
                report["disk_rerun_ms"] = disk["batch_ms"]!.GetValue<double>();
                report["disk_rerun_process_ms"] = disk["process_ms"]!.GetValue<double>();
                report["disk_rerun_cpu_ms"] = disk["cpu_ms"]!.GetValue<double>();
                report["disk_rerun_cache"] = disk["cache"]!.DeepClone();
                report["disk_rerun_bytes_read"] = disk["disk_bytes_read"]?.DeepClone();
                // A new process into the cold run's own output folder (the usual re-run): up-to-date outputs are only stat-ed.
                var same = Child(PipelineChild, "--config", config, "--cache", "disk", "--cache-dir", cacheDir, "--out", Path.Combine(work, "out-cold"), "--workers", Str(workers));
                report["disk_rerun_same_out_ms"] = same["batch_ms"]!.GetValue<double>();
                report["disk_rerun_same_out_process_ms"] = same["process_ms"]!.GetValue<double>();
                report["disk_rerun_same_out_cpu_ms"] = same["cpu_ms"]!.GetValue<double>();
                report["disk_rerun_same_out_bytes_read"] = same["disk_bytes_read"]?.DeepClone();
                // The same cold run with no cache at all (same workers): the disk cache's own cost is cold ÷ this.
                var bare = Child(PipelineChild, "--config", config, "--cache", "none", "--out", Path.Combine(work, "out-nocache"), "--workers", Str(workers));
                report["nocache_cold_ms"] = bare["batch_ms"]!.GetValue<double>();
                report["nocache_cold_cpu_ms"] = bare["cpu_ms"]!.GetValue<double>();
                report["nocache_cold_system_cpu_ms"] = bare["system_cpu_ms"]?.DeepClone();
                report["nocache_cold_stage_ms_summed"] = bare["stage_ms"]!.DeepClone();
                report["disk_cache_cold_ratio_wall"] = Math.Round(report["cold_ms"]!.GetValue<double>() / bare["batch_ms"]!.GetValue<double>(), 3);
                report["disk_cache_cold_ratio_cpu"] = Math.Round(report["cold_cpu_ms"]!.GetValue<double>() / bare["cpu_ms"]!.GetValue<double>(), 3);
            }
            if (only is null)
            {

                var hand = Child(HandWrittenChild, "--images", images, "--model", model, "--out", Path.Combine(work, "out-hand"), "--workers", Str(workers));
                report["handwritten_ms"] = hand["batch_ms"]!.GetValue<double>();
                report["handwritten_peak_rss_mb"] = hand["peak_rss_mb"]!.GetValue<double>();
                report["handwritten_cpu_ms"] = hand["cpu_ms"]!.GetValue<double>();
                report["handwritten_stage_ms_summed"] = hand["stage_ms"]!.DeepClone();

                var two = Child(PipelineChild, "--config", config, "--cache", "none", "--out", Path.Combine(work, "out-2w"), "--workers", "2");
                var one = Child(PipelineChild, "--config", config, "--cache", "none", "--out", Path.Combine(work, "out-1w"), "--workers", "1");
                report["nocache_two_workers_ms"] = two["batch_ms"]!.GetValue<double>();
                report["nocache_one_worker_ms"] = one["batch_ms"]!.GetValue<double>();
                // The product gives one worker all cores for ONNX Runtime; pinning one intra-op thread shows pure worker scaling.
                var oneOne = Child(PipelineChild, "--config", config, "--cache", "none", "--out", Path.Combine(work, "out-1w1t"), "--workers", "1", "--threads", "1");
                var twoOne = Child(PipelineChild, "--config", config, "--cache", "none", "--out", Path.Combine(work, "out-2w1t"), "--workers", "2", "--threads", "1");
                report["nocache_one_worker_one_thread_ms"] = oneOne["batch_ms"]!.GetValue<double>();
                report["nocache_two_workers_one_thread_ms"] = twoOne["batch_ms"]!.GetValue<double>();
            }

            PrintTable(report);
            if (jsonPath is not null)
            {
                await File.WriteAllTextAsync(jsonPath, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                Console.WriteLine($"wrote {Path.GetFullPath(jsonPath)}");
            }
            return 0;
        }
        finally
        {
            if (!args.Flag("keep")) Directory.Delete(work, recursive: true);
        }
    }

    private static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>The benchmark config: like the issue's W1 workload. Cubic is ImageSharp's default resampler, so both sides resize alike.</summary>
    private static string WriteConfig(string work, string images, string model)
    {
        var config = new JsonObject
        {
            ["model"] = new JsonObject { ["name"] = "bench", ["path"] = model },
            ["input"] = new JsonObject { ["type"] = "image", ["source"] = images },
            ["preprocessing"] = new JsonObject
            {
                ["resize"] = new JsonObject { ["apply"] = true, ["imageSize"] = new JsonArray(320, 320), ["keepAspectRatio"] = false, ["resizeMode"] = "fill", ["kernel"] = "cubic" },
                ["format"] = new JsonObject { ["dataType"] = "float32", ["channels"] = 3, ["channelOrder"] = "rgb" },
                ["normalize"] = new JsonObject { ["apply"] = true, ["mean"] = new JsonArray(0.485, 0.456, 0.406), ["std"] = new JsonArray(0.229, 0.224, 0.225) },
            },
            ["execution"] = new JsonObject { ["backend"] = "onnx", ["useCaching"] = "disk" },
            ["output"] = new JsonObject { ["save"] = new JsonObject { ["apply"] = true, ["path"] = "out", ["format"] = "png", ["filename"] = "{name}.png" } },
        };
        var path = Path.Combine(work, "imageflow.json");
        File.WriteAllText(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>Runs this executable with a sub-command in a new process and returns the JSON it reports.</summary>
    private static JsonObject Child(params string[] args)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(E2eHarness).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var elapsed = sw.Elapsed.TotalMilliseconds;
        var line = stdout.Split('\n').LastOrDefault(l => l.StartsWith(ResultPrefix, StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
            throw new InvalidOperationException($"child '{string.Join(' ', args)}' failed (exit {process.ExitCode}):\n{stdout}\n{stderr.Result}");
        var result = JsonNode.Parse(line[ResultPrefix.Length..])!.AsObject();
        result["process_ms"] = Math.Round(elapsed, 1);
        Console.WriteLine($"  {args[0],-8} {string.Join(' ', args.Skip(1).Where(a => !a.Contains('/')))}: batch {result["batch_ms"]} ms, process {result["process_ms"]} ms");
        return result;
    }

    /// <summary>Writes a child's result line for the parent.</summary>
    public static void Report(JsonObject result) => Console.WriteLine(ResultPrefix + result.ToJsonString());

    /// <summary>CPU time (user + system, all threads) this process has used, in ms: less sensitive than wall time to a busy machine.</summary>
    public static double CpuMs() { using var p = Process.GetCurrentProcess(); return Math.Round(p.TotalProcessorTime.TotalMilliseconds, 1); }

    /// <summary>The kernel's share of <see cref="CpuMs"/> (system calls, page faults), in ms.</summary>
    public static double SystemCpuMs() { using var p = Process.GetCurrentProcess(); return Math.Round(p.PrivilegedProcessorTime.TotalMilliseconds, 1); }

    /// <summary>The peak resident set of this process in MiB (VmHWM on Linux).</summary>
    public static double PeakRssMb() { using var p = Process.GetCurrentProcess(); p.Refresh(); return Math.Round(p.PeakWorkingSet64 / (1024.0 * 1024.0), 1); }

    private static void PrintTable(JsonObject r)
    {
        double? Get(string k) => r[k]?.GetValue<double>();
        var cold = Get("cold_ms")!.Value;
        string Row(string name, double? ms, string target, bool? ok) =>
            $"| {name,-34} | {(ms is null ? "—" : ms.Value.ToString("F0", CultureInfo.InvariantCulture)),9} | {(ms is null ? "—" : (ms.Value / cold).ToString("F3", CultureInfo.InvariantCulture)),8} | {target,-26} | {(ok is null ? "" : ok.Value ? "met" : "NOT met"),-7} |";
        Console.WriteLine();
        Console.WriteLine($"images: {r["images"]}, workers: {r["workers"]}, machine: {r["machine"]}");
        Console.WriteLine($"| {"run",-34} | {"wall ms",9} | {"÷ cold",8} | {"target",-26} | {"",-7} |");
        Console.WriteLine($"|{new string('-', 36)}|{new string('-', 11)}|{new string('-', 10)}|{new string('-', 28)}|{new string('-', 9)}|");
        Console.WriteLine(Row("cold (empty disk cache)", cold, "", null));
        Console.WriteLine(Row("memory re-run (same process)", Get("memory_rerun_ms"), "≤ 0.05 × cold", Get("memory_rerun_ms") <= 0.05 * cold));
        if (Get("disk_rerun_ms") is { } disk)
        {
            Console.WriteLine(Row("disk re-run (new process, new folder)", disk, "≤ 0.10 × cold", disk <= 0.10 * cold));
            if (Get("disk_rerun_same_out_ms") is { } same)
                Console.WriteLine(Row("disk re-run (new process, same folder)", same, "≤ 0.05 × cold", same <= 0.05 * cold));
            var bare = Get("nocache_cold_ms")!.Value;
            Console.WriteLine(Row("cold, no cache", bare, "cold ≤ 1.15 × this", cold <= 1.15 * bare));
            Console.WriteLine($"  disk-cached cold ÷ no-cache cold: wall {r["disk_cache_cold_ratio_wall"]}, CPU {r["disk_cache_cold_ratio_cpu"]} (CPU ms {r["cold_cpu_ms"]} vs {r["nocache_cold_cpu_ms"]}, of which kernel {r["cold_system_cpu_ms"]} vs {r["nocache_cold_system_cpu_ms"]}); disk cache bytes written {r["cold_disk_bytes_written"]}");
            Console.WriteLine($"  CPU ms: memory re-run {r["memory_rerun_cpu_ms"]}, disk re-run process {r["disk_rerun_cpu_ms"]} (payload bytes read {r["disk_rerun_bytes_read"]}), same folder {r["disk_rerun_same_out_cpu_ms"]} (payload bytes read {r["disk_rerun_same_out_bytes_read"]})");
        }
        if (Get("handwritten_ms") is not null)
        {
            var hand = Get("handwritten_ms")!.Value;
            Console.WriteLine(Row("hand-written ImageSharp + ORT", hand, $"cold ≤ 0.5 × this", cold <= 0.5 * hand));
            Console.WriteLine($"  cold ÷ hand-written = {cold / hand:F3}");
            var one = Get("nocache_one_worker_ms")!.Value; var two = Get("nocache_two_workers_ms")!.Value;
            Console.WriteLine(Row("no cache, 1 worker", one, "", null));
            Console.WriteLine(Row("no cache, 2 workers", two, "1 worker ÷ 2 workers ≥ 1.7", one / two >= 1.7));
            Console.WriteLine($"  1 worker ÷ 2 workers = {one / two:F2}");
            var oneOne = Get("nocache_one_worker_one_thread_ms")!.Value; var twoOne = Get("nocache_two_workers_one_thread_ms")!.Value;
            Console.WriteLine(Row("no cache, 1 worker, 1 ORT thread", oneOne, "", null));
            Console.WriteLine(Row("no cache, 2 workers, 1 ORT thread each", twoOne, "ratio ≥ 1.7", oneOne / twoOne >= 1.7));
            Console.WriteLine($"  (1 ORT thread each) 1 worker ÷ 2 workers = {oneOne / twoOne:F2}");
        }
        Console.WriteLine($"peak RSS (cold run process): {r["peak_rss_mb"]} MiB after the cold batch, {r["peak_rss_after_rerun_mb"]} MiB after the re-run" + (r["handwritten_peak_rss_mb"] is { } h ? $"; hand-written: {h} MiB" : ""));
        Console.WriteLine($"process CPU ms: cold {r["cold_cpu_ms"]}" + (r["handwritten_cpu_ms"] is { } hc ? $", hand-written {hc}" : ""));
        Console.WriteLine($"cold per-stage ms (summed over images and workers): {r["cold_stage_ms_summed"]?.ToJsonString()}");
        if (r["nocache_cold_stage_ms_summed"] is { } ns) Console.WriteLine($"no-cache cold per-stage ms (summed): {ns.ToJsonString()}");
        if (r["handwritten_stage_ms_summed"] is { } hs) Console.WriteLine($"hand-written per-stage ms (summed): {hs.ToJsonString()}");
    }
}
