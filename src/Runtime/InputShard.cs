using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ImageFlowIO;

/// <summary>
/// Shard <c>k</c> of <c>n</c> (CLI <c>--shard k/n</c>, MSBuild <c>ImageFlowShard</c>): a deterministic 1/n of the
/// inputs, chosen by a stable hash of each input's path relative to the input root (forward slashes), so n CI jobs
/// split one job without talking to each other and the same input always lands in the same shard on every machine.
/// </summary>
internal readonly record struct InputShard(int Index, int Count)
{
    /// <summary>Parses <c>k/n</c> with 1 ≤ k ≤ n; false with a message naming the fix.</summary>
    public static bool TryParse(string? text, out InputShard shard, out string problem)
    {
        shard = default;
        var parts = (text ?? "").Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var k)
            && int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= 1 && k >= 1 && k <= n)
        {
            shard = new InputShard(k, n);
            problem = "";
            return true;
        }
        problem = $"the shard '{text}' is not k/n with 1 <= k <= n (for example 1/4)";
        return false;
    }

    /// <summary>The value that asks for the CI's own parallelism (<c>--shard auto</c>, <c>ImageFlowShard=auto</c>).</summary>
    public const string Auto = "auto";

    /// <summary>Set beside Kubernetes Indexed Jobs' <c>JOB_COMPLETION_INDEX</c>, which has no total of its own (the Job's <c>completions</c>).</summary>
    public const string KubernetesCountVariable = "IMAGEFLOWIO_SHARD_COUNT";

    /// <summary>One CI's parallelism variables: its name, the index and total variables, and whether the index counts from 0.</summary>
    internal sealed record CiVariables(string System, string IndexVariable, string TotalVariable, bool ZeroBased);

    /// <summary>Every CI whose variables <c>auto</c> reads, in the order they are tried.</summary>
    internal static readonly CiVariables[] CiSystems =
    [
        new("GitLab", "CI_NODE_INDEX", "CI_NODE_TOTAL", ZeroBased: false),
        new("Azure Pipelines", "SYSTEM_JOBPOSITIONINPHASE", "SYSTEM_TOTALJOBSINPHASE", ZeroBased: false),
        new("CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", ZeroBased: true),
        new("Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", ZeroBased: true),
        new("Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", KubernetesCountVariable, ZeroBased: true),
    ];

    /// <summary>Every variable <c>auto</c> reads (the build server forwards them; the targets fold them into the input manifest).</summary>
    internal static IEnumerable<string> AutoVariables => CiSystems.SelectMany(c => new[] { c.IndexVariable, c.TotalVariable });

    /// <summary>
    /// <c>k/n</c> or <c>auto</c>. For <c>auto</c>, the shard from the CI's own variables (<see cref="CiSystems"/>), or the
    /// whole run (<c>1/1</c>) when none is set; <paramref name="source"/> says which variables decided it (one info line).
    /// False with a message naming the fix for a malformed value, half a pair, an index outside its total, or two CIs
    /// that disagree.
    /// </summary>
    public static bool TryResolve(string? text, Func<string, string?> environment, out InputShard shard, out string source, out string problem)
    {
        source = "";
        if (!string.Equals(text?.Trim(), Auto, StringComparison.OrdinalIgnoreCase))
        {
            var parsed = TryParse(text, out shard, out problem);
            source = parsed ? $"shard {shard}" : "";
            return parsed;
        }
        shard = new InputShard(1, 1);
        problem = "";
        var found = new List<(InputShard Shard, string Source)>();
        foreach (var ci in CiSystems)
        {
            var index = Value(environment, ci.IndexVariable);
            var total = Value(environment, ci.TotalVariable);
            if (index is null && total is null) continue;
            var pair = $"{ci.IndexVariable}={index ?? "(unset)"}, {ci.TotalVariable}={total ?? "(unset)"}";
            // GitLab sets CI_NODE_TOTAL=1 on every job and CI_NODE_INDEX only with parallel:, which is one whole run.
            if (index is null && total == "1") { found.Add((new InputShard(1, 1), $"{pair} ({ci.System})")); continue; }
            if (index is null || total is null)
            {
                problem = $"auto found {pair} ({ci.System}): set both, or neither";
                return false;
            }
            if (!int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var i)
                || !int.TryParse(total, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            {
                problem = $"auto found {pair} ({ci.System}): both must be whole numbers, the total at least 1";
                return false;
            }
            var k = ci.ZeroBased ? i + 1 : i;
            if (k < 1 || k > n)
            {
                problem = $"auto found {pair} ({ci.System}): the index must be {(ci.ZeroBased ? "0" : "1")} to {(ci.ZeroBased ? n - 1 : n)}";
                return false;
            }
            found.Add((new InputShard(k, n), $"{pair} ({ci.System})"));
        }
        if (found.Count == 0)
        {
            source = "shard auto: no CI parallelism variables are set (" + string.Join(", ", CiSystems.Select(c => c.System)) + "); running every input";
            return true;
        }
        if (found.Select(f => f.Shard).Distinct().Count() > 1)
        {
            problem = "auto found variables of more than one CI that disagree: " + string.Join("; ", found.Select(f => $"{f.Shard} from {f.Source}")) + ". Unset one, or give k/n";
            return false;
        }
        shard = found[0].Shard;
        source = $"shard auto: {shard} from " + string.Join("; ", found.Select(f => f.Source));
        return true;
    }

    private static string? Value(Func<string, string?> environment, string name) => environment(name) is { } v && v.Trim().Length > 0 ? v.Trim() : null;

    /// <summary>Whether the input at <paramref name="relativePath"/> (relative to the input root) belongs to this shard.</summary>
    public bool Contains(string relativePath) => Count <= 1 || (int)(Hash(relativePath) % (ulong)Count) == Index - 1;

    /// <summary>The inputs of this shard, in their original order.</summary>
    public IReadOnlyList<T> Select<T>(IEnumerable<T> inputs, Func<T, string> fullPath, string inputRoot)
    {
        var shard = this;
        return inputs.Where(i => shard.Contains(RelativePath(inputRoot, fullPath(i)))).ToList();
    }

    /// <summary>The path as the hash sees it: relative to the root, forward slashes.</summary>
    public static string RelativePath(string inputRoot, string fullPath) => Path.GetRelativePath(inputRoot, fullPath).Replace('\\', '/');

    /// <summary>First 8 bytes of SHA-256 of the UTF-8 path (stable across processes, platforms and .NET versions).</summary>
    private static ulong Hash(string relativePath) =>
        BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(relativePath.Replace('\\', '/'))));

    public override string ToString() => $"{Index}/{Count}";
}
