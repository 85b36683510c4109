using System.Collections.Generic;
using System.Linq;
using System.Text;
using ImageFlowIO.Generators.Model;
using Microsoft.CodeAnalysis.CSharp;

namespace ImageFlowIO.Generators
{
    /// <summary>
    /// Writes the catalogue's C#: the class with its folder classes and <c>All</c> (one file), the entry types (one file),
    /// and one file per asset member, so a changed asset re-emits only its own file. Pure text: no symbols, no I/O.
    /// </summary>
    internal static class CatalogueEmitter
    {
        private const string GeneratorName = "ImageFlowIO.Generators";

        public static string IndexHintName(CatalogueSettings settings) => settings.ClassName + ".g.cs";
        public static string TypesHintName(CatalogueSettings settings) => settings.ClassName + ".Types.g.cs";
        public static string MemberHintName(CatalogueMemberSource source) => source.Settings.ClassName + "." + source.Member.QualifiedName + ".g.cs";

        private static string Version => typeof(CatalogueEmitter).Assembly.GetName().Version?.ToString() ?? "0.0.0.0";

        private static string Type(CatalogueSettings settings, string name) => "global::" + settings.Namespace + "." + name;

        public static string EmitIndex(CatalogueIndex index)
        {
            var s = index.Settings;
            var asset = Type(s, "ImageFlowAsset");
            var w = Header("the asset catalogue");
            w.Line("namespace " + s.Namespace);
            w.Open();
            w.Line("/// <summary>");
            w.Line("/// What the build computed for each <c>ImageFlowAsset</c> of this project: one member per asset (nested classes per");
            w.Line("/// folder), read from the catalogue the ImageFlowIO build task writes in obj/. Empty until the first build ran.");
            w.Line("/// </summary>");
            w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"" + GeneratorName + "\", \"" + Version + "\")]");
            w.Line("internal static partial class " + s.ClassName);
            w.Open();
            w.Line("private static global::System.Collections.Generic.IReadOnlyList<" + asset + ">? s_all;");
            w.Line();
            w.Line("/// <summary>Every asset, ordered by <see cref=\"" + asset + ".Path\"/> (ordinal).</summary>");
            w.Line("public static global::System.Collections.Generic.IReadOnlyList<" + asset + "> All");
            w.Open();
            w.Line("get");
            w.Open();
            w.Line("if (s_all is null)");
            w.Open();
            w.Line("s_all = global::System.Array.AsReadOnly(new " + asset + "[]");
            w.Open();
            foreach (var member in index.AllMembers) w.Line(member + ",");
            w.Close("});");
            w.Close();
            w.Line("return s_all;");
            w.Close();
            w.Close();
            WriteFolders(w, index.Folders, ImmutableEquatableArray<string>.Empty);
            w.Close();
            w.Close();
            return w.ToString();
        }

        /// <summary>The nested folder classes directly inside <paramref name="scope"/>, recursively.</summary>
        private static void WriteFolders(SourceWriter w, ImmutableEquatableArray<CatalogueFolder> folders, ImmutableEquatableArray<string> scope)
        {
            var first = true;
            foreach (var folder in folders.Where(f => f.Scope.Count == scope.Count + 1 && f.Scope.Take(scope.Count).SequenceEqual(scope)))
            {
                if (scope.Count == 0 || !first) w.Line();
                first = false;
                w.Line("/// <summary>The assets in <c>" + Xml(folder.Folder) + "/</c>.</summary>");
                w.Line("public static partial class " + folder.Scope[folder.Scope.Count - 1]);
                w.Open();
                WriteFolders(w, folders, folder.Scope);
                w.Close();
            }
        }

        public static string EmitMember(CatalogueMemberSource source)
        {
            var s = source.Settings;
            var member = source.Member;
            var e = member.Entry;
            var asset = Type(s, "ImageFlowAsset");
            var w = Header(e.Path);
            w.Line("namespace " + s.Namespace);
            w.Open();
            w.Line("partial class " + s.ClassName);
            w.Open();
            foreach (var name in member.Scope)
            {
                w.Line("partial class " + name);
                w.Open();
            }
            w.Line("/// <summary><c>" + Xml(e.Path) + "</c>: " + Xml(Summary(e)) + "</summary>");
            w.Line("public static " + asset + " " + member.Name + " { get; } = new " + asset + "(");
            w.Indent();
            w.Line("path: " + Literal(e.Path) + ",");
            w.Line("config: " + Literal(e.Config) + ",");
            w.Line("outputs: " + Array("string", e.Outputs.Select(Literal)) + ",");
            w.Line("inputWidth: " + Int(e.InputWidth) + ", inputHeight: " + Int(e.InputHeight) + ",");
            w.Line("outputWidth: " + Int(e.OutputWidth) + ", outputHeight: " + Int(e.OutputHeight) + ",");
            w.Line("outputShape: " + Array("int", e.OutputShape.Select(Int)) + ",");
            w.Line("channels: " + Array(Type(s, "ImageFlowAssetChannel"), e.Channels.Select(c =>
                "new " + Type(s, "ImageFlowAssetChannel") + "(" + c.Min + ", " + c.Max + ", " + c.Mean + ")")) + ",");
            w.Line("topK: " + Array(Type(s, "ImageFlowAssetScore"), e.TopK.Select(k =>
                "new " + Type(s, "ImageFlowAssetScore") + "(" + Literal(k.Label) + ", " + k.Score + ")")) + ",");
            w.Line("errorCode: " + Literal(e.ErrorCode) + ",");
            // A chain's lines and fired checks: named arguments only when there are any (other assets' source stays as it was).
            var extra = new List<string>();
            if (e.Lines.Count > 0)
                extra.Add("lines: " + Array(Type(s, "ImageFlowAssetLine"), e.Lines.Select(l =>
                    "new " + Type(s, "ImageFlowAssetLine") + "(" + Literal(l.Text) + ", " + l.Score + ", " + string.Join(", ", l.Box) + ")")));
            if (e.Checks.Count > 0)
                extra.Add("checks: " + Array(Type(s, "ImageFlowAssetCheck"), e.Checks.Select(c =>
                    "new " + Type(s, "ImageFlowAssetCheck") + "(" + Literal(c.Id) + ", " + Literal(c.Code) + ", " + Literal(c.Severity) + ", " + Literal(c.Message) + ")")));
            if (extra.Count == 0) w.Line("errorMessage: " + Literal(e.ErrorMessage) + ");");
            else
            {
                w.Line("errorMessage: " + Literal(e.ErrorMessage) + ",");
                for (var i = 0; i < extra.Count; i++) w.Line(extra[i] + (i == extra.Count - 1 ? ");" : ","));
            }
            w.Outdent();
            foreach (var _ in member.Scope) w.Close();
            w.Close();
            w.Close();
            return w.ToString();
        }

        private static string Summary(CatalogueEntrySpec e)
        {
            if (e.ErrorCode != null) return "failed with " + e.ErrorCode + ".";
            if (e.TopK.Count > 0) return "top label \"" + e.TopK[0].Label + "\" (" + e.TopK[0].Score.TrimEnd('f') + ").";
            if (e.Lines.Count > 0) return e.Lines.Count + (e.Lines.Count == 1 ? " line" : " lines") + " of text, first \"" + e.Lines[0].Text + "\"" + (e.Checks.Count > 0 ? ", " + e.Checks.Count + " checks fired." : ".");
            return e.InputWidth + "x" + e.InputHeight + " input, " + e.Outputs.Count + (e.Outputs.Count == 1 ? " output." : " outputs.");
        }

        public static string EmitTypes(CatalogueSettings s)
        {
            var w = Header("the asset catalogue");
            w.Line("namespace " + s.Namespace);
            w.Open();
            var lines = new[]
            {
                "/// <summary>What the ImageFlowIO build computed for one asset (an entry of <see cref=\"" + Type(s, s.ClassName) + "\"/>).</summary>",
                "[global::System.CodeDom.Compiler.GeneratedCode(\"" + GeneratorName + "\", \"" + Version + "\")]",
                "internal sealed class ImageFlowAsset",
                "{",
                "    public ImageFlowAsset(string path, string config, string[] outputs, int inputWidth, int inputHeight, int outputWidth, int outputHeight,",
                "        int[] outputShape, ImageFlowAssetChannel[] channels, ImageFlowAssetScore[] topK, string? errorCode, string? errorMessage,",
                "        ImageFlowAssetLine[]? lines = null, ImageFlowAssetCheck[]? checks = null)",
                "    {",
                "        Path = path;",
                "        Config = config;",
                "        Outputs = global::System.Array.AsReadOnly(outputs);",
                "        InputWidth = inputWidth;",
                "        InputHeight = inputHeight;",
                "        OutputWidth = outputWidth;",
                "        OutputHeight = outputHeight;",
                "        OutputShape = global::System.Array.AsReadOnly(outputShape);",
                "        Channels = global::System.Array.AsReadOnly(channels);",
                "        TopK = global::System.Array.AsReadOnly(topK);",
                "        ErrorCode = errorCode;",
                "        ErrorMessage = errorMessage;",
                "        Lines = global::System.Array.AsReadOnly(lines ?? global::System.Array.Empty<ImageFlowAssetLine>());",
                "        Checks = global::System.Array.AsReadOnly(checks ?? global::System.Array.Empty<ImageFlowAssetCheck>());",
                "    }",
                "",
                "    /// <summary>The asset's path relative to the project, forward slashes (its Link for a linked item).</summary>",
                "    public string Path { get; }",
                "    /// <summary>The config that processed it, relative to the project.</summary>",
                "    public string Config { get; }",
                "    /// <summary>Files written for it, relative to the app's base directory (where the build copies them).</summary>",
                "    public global::System.Collections.Generic.IReadOnlyList<string> Outputs { get; }",
                "    /// <summary>Size of the decoded input image in pixels.</summary>",
                "    public int InputWidth { get; }",
                "    public int InputHeight { get; }",
                "    /// <summary>Size of the saved output image in pixels (0 when no image was saved).</summary>",
                "    public int OutputWidth { get; }",
                "    public int OutputHeight { get; }",
                "    /// <summary>Shape of the model output tensor, e.g. [1, 3, 224, 224] or [1, classes].</summary>",
                "    public global::System.Collections.Generic.IReadOnlyList<int> OutputShape { get; }",
                "    /// <summary>Min, max and mean of the model output per channel (one channel for a [N, classes] output).</summary>",
                "    public global::System.Collections.Generic.IReadOnlyList<ImageFlowAssetChannel> Channels { get; }",
                "    /// <summary>For a classifier (labels configured, output [N, classes]): the top-k labels and scores, best first; else empty.</summary>",
                "    public global::System.Collections.Generic.IReadOnlyList<ImageFlowAssetScore> TopK { get; }",
                "    /// <summary>The best label of a classifier; null when the model is not a classifier (or the asset failed).</summary>",
                "    public string? TopLabel => TopK.Count > 0 ? TopK[0].Label : null;",
                "    /// <summary>The best label's score (after the config's activation); 0 when the model is not a classifier.</summary>",
                "    public float TopScore => TopK.Count > 0 ? TopK[0].Score : 0f;",
                "    /// <summary>The IFIO error code when the asset failed; null when it succeeded.</summary>",
                "    public string? ErrorCode { get; }",
                "    /// <summary>The error message when the asset failed; null when it succeeded.</summary>",
                "    public string? ErrorMessage { get; }",
                "    public bool Succeeded => ErrorCode is null;",
                "    /// <summary>For a chain (config <c>chain</c>): the lines of text the build read, in reading order; else empty.</summary>",
                "    public global::System.Collections.Generic.IReadOnlyList<ImageFlowAssetLine> Lines { get; }",
                "    /// <summary>The lines' text joined by <c>\\n</c> (empty when there are none).</summary>",
                "    public string Text",
                "    {",
                "        get",
                "        {",
                "            var text = new global::System.Text.StringBuilder();",
                "            for (var i = 0; i < Lines.Count; i++) text.Append(i == 0 ? \"\" : \"\\n\").Append(Lines[i].Text);",
                "            return text.ToString();",
                "        }",
                "    }",
                "    /// <summary>The config's checks that fired for this asset (IFIO7###), whether or not its item silenced them.</summary>",
                "    public global::System.Collections.Generic.IReadOnlyList<ImageFlowAssetCheck> Checks { get; }",
                "",
                "    /// <summary>The full path of an output file beside the running app.</summary>",
                "    public string OutputFile(int index = 0) => global::System.IO.Path.Combine(global::System.AppContext.BaseDirectory, Outputs[index]);",
                "",
                "    public override string ToString() => Path;",
                "}",
                "",
                "/// <summary>One of a classifier's top-k results.</summary>",
                "[global::System.CodeDom.Compiler.GeneratedCode(\"" + GeneratorName + "\", \"" + Version + "\")]",
                "internal readonly struct ImageFlowAssetScore",
                "{",
                "    public ImageFlowAssetScore(string label, float score) { Label = label; Score = score; }",
                "    public string Label { get; }",
                "    public float Score { get; }",
                "    public override string ToString() => Label + \" \" + Score.ToString(global::System.Globalization.CultureInfo.InvariantCulture);",
                "}",
                "",
                "/// <summary>A line of text a chain read: the text, its score and its box (four corners in source pixels, clockwise from the text's top-left).</summary>",
                "[global::System.CodeDom.Compiler.GeneratedCode(\"" + GeneratorName + "\", \"" + Version + "\")]",
                "internal sealed class ImageFlowAssetLine",
                "{",
                "    public ImageFlowAssetLine(string text, float score, float x0, float y0, float x1, float y1, float x2, float y2, float x3, float y3)",
                "    {",
                "        Text = text;",
                "        Score = score;",
                "        Box = global::System.Array.AsReadOnly(new[] { new ImageFlowAssetPoint(x0, y0), new ImageFlowAssetPoint(x1, y1), new ImageFlowAssetPoint(x2, y2), new ImageFlowAssetPoint(x3, y3) });",
                "    }",
                "    public string Text { get; }",
                "    public float Score { get; }",
                "    public global::System.Collections.Generic.IReadOnlyList<ImageFlowAssetPoint> Box { get; }",
                "    public override string ToString() => Text;",
                "}",
                "",
                "/// <summary>A point in source-image pixels.</summary>",
                "[global::System.CodeDom.Compiler.GeneratedCode(\"" + GeneratorName + "\", \"" + Version + "\")]",
                "internal readonly struct ImageFlowAssetPoint",
                "{",
                "    public ImageFlowAssetPoint(float x, float y) { X = x; Y = y; }",
                "    public float X { get; }",
                "    public float Y { get; }",
                "}",
                "",
                "/// <summary>A check of the config that fired for the asset: its id, code (IFIO7###), severity and message.</summary>",
                "[global::System.CodeDom.Compiler.GeneratedCode(\"" + GeneratorName + "\", \"" + Version + "\")]",
                "internal readonly struct ImageFlowAssetCheck",
                "{",
                "    public ImageFlowAssetCheck(string id, string code, string severity, string message) { Id = id; Code = code; Severity = severity; Message = message; }",
                "    public string Id { get; }",
                "    public string Code { get; }",
                "    /// <summary>info, warning or error.</summary>",
                "    public string Severity { get; }",
                "    public string Message { get; }",
                "    public override string ToString() => Code + \" \" + Id + \": \" + Message;",
                "}",
                "",
                "/// <summary>Statistics of one channel of the model output.</summary>",
                "[global::System.CodeDom.Compiler.GeneratedCode(\"" + GeneratorName + "\", \"" + Version + "\")]",
                "internal readonly struct ImageFlowAssetChannel",
                "{",
                "    public ImageFlowAssetChannel(float min, float max, float mean) { Min = min; Max = max; Mean = mean; }",
                "    public float Min { get; }",
                "    public float Max { get; }",
                "    public float Mean { get; }",
                "}",
            };
            foreach (var line in lines) w.Line(line);
            w.Close();
            return w.ToString();
        }

        private static SourceWriter Header(string what)
        {
            var w = new SourceWriter();
            w.Line("// <auto-generated/>");
            w.Line("// Generated by " + GeneratorName + " from " + what + " (the ImageFlowIO build task's catalogue). Rebuild to refresh it.");
            w.Line("#nullable enable");
            w.Line();
            return w;
        }

        private static string Array(string type, System.Collections.Generic.IEnumerable<string> items)
        {
            var list = items.ToList();
            return list.Count == 0 ? "global::System.Array.Empty<" + type + ">()" : "new " + type + "[] { " + string.Join(", ", list) + " }";
        }

        private static string Literal(string? value) => value is null ? "null" : SymbolDisplay.FormatLiteral(value, quote: true);
        private static string Int(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
    }
}
