using System.Text.Json;
using System.Text.Json.Nodes;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageFlowIO.Tests.Caching;

/// <summary>The shared remote cache against a real nginx: two machines, shards, poisoned and unsigned entries, credentials.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class RemoteCacheTests
{
    /// <summary>The remote in the config with a generous timeout (a loaded test machine must not trip the breaker); the CLI's --remote-cache overrides the URL.</summary>
    private static void UseRemote(CacheScenario s, string url) =>
        s.WriteConfig(cache: $$""", "cache": { "remote": { "url": "{{url}}", "timeoutMs": 15000 } }""");

    private static Task<CliRunner.Result> Cli(CacheScenario s, string cacheDir, string outDir, params string[] extra) =>
        CliRunner.RunAsync([.. new[] { "--config", s.ConfigPath, "--cache-dir", cacheDir, "-o", outDir, "--log-level", "debug", "--no-progress" }, .. extra]);

    private static Dictionary<string, byte[]> Pngs(string folder) =>
        Directory.GetFiles(folder, "*.png", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    private static int Count(string text, string fragment) => text.Split('\n').Count(l => l.Contains(fragment, StringComparison.Ordinal));

    private static void AssertSameFiles(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(actual[name]), name + " differs");
    }

    private static JsonElement RemoteSummary(string outDir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json"))).RootElement.GetProperty("cache").GetProperty("remote");

    [Fact]
    public async Task Two_cli_runs_with_separate_local_caches_share_one_nginx_remote_and_the_second_runs_no_inference()
    {
        using var nginx = new RemoteNginxServer();
        using var s = new CacheScenario();
        UseRemote(s, nginx.Url);
        const string password = "s3cr3t-Pw";
        var urlWithCredentials = $"http://ci-user:{password}@127.0.0.1:{nginx.Port}/";

        var a = await Cli(s, s.Dir.Combine("cacheA"), s.Dir.Combine("outA"), "--remote-cache", urlWithCredentials);
        Assert.True(a.ExitCode == 0, a.Stderr);
        Assert.Contains("4 inputs, 4 processed, 0 from cache, 0 failed", a.Stdout);
        var writes = a.Stderr.Split('\n').Where(l => l.Contains("cache/remote write ", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, writes.Count(l => l.Contains("(output,", StringComparison.Ordinal)));
        Assert.Equal(4, writes.Count(l => l.Contains("(inference,", StringComparison.Ordinal)));
        Assert.Equal(8, nginx.Manifests.Length);
        var uploaded = RemoteSummary(s.Dir.Combine("outA"));
        Assert.Equal(8, uploaded.GetProperty("writes").GetInt32());
        // Every byte the server holds was counted as uploaded (each blob once: HEAD before PUT).
        Assert.Equal(nginx.StoredBytes, uploaded.GetProperty("bytesUploaded").GetInt64());
        // Basic auth from the URL's user info went to the server...
        Assert.Contains(" ci-user ", File.ReadAllText(nginx.AccessLog));

        var b = await Cli(s, s.Dir.Combine("cacheB"), s.Dir.Combine("outB"), "--remote-cache", nginx.Url);
        Assert.True(b.ExitCode == 0, b.Stderr);
        Assert.Contains("4 inputs, 4 processed, 4 from cache, 0 failed", b.Stdout);
        foreach (var image in s.Images) Assert.Equal(1, Count(b.Stderr, $"cache/remote hit {image} (output)"));
        Assert.Equal(0, Count(b.Stderr, "cache/remote miss"));
        Assert.Equal(0, Count(b.Stderr, "cache/remote write"));
        Assert.Equal(0, Count(b.Stderr, "(inference"));
        AssertSameFiles(Pngs(s.Dir.Combine("outA")), Pngs(s.Dir.Combine("outB")));
        var downloaded = RemoteSummary(s.Dir.Combine("outB"));
        Assert.Equal(4, downloaded.GetProperty("hits").GetInt32());
        Assert.True(downloaded.GetProperty("bytesDownloaded").GetInt64() > Pngs(s.Dir.Combine("outB")).Values.Sum(v => v.Length));
        Assert.Matches(@"remote: 4 hits, 0 misses, 0 writes, \d+ bytes downloaded, 0 bytes uploaded", b.Stderr);
        // A remote hit is also kept locally: machine B's disk cache now holds the four output entries.
        Assert.Equal(4, Directory.GetFiles(s.Dir.Combine("cacheB"), "*.json").Length);

        // ...and never appears anywhere we print.
        foreach (var text in new[] { a.Stdout, a.Stderr, File.ReadAllText(Path.Combine(s.Dir.Combine("outA"), "summary.json")) })
        {
            Assert.DoesNotContain(password, text);
            Assert.DoesNotContain("ci-user", text);
        }
        Assert.Contains($"remote http://127.0.0.1:{nginx.Port}/", a.Stderr);
    }

    [Fact]
    public async Task Two_cli_machines_share_an_apache_webdav_remote_whose_folders_do_not_exist_yet_and_the_second_runs_no_inference()
    {
        // Apache mod_dav answers 409 to a PUT under a folder that does not exist: neither the URL's own folders nor /cas
        // and /ac exist yet. The first upload makes them with MKCOL (once each) and retries.
        using var apache = new RemoteApacheServer();
        using var s = new CacheScenario();
        var url = apache.Url + "team/imageflowio/";
        UseRemote(s, url); // under a loaded test run the default 2 s timeout tripped the breaker (IFIO4002) mid-upload
        Assert.False(Directory.Exists(Path.Combine(apache.DataDir, "team")));

        var a = await Cli(s, s.Dir.Combine("cacheA"), s.Dir.Combine("outA"), "--remote-cache", url);
        Assert.True(a.ExitCode == 0, a.Stderr);
        Assert.Contains("4 inputs, 4 processed, 0 from cache, 0 failed", a.Stdout);
        Assert.DoesNotContain("IFIO4002", a.Stderr); // the remote stayed on
        Assert.Equal(1, Count(a.Stderr, "cache/remote mkcol cas/ (HTTP 201)"));
        Assert.Equal(1, Count(a.Stderr, "cache/remote mkcol ac/ (HTTP 201)"));
        Assert.Equal(8, Count(a.Stderr, "cache/remote write "));
        var store = Path.Combine(apache.DataDir, "team", "imageflowio");
        Assert.Equal(8, Directory.GetFiles(Path.Combine(store, "ac")).Length);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(store, "cas")));
        var log = File.ReadAllLines(apache.AccessLog);
        Assert.Contains(log, l => l.Contains("\"MKCOL /team/ HTTP/1.1\" 201", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("\"MKCOL /team/imageflowio/cas/ HTTP/1.1\" 201", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("\"PUT /team/imageflowio/cas/", StringComparison.Ordinal) && l.Contains("\" 409 ", StringComparison.Ordinal));

        var b = await Cli(s, s.Dir.Combine("cacheB"), s.Dir.Combine("outB"), "--remote-cache", url);
        Assert.True(b.ExitCode == 0, b.Stderr);
        Assert.True(b.Stdout.Contains("4 inputs, 4 processed, 4 from cache, 0 failed", StringComparison.Ordinal),
            $"{b.Stdout}{b.Stderr}\nA:\n{a.Stderr}\napache:\n{File.ReadAllText(apache.AccessLog)}");
        foreach (var image in s.Images) Assert.Equal(1, Count(b.Stderr, $"cache/remote hit {image} (output)"));
        Assert.Equal(0, Count(b.Stderr, "(inference"));
        Assert.Equal(0, Count(b.Stderr, "cache/remote write"));
        AssertSameFiles(Pngs(s.Dir.Combine("outA")), Pngs(s.Dir.Combine("outB")));
    }

    [Fact]
    public async Task Shards_fill_the_remote_and_a_full_run_on_an_empty_local_cache_assembles_every_output_with_no_inference()
    {
        using var nginx = new RemoteNginxServer();
        using var s = new CacheScenario();
        UseRemote(s, nginx.Url);
        var reference = await Cli(s, s.Dir.Combine("cacheRef"), s.Dir.Combine("ref"), "--cache", "none");
        Assert.True(reference.ExitCode == 0, reference.Stderr);

        var one = await Cli(s, s.Dir.Combine("cache1"), s.Dir.Combine("out1"), "--remote-cache", nginx.Url, "--shard", "1/2");
        var two = await Cli(s, s.Dir.Combine("cache2"), s.Dir.Combine("out2"), "--remote-cache", nginx.Url, "--shard", "2/2");
        Assert.True(one.ExitCode == 0 && two.ExitCode == 0, one.Stderr + two.Stderr);
        var first = Pngs(s.Dir.Combine("out1")).Keys.ToHashSet();
        var second = Pngs(s.Dir.Combine("out2")).Keys.ToHashSet();
        Assert.Empty(first.Intersect(second));
        Assert.Equal(Pngs(s.Dir.Combine("ref")).Keys.Order(), first.Union(second).Order());
        Assert.NotEmpty(first);
        Assert.NotEmpty(second);

        var all = await Cli(s, s.Dir.Combine("cache3"), s.Dir.Combine("out3"), "--remote-cache", nginx.Url);
        Assert.True(all.ExitCode == 0, all.Stderr);
        Assert.Contains("4 inputs, 4 processed, 4 from cache, 0 failed", all.Stdout);
        Assert.Equal(4, Count(all.Stderr, "cache/remote hit"));
        AssertSameFiles(Pngs(s.Dir.Combine("ref")), Pngs(s.Dir.Combine("out3")));
    }

    [Fact]
    public async Task A_bad_shard_is_a_usage_error()
    {
        using var s = new CacheScenario();
        var r = await Cli(s, s.Dir.Combine("c"), s.Dir.Combine("o"), "--shard", "3/2");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--shard: the shard '3/2' is not k/n", r.Stderr);
    }

    [Fact]
    public void Shards_partition_inputs_by_a_stable_hash_of_the_relative_path()
    {
        var names = Enumerable.Range(0, 300).Select(i => $"/data/in/sub{i % 3}/img{i}.png").ToList();
        var shards = Enumerable.Range(1, 3).Select(k => new InputShard(k, 3).Select(names, n => n, "/data/in")).ToList();
        Assert.Equal(names.Order(), shards.SelectMany(x => x).Order());
        Assert.All(shards, x => Assert.InRange(x.Count, 60, 140));
        // Stable: the same relative path lands in the same shard wherever the input root is.
        var moved = new InputShard(2, 3).Select(names.Select(n => n.Replace("/data/in", "/elsewhere")), n => n, "/elsewhere");
        Assert.Equal(shards[1].Select(n => n.Replace("/data/in", "/elsewhere")), moved);
        Assert.True(InputShard.TryParse(" 2/5 ", out var parsed, out _));
        Assert.Equal(new InputShard(2, 5), parsed);
        foreach (var bad in new[] { "0/2", "3/2", "1", "a/b", "1/0", "-1/2", "" }) Assert.False(InputShard.TryParse(bad, out _, out _), bad);
    }

    [Fact]
    public async Task A_poisoned_remote_output_entry_is_rejected_and_nothing_is_written_outside_the_output_folder()
    {
        using var nginx = new RemoteNginxServer();
        using var s = new CacheScenario();
        UseRemote(s, nginx.Url);
        var a = await Cli(s, s.Dir.Combine("cacheA"), s.Dir.Combine("deep", "outA"), "--remote-cache", nginx.Url);
        Assert.True(a.ExitCode == 0, a.Stderr);

        // Valid digests and sizes, only the path escapes: what an attacker with write access to the server would send.
        var poisoned = 0;
        foreach (var manifest in nginx.Manifests)
        {
            var root = JsonNode.Parse(File.ReadAllText(manifest))!;
            if ((string?)root["entry"]!["stage"] != "output") continue;
            root["entry"]!["files"]![0]!["path"] = "../../x";
            File.WriteAllText(manifest, root.ToJsonString());
            poisoned++;
        }
        Assert.True(poisoned == 4, $"{poisoned} output manifests on the server after the first run; its log:\n{a.Stderr}");

        var outB = s.Dir.Combine("deep", "outB");
        var b = await Cli(s, s.Dir.Combine("cacheB"), outB, "--remote-cache", nginx.Url);
        Assert.True(b.ExitCode == 0, b.Stderr);
        Assert.Equal(4, Count(b.Stderr, "cache/remote corrupt"));
        Assert.Contains("output path '../../x' rejected", b.Stderr);
        // The inference entries are sound: they are used, so no model runs.
        Assert.Equal(4, b.Stderr.Split('\n').Count(l => l.Contains("cache/remote hit", StringComparison.Ordinal) && l.Contains("(inference)", StringComparison.Ordinal)));
        Assert.Contains("4 from cache", b.Stdout);
        Assert.False(File.Exists(Path.GetFullPath(Path.Combine(outB, "..", "..", "x"))));
        Assert.False(File.Exists(Path.GetFullPath(Path.Combine(outB, "..", "x"))));
        Assert.Empty(Directory.GetFiles(s.Dir.Path, "x", SearchOption.AllDirectories));
        AssertSameFiles(Pngs(s.Dir.Combine("deep", "outA")), Pngs(outB));
        Assert.Equal(4, RemoteSummary(outB).GetProperty("rejected").GetInt32());
    }

    [Fact]
    public async Task A_poisoned_disk_output_entry_is_rejected_and_nothing_is_written_outside_the_output_folder()
    {
        using var s = new CacheScenario();
        var reference = await s.RunAsync(s.Dir.Combine("deep", "ref"));

        var poisoned = 0;
        var store = DiskStore.Open(s.CacheDir, 1L << 30, CacheCompression.None, new CacheLayerStatistics(), NullLogger.Instance)!;
        foreach (var json in s.EntryFiles(".json"))
        {
            Assert.True(DiskEntryMetadata.TryParse(File.ReadAllBytes(json), out var meta, out var why), why);
            if (meta.Stage != CacheStage.Output) continue;
            var payload = File.ReadAllBytes(Path.ChangeExtension(json, ".bin"));
            var files = meta.Info.Files!.ToList();
            files[0] = files[0] with { Path = "../../x" };
            File.Delete(json);
            File.Delete(Path.ChangeExtension(json, ".bin"));
            Assert.True(store.Put(new CacheEntry(CacheStage.Output, meta.Key, meta.Info with { Files = files }, payload)));
            poisoned++;
        }
        Assert.Equal(4, poisoned);

        var outB = s.Dir.Combine("deep", "outB");
        var run = await s.RunAsync(outB);
        Assert.Equal(4, run.Log.Count("cache/disk corrupt"));
        Assert.Equal(4, run.Log.Count("output path '../../x' rejected"));
        Assert.False(File.Exists(Path.GetFullPath(Path.Combine(outB, "..", "..", "x"))));
        Assert.Empty(Directory.GetFiles(s.Dir.Path, "x", SearchOption.AllDirectories));
        foreach (var (name, bytes) in reference.Files) Assert.Equal(bytes, run.Files[name]);
    }

    [Fact]
    public async Task With_a_signing_key_entries_written_without_it_or_with_another_key_are_not_used()
    {
        using var nginx = new RemoteNginxServer();
        using var s = new CacheScenario();
        UseRemote(s, nginx.Url);
        var key = "main-branch-signing-key"u8.ToArray();

        async Task<(int InferenceRuns, ListLoggerProvider Log, Dictionary<string, byte[]> Files)> Run(string name, byte[]? signingKey, bool readOnly)
        {
            var log = new ListLoggerProvider();
            var logger = log.CreateLogger("test");
            var settings = RemoteCacheSettings.Create(nginx.Url, null, readOnly, 15000, signingKey, out var problem)!;
            Assert.Null(problem);
            using var cache = StageCacheFactory.Create(64L << 20, s.Dir.Combine("cache-" + name), 1L << 30, CacheCompression.None, logger, new RemoteStore(settings, new CacheLayerStatistics(), logger));
            using var pipeline = Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { Cache = cache, LoggerFactory = log, OutputDirectory = s.Dir.Combine("out-" + name), MaxParallelism = 2 });
            var batch = await pipeline.RunBatchAsync(s.Inputs);
            Assert.All(batch.Items, i => Assert.True(i.Succeeded, i.Error?.ToString()));
            return (pipeline.InferenceRuns, log, Pngs(s.Dir.Combine("out-" + name)));
        }

        var unsigned = await Run("unsigned", null, readOnly: false);
        Assert.Equal(4, unsigned.InferenceRuns);
        Assert.Equal(8, nginx.Manifests.Length);

        var keyed = await Run("keyed-reader", key, readOnly: true);
        Assert.Equal(4, keyed.InferenceRuns);
        Assert.Equal(8, keyed.Log.Count("cache/remote untrusted"));
        Assert.Equal(0, keyed.Log.Count("cache/remote hit"));
        AssertSameFiles(unsigned.Files, keyed.Files);

        var trusted = await Run("trusted-writer", key, readOnly: false);
        Assert.Equal(4, trusted.InferenceRuns);
        var unsignedLeft = nginx.Manifests.Where(m => !((string?)JsonNode.Parse(File.ReadAllText(m))!["signature"] ?? "").StartsWith("hmac-sha256:", StringComparison.Ordinal)).ToList();
        Assert.True(unsignedLeft.Count == 0, $"{unsignedLeft.Count} of {nginx.Manifests.Length} manifests unsigned after the keyed writer; its remote log:\n" +
            string.Join("\n", trusted.Log.Lines.Where(l => l.Contains("remote", StringComparison.Ordinal) || l.Contains("IFIO4", StringComparison.Ordinal))));

        var reader = await Run("trusted-reader", key, readOnly: true);
        Assert.Equal(0, reader.InferenceRuns);
        Assert.Equal(8, reader.Log.Count("cache/remote hit")); // inference and output (this host keeps tensors)
        AssertSameFiles(unsigned.Files, reader.Files);

        var otherKey = await Run("other-key", "another-key"u8.ToArray(), readOnly: true);
        Assert.Equal(4, otherKey.InferenceRuns);
        Assert.Equal(8, otherKey.Log.Count("cache/remote untrusted"));
    }

    [Fact]
    public void Settings_take_credentials_from_the_token_or_the_url_and_print_neither()
    {
        var config = new PipelineConfig();
        var env = new Dictionary<string, string?>
        {
            [RemoteCacheSettings.UrlVariable] = "https://bob:hunter22@cache.example:9092/team/?sig=abc123",
            [RemoteCacheSettings.KeyVariable] = "k",
        };
        var fromUrl = RemoteCacheSettings.Resolve(config, new PipelineOptions(), n => env.GetValueOrDefault(n), out var problem)!;
        Assert.Null(problem);
        Assert.Equal("Basic " + Convert.ToBase64String("bob:hunter22"u8), fromUrl.Authorization);
        Assert.Equal("https://cache.example:9092/team/", fromUrl.BaseUri.ToString());
        Assert.Equal("https://cache.example:9092/team/", fromUrl.Display);
        Assert.Equal("k"u8.ToArray(), fromUrl.SigningKey);
        Assert.Equal("failed (*** rejected)", fromUrl.Scrub("failed (hunter22 rejected)"));

        env[RemoteCacheSettings.TokenVariable] = "tok-123456";
        var withToken = RemoteCacheSettings.Resolve(config, new PipelineOptions { RemoteCache = "http://h:1/c", RemoteCacheReadOnly = true }, n => env.GetValueOrDefault(n), out _)!;
        Assert.Equal("Bearer tok-123456", withToken.Authorization);
        Assert.Equal("http://h:1/c/", withToken.Display);
        Assert.True(withToken.ReadOnly);

        Assert.Null(RemoteCacheSettings.Resolve(config, new PipelineOptions { RemoteCache = "ftp://u:pw-secret@h/" }, _ => null, out problem));
        Assert.DoesNotContain("pw-secret", problem);
        Assert.Null(RemoteCacheSettings.Resolve(config, new PipelineOptions(), _ => null, out problem));
        Assert.Null(problem);
    }
}
