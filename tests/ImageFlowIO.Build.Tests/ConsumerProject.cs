using System.Text.Json;
using System.Text.RegularExpressions;

namespace ImageFlowIO.Build.Tests;

/// <summary>A fresh consumer project in the fixture's temp folder: a csproj with a PackageReference to ImageFlowIO.</summary>
public sealed partial class ConsumerProject
{
    private readonly PackageFeedFixture _feed;

    /// <param name="extraItems">More items (MSBuild XML) beside the one <c>ImageFlowAsset</c> glob.</param>
    public ConsumerProject(PackageFeedFixture feed, string name, string assetsInclude = "assets/**/*.png", string? directory = null, string extraItems = "")
    {
        _feed = feed;
        Directory = directory ?? Path.Combine(feed.Root, name);
        System.IO.Directory.CreateDirectory(Directory);
        ProjectFile = Path.Combine(Directory, name + ".csproj");
        File.WriteAllText(ProjectFile, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ImageFlowIO" Version="{feed.Version}" />
                <ImageFlowAsset Include="{assetsInclude}" />
                {extraItems}
              </ItemGroup>
            </Project>
            """);
    }

    public string Directory { get; }
    public string ProjectFile { get; }
    public string ObjFolder => Path.Combine(Directory, "obj", "Debug", "net10.0", "imageflow");
    public string BinFolder => Path.Combine(Directory, "bin", "Debug", "net10.0");
    public string CacheFolder => Path.Combine(Directory, "obj", "Debug", "net10.0", "imageflow-cache");
    public string Obj(string relative) => Path.Combine(ObjFolder, relative);
    public string Bin(string relative) => Path.Combine(BinFolder, relative);
    public string File_(string relative) => Path.Combine(Directory, relative);

    public string Copy(string source, string relative)
    {
        var target = File_(relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(source, target, overwrite: true);
        return target;
    }

    public void WriteConfig(string json, string name = "imageflow.json") => File.WriteAllText(File_(name), json);

    /// <summary><c>dotnet build</c> at normal verbosity; restore only the first time (the csproj never changes).</summary>
    public BuildLog Build(params string[] extra) => Run("build", extra);
    public BuildLog Clean() => Run("clean");

    /// <summary><c>dotnet build</c> as a CI log or a terminal user runs it: no <c>-v</c> (console logger, as output is redirected).</summary>
    public BuildLog BuildAtDefaultVerbosity(params string[] extra) => Run("build", verbosity: null, extra);

    public BuildLog Run(string command, params string[] extra) => Run(command, "n", extra);

    /// <summary><c>dotnet build</c> with these environment variables set for it.</summary>
    public BuildLog BuildWith(IReadOnlyDictionary<string, string> environment, params string[] extra) => Run("build", "n", extra, environment);

    /// <summary><c>dotnet build</c> from a shell of its own: a new session, as a second terminal is (<c>setsid</c> on Linux).</summary>
    public BuildLog BuildInNewSession(params string[] extra) => Run("build", "n", extra, newSession: true);

    private BuildLog Run(string command, string? verbosity, string[] extra, IReadOnlyDictionary<string, string>? environment = null, bool newSession = false)
    {
        var args = new List<string> { command, ProjectFile, "-nodeReuse:false", "-clp:NoSummary" };
        if (verbosity is not null) args.Add("-v:" + verbosity);
        if (command == "build" && File.Exists(Path.Combine(Directory, "obj", "project.assets.json"))) args.Add("--no-restore");
        args.AddRange(extra);
        var result = Dotnet.Run(Directory, environment ?? new Dictionary<string, string>(), newSession, [.. args]);
        return new BuildLog(result.ExitCode, result.Output);
    }

    public JsonElement Summary() => JsonDocument.Parse(File.ReadAllText(Obj("summary.json"))).RootElement;
}

/// <summary>The console output of one build, with the ImageFlowIO summary line parsed.</summary>
public sealed partial record BuildLog(int ExitCode, string Output)
{
    /// <summary>(assets, processed, fromCache, failed), or null when the task did not run.</summary>
    public (int Assets, int Processed, int FromCache, int Failed)? Summary
    {
        get
        {
            var matches = SummaryLine().Matches(Output);
            if (matches.Count == 0) return null;
            var m = matches[^1];
            return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value), int.Parse(m.Groups[4].Value));
        }
    }

    public bool ProcessingSkipped => Output.Contains("Skipping target \"_ImageFlowProcessAssets\" because all output files are up-to-date", StringComparison.Ordinal);

    public override string ToString() => $"exit {ExitCode}\n{Output}";

    [GeneratedRegex(@"ImageFlowIO: (\d+) assets, (\d+) processed, (\d+) from cache, (\d+) failed \(\d+ ms\)")]
    private static partial Regex SummaryLine();
}
