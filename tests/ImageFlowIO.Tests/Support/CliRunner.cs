using System.Diagnostics;
using System.Text;
using ImageFlowIO.Cli;

namespace ImageFlowIO.Tests.Support;

/// <summary>
/// Runs the CLI and captures exit code, stdout and stderr: in-process by default; as its own process when
/// <c>IMAGEFLOWIO_TEST_CLI</c> names a CLI executable (NativeAotCliTests runs this suite's CLI cases that way against the
/// shipped Native AOT binary).
/// </summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>The CLI executable under test, or null to run in-process.</summary>
    public static string? Executable { get; } = Environment.GetEnvironmentVariable("IMAGEFLOWIO_TEST_CLI") is { Length: > 0 } path ? path : null;

    public static async Task<Result> RunAsync(params string[] args)
    {
        if (Executable is not null) return await RunProcessAsync(Executable, args);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ImageFlowCli.RunAsync(args, stdout, stderr);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    private static async Task<Result> RunProcessAsync(string executable, string[] args)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException(executable + " " + string.Join(' ', args) + " ran over 3 minutes");
        }
        // The in-process runner's writers use "\n" too (Console.Out.NewLine on Linux); normalise nothing else.
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
