using System.Collections;
using System.Globalization;
using System.IO.Hashing;
using System.Reflection;
using System.Text;

namespace ImageFlowIO.BuildServer;

/// <summary>
/// Canonical text of a config object graph (every public property's effective value, sorted by name), hashed into an
/// asset's fingerprint. Plain reflection on purpose: System.Text.Json (reflection or source-generated) JIT-compiles a
/// converter per config type and enum, ~250 ms in every build that runs the task.
/// </summary>
internal static class ConfigFingerprint
{
    private const int MaxDepth = 16;

    /// <summary>XxHash128 (hex) of the named parts' canonical text; properties named in <paramref name="excluded"/> ("Type.Property") are left out.</summary>
    public static string Digest(IEnumerable<KeyValuePair<string, object?>> parts, IReadOnlySet<string> excluded)
    {
        var text = new StringBuilder(4096);
        foreach (var (name, value) in parts)
        {
            text.Append(name).Append('=');
            Append(text, value, excluded, 0);
            text.Append('\n');
        }
        return Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static void Append(StringBuilder text, object? value, IReadOnlySet<string> excluded, int depth)
    {
        switch (value)
        {
            case null: text.Append("null"); return;
            case string s: text.Append('"').Append(s.Replace("\\", "\\\\").Replace("\"", "\\\"")).Append('"'); return;
            case Enum e: text.Append(e.ToString()); return;
            case IFormattable f when value.GetType().IsPrimitive || value is decimal: text.Append(f.ToString(null, CultureInfo.InvariantCulture)); return;
            case bool b: text.Append(b ? "true" : "false"); return;
            case IEnumerable items:
                text.Append('[');
                foreach (var item in items) { Append(text, item, excluded, depth + 1); text.Append(','); }
                text.Append(']');
                return;
        }
        if (depth >= MaxDepth) throw new InvalidOperationException("config object graph too deep for a fingerprint");
        var type = value.GetType();
        text.Append('{');
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (property.GetIndexParameters().Length > 0 || excluded.Contains(type.Name + "." + property.Name)) continue;
            text.Append(property.Name).Append(':');
            Append(text, property.GetValue(value), excluded, depth + 1);
            text.Append(',');
        }
        text.Append('}');
    }
}
