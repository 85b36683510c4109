using ImageFlowIO.Cli;

namespace ImageFlowIO.Tests.Support;

/// <summary>Runs the CLI in-process and captures exit code, stdout and stderr.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static async Task<Result> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ImageFlowCli.RunAsync(args, stdout, stderr);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }
}
