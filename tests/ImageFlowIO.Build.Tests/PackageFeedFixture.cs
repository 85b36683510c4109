using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace ImageFlowIO.Build.Tests;

/// <summary>
/// Packs the ImageFlowIO package once per test run, under a version no earlier run used, into a temporary feed, with a
/// NuGet.config that restores it into an isolated packages folder (so a stale copy can never be used). Everything else
/// resolves offline from the machine's global packages folder as a fallback folder.
/// </summary>
public sealed class PackageFeedFixture : IDisposable
{
    public PackageFeedFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "ifio-build-tests", Guid.NewGuid().ToString("N")[..10]);
        Feed = Path.Combine(Root, "feed");
        Directory.CreateDirectory(Feed);
        Version = "0.1.0-test" + DateTime.UtcNow.ToString("yyyyMMddHHmmss") + Guid.NewGuid().ToString("N")[..6];

        var project = Path.Combine(RepoRoot, "src", "Package", "ImageFlowIO.Package.csproj");
        var pack = Dotnet.Run(RepoRoot, "pack", project, "-c", Configuration, "--no-build", "-o", Feed, "-p:Version=" + Version, "-nodeReuse:false");
        if (pack.ExitCode != 0) throw new InvalidOperationException("packing ImageFlowIO failed:\n" + pack.Output);

        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env
            ? env : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(Root, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(Root, "packages")}" />
              </config>
              <packageSources>
                <clear />
                <add key="imageflow-test-feed" value="{Feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <clear />
                <add key="machine" value="{globalPackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        // Fence the consumers off from anything above the temp folder.
        // The build server (on by default on Linux outside CI) only where a test asks for it: the same builds here and in CI.
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project><PropertyGroup><ImageFlowBuildServer>false</ImageFlowBuildServer></PropertyGroup></Project>");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(Root, "Directory.Packages.props"), "<Project />");
    }

    public static string RepoRoot { get; } = Metadata("RepoRoot");
    public static string Configuration { get; } = Metadata("Configuration");
    public string Root { get; }
    public string Feed { get; }
    public string Version { get; }

    private static string Metadata(string key) =>
        typeof(PackageFeedFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class PackageFeedCollection : ICollectionFixture<PackageFeedFixture>
{
    public const string Name = "ImageFlowIO package feed";
}

/// <summary>Runs the dotnet CLI and captures its output.</summary>
public static class Dotnet
{
    public sealed record Result(int ExitCode, string Output);

    public static Result Run(string workingDirectory, params string[] args) => Run(workingDirectory, new Dictionary<string, string>(), args);

    /// <param name="environment">Variables set for the child on top of this process's.</param>
    public static Result Run(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Run(workingDirectory, environment, newSession: false, args);

    /// <param name="newSession">Run it as a terminal of its own would (a new session: <c>setsid</c>, on Linux).</param>
    public static Result Run(string workingDirectory, IReadOnlyDictionary<string, string> environment, bool newSession, params string[] args)
    {
        var variables = new Dictionary<string, string?>(environment.ToDictionary(e => e.Key, e => (string?)e.Value))
        {
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            // The test host's own MSBuild settings must not leak into the child build.
            ["MSBuildExtensionsPath"] = null, ["MSBUILD_EXE_PATH"] = null, ["MSBuildSDKsPath"] = null,
        };
        return newSession && OperatingSystem.IsLinux()
            ? Exec("setsid", workingDirectory, variables, ["-w", "dotnet", .. args])
            : Exec("dotnet", workingDirectory, variables, args);
    }

    /// <summary>Runs any program (stdout and stderr interleaved); a variable set to null is removed for the child.</summary>
    public static Result Exec(string fileName, string workingDirectory, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment)
            if (value is null) start.Environment.Remove(name); else start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException(fileName + " " + string.Join(' ', args) + " timed out:\n" + output);
        }
        process.WaitForExit();
        return new Result(process.ExitCode, output.ToString());
    }
}
