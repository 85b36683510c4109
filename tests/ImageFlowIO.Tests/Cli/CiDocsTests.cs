using System.Reflection;
using System.Text.RegularExpressions;
using ImageFlowIO.Caching;
using ImageFlowIO.Cli;
using YamlDotNet.RepresentationModel;

namespace ImageFlowIO.Tests.Cli;

/// <summary>
/// docs/ci.md's pipelines are copy-paste material: every YAML block parses as YAML, and every <c>imageflowio</c> command line,
/// MSBuild property and <c>IMAGEFLOWIO_*</c> variable in it exists in this version and parses (a renamed flag or property
/// fails here, not in a user's CI).
/// </summary>
public sealed partial class CiDocsTests
{
    private static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ImageFlowIO.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return Path.Combine(dir!.FullName, relative);
    }

    [GeneratedRegex(@"```yaml\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();

    /// <summary>Each YAML block of docs/ci.md with the shell commands of its scalars (run:, script:, steps), one command per line.</summary>
    private static List<(string Name, List<string> Commands, string Text)> Pipelines() => Pipelines(out _);

    /// <summary><paramref name="untrustedSecrets"/>: secrets (write token, signing key) given to a job or step without a trusted-branch condition.</summary>
    private static List<(string Name, List<string> Commands, string Text)> Pipelines(out List<string> untrustedSecrets)
    {
        var unguarded = new List<string>();
        var text = File.ReadAllText(RepoFile("docs/ci.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var pipelines = new List<(string, List<string>, string)>();
        foreach (Match block in YamlBlock().Matches(text))
        {
            var yaml = new YamlStream();
            yaml.Load(new StringReader(block.Groups[1].Value)); // throws on a YAML syntax error
            var scalars = new List<string>();
            void Walk(YamlNode node)
            {
                switch (node)
                {
                    case YamlScalarNode s when s.Value is not null: scalars.Add(s.Value); break;
                    case YamlSequenceNode q: foreach (var n in q.Children) Walk(n); break;
                    case YamlMappingNode m:
                        // A secret in an env: mapping is guarded by a GitHub expression on the main branch, or by its step's Azure condition.
                        if (m.Children.TryGetValue(new YamlScalarNode("env"), out var env) && env is YamlMappingNode variables)
                            foreach (var (k, v) in variables.Children)
                                if (((YamlScalarNode)k).Value is "IMAGEFLOWIO_REMOTE_CACHE_KEY" or "IMAGEFLOWIO_REMOTE_CACHE_TOKEN"
                                    && !((YamlScalarNode)v).Value!.Contains("refs/heads/main", StringComparison.Ordinal)
                                    && !(m.Children.TryGetValue(new YamlScalarNode("condition"), out var condition) && ((YamlScalarNode)condition).Value == "eq(variables.isMain, true)"))
                                    unguarded.Add($"{((YamlScalarNode)k).Value}: {((YamlScalarNode)v).Value}");
                        foreach (var (k, v) in m.Children) { Walk(k); Walk(v); }
                        break;
                }
            }
            foreach (var document in yaml.Documents) Walk(document.RootNode);
            var commands = scalars.SelectMany(s => s.Split('\n'))
                .SelectMany(line => line.Split(["; then ", "; else ", "; fi", " && "], StringSplitOptions.TrimEntries))
                .Select(line => line.StartsWith("if [", StringComparison.Ordinal) ? "" : line.Trim())
                .Where(line => line.StartsWith("imageflowio", StringComparison.Ordinal) || line.StartsWith("dotnet build", StringComparison.Ordinal))
                .ToList();
            var name = block.Groups[1].Value.Split('\n')[0];
            pipelines.Add((name, commands, block.Groups[1].Value));
        }
        untrustedSecrets = unguarded;
        return pipelines;
    }

    /// <summary>A CI expression stands for what a job would see: a matrix shard, a boolean, a secret.</summary>
    private static string Substitute(string line) =>
        Regex.Replace(Regex.Replace(line, @"\$\{\{\s*matrix\.shard\s*\}\}", "2/4"), @"\$\{\{[^}]*\}\}", "true");

    private static IEnumerable<string> Words(string line)
    {
        foreach (var word in Substitute(line).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (word is "2>" or ">" or "|" || word.StartsWith("2>", StringComparison.Ordinal)) yield break; // a redirection ends the command
            yield return word.Trim('"');
        }
    }

    [Fact]
    public void Every_pipeline_parses_and_uses_only_commands_flags_properties_and_variables_that_exist()
    {
        var pipelines = Pipelines();
        Assert.True(pipelines.Count >= 4, "GitHub Actions (cache, fleet), Azure Pipelines, GitLab: " + pipelines.Count + " YAML blocks");
        var targets = File.ReadAllText(RepoFile("src/Tasks/build/ImageFlowIO.targets")) + File.ReadAllText(RepoFile("ImageFlowIO.Build.props"));
        var variables = new[] { typeof(RemoteCacheSettings), typeof(StageCacheFactory), typeof(InputShard) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            .Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!)
            .Where(v => v.StartsWith("IMAGEFLOWIO_", StringComparison.Ordinal)).ToHashSet();
        var problems = new List<string>();
        var cliLines = 0;
        var buildLines = 0;
        foreach (var (name, commands, text) in pipelines)
        {
            Assert.NotEmpty(commands);
            foreach (var command in commands)
            {
                var words = Words(command).ToArray();
                if (words[0] == "imageflowio")
                {
                    cliLines++;
                    foreach (var error in ImageFlowCli.Parse(words[1..]).Errors) problems.Add($"{name}: `{command}`: {error.Message}");
                    continue;
                }
                buildLines++;
                foreach (var word in words.Where(w => w.StartsWith("-p:", StringComparison.Ordinal)))
                {
                    var (property, value) = (word[3..word.IndexOf('=')], word[(word.IndexOf('=') + 1)..]);
                    if (!targets.Contains($"$({property})", StringComparison.Ordinal)) problems.Add($"{name}: MSBuild property {property} does not exist");
                    if (property == "ImageFlowShard" && !InputShard.TryResolve(value, _ => null, out _, out _, out var why)) problems.Add($"{name}: ImageFlowShard={value}: {why}");
                    if (property.EndsWith("ReadOnly", StringComparison.Ordinal) && value is not ("true" or "false")) problems.Add($"{name}: {property}={value} is not a boolean");
                }
            }
            foreach (Match variable in Regex.Matches(text, @"IMAGEFLOWIO_[A-Z_]+"))
                if (!variables.Contains(variable.Value)) problems.Add($"{name}: variable {variable.Value} is not read by ImageFlowIO");
        }
        Pipelines(out var untrusted);
        // The signing key and the write token go to trusted-branch builds only (GitLab: protected variables, not in the YAML).
        foreach (var secret in untrusted) problems.Add("given to every branch: " + secret);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(cliLines >= 3 && buildLines >= 5, $"{cliLines} CLI lines, {buildLines} dotnet build lines");
    }

    [Fact]
    public void Every_bazel_remote_variable_the_docs_name_is_one_bazel_remote_reads()
    {
        // The list is bazel-remote's own flags.go names (origin in the file); `PREFIX_*` in prose names a family.
        var known = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "TestData", "bazel-remote", "env-variables.txt"))
            .Where(l => l.Length > 0 && l[0] != '#').ToHashSet(StringComparer.Ordinal);
        Assert.Contains("BAZEL_REMOTE_S3_BUCKET", known);
        var named = Regex.Matches(File.ReadAllText(RepoFile("docs/ci.md")), @"BAZEL_REMOTE_[A-Z0-9_]+(\*)?").Select(m => m.Value).Distinct().ToList();
        Assert.True(named.Count >= 8, string.Join(", ", named));
        var unknown = named.Where(n => n.EndsWith('*') ? !known.Any(k => k.StartsWith(n[..^1], StringComparison.Ordinal)) : !known.Contains(n)).ToList();
        Assert.True(unknown.Count == 0, "not read by bazel-remote: " + string.Join(", ", unknown));
    }

    [Fact]
    public void A_renamed_flag_or_property_would_fail_the_check()
    {
        Assert.NotEmpty(ImageFlowCli.Parse(Words("imageflowio --config imageflow.json --shard-auto").ToArray()[1..]).Errors);
        Assert.Empty(ImageFlowCli.Parse(Words("imageflowio --config imageflow.json --shard auto --remote-cache-read-only --errors json 2> e.json").ToArray()[1..]).Errors);
        Assert.Equal(["--shard", "2/4"], Words("--shard ${{ matrix.shard }}"));
        Assert.False(InputShard.TryResolve("5/4", _ => null, out _, out _, out _));
    }
}
