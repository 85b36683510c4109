using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using ImageFlowIO.Generators.Model;
using Microsoft.CodeAnalysis.CSharp;

namespace ImageFlowIO.Generators
{
    /// <summary>
    /// Reads the catalogue file(s) the build task writes (<c>imageflow.catalogue.json</c>) into a <see cref="CatalogueModel"/>:
    /// entries ordered by path, each with a member identifier and nested folder classes. Never throws: a catalogue that
    /// cannot be read (unknown version, malformed) counts as missing, which gives an empty class until the next build
    /// writes it again.
    /// </summary>
    internal static class CatalogueParser
    {
        public const string DefaultClassName = "ImageFlowAssets";
        /// <summary>Catalogue format the task writes; another version is ignored (the task rewrites it on its next run).</summary>
        public const int FormatVersion = 1;
        /// <summary>Types the generated code declares beside the catalogue class (the configured class name must not take them).</summary>
        public static readonly string[] TypeNames = { "ImageFlowAsset", "ImageFlowAssetScore", "ImageFlowAssetChannel" };

        public static CatalogueSettings Settings(string? rootNamespace, string? className, string? enabled)
        {
            var ns = PipelineParser.NamespaceOf(rootNamespace);
            var name = string.IsNullOrWhiteSpace(className) ? DefaultClassName : Identifier(className!.Trim());
            // A class name that would clash with the entry types gets a suffix rather than broken code.
            if (Array.IndexOf(TypeNames, name) >= 0) name += "Catalogue";
            var flag = enabled?.Trim();
            return new CatalogueSettings(ns, name,
                Requested: string.Equals(flag, "true", StringComparison.OrdinalIgnoreCase),
                Disabled: string.Equals(flag, "false", StringComparison.OrdinalIgnoreCase));
        }

        public static CatalogueModel Parse(ImmutableEquatableArray<string> texts, CatalogueSettings settings, CancellationToken cancellationToken)
        {
            var emit = !settings.Disabled && (settings.Requested || texts.Count > 0);
            if (!emit) return new CatalogueModel(settings, false, ImmutableEquatableArray<CatalogueMember>.Empty, ImmutableEquatableArray<CatalogueFolder>.Empty);
            var entries = new Dictionary<string, CatalogueEntrySpec>(StringComparer.Ordinal);
            foreach (var text in texts)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var entry in ReadEntries(text))
                    if (!entries.ContainsKey(entry.Path)) entries.Add(entry.Path, entry);
            }
            var ordered = entries.Values.OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
            var (members, folders) = AssignIdentifiers(ordered, settings.ClassName);
            return new CatalogueModel(settings, true, members.ToImmutableEquatableArray(), folders.ToImmutableEquatableArray());
        }

        internal static List<CatalogueEntrySpec> ReadEntries(string text)
        {
            var result = new List<CatalogueEntrySpec>();
            try
            {
                using var document = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || version.GetInt32() != FormatVersion
                    || !root.TryGetProperty("assets", out var assets) || assets.ValueKind != JsonValueKind.Array)
                    return result;
                foreach (var asset in assets.EnumerateArray())
                    if (ReadEntry(asset) is { } entry) result.Add(entry);
            }
            catch (Exception ex) when (ex is JsonException || ex is InvalidOperationException || ex is FormatException)
            {
                result.Clear();
            }
            return result;
        }

        private static CatalogueEntrySpec? ReadEntry(JsonElement asset)
        {
            if (asset.ValueKind != JsonValueKind.Object) return null;
            var path = String(asset, "path");
            if (string.IsNullOrEmpty(path)) return null;
            var channels = new List<ChannelSpec>();
            if (asset.TryGetProperty("channels", out var cs) && cs.ValueKind == JsonValueKind.Array)
                foreach (var c in cs.EnumerateArray())
                    channels.Add(new ChannelSpec(FloatLiteral(c, "min"), FloatLiteral(c, "max"), FloatLiteral(c, "mean")));
            var topK = new List<ScoreSpec>();
            if (asset.TryGetProperty("topK", out var ks) && ks.ValueKind == JsonValueKind.Array)
                foreach (var k in ks.EnumerateArray())
                    topK.Add(new ScoreSpec(String(k, "label") ?? "", FloatLiteral(k, "score")));
            var lines = new List<LineSpec>();
            if (asset.TryGetProperty("lines", out var ls) && ls.ValueKind == JsonValueKind.Array)
                foreach (var l in ls.EnumerateArray())
                {
                    var box = new List<string>();
                    if (l.TryGetProperty("box", out var b) && b.ValueKind == JsonValueKind.Array)
                        foreach (var v in b.EnumerateArray()) box.Add(FloatValue(v));
                    if (box.Count != 8) continue;
                    lines.Add(new LineSpec(String(l, "text") ?? "", FloatLiteral(l, "score"), box.ToImmutableEquatableArray()));
                }
            var checks = new List<CheckSpec>();
            if (asset.TryGetProperty("checks", out var chs) && chs.ValueKind == JsonValueKind.Array)
                foreach (var c in chs.EnumerateArray())
                    checks.Add(new CheckSpec(String(c, "id") ?? "", String(c, "code") ?? "", String(c, "severity") ?? "warning", String(c, "message") ?? ""));
            return new CatalogueEntrySpec(
                path!.Replace('\\', '/'),
                String(asset, "config") ?? "",
                Strings(asset, "outputs").ToImmutableEquatableArray(),
                Int(asset, "inputWidth"), Int(asset, "inputHeight"), Int(asset, "outputWidth"), Int(asset, "outputHeight"),
                Ints(asset, "outputShape").ToImmutableEquatableArray(),
                channels.ToImmutableEquatableArray(),
                topK.ToImmutableEquatableArray(),
                String(asset, "code"),
                String(asset, "error"),
                lines.ToImmutableEquatableArray(),
                checks.ToImmutableEquatableArray());
        }

        private static string? String(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        private static int Int(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : 0;

        private static IEnumerable<string> Strings(JsonElement e, string name)
        {
            if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array) yield break;
            foreach (var item in v.EnumerateArray())
                if (item.ValueKind == JsonValueKind.String) yield return item.GetString()!.Replace('\\', '/');
        }

        private static IEnumerable<int> Ints(JsonElement e, string name)
        {
            if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array) yield break;
            foreach (var item in v.EnumerateArray())
                if (item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out var i)) yield return i;
        }

        /// <summary>A JSON number (or "NaN"/"Infinity"/"-Infinity") as a C# float literal; the number's own invariant text is kept.</summary>
        internal static string FloatLiteral(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? FloatValue(v) : "0f";

        /// <summary>A JSON number (or "NaN"/"Infinity"/"-Infinity") as a C# float literal.</summary>
        internal static string FloatValue(JsonElement v)
        {
            if (v.ValueKind == JsonValueKind.String)
            {
                switch (v.GetString())
                {
                    case "NaN": return "float.NaN";
                    case "Infinity": return "float.PositiveInfinity";
                    case "-Infinity": return "float.NegativeInfinity";
                    default: return "0f";
                }
            }
            if (v.ValueKind != JsonValueKind.Number) return "0f";
            var raw = v.GetRawText();
            // Only digits, sign, point and exponent reach the source (the text came from a JSON number, checked here again).
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) || double.IsInfinity((float)parsed)) return "0f";
            return raw + "f";
        }

        /// <summary>
        /// Gives every entry a member name and every folder a nested class, per folder: folders first (ordinal order of
        /// their names), then files (ordinal order); files whose stems sanitise alike keep their extension (CatJpg, CatPng);
        /// a name already taken in its class (or equal to the class's own name, or <c>All</c> at the top) gets _2, _3, ...
        /// Only paths decide names, so editing an asset never renames anything.
        /// </summary>
        internal static (List<CatalogueMember> Members, List<CatalogueFolder> Folders) AssignIdentifiers(IReadOnlyList<CatalogueEntrySpec> entries, string className)
        {
            var root = new FolderNode(className, "", new string[0]);
            foreach (var entry in entries)
            {
                var segments = entry.Path.Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries);
                var node = root;
                for (var i = 0; i < segments.Length - 1; i++) node = node.Child(segments[i]);
                node.Files.Add((segments.Length == 0 ? entry.Path : segments[segments.Length - 1], entry));
            }
            var members = new Dictionary<CatalogueEntrySpec, CatalogueMember>();
            var folders = new List<CatalogueFolder>();
            Assign(root, isRoot: true, members, folders);
            return (entries.Select(e => members[e]).ToList(), folders);
        }

        private static void Assign(FolderNode node, bool isRoot, Dictionary<CatalogueEntrySpec, CatalogueMember> members, List<CatalogueFolder> folders)
        {
            var taken = new HashSet<string>(StringComparer.Ordinal) { node.Identifier };
            if (isRoot) taken.Add("All");
            foreach (var child in node.Children.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                child.Identifier = Unique(Identifier(child.Name), taken);
                child.Scope = node.Scope.Concat(new[] { child.Identifier }).ToArray();
                folders.Add(new CatalogueFolder(child.Scope.ToImmutableEquatableArray(), child.Path));
                Assign(child, isRoot: false, members, folders);
            }
            var files = node.Files.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
            var stems = files.GroupBy(f => Identifier(Stem(f.Name)), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            foreach (var (name, entry) in files)
            {
                var stem = Identifier(Stem(name));
                var wanted = stems[stem] > 1 ? Identifier(name) : stem;
                members[entry] = new CatalogueMember(node.Scope.ToImmutableEquatableArray(), Unique(wanted, taken), entry);
            }
        }

        private static string Unique(string wanted, HashSet<string> taken)
        {
            if (taken.Add(wanted)) return wanted;
            for (var n = 2; ; n++)
            {
                var candidate = wanted + "_" + n.ToString(CultureInfo.InvariantCulture);
                if (taken.Add(candidate)) return candidate;
            }
        }

        private static string Stem(string fileName)
        {
            var dot = fileName.LastIndexOf('.');
            return dot > 0 ? fileName.Substring(0, dot) : fileName;
        }

        /// <summary>
        /// A C# identifier from a file or folder name: words (runs of letters, digits and '_') in PascalCase, joined;
        /// '_' in front of a leading digit; "_" for a name with no word. "cat photo-2.jpg" → CatPhoto2Jpg, "2024" → _2024.
        /// </summary>
        internal static string Identifier(string name)
        {
            var sb = new StringBuilder();
            var upperNext = true;
            foreach (var ch in name)
            {
                if (char.IsLetterOrDigit(ch) || ch == '_')
                {
                    sb.Append(upperNext ? char.ToUpperInvariant(ch) : ch);
                    upperNext = false;
                }
                else upperNext = true;
            }
            if (sb.Length == 0) return "_";
            if (char.IsDigit(sb[0])) sb.Insert(0, '_');
            var text = sb.ToString();
            return SyntaxFacts.GetKeywordKind(text) != SyntaxKind.None ? "_" + text : text;
        }

        private sealed class FolderNode
        {
            public FolderNode(string identifier, string path, string[] scope) { Identifier = identifier; Path = path; Scope = scope; }
            public string Name => Path.Substring(Path.LastIndexOf('/') + 1);
            public string Path { get; }
            public string Identifier { get; set; }
            public string[] Scope { get; set; }
            public SortedDictionary<string, FolderNode> Children { get; } = new SortedDictionary<string, FolderNode>(StringComparer.Ordinal);
            public List<(string Name, CatalogueEntrySpec Entry)> Files { get; } = new List<(string, CatalogueEntrySpec)>();

            public FolderNode Child(string name)
            {
                if (!Children.TryGetValue(name, out var child))
                {
                    child = new FolderNode("", Path.Length == 0 ? name : Path + "/" + name, Scope);
                    Children.Add(name, child);
                }
                return child;
            }
        }
    }
}
