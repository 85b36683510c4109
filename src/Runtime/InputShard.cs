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
