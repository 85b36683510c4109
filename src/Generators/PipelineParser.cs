using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Threading;
using ImageFlowIO.Config;
using ImageFlowIO.Generators.Model;
using Microsoft.CodeAnalysis.CSharp;

namespace ImageFlowIO.Generators
{
    /// <summary>
    /// Turns one config file into a <see cref="PipelineSpec"/> with the runtime's own <see cref="ConfigParser"/>
    /// (linked source: one parser). Never throws: every problem becomes a <see cref="DiagnosticInfo"/>.
    /// </summary>
    internal static class PipelineParser
    {
        public const string FallbackNamespace = "ImageFlowIO.Generated";
        private const string ConfigNamespace = "global::ImageFlowIO.Config.";

        public static ParseOutcome Parse(ConfigFile file, string? rootNamespace, CancellationToken cancellationToken)
        {
            var ns = NamespaceOf(rootNamespace);
            var fileName = FileNameOf(file.Path);
            if (file.Text is null)
            {
                var missing = new DiagnosticInfo(ConfigErrorCodes.ConfigNotFound, "the config file cannot be read; check that it exists and is readable", file.Path, 0, 0, 0, 0);
                return new ParseOutcome(null, Claim(ns, fileName, file.Path, null), new[] { missing }.ToImmutableEquatableArray());
            }
            try
            {
                var result = ConfigParser.Parse(file.Text, file.Path, baseDirectory: "");
                cancellationToken.ThrowIfCancellationRequested();
                var diagnostics = result.Diagnostics
                    .Select(d => new DiagnosticInfo(d.Code, d.Message, file.Path, d.Offset, d.Length, d.Line, d.Column, d.Subject))
                    .ToImmutableEquatableArray();
                var claim = Claim(ns, fileName, file.Path, file.Text);
                if (result.Config is null) return new ParseOutcome(null, claim, diagnostics);
                var spec = ToSpec(result.Config, ns, fileName, file.Path);
                return new ParseOutcome(spec, claim with { ClassName = spec.ClassName }, diagnostics);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                var failed = new DiagnosticInfo(DiagnosticDescriptors.GeneratorFailed.Id,
                    "the ImageFlowIO generator failed on this config (" + ex.GetType().Name + ": " + ex.Message + "); please report it with the config", file.Path, 0, 0, 0, 0);
                return new ParseOutcome(null, Claim(ns, fileName, file.Path, null), new[] { failed }.ToImmutableEquatableArray());
            }
        }

        /// <summary>
        /// The class a config claims: from <c>model.name</c> when the JSON is well-formed enough to read it (also when other
        /// values are wrong, so the placeholder of a broken config keeps the name user code uses), else from the file name.
        /// </summary>
        private static ClassClaim Claim(string ns, string fileName, string path, string? text)
        {
            var name = text is null ? null : ModelNameOf(text);
            var at = name?.Location ?? default;
            return new ClassClaim(ns, ClassNameOf(name?.String, fileName), path, fileName, at.Offset, at.Length, at.Line, at.Column);
        }

        private static LocatedJson? ModelNameOf(string text)
        {
            LocatedJson root;
            try { root = LocatedJson.Parse(text); }
            catch (LocatedJsonException) { return null; }
            if (root.Kind != JsonKind.Object) return null;
            var model = root.Properties.LastOrDefault(p => p.Name == "model")?.Value;
            if (model is null || model.Kind != JsonKind.Object) return null;
            var name = model.Properties.LastOrDefault(p => p.Name == "name")?.Value;
            return name is { Kind: JsonKind.String } && !string.IsNullOrWhiteSpace(name.String) ? name : null;
        }

        private static PipelineSpec ToSpec(PipelineConfig config, string ns, string fileName, string path)
        {
            var className = ClassNameOf(config.Model.Name, fileName);
            return new PipelineSpec(ns, className, fileName, config.ModelName, ConstantsOf(config).ToImmutableEquatableArray(),
                ObjectOf(config, skip: new[] { nameof(PipelineConfig.ConfigPath), nameof(PipelineConfig.BaseDirectory) }),
                config.Custom.PreprocessingFn, config.Custom.PostprocessingFn, path);
        }

        private static IEnumerable<ConstantSpec> ConstantsOf(PipelineConfig config)
        {
            var size = FixedInputSize(config);
            if (size is Size2 s)
            {
                yield return new ConstantSpec("int", "InputWidth", Literal(s.Width), "Width of the model input tensor in pixels, fixed by the config's resize/centerCrop.");
                yield return new ConstantSpec("int", "InputHeight", Literal(s.Height), "Height of the model input tensor in pixels, fixed by the config's resize/centerCrop.");
            }
            var pre = config.Preprocessing;
            yield return new ConstantSpec("int", "InputChannels", Literal(pre.Format.Channels), "Channels of the model input tensor (preprocessing.format.channels).");
            yield return new ConstantSpec("string", "ModelName", Literal(config.ModelName), "The model's name (model.name, or the model file's stem).");
            yield return new ConstantSpec("string", "ModelPath", Literal(config.Model.Path), "model.path as written; relative paths resolve against AppContext.BaseDirectory.");
            if (config.Model.InputName is { } inputName) yield return new ConstantSpec("string", "InputName", Literal(inputName), "The model input fed (model.inputName).");
            if (config.Model.OutputName is { } outputName) yield return new ConstantSpec("string", "OutputName", Literal(outputName), "The model output read (model.outputName).");
            if (config.Model.Labels is { } labels) yield return new ConstantSpec("string", "LabelsPath", Literal(labels), "The labels file (model.labels), one label per line.");
            yield return Enum("Layout", config.Model.Layout, "Tensor layout (model.layout); Auto reads it from the model.");
            yield return Enum("DataType", pre.Format.DataType, "Element type of the model input tensor (preprocessing.format.dataType).");
            yield return Enum("ChannelOrder", pre.Format.ChannelOrder, "Channel order of the model input tensor (preprocessing.format.channelOrder).");
            yield return new ConstantSpec("bool", "Grayscale", Literal(pre.Grayscale.Apply), "Whether images are converted to luma before the tensor is written (preprocessing.grayscale.apply).");
            yield return new ConstantSpec("bool", "Normalize", Literal(pre.Normalize.Apply), "Whether (pixel / max - mean) / std is applied (preprocessing.normalize.apply).");
            yield return Enum("Backend", config.Execution.Backend, "Inference backend (execution.backend); Auto runs ONNX when the model file exists, else noop.");
            yield return Enum("CacheMode", config.Execution.UseCaching, "Stage cache (execution.useCaching).");
            yield return new ConstantSpec("int", "BatchSize", Literal(config.Inference.BatchSize), "Images or tiles per model run (inference.batchSize).");
        }

        private static ConstantSpec Enum(string name, Enum value, string summary) =>
            new ConstantSpec(ConfigNamespace + value.GetType().Name, name, Literal(value), summary);

        /// <summary>The tensor's width and height when the config fixes them: centerCrop wins over resize; a quarter turn swaps them.</summary>
        internal static Size2? FixedInputSize(PipelineConfig config)
        {
            var pre = config.Preprocessing;
            Size2? size = pre.CenterCrop.Apply && pre.CenterCrop.Size is { } crop ? crop
                : pre.Resize.Apply && pre.Resize.ImageSize is { } resize ? resize
                : (Size2?)null;
            if (size is Size2 s && pre.Augmentations.Apply && pre.Augmentations.Methods.Contains(AugmentationMethod.Rotate)
                && (pre.Augmentations.RotateAngle == 90 || pre.Augmentations.RotateAngle == 270))
                size = new Size2(s.Height, s.Width);
            return size;
        }

        // ---- the config as object initializers ------------------------------------------------------------------

        /// <summary>
        /// The members of <paramref name="value"/> that differ from a default instance of its type, so the emitted
        /// initializer stays short and any property added to the config model later is bound without a generator change.
        /// </summary>
        private static ObjectSpec ObjectOf(object value, string[]? skip = null)
        {
            var type = value.GetType();
            var defaults = Activator.CreateInstance(type);
            var members = new List<MemberSpec>();
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
            {
                if (property.SetMethod is null || !property.SetMethod.IsPublic || property.GetIndexParameters().Length > 0) continue;
                if (skip is not null && Array.IndexOf(skip, property.Name) >= 0) continue;
                var actual = property.GetValue(value);
                var fallback = property.GetValue(defaults);
                if (ValueEquals(actual, fallback)) continue;
                if (actual is not null && IsConfigObject(actual.GetType()))
                {
                    var nested = ObjectOf(actual);
                    if (nested.Members.Count == 0 && fallback is not null) continue;
                    members.Add(new MemberSpec(property.Name, null, nested));
                }
                else members.Add(new MemberSpec(property.Name, Literal(actual, property.PropertyType), null));
            }
            return new ObjectSpec(ConfigNamespace + type.Name, members.ToImmutableEquatableArray());
        }

        private static string InlineObject(ObjectSpec spec) =>
            "new " + spec.TypeName + " { " + string.Join(", ", spec.Members.Select(m => m.Name + " = " + (m.Object is { } o ? InlineObject(o) : m.Literal))) + " }";

        private static bool IsConfigObject(Type type) => type.IsClass && type != typeof(string) && type.Namespace == typeof(PipelineConfig).Namespace;

        private static bool ValueEquals(object? a, object? b)
        {
            if (a is null || b is null) return a is null && b is null;
            if (a is string || !(a is IEnumerable) ) return IsConfigObject(a.GetType()) ? ObjectOf(a).Equals(ObjectOf(b)) : a.Equals(b);
            return ((IEnumerable)a).Cast<object>().SequenceEqual(((IEnumerable)b).Cast<object>());
        }

        // ---- C# literals (invariant culture) --------------------------------------------------------------------

        internal static string Literal(object? value, Type? declared = null)
        {
            switch (value)
            {
                case null: return "null";
                case string s: return SymbolDisplay.FormatLiteral(s, quote: true);
                case bool b: return b ? "true" : "false";
                case int i: return i.ToString(CultureInfo.InvariantCulture);
                case long l: return l.ToString(CultureInfo.InvariantCulture) + "L";
                case byte by: return by.ToString(CultureInfo.InvariantCulture);
                case double d: return DoubleLiteral(d);
                case Enum e:
                {
                    var name = System.Enum.GetName(e.GetType(), e);
                    return name is null
                        ? "(" + ConfigNamespace + e.GetType().Name + ")" + Convert.ToInt64(e, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)
                        : ConfigNamespace + e.GetType().Name + "." + name;
                }
                case Size2 size: return "new " + ConfigNamespace + "Size2(" + Literal(size.Width) + ", " + Literal(size.Height) + ")";
                case Rgb8 c: return "new " + ConfigNamespace + "Rgb8(" + Literal(c.R) + ", " + Literal(c.G) + ", " + Literal(c.B) + ")";
                case IEnumerable list:
                {
                    var element = ElementType(value.GetType(), declared);
                    var items = list.Cast<object>().Select(item => Literal(item, element)).ToList();
                    return items.Count == 0
                        ? "global::System.Array.Empty<" + TypeName(element) + ">()"
                        : "new " + TypeName(element) + "[] { " + string.Join(", ", items) + " }";
                }
                default:
                    // Config objects inside lists (chain.perRegion, checks) are written inline.
                    if (IsConfigObject(value.GetType())) return InlineObject(ObjectOf(value));
                    throw new NotSupportedException("config value of type " + value.GetType().FullName + " has no C# literal form in the generator");
            }
        }

        private static string DoubleLiteral(double d)
        {
            if (double.IsNaN(d)) return "double.NaN";
            if (double.IsPositiveInfinity(d)) return "double.PositiveInfinity";
            if (double.IsNegativeInfinity(d)) return "double.NegativeInfinity";
            return d.ToString("R", CultureInfo.InvariantCulture) + "d";
        }

        private static Type ElementType(Type runtime, Type? declared)
        {
            if (runtime.IsArray) return runtime.GetElementType()!;
            foreach (var candidate in new[] { declared, runtime })
            {
                if (candidate is null) continue;
                var list = candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) ? candidate
                    : candidate.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyList<>));
                if (list is not null) return list.GetGenericArguments()[0];
            }
            return typeof(object);
        }

        private static string TypeName(Type type)
        {
            if (type == typeof(double)) return "double";
            if (type == typeof(string)) return "string";
            if (type == typeof(int)) return "int";
            if (type == typeof(long)) return "long";
            if (type == typeof(bool)) return "bool";
            if (type == typeof(byte)) return "byte";
            return "global::" + type.FullName;
        }

        // ---- names ----------------------------------------------------------------------------------------------

        internal static string FileNameOf(string path)
        {
            var cut = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
            return cut >= 0 ? path.Substring(cut + 1) : path;
        }

        /// <summary><c>{PascalCase(model.name or the config file's stem)}Pipeline</c>: "textdet" → TextdetPipeline, "my-model" → MyModelPipeline.</summary>
        internal static string ClassNameOf(string? modelName, string configFileName)
        {
            var source = modelName;
            if (string.IsNullOrWhiteSpace(source))
            {
                source = configFileName;
                foreach (var suffix in new[] { ".imageflow.json", ".json" })
                    if (source.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) { source = source.Substring(0, source.Length - suffix.Length); break; }
            }
            var name = new StringBuilder();
            var upperNext = true;
            foreach (var ch in source!)
            {
                if (!char.IsLetterOrDigit(ch) || ch > 127) { upperNext = true; continue; }
                name.Append(upperNext ? char.ToUpperInvariant(ch) : ch);
                upperNext = false;
            }
            if (name.Length == 0 || char.IsDigit(name[0])) name.Insert(0, "Model");
            return name + "Pipeline";
        }

        /// <summary>The project's RootNamespace made a valid C# namespace, or <see cref="FallbackNamespace"/>.</summary>
        internal static string NamespaceOf(string? rootNamespace)
        {
            if (string.IsNullOrWhiteSpace(rootNamespace)) return FallbackNamespace;
            var parts = new List<string>();
            foreach (var part in rootNamespace!.Split('.'))
            {
                var cleaned = new StringBuilder();
                foreach (var ch in part.Trim()) cleaned.Append(char.IsLetterOrDigit(ch) || ch == '_' ? ch : '_');
                if (cleaned.Length == 0) continue;
                if (char.IsDigit(cleaned[0])) cleaned.Insert(0, '_');
                var text = cleaned.ToString();
                parts.Add(SyntaxFacts.GetKeywordKind(text) != SyntaxKind.None ? "@" + text : text);
            }
            return parts.Count == 0 ? FallbackNamespace : string.Join(".", parts);
        }
    }
}
