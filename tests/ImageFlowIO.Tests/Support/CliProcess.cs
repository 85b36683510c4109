using System.Diagnostics;

namespace ImageFlowIO.Tests.Support;

/// <summary>
/// This build's CLI (ImageFlowIO.Cli.dll beside the tests) as a new process, for what only a process shows: its
/// environment, its allocator, a cache read back by a later process. <see cref="CliRunner"/> runs the CLI in-process.
/// </summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr, double WallMs);

    /// <summary>Variables a developer's or CI's shell may hold that would change a run: removed unless the caller sets them.</summary>
    private static readonly string[] Cleared = ["IMAGEFLOWIO_CACHE_DIR", "IMAGEFLOWIO_REMOTE_CACHE", "IMAGEFLOWIO_REMOTE_CACHE_TOKEN", "IMAGEFLOWIO_REMOTE_CACHE_KEY"];

    /// <param name="environment">Variables to set; a null value removes the variable.</param>
    public static async Task<Result> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ImageFlowIO.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var variable in Cleared) info.Environment.Remove(variable);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the CLI ran over 4 minutes: " + string.Join(' ', args));
        }
        return new Result(process.ExitCode, await stdout, await stderr, clock.Elapsed.TotalMilliseconds);
    }
}
