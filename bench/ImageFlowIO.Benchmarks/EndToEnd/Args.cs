namespace ImageFlowIO.Benchmarks.EndToEnd;

/// <summary>A minimal <c>--name value</c> / <c>--flag</c> parser for the harness and its children.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    public Args(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException("unexpected argument " + args[i]);
            var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            _values[args[i][2..]] = hasValue ? args[++i] : null;
        }
    }

    public string Required(string name) => _values.TryGetValue(name, out var v) && v is not null ? v : throw new ArgumentException($"--{name} is required");
    public string? Optional(string name) => _values.GetValueOrDefault(name);
    public int Int(string name, int fallback) => _values.TryGetValue(name, out var v) && v is not null ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
    public bool Flag(string name) => _values.ContainsKey(name);
}
