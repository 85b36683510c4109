using System.Diagnostics;
using System.Runtime.InteropServices;
using ImageFlowIO.Caching;
using ImageFlowIO.Inference;
using ImageFlowIO.Tests.Caching;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Runtime;

/// <summary>ONNX Runtime sessions have one owner (a counted lease) and the native library is loaded in one place.</summary>
public sealed class SessionLifetimeTests
{
    private static Pipeline Open(CacheScenario s) => Pipeline.FromConfig(s.ConfigPath, new PipelineOptions { CacheMode = ImageFlowIO.Config.CacheMode.None, OutputDirectory = s.Dir.Combine("out"), MaxParallelism = 1 });

    [Fact]
    public async Task A_retired_session_stays_alive_while_a_pipeline_holds_it_and_is_disposed_after()
    {
        using var s = new CacheScenario();
        var a = Open(s);
        Assert.True((await a.RunAsync(s.Images[0])).Succeeded);
        var shared = ((OnnxBackend)a.Backend).LeasedSession!;
        using (var b = Open(s))
        {
            Assert.True((await b.RunAsync(s.Images[0])).Succeeded);
            Assert.Same(shared, ((OnnxBackend)b.Backend).LeasedSession); // one session per model and options
        }
        SessionCache.Clear(); // retire every session, as a changed model file does
        Assert.False(shared.IsDisposed);
        var again = await a.RunAsync(s.Images[1]); // before leases this ran on a disposed session
        Assert.True(again.Succeeded, again.Error?.ToString());
        a.Dispose();
        Assert.True(shared.IsDisposed);
    }

    [Fact]
    public void Past_the_bound_the_least_recently_used_session_is_retired_and_a_held_one_lives_until_released()
    {
        using var dir = new TempDir();
        var models = Enumerable.Range(0, SessionCache.MaxCachedSessions + 2).Select(i =>
        {
            var path = dir.Combine($"m{i}.onnx");
            File.Copy(TestPaths.Model("identity_nchw.onnx"), path);
            return path;
        }).ToList();
        var held = SessionCache.Acquire(models[0], 1);      // a pipeline still running it
        var idle = SessionCache.Acquire(models[1], 1);
        idle.Dispose();                                      // used once, no holder now
        foreach (var model in models.Skip(2)) SessionCache.Acquire(model, 1).Dispose();

        // Both are older than the MaxCachedSessions sessions used after them (other tests' sessions can only add to that).
        Assert.True(idle.Shared.IsDisposed);
        Assert.True(held.Shared.IsRetired);
        Assert.False(held.Shared.IsDisposed);
        var input = OrtValueFor(held.Session);
        using (var outputs = held.Session.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), [held.Session.InputNames[0]], [input], held.Session.OutputNames))
            Assert.Equal(0.5f, outputs[0].GetTensorDataAsSpan<float>()[0]);
        held.Dispose();
        Assert.True(held.Shared.IsDisposed);
        using var again = SessionCache.Acquire(models[0], 1);
        Assert.NotSame(held.Shared, again.Shared);
        Assert.True(SessionCache.Count <= SessionCache.MaxCachedSessions + 1); // + one another test may be creating
    }

    private static Microsoft.ML.OnnxRuntime.OrtValue OrtValueFor(Microsoft.ML.OnnxRuntime.InferenceSession session)
    {
        var shape = session.InputMetadata[session.InputNames[0]].Dimensions.Select(d => d > 0 ? (long)d : 8L).ToArray();
        var data = Enumerable.Repeat(0.5f, (int)shape.Aggregate(1L, (a, b) => a * b)).ToArray();
        return Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(data, shape);
    }

    [Fact]
    public async Task A_changed_model_file_gets_a_new_session_while_the_old_one_finishes_its_work()
    {
        using var s = new CacheScenario();
        using var a = Open(s);
        Assert.True((await a.RunAsync(s.Images[0])).Succeeded);
        var old = ((OnnxBackend)a.Backend).LeasedSession!;
        File.Copy(TestPaths.Model("identity_nchw.onnx"), s.Dir.Combine("model.onnx"), overwrite: true);
        File.SetLastWriteTimeUtc(s.Dir.Combine("model.onnx"), DateTime.UtcNow.AddMinutes(1));
        using var b = Open(s);
        Assert.True((await b.RunAsync(s.Images[0])).Succeeded);
        Assert.NotSame(old, ((OnnxBackend)b.Backend).LeasedSession);
        Assert.False(old.IsDisposed);
        Assert.True((await a.RunAsync(s.Images[1])).Succeeded);
    }

    [Fact]
    public async Task A_missing_native_library_is_IFIO1007_naming_the_library_the_runtime_and_the_fix()
    {
        using var s = new CacheScenario();
        // The CLI without ONNX Runtime's native library (and without deps.json, which would point the host at runtimes/).
        var app = s.Dir.Combine("app");
        Directory.CreateDirectory(app);
        foreach (var file in Directory.GetFiles(AppContext.BaseDirectory))
            if (!file.EndsWith(".deps.json", StringComparison.Ordinal) && !Path.GetFileName(file).StartsWith("libonnxruntime", StringComparison.Ordinal))
                File.Copy(file, Path.Combine(app, Path.GetFileName(file)));
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(app, "ImageFlowIO.Cli.dll"), "--config", s.ConfigPath, "--cache", "none", "--backend", "onnx", "--no-progress" }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var err = await stderr;
        Assert.True(process.ExitCode == 3, $"exit {process.ExitCode}: {err}{await stdout}");
        Assert.Contains("error IFIO1007: ONNX Runtime's native library libonnxruntime.so was not found", err);
        Assert.Contains($"for runtime '{RuntimeInformation.RuntimeIdentifier}'", err);
        Assert.Contains($"runtimes/{RuntimeInformation.RuntimeIdentifier}/native/libonnxruntime.so", err);
        Assert.DoesNotContain("xception", err);
    }
}
