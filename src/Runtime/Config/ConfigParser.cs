// Shared with the netstandard2.0 generator (linked source): the one config parser of ImageFlowIO.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace ImageFlowIO.Config
{
    /// <summary>The outcome of parsing a config: the config when there is no error, and every diagnostic found.</summary>
    public sealed class ConfigParseResult
    {
        public ConfigParseResult(PipelineConfig? config, IReadOnlyList<ConfigDiagnostic> diagnostics) { Config = config; Diagnostics = diagnostics; }
        /// <summary>The config, or null when any error was found.</summary>
        public PipelineConfig? Config { get; }
        public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; }
        public bool HasErrors => Diagnostics.Any(d => d.IsError);
    }

    /// <summary>
    /// Parses ImageFlowIO config JSON (comments and trailing commas allowed) into <see cref="PipelineConfig"/>.
    /// Never throws for bad input: every problem becomes a located <see cref="ConfigDiagnostic"/>.
    /// </summary>
    public static class ConfigParser
    {
        /// <summary>Reads and parses a config file; relative paths resolve against its folder.</summary>
        public static ConfigParseResult ParseFile(string path)
        {
            string text;
            var fullPath = Path.GetFullPath(path);
            try { text = File.ReadAllText(fullPath); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                var message = ex is FileNotFoundException || ex is DirectoryNotFoundException
                    ? "config file not found; create it, or point to the right file (CLI: --config, MSBuild: ImageFlowConfig or the item's Config metadata)"
                    : "cannot read the config file: " + ex.Message;
                return new ConfigParseResult(null, new[] { new ConfigDiagnostic(ConfigErrorCodes.ConfigNotFound, DiagnosticSeverity.Error, message, fullPath, 0, 0, 0, 0) });
            }
            return Parse(text, fullPath, Path.GetDirectoryName(fullPath), Directory.Exists);
        }

        /// <summary>Parses config text. <paramref name="filePath"/> only names the file in diagnostics.</summary>
        public static ConfigParseResult Parse(string text, string? filePath, string? baseDirectory = null) => Parse(text, filePath, baseDirectory, null);

        /// <summary>
        /// Parses config text; <paramref name="isExistingFolder"/> (a file-system probe, null where there is none, as in the
        /// generator) also makes a file path that names an existing folder a located error.
        /// </summary>
        internal static ConfigParseResult Parse(string text, string? filePath, string? baseDirectory, Func<string, bool>? isExistingFolder)
        {
            var binder = new Binder(filePath, isExistingFolder);
            LocatedJson root;
            try { root = LocatedJson.Parse(text); }
            catch (LocatedJsonException ex)
            {
                binder.Report(ConfigErrorCodes.InvalidJson, ex.Message + "; fix the JSON syntax at this position", ex.Location);
                return new ConfigParseResult(null, binder.Diagnostics);
            }
            var config = binder.BindRoot(root, baseDirectory ?? (filePath is null ? "" : Path.GetDirectoryName(filePath) ?? ""), filePath);
            var hasErrors = binder.Diagnostics.Any(d => d.IsError);
            return new ConfigParseResult(hasErrors ? null : config, binder.Diagnostics);
        }

        /// <summary>Property names the parser accepts, per object path ("" is the root). The JSON Schema must agree.</summary>
        internal static IReadOnlyDictionary<string, string[]> KnownProperties => Shape.Objects;

        private static class Shape
        {
            public static readonly Dictionary<string, string[]> Objects = new Dictionary<string, string[]>(StringComparer.Ordinal)
            {
                [""] = new[] { "$schema", "model", "execution", "input", "preprocessing", "inference", "postprocessing", "output", "logging", "visualization", "custom", "chain", "checks" },
                ["model"] = new[] { "path", "name", "layout", "inputName", "outputName", "labels" },
                ["execution"] = new[] { "backend", "threads", "warmupRuns", "useCaching", "cacheDir", "cache" },
                ["execution.threads"] = new[] { "apply", "count" },
                ["execution.cache"] = new[] { "memoryLimitMB", "diskLimitMB", "compression", "remote" },
                ["execution.cache.remote"] = new[] { "url", "readOnly", "timeoutMs" },
                ["input"] = new[] { "type", "source", "batchSize", "autoOrient", "maxPixels" },
                ["preprocessing"] = new[] { "resize", "centerCrop", "grayscale", "augmentations", "format", "normalize" },
                ["preprocessing.resize"] = new[] { "apply", "imageSize", "keepAspectRatio", "resizeMode", "kernel", "padColor" },
                ["preprocessing.centerCrop"] = new[] { "apply", "size" },
                ["preprocessing.grayscale"] = new[] { "apply" },
                ["preprocessing.augmentations"] = new[] { "apply", "methods", "params" },
                ["preprocessing.augmentations.params"] = new[] { "flip", "rotate", "colorJitter" },
                ["preprocessing.augmentations.params.flip"] = new[] { "axis" },
                ["preprocessing.augmentations.params.rotate"] = new[] { "angle" },
                ["preprocessing.augmentations.params.colorJitter"] = new[] { "brightness", "saturation", "hue" },
                ["preprocessing.format"] = new[] { "dataType", "channels", "channelOrder" },
                ["preprocessing.normalize"] = new[] { "apply", "mean", "std" },
                ["inference"] = new[] { "batchSize", "tiling" },
                ["inference.tiling"] = new[] { "apply", "tileSize", "overlap", "padMode", "blend" },
                ["postprocessing"] = new[] { "activation", "clamp", "denormalize", "toneMap", "colorMap", "paletteMap", "resizeTo", "blendOverlay" },
                ["postprocessing.activation"] = new[] { "apply", "type" },
                ["postprocessing.clamp"] = new[] { "apply", "min", "max" },
                ["postprocessing.denormalize"] = new[] { "apply", "scale", "dtype" },
                ["postprocessing.toneMap"] = new[] { "apply", "method", "exposure", "gamma" },
                ["postprocessing.colorMap"] = new[] { "apply", "mode", "channel" },
                ["postprocessing.paletteMap"] = new[] { "apply", "source", "channel", "palette", "outline" },
                ["postprocessing.paletteMap.palette"] = new[] { "mode", "preset", "file", "inline" },
                ["postprocessing.paletteMap.outline"] = new[] { "apply", "color", "thickness" },
                ["postprocessing.blendOverlay"] = new[] { "apply", "alpha" },
                ["output"] = new[] { "save", "saveRaw", "writeMeta" },
                ["output.save"] = new[] { "apply", "path", "format", "bitDepth", "colorSpace", "linearToSRGB", "splitChannels", "channelNames", "filename", "quality", "compressionLevel" },
                ["output.saveRaw"] = new[] { "apply", "format", "dtype", "path" },
                ["output.writeMeta"] = new[] { "apply", "jsonPath" },
                ["logging"] = new[] { "level", "saveLogs", "logPath" },
                ["visualization"] = new[] { "apply", "type", "outputPath", "alpha" },
                ["custom"] = new[] { "preprocessingFn", "postprocessingFn" },
                ["chain"] = new[] { "regions", "perRegion", "overlay" },
                ["chain.regions"] = new[] { "finder", "threshold", "boxThreshold", "unclipRatio", "minSize", "maxCandidates" },
                ["chain.perRegion[]"] = new[] { "kind", "path", "dictionary", "inputSize", "minScore", "mean", "std", "spaceScore" },
                ["chain.overlay"] = new[] { "apply", "path", "filename" },
                ["checks[]"] = new[] { "id", "severity", "label", "minScore", "textMatches", "textMissing", "statistic", "channel", "below", "above", "message" },
            };
        }

        private sealed class Binder
        {
            private readonly string? _file;
            private readonly Func<string, bool>? _isExistingFolder;
            private string _baseDirectory = "";
            public readonly List<ConfigDiagnostic> Diagnostics = new List<ConfigDiagnostic>();

            public Binder(string? file, Func<string, bool>? isExistingFolder) { _file = file; _isExistingFolder = isExistingFolder; }

            public void Report(string code, string message, TextLocation at, DiagnosticSeverity severity = DiagnosticSeverity.Error, string? subject = null)
                => Diagnostics.Add(new ConfigDiagnostic(code, severity, message, _file, at.Line, at.Column, at.Offset, at.Length, subject));

            public PipelineConfig BindRoot(LocatedJson root, string baseDirectory, string? filePath)
            {
                _baseDirectory = baseDirectory;
                var o = Open(root, "");
                if (o is null) return new PipelineConfig();
                var model = BindModel(o);
                var execution = BindExecution(o.Obj("execution"), model.value, model.at);
                var config = new PipelineConfig
                {
                    ConfigPath = filePath,
                    BaseDirectory = baseDirectory,
                    Model = model.value,
                    Execution = execution,
                    Input = BindInput(o.Obj("input")),
                    Preprocessing = BindPreprocessing(o.Obj("preprocessing")),
                    Inference = BindInference(o.Obj("inference")),
                    Postprocessing = BindPostprocessing(o.Obj("postprocessing")),
                    Output = BindOutput(o.Obj("output")),
                    Logging = BindLogging(o.Obj("logging")),
                    Visualization = BindVisualization(o.Obj("visualization")),
                    Custom = BindCustom(o.Obj("custom")),
                    Chain = BindChain(o.Obj("chain")),
                    Checks = BindChecks(o),
                };
                o.Ignore("$schema");
                CheckConsistency(config, o);
                return config;
            }

            private (ModelConfig value, TextLocation at) BindModel(ObjectReader root)
            {
                var o = root.Obj("model");
                if (o is null)
                {
                    Report(ConfigErrorCodes.MissingProperty, "'model' is required: add \"model\": { \"path\": \"model.onnx\" } (the path may name a missing file to run the noop backend)", root.Node.Location);
                    return (new ModelConfig(), root.Node.Location);
                }
                var path = o.String("path", required: true) ?? "";
                if (path.Length > 0) CheckPath(path, "model.path", o.LocationOf("path"), PathKind.File, "model.onnx");
                var labels = o.String("labels");
                CheckPath(labels, "model.labels", o.LocationOf("labels"), PathKind.File, "labels.txt");
                return (new ModelConfig
                {
                    Path = path,
                    Name = o.String("name"),
                    Layout = o.Enum("layout", TensorLayout.Auto),
                    InputName = o.String("inputName"),
                    OutputName = o.String("outputName"),
                    Labels = labels,
                }, o.LocationOf("path"));
            }

            private ExecutionConfig BindExecution(ObjectReader? o, ModelConfig model, TextLocation modelPathAt)
            {
                var backend = o?.Enum("backend", BackendKind.Auto) ?? BackendKind.Auto;
                var backendAt = o?.LocationOf("backend") ?? modelPathAt;
                var ext = Path.GetExtension(model.Path ?? "").ToLowerInvariant();
                if (backend == BackendKind.Tfjs)
                    Report(ConfigErrorCodes.UnsupportedModelFormat, "the 'tfjs' backend is not available in .NET; convert the model to ONNX (for example: python -m tf2onnx.convert --tfjs model.json --output model.onnx) and set model.path to the .onnx file", backendAt);
                else if (backend == BackendKind.Auto && !string.IsNullOrEmpty(model.Path) && ext != ".onnx")
                    Report(ConfigErrorCodes.UnsupportedModelFormat, "model.path '" + model.Path + "' is not an .onnx file; TensorFlow.js and other formats are not run in .NET: convert the model to ONNX (for example with tf2onnx) and point model.path at the .onnx file, or set execution.backend to \"noop\"", modelPathAt);
                if (o is null) return new ExecutionConfig();

                ThreadsConfig threads = new ThreadsConfig();
                var t = o.Obj("threads");
                if (t is not null)
                {
                    int? count = null;
                    var countNode = t.Get("count");
                    if (countNode is not null)
                    {
                        if (countNode.Kind == JsonKind.String && countNode.String == "auto") count = null;
                        else count = t.Int("count", 1, 1, 1024);
                    }
                    threads = new ThreadsConfig { Apply = t.Bool("apply", false), Count = count };
                }

                var mode = CacheMode.None;
                var uc = o.Get("useCaching");
                if (uc is not null)
                {
                    if (uc.Kind == JsonKind.True) mode = CacheMode.Memory;
                    else if (uc.Kind == JsonKind.False) mode = CacheMode.None;
                    else mode = o.Enum("useCaching", CacheMode.None, allowed: new[] { "memory", "disk", "none" });
                }

                var cacheOptions = new CacheOptionsConfig();
                var c = o.Obj("cache");
                if (c is not null)
                {
                    RemoteCacheConfig? remote = null;
                    var r = c.Obj("remote");
                    if (r is not null)
                    {
                        var url = r.String("url", required: true) ?? "";
                        if (url.Length > 0 && !(url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
                            Report(ConfigErrorCodes.InvalidValue, "remote cache url must start with http:// or https://", r.LocationOf("url"));
                        remote = new RemoteCacheConfig { Url = url, ReadOnly = r.Bool("readOnly", false), TimeoutMs = r.Int("timeoutMs", 2000, 1, 600000) };
                    }
                    cacheOptions = new CacheOptionsConfig
                    {
                        MemoryLimitMB = c.Int("memoryLimitMB", 512, 1, 1 << 20),
                        DiskLimitMB = c.Int("diskLimitMB", 2048, 1, int.MaxValue),
                        Compression = c.Enum("compression", CacheCompression.None),
                        Remote = remote,
                    };
                }

                var cacheDir = o.String("cacheDir");
                CheckPath(cacheDir, "execution.cacheDir", o.LocationOf("cacheDir"), PathKind.Folder, null);
                return new ExecutionConfig
                {
                    Backend = backend,
                    Threads = threads,
                    WarmupRuns = o.Int("warmupRuns", 0, 0, 1000),
                    UseCaching = mode,
                    CacheDir = cacheDir,
                    Cache = cacheOptions,
                };
            }

            private InputConfig BindInput(ObjectReader? o)
            {
                if (o is null) return new InputConfig();
                var type = o.String("type") ?? "image";
                if (type != "image") Report(ConfigErrorCodes.InvalidValue, "input.type '" + type + "' is not supported; use \"image\"", o.LocationOf("type"));
                var source = o.String("source");
                CheckPath(source, "input.source", o.LocationOf("source"), PathKind.FileOrFolder, null);
                return new InputConfig
                {
                    Type = type,
                    Source = source,
                    BatchSize = o.Int("batchSize", 1, 1, 4096),
                    AutoOrient = o.Bool("autoOrient", true),
                    // 16384²: a float tensor of that many RGBA pixels still fits one .NET array.
                    MaxPixels = o.Long("maxPixels", 100_000_000, 1, MaxPixelsLimit),
                };
            }

            private PreprocessingConfig BindPreprocessing(ObjectReader? o)
            {
                if (o is null) return new PreprocessingConfig();
                var result = new PreprocessingConfig();
                var r = o.Obj("resize");
                if (r is not null)
                {
                    var apply = r.Bool("apply", false);
                    var size = r.Size("imageSize");
                    if (apply && size is null) Report(ConfigErrorCodes.MissingProperty, "preprocessing.resize.imageSize is required when resize.apply is true: add \"imageSize\": [width, height]", r.Node.Location);
                    result = new PreprocessingConfig
                    {
                        Resize = new ResizeConfig
                        {
                            Apply = apply,
                            ImageSize = size,
                            KeepAspectRatio = r.Bool("keepAspectRatio", true),
                            ResizeMode = r.Enum("resizeMode", ResizeMode.Fit),
                            Kernel = r.Enum("kernel", ResizeKernel.Lanczos3),
                            PadColor = r.Color("padColor") ?? default,
                        },
                    };
                }
                CenterCropConfig crop = new CenterCropConfig();
                var cc = o.Obj("centerCrop");
                if (cc is not null)
                {
                    var apply = cc.Bool("apply", false);
                    var size = cc.Size("size");
                    if (apply && size is null) Report(ConfigErrorCodes.MissingProperty, "preprocessing.centerCrop.size is required when centerCrop.apply is true: add \"size\": [width, height]", cc.Node.Location);
                    crop = new CenterCropConfig { Apply = apply, Size = size };
                }
                var gray = o.Obj("grayscale");
                var aug = BindAugmentations(o.Obj("augmentations"));
                var f = o.Obj("format");
                var format = new FormatConfig();
                if (f is not null)
                {
                    var channels = f.Int("channels", 3, 1, 4);
                    if (channels == 2) Report(ConfigErrorCodes.InvalidValue, "preprocessing.format.channels must be 1, 3 or 4", f.LocationOf("channels"));
                    format = new FormatConfig { DataType = f.Enum("dataType", TensorDataType.Float32), Channels = channels, ChannelOrder = f.Enum("channelOrder", ChannelOrder.Rgb) };
                }
                var n = o.Obj("normalize");
                var normalize = new NormalizeConfig();
                if (n is not null)
                {
                    var mean = n.Numbers("mean") ?? new double[] { 0, 0, 0 };
                    var std = n.Numbers("std") ?? new double[] { 1, 1, 1 };
                    if (std.Any(s => s == 0)) Report(ConfigErrorCodes.OutOfRange, "preprocessing.normalize.std must not contain 0 (division by zero)", n.LocationOf("std"));
                    // The tensor is float32 (or narrower): a mean or std beyond float32 would turn every value into infinity.
                    foreach (var (name, list) in new[] { ("mean", mean), ("std", std) })
                        if (list.Any(v => Math.Abs(v) > float.MaxValue))
                            Report(ConfigErrorCodes.OutOfRange, "preprocessing.normalize." + name + " has a value beyond the float32 range (±3.4e38); use values such as [0.485, 0.456, 0.406]", n.LocationOf(name));
                    normalize = new NormalizeConfig { Apply = n.Bool("apply", false), Mean = mean, Std = std };
                }
                return new PreprocessingConfig
                {
                    Resize = result.Resize,
                    CenterCrop = crop,
                    Grayscale = new GrayscaleConfig { Apply = gray?.Bool("apply", false) ?? false },
                    Augmentations = aug,
                    Format = format,
                    Normalize = normalize,
                };
            }

            private AugmentationsConfig BindAugmentations(ObjectReader? o)
            {
                if (o is null) return new AugmentationsConfig();
                var methods = new List<AugmentationMethod>();
                var m = o.Get("methods");
                if (m is not null)
                {
                    if (m.Kind != JsonKind.Array) Report(ConfigErrorCodes.WrongType, "preprocessing.augmentations.methods must be an array such as [\"flip\", \"rotate\"]", m.Location);
                    else foreach (var item in m.Items) if (TryEnum<AugmentationMethod>(item, "preprocessing.augmentations.methods", null, out var method)) methods.Add(method);
                }
                var p = o.Obj("params");
                var flip = p?.Obj("flip");
                var rotate = p?.Obj("rotate");
                var jitter = p?.Obj("colorJitter");
                var angle = rotate?.Int("angle", 90, 0, 270) ?? 90;
                if (angle % 90 != 0) Report(ConfigErrorCodes.InvalidValue, "rotate.angle must be 0, 90, 180 or 270", rotate!.LocationOf("angle"));
                return new AugmentationsConfig
                {
                    Apply = o.Bool("apply", false),
                    Methods = methods,
                    FlipAxis = flip?.Enum("axis", FlipAxis.Horizontal) ?? FlipAxis.Horizontal,
                    RotateAngle = angle,
                    Brightness = jitter?.Double("brightness", 1.0, 0, 100) ?? 1.0,
                    Saturation = jitter?.Double("saturation", 1.0, 0, 100) ?? 1.0,
                    Hue = jitter?.Double("hue", 0, -360, 360) ?? 0,
                };
            }

            private InferenceConfig BindInference(ObjectReader? o)
            {
                if (o is null) return new InferenceConfig();
                var t = o.Obj("tiling");
                var tiling = new TilingConfig();
                if (t is not null)
                {
                    var size = t.Size("tileSize") ?? new Size2(256, 256);
                    var overlap = t.Int("overlap", 0, 0, 1 << 16);
                    if (overlap * 2 >= Math.Min(size.Width, size.Height))
                        Report(ConfigErrorCodes.OutOfRange, "inference.tiling.overlap must be less than half the tile size", t.LocationOf("overlap"));
                    tiling = new TilingConfig { Apply = t.Bool("apply", false), TileSize = size, Overlap = overlap, PadMode = t.Enum("padMode", TilePadMode.Reflect), Blend = t.Enum("blend", TileBlend.Average) };
                }
                return new InferenceConfig { BatchSize = o.Int("batchSize", 1, 1, 4096), Tiling = tiling };
            }

            private PostprocessingConfig BindPostprocessing(ObjectReader? o)
            {
                if (o is null) return new PostprocessingConfig();
                var a = o.Obj("activation");
                var c = o.Obj("clamp");
                var d = o.Obj("denormalize");
                var t = o.Obj("toneMap");
                var cm = o.Obj("colorMap");
                var pm = o.Obj("paletteMap");
                var bo = o.Obj("blendOverlay");

                var resizeTo = new ResizeTargetConfig();
                var rt = o.Get("resizeTo");
                if (rt is not null)
                {
                    if (rt.Kind == JsonKind.String)
                    {
                        if (rt.String == "input") resizeTo = new ResizeTargetConfig { Kind = ResizeTargetKind.Input };
                        else if (rt.String == "none") resizeTo = new ResizeTargetConfig { Kind = ResizeTargetKind.None };
                        else Report(ConfigErrorCodes.InvalidValue, "postprocessing.resizeTo must be \"input\", \"none\" or [width, height]", rt.Location);
                    }
                    else
                    {
                        var size = o.Size("resizeTo");
                        if (size is not null) resizeTo = new ResizeTargetConfig { Kind = ResizeTargetKind.Size, Size = size.Value };
                    }
                }

                PaletteMapConfig palette = new PaletteMapConfig();
                if (pm is not null)
                {
                    var pal = new PaletteConfig();
                    var p = pm.Obj("palette");
                    if (p is not null)
                    {
                        var mode = p.Enum("mode", PaletteMode.Preset);
                        var preset = p.String("preset") ?? "pascal_voc";
                        if (preset != "pascal_voc" && preset != "cityscapes")
                            Report(ConfigErrorCodes.InvalidValue, "palette.preset '" + preset + "' is unknown; use \"pascal_voc\" or \"cityscapes\"", p.LocationOf("preset"));
                        var file = p.String("file");
                        CheckPath(file, "postprocessing.paletteMap.palette.file", p.LocationOf("file"), PathKind.File, "palette.json");
                        var inline = p.Colors("inline");
                        if (mode == PaletteMode.File && file is null) Report(ConfigErrorCodes.MissingProperty, "palette.file is required when palette.mode is \"file\"", p.Node.Location);
                        if (mode == PaletteMode.Inline && (inline is null || inline.Count == 0)) Report(ConfigErrorCodes.MissingProperty, "palette.inline (a list of [r, g, b]) is required when palette.mode is \"inline\"", p.Node.Location);
                        pal = new PaletteConfig { Mode = mode, Preset = preset, File = file, Inline = inline ?? (IReadOnlyList<Rgb8>)Array.Empty<Rgb8>() };
                    }
                    var ol = pm.Obj("outline");
                    palette = new PaletteMapConfig
                    {
                        Apply = pm.Bool("apply", false),
                        Source = pm.Enum("source", PaletteSource.Argmax),
                        Channel = pm.Int("channel", 0, 0, 4096),
                        Palette = pal,
                        Outline = ol is null ? new OutlineConfig() : new OutlineConfig { Apply = ol.Bool("apply", false), Color = ol.Color("color") ?? new Rgb8(255, 255, 255), Thickness = ol.Int("thickness", 1, 0, 64) },
                    };
                }

                var clamp = c is null ? new ClampConfig() : new ClampConfig { Apply = c.Bool("apply", false), Min = c.Double("min", 0), Max = c.Double("max", 1) };
                if (clamp.Apply && clamp.Min > clamp.Max)
                    Report(ConfigErrorCodes.InconsistentSettings, "postprocessing.clamp.min (" + clamp.Min.ToString(CultureInfo.InvariantCulture) + ") is greater than clamp.max (" + clamp.Max.ToString(CultureInfo.InvariantCulture) + "); swap them", c!.LocationOf("min"));
                return new PostprocessingConfig
                {
                    Activation = a is null ? new ActivationConfig() : new ActivationConfig { Apply = a.Bool("apply", false), Type = a.Enum("type", ActivationType.None) },
                    Clamp = clamp,
                    Denormalize = d is null ? new DenormalizeConfig() : new DenormalizeConfig { Apply = d.Bool("apply", false), Scale = d.Double("scale", 255, double.Epsilon, 1e12), Dtype = d.Enum("dtype", OutputDataType.Uint8) },
                    ToneMap = t is null ? new ToneMapConfig() : new ToneMapConfig { Apply = t.Bool("apply", false), Method = t.Enum("method", ToneMapMethod.Aces), Exposure = t.Double("exposure", 0, -64, 64), Gamma = t.Double("gamma", 2.2, 0.01, 100) },
                    ColorMap = cm is null ? new ColorMapConfig() : new ColorMapConfig { Apply = cm.Bool("apply", false), Mode = cm.Enum("mode", ColorMapMode.Grayscale), Channel = cm.Int("channel", 0, 0, 4096) },
                    PaletteMap = palette,
                    ResizeTo = resizeTo,
                    BlendOverlay = bo is null ? new BlendOverlayConfig() : new BlendOverlayConfig { Apply = bo.Bool("apply", false), Alpha = bo.Double("alpha", 0.5, 0, 1) },
                };
            }

            private OutputConfig BindOutput(ObjectReader? o)
            {
                if (o is null) return new OutputConfig();
                var s = o.Obj("save");
                var r = o.Obj("saveRaw");
                var m = o.Obj("writeMeta");
                var save = new SaveConfig();
                if (s is not null)
                {
                    var format = s.Enum("format", ImageFormat.Png, allowed: new[] { "png", "jpeg", "jpg", "webp", "tiff", "tif" }, aliases: new Dictionary<string, string> { ["jpg"] = "jpeg", ["tif"] = "tiff" });
                    int? bitDepth = null;
                    if (s.Get("bitDepth") is not null)
                    {
                        bitDepth = s.Int("bitDepth", 8, 1, 16);
                        var okDepths = format == ImageFormat.Png ? new[] { 8, 16 } : format == ImageFormat.Tiff ? new[] { 1, 2, 4, 8, 16 } : new[] { 8 };
                        if (!okDepths.Contains(bitDepth.Value))
                            Report(ConfigErrorCodes.InvalidValue, "output.save.bitDepth " + bitDepth + " is not supported for " + format.ToString().ToLowerInvariant() + "; use " + string.Join(" or ", okDepths.Select(x => x.ToString(CultureInfo.InvariantCulture))), s.LocationOf("bitDepth"));
                    }
                    var filename = s.String("filename");
                    if (filename is not null) CheckFilenamePattern(filename, s.LocationOf("filename"));
                    var savePath = s.String("path");
                    CheckPath(savePath, "output.save.path", s.LocationOf("path"), PathKind.Folder, null);
                    var channelNames = s.Strings("channelNames");
                    if (channelNames is not null)
                        foreach (var name in channelNames)
                            if (FileNameProblem(name, allowFolders: false) is { } problem)
                            {
                                Report(ConfigErrorCodes.InvalidFilenamePattern, "output.save.channelNames entry \"" + Printable(name) + "\" goes into file names but " + problem + "; use letters, digits, '-' or '_'", s.LocationOf("channelNames"));
                                break;
                            }
                    save = new SaveConfig
                    {
                        Apply = s.Bool("apply", false),
                        Path = savePath ?? "outputs",
                        Format = format,
                        BitDepth = bitDepth,
                        ColorSpace = s.Enum("colorSpace", ColorSpace.Srgb),
                        LinearToSRGB = s.Bool("linearToSRGB", false),
                        SplitChannels = s.Bool("splitChannels", false),
                        ChannelNames = channelNames ?? (IReadOnlyList<string>)Array.Empty<string>(),
                        Filename = filename,
                        Quality = s.Int("quality", 90, 1, 100),
                        CompressionLevel = s.Int("compressionLevel", 1, 0, 9),
                    };
                }
                var rawPath = r?.String("path");
                if (r is not null) CheckPath(rawPath, "output.saveRaw.path", r.LocationOf("path"), PathKind.Folder, null);
                var jsonPath = m?.String("jsonPath");
                if (m is not null) CheckPath(jsonPath, "output.writeMeta.jsonPath", m.LocationOf("jsonPath"), PathKind.File, "meta.json");
                return new OutputConfig
                {
                    Save = save,
                    SaveRaw = r is null ? new SaveRawConfig() : new SaveRawConfig { Apply = r.Bool("apply", false), Format = r.Enum("format", RawFormat.Npy), Dtype = r.Enum("dtype", RawDataType.Float32), Path = rawPath ?? "outputs/raw" },
                    WriteMeta = m is null ? new WriteMetaConfig() : new WriteMetaConfig { Apply = m.Bool("apply", false), JsonPath = jsonPath },
                };
            }

            private void CheckFilenamePattern(string pattern, TextLocation at)
            {
                var normalized = pattern.Replace('\\', '/');
                if (normalized.Length == 0)
                    Report(ConfigErrorCodes.InvalidFilenamePattern, "output.save.filename is empty; use a pattern such as \"{name}.png\"", at);
                else if (normalized.StartsWith("/", StringComparison.Ordinal) || Path.IsPathRooted(pattern) || (normalized.Length > 1 && normalized[1] == ':'))
                    Report(ConfigErrorCodes.InvalidFilenamePattern, "output.save.filename must be relative to output.save.path; remove the absolute part of \"" + pattern + "\"", at);
                else if (normalized.Split('/').Any(seg => seg == ".."))
                    Report(ConfigErrorCodes.InvalidFilenamePattern, "output.save.filename must not leave the output folder with '..'; put the folder in output.save.path instead", at);
                else if (FileNameProblem(pattern, allowFolders: true) is { } problem)
                    Report(ConfigErrorCodes.InvalidFilenamePattern, "output.save.filename \"" + Printable(pattern) + "\" " + problem + "; use a pattern such as \"{name}.png\"", at);
                else
                {
                    var i = 0;
                    while ((i = pattern.IndexOf('{', i)) >= 0)
                    {
                        var end = pattern.IndexOf('}', i);
                        if (end < 0) { Report(ConfigErrorCodes.InvalidFilenamePattern, "output.save.filename has an unclosed '{'", at); break; }
                        var token = pattern.Substring(i + 1, end - i - 1);
                        if (Array.IndexOf(FilenameTokens, token) < 0)
                            Report(ConfigErrorCodes.InvalidFilenamePattern, "output.save.filename token {" + token + "} is unknown" + Hint(token, FilenameTokens) + "; tokens are {name}, {ext}, {model}, {index}, {timestamp}", at);
                        i = end + 1;
                    }
                }
            }

            private static readonly string[] FilenameTokens = { "name", "ext", "model", "index", "timestamp", "format" };

            // Not allowed in Windows file names: a config written on Linux must still run there.
            private static readonly char[] InvalidFileNameChars = { '<', '>', ':', '"', '|', '?', '*' };

            /// <summary>Why <paramref name="name"/> cannot be (part of) a file name, or null when it can; '/' separates folders only when allowed.</summary>
            internal static string? FileNameProblem(string name, bool allowFolders)
            {
                for (var i = 0; i < name.Length; i++)
                {
                    var c = name[i];
                    if (char.IsControl(c)) return "contains the control character " + CharName(c) + " at position " + (i + 1).ToString(CultureInfo.InvariantCulture);
                    if (Array.IndexOf(InvalidFileNameChars, c) >= 0) return "contains '" + c + "', which file names cannot hold on Windows";
                    if (!allowFolders && (c == '/' || c == '\\')) return "contains '" + c + "', a folder separator";
                }
                var normalized = name.Replace('\\', '/');
                var last = normalized.Substring(normalized.LastIndexOf('/') + 1);
                if (last.Length == 0 || last == "." || last == "..") return "names a folder, not a file";
                if (last.Trim().Length == 0) return "has a file name made of spaces";
                return null;
            }

            private static string CharName(char c) => "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);

            /// <summary>A value as it can be shown in a message: control characters written as \uXXXX.</summary>
            private static string Printable(string value)
            {
                var sb = new System.Text.StringBuilder(value.Length);
                foreach (var c in value) sb.Append(char.IsControl(c) ? "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture) : c.ToString());
                return sb.ToString();
            }

            private enum PathKind { File, Folder, FileOrFolder }

            /// <summary>Every later stage can use the path: not empty, no control character, a file name where a file is meant.</summary>
            private void CheckPath(string? value, string label, TextLocation at, PathKind kind, string? exampleFile)
            {
                if (value is null) return;
                if (value.Trim().Length == 0)
                {
                    Report(ConfigErrorCodes.InvalidPath, "'" + label + "' is empty; " + (kind == PathKind.Folder ? "give a folder (\".\" is the config's folder) or remove the property" : "give a path or remove the property"), at);
                    return;
                }
                for (var i = 0; i < value.Length; i++)
                    if (char.IsControl(value[i]))
                    {
                        Report(ConfigErrorCodes.InvalidPath, "'" + label + "' \"" + Printable(value) + "\" contains the control character " + CharName(value[i]) + " at position " + (i + 1).ToString(CultureInfo.InvariantCulture) + "; remove it", at);
                        return;
                    }
                if (kind != PathKind.File) return;
                var normalized = value.Replace('\\', '/');
                var last = normalized.Substring(normalized.LastIndexOf('/') + 1);
                if (last.Length == 0 || last == "." || last == "..")
                {
                    Report(ConfigErrorCodes.PathIsFolder, "'" + label + "' is \"" + value + "\", a folder, but it names a file; add a file name, for example \"" + normalized.TrimEnd('/') + (normalized.TrimEnd('/').Length > 0 ? "/" : "") + exampleFile + "\"", at);
                    return;
                }
                if (_isExistingFolder is null || value.IndexOf('{') >= 0) return;
                string full;
                try { full = Path.GetFullPath(Path.IsPathRooted(value) ? value : Path.Combine(_baseDirectory.Length > 0 ? _baseDirectory : Directory.GetCurrentDirectory(), value)); }
                catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException || ex is PathTooLongException)
                {
                    Report(ConfigErrorCodes.InvalidPath, "'" + label + "' \"" + value + "\" is not a valid path (" + ex.Message + ")", at);
                    return;
                }
                if (_isExistingFolder(full))
                    Report(ConfigErrorCodes.PathIsFolder, "'" + label + "' names the existing folder '" + full + "', but it must be a file; add a file name, for example \"" + normalized.TrimEnd('/') + "/" + exampleFile + "\"", at);
            }

            private LoggingConfig BindLogging(ObjectReader? o)
            {
                if (o is null) return new LoggingConfig();
                var logPath = o.String("logPath");
                CheckPath(logPath, "logging.logPath", o.LocationOf("logPath"), PathKind.File, "imageflowio.log");
                return new LoggingConfig
                {
                    Level = o.Enum("level", LogLevel.Info, allowed: new[] { "debug", "info", "warn", "warning", "error" }, aliases: new Dictionary<string, string> { ["warning"] = "warn" }),
                    SaveLogs = o.Bool("saveLogs", false),
                    LogPath = logPath,
                };
            }

            private VisualizationConfig BindVisualization(ObjectReader? o)
            {
                if (o is null) return new VisualizationConfig();
                var outputPath = o.String("outputPath");
                CheckPath(outputPath, "visualization.outputPath", o.LocationOf("outputPath"), PathKind.Folder, null);
                return new VisualizationConfig
                {
                    Apply = o.Bool("apply", false),
                    Type = o.Enum("type", VisualizationType.SideBySide),
                    OutputPath = outputPath,
                    Alpha = o.Double("alpha", 0.5, 0, 1),
                };
            }

            private CustomConfig BindCustom(ObjectReader? o)
            {
                if (o is null) return new CustomConfig();
                var pre = o.String("preprocessingFn");
                var post = o.String("postprocessingFn");
                foreach (var (name, value) in new[] { ("preprocessingFn", pre), ("postprocessingFn", post) })
                    if (value is not null)
                        Report(ConfigErrorCodes.CustomFunctionNotRun, "custom." + name + " '" + value + "' is JavaScript and is not run in .NET; implement the partial method On" + char.ToUpperInvariant(name[0]) + name.Substring(1, name.Length - 3) + " of the generated pipeline class instead", o.LocationOf(name), DiagnosticSeverity.Warning, subject: "custom." + name);
                return new CustomConfig { PreprocessingFn = pre, PostprocessingFn = post };
            }

            private const long MaxPixelsLimit = 1L << 28;

            // ---- chains and checks (docs/chains.md) --------------------------------------------------------------

            private ChainConfig? BindChain(ObjectReader? o)
            {
                if (o is null) return null;
                var r = o.Obj("regions");
                var regions = r is null ? new RegionsConfig() : new RegionsConfig
                {
                    Finder = r.Enum("finder", RegionFinderKind.DbText),
                    Threshold = r.Double("threshold", 0.3, 0, 1),
                    BoxThreshold = r.Double("boxThreshold", 0.6, 0, 1),
                    UnclipRatio = r.Double("unclipRatio", 1.5, 0, 100),
                    MinSize = r.Double("minSize", 3, 0, 65535),
                    MaxCandidates = r.Int("maxCandidates", 1000, 1, 100000),
                };
                var steps = new List<RegionStepConfig>();
                var list = o.Get("perRegion");
                if (list is null)
                    Report(ConfigErrorCodes.MissingProperty, "chain.perRegion is required: add [{ \"kind\": \"recognizer\", \"path\": \"rec.onnx\", \"dictionary\": \"keys.txt\" }]", o.Node.Location);
                else if (list.Kind != JsonKind.Array)
                    Report(ConfigErrorCodes.WrongType, "chain.perRegion must be an array of per-region models, not " + list.KindName, list.Location);
                else
                {
                    for (var i = 0; i < list.Items.Count; i++)
                    {
                        var label = "chain.perRegion[" + i.ToString(CultureInfo.InvariantCulture) + "]";
                        var s = Open(list.Items[i], "chain.perRegion[]");
                        if (s is null) continue;
                        if (s.Get("kind") is null) Report(ConfigErrorCodes.MissingProperty, label + ".kind is required: \"orientation\" or \"recognizer\"", s.Node.Location);
                        var kind = s.Enum("kind", RegionStepKind.Recognizer);
                        var path = s.String("path", required: true) ?? "";
                        if (path.Length > 0) CheckPath(path, label + ".path", s.LocationOf("path"), PathKind.File, "model.onnx");
                        var dictionary = s.String("dictionary");
                        CheckPath(dictionary, label + ".dictionary", s.LocationOf("dictionary"), PathKind.File, "keys.txt");
                        if (kind == RegionStepKind.Recognizer && dictionary is null)
                            Report(ConfigErrorCodes.MissingProperty, label + ".dictionary is required for a recognizer: the file of its characters, one per line", s.Node.Location);
                        if (kind != RegionStepKind.Recognizer && dictionary is not null)
                            Report(ConfigErrorCodes.InconsistentSettings, label + ".dictionary applies to a recognizer only; remove it", s.LocationOf("dictionary"));
                        double? minScore = s.Get("minScore") is null ? (double?)null : s.Double("minScore", 0, 0, 1);
                        double? mean = s.Get("mean") is null ? (double?)null : s.Double("mean", 0, -1000, 1000);
                        double? std = s.Get("std") is null ? (double?)null : s.Double("std", 1, 1e-6, 1000);
                        double? spaceScore = s.Get("spaceScore") is null ? (double?)null : s.Double("spaceScore", 0.02, 0, 1);
                        if (spaceScore is not null && kind != RegionStepKind.Recognizer)
                            Report(ConfigErrorCodes.InconsistentSettings, label + ".spaceScore applies to a recognizer only; remove it", s.LocationOf("spaceScore"));
                        steps.Add(new RegionStepConfig { Kind = kind, Path = path, Dictionary = dictionary, InputSize = s.Size("inputSize"), MinScore = minScore, Mean = mean, Std = std, SpaceScore = spaceScore });
                    }
                    var recognizers = steps.Count(st => st.Kind == RegionStepKind.Recognizer);
                    if (recognizers != 1 || steps[steps.Count - 1].Kind != RegionStepKind.Recognizer || steps.Count(st => st.Kind == RegionStepKind.Orientation) > 1)
                        Report(ConfigErrorCodes.InconsistentSettings, "chain.perRegion must be an optional \"orientation\" step followed by one \"recognizer\" step (found: " + string.Join(", ", steps.Select(st => st.Kind.ToString().ToLowerInvariant())) + ")", list.Location);
                }
                var ov = o.Obj("overlay");
                var overlay = new ChainOverlayConfig();
                if (ov is not null)
                {
                    var filename = ov.String("filename");
                    if (filename is not null) CheckFilenamePattern(filename, ov.LocationOf("filename"));
                    overlay = new ChainOverlayConfig { Apply = ov.Bool("apply", false), Path = ov.String("path") ?? "outputs", Filename = filename };
                }
                return new ChainConfig { Regions = regions, PerRegion = steps, Overlay = overlay };
            }

            private IReadOnlyList<CheckConfig> BindChecks(ObjectReader root)
            {
                var list = root.Get("checks");
                if (list is null) return Array.Empty<CheckConfig>();
                if (list.Kind != JsonKind.Array)
                {
                    Report(ConfigErrorCodes.WrongType, "checks must be an array of checks, not " + list.KindName, list.Location);
                    return Array.Empty<CheckConfig>();
                }
                var checks = new List<CheckConfig>();
                var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                for (var i = 0; i < list.Items.Count; i++)
                {
                    var label = "checks[" + i.ToString(CultureInfo.InvariantCulture) + "]";
                    var c = Open(list.Items[i], "checks[]");
                    if (c is null) continue;
                    var id = c.String("id", required: true) ?? "";
                    if (id.Length > 0 && !IsCheckId(id))
                        Report(ConfigErrorCodes.InvalidValue, label + ".id \"" + Printable(id) + "\" must be letters, digits, '.', '-' or '_' (it is named in diagnostics and in the ImageFlowSuppressChecks metadata)", c.LocationOf("id"));
                    else if (id.Length > 0 && !ids.Add(id))
                        Report(ConfigErrorCodes.InvalidValue, label + ".id \"" + id + "\" is used by another check; give each check its own id", c.LocationOf("id"));
                    var textMatches = c.String("textMatches");
                    if (textMatches is not null)
                    {
                        try { _ = new System.Text.RegularExpressions.Regex(textMatches, System.Text.RegularExpressions.RegexOptions.CultureInvariant); }
                        catch (ArgumentException ex) { Report(ConfigErrorCodes.InvalidValue, label + ".textMatches is not a valid regular expression (" + ex.Message + ")", c.LocationOf("textMatches")); }
                    }
                    CheckStatistic? statistic = c.Get("statistic") is null ? (CheckStatistic?)null : c.Enum("statistic", CheckStatistic.Mean);
                    double? below = c.Get("below") is null ? (double?)null : c.Double("below", 0);
                    double? above = c.Get("above") is null ? (double?)null : c.Double("above", 0);
                    var check = new CheckConfig
                    {
                        Id = id,
                        Severity = c.Enum("severity", CheckSeverity.Warning),
                        Label = c.String("label"),
                        MinScore = c.Double("minScore", 0.5, 0, 1),
                        TextMatches = textMatches,
                        TextMissing = c.String("textMissing"),
                        Statistic = statistic,
                        Channel = c.Int("channel", 0, 0, 4096),
                        Below = below,
                        Above = above,
                        Message = c.String("message"),
                    };
                    var conditions = (check.Label is null ? 0 : 1) + (check.TextMatches is null ? 0 : 1) + (check.TextMissing is null ? 0 : 1) + (check.Statistic is null ? 0 : 1);
                    if (conditions != 1)
                        Report(ConfigErrorCodes.InconsistentSettings, label + " needs exactly one of label, textMatches, textMissing or statistic (found " + conditions.ToString(CultureInfo.InvariantCulture) + ")", c.Node.Location);
                    if (check.Statistic is not null && below is null && above is null)
                        Report(ConfigErrorCodes.MissingProperty, label + " checks a statistic: add \"below\" or \"above\" (the bound that fires it)", c.Node.Location);
                    checks.Add(check);
                }
                return checks;
            }

            internal static bool IsCheckId(string id) => id.Length <= 64 && id.All(ch => ch < 128 && (char.IsLetterOrDigit(ch) || ch == '-' || ch == '_' || ch == '.'));

            private void CheckConsistency(PipelineConfig c, ObjectReader root)
            {
                var pre = c.Preprocessing;
                // Regions are mapped back to source pixels through the resize only: a crop or a turn would move them.
                if (c.Chain is not null && (pre.CenterCrop.Apply || pre.Augmentations.Apply))
                    Report(ConfigErrorCodes.InconsistentSettings, "a chain maps regions back to the source image through preprocessing.resize only; turn off preprocessing." + (pre.CenterCrop.Apply ? "centerCrop" : "augmentations") + " (apply: false)", root.Obj("chain")!.Node.Location);
                // Every image the pipeline holds is bounded like the input: a size over input.maxPixels would allocate gigabytes or overflow.
                var sizes = new List<(string Label, Size2? Size, bool Used, Func<TextLocation> At)>
                {
                    ("preprocessing.resize.imageSize", pre.Resize.ImageSize, pre.Resize.Apply, () => root.Obj("preprocessing")!.Obj("resize")!.LocationOf("imageSize")),
                    ("preprocessing.centerCrop.size", pre.CenterCrop.Size, pre.CenterCrop.Apply, () => root.Obj("preprocessing")!.Obj("centerCrop")!.LocationOf("size")),
                    ("inference.tiling.tileSize", c.Inference.Tiling.TileSize, c.Inference.Tiling.Apply, () => root.Obj("inference")!.Obj("tiling")!.LocationOf("tileSize")),
                    ("postprocessing.resizeTo", c.Postprocessing.ResizeTo.Size, c.Postprocessing.ResizeTo.Kind == ResizeTargetKind.Size, () => root.Obj("postprocessing")!.LocationOf("resizeTo")),
                };
                foreach (var (label, size, used, at) in sizes)
                    if (used && size is { } s && (long)s.Width * s.Height > c.Input.MaxPixels)
                        Report(ConfigErrorCodes.OutOfRange, label + " " + s + " is " + ((long)s.Width * s.Height).ToString("N0", CultureInfo.InvariantCulture) + " pixels, more than input.maxPixels (" + c.Input.MaxPixels.ToString("N0", CultureInfo.InvariantCulture) + "); use a smaller size or raise input.maxPixels (at most " + MaxPixelsLimit.ToString("N0", CultureInfo.InvariantCulture) + ")", at());
                if (pre.Normalize.Apply && (pre.Format.DataType == TensorDataType.Uint8 || pre.Format.DataType == TensorDataType.Int8))
                    Report(ConfigErrorCodes.InconsistentSettings, "preprocessing.normalize applies to float tensors only, but format.dataType is " + pre.Format.DataType.ToString().ToLowerInvariant() + "; set dataType to \"float32\" or \"float16\", or set normalize.apply to false", root.Obj("preprocessing")!.Obj("normalize")!.Node.Location);
                if (pre.Normalize.Apply)
                    foreach (var (name, list) in new[] { ("mean", pre.Normalize.Mean), ("std", pre.Normalize.Std) })
                        if (list.Count != 1 && list.Count < pre.Format.Channels)
                            Report(ConfigErrorCodes.InconsistentSettings, "preprocessing.normalize." + name + " has " + list.Count + " values but the tensor has " + pre.Format.Channels + " channels; give one value per channel", root.Obj("preprocessing")!.Obj("normalize")!.LocationOf(name));
                if (c.Output.Save.Filename is not null && c.Output.Save.Filename.Contains("{model}") && FileNameProblem(c.ModelName, allowFolders: false) is { } modelProblem)
                    Report(ConfigErrorCodes.InvalidFilenamePattern, "output.save.filename uses {model}, but the model name \"" + Printable(c.ModelName) + "\" " + modelProblem + "; set model.name to a plain name or remove {model}", root.Obj("output")!.Obj("save")!.LocationOf("filename"));
                if (c.Output.Save.Filename is not null && c.Output.Save.Filename.Contains("{timestamp}"))
                    Report(ConfigErrorCodes.NonReproducibleOutput, "output.save.filename uses {timestamp}: every run writes new files and builds are not reproducible; use {name} or {index} instead", root.Obj("output")!.Obj("save")!.LocationOf("filename"), DiagnosticSeverity.Warning);
            }

            // ---- typed readers over one JSON object --------------------------------------------------------

            public ObjectReader? Open(LocatedJson node, string path)
            {
                if (node.Kind != JsonKind.Object)
                {
                    Report(ConfigErrorCodes.WrongType, (path.Length == 0 ? "the config" : "'" + path + "'") + " must be a JSON object, not " + node.KindName, node.Location);
                    return null;
                }
                var known = Shape.Objects[path];
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in node.Properties)
                {
                    if (!seen.Add(p.Name))
                        Report(ConfigErrorCodes.DuplicateProperty, "property '" + p.Name + "' appears twice in " + (path.Length == 0 ? "the config" : "'" + path + "'") + "; keep one", p.NameLocation);
                    else if (Array.IndexOf(known, p.Name) < 0)
                        Report(ConfigErrorCodes.UnknownProperty, "unknown property '" + p.Name + "' in " + (path.Length == 0 ? "the config" : "'" + path + "'") + Hint(p.Name, known) + "; allowed: " + string.Join(", ", known), p.NameLocation);
                }
                return new ObjectReader(this, node, path, known);
            }

            internal static string Hint(string name, string[] candidates)
            {
                string? best = null;
                var bestDistance = int.MaxValue;
                foreach (var c in candidates)
                {
                    var d = Distance(name.ToLowerInvariant(), c.ToLowerInvariant());
                    if (d < bestDistance) { bestDistance = d; best = c; }
                }
                return best is not null && bestDistance <= Math.Max(2, name.Length / 3) ? " (did you mean '" + best + "'?)" : "";
            }

            private static int Distance(string a, string b)
            {
                var prev = new int[b.Length + 1];
                var cur = new int[b.Length + 1];
                for (var j = 0; j <= b.Length; j++) prev[j] = j;
                for (var i = 1; i <= a.Length; i++)
                {
                    cur[0] = i;
                    for (var j = 1; j <= b.Length; j++)
                        cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                    var tmp = prev; prev = cur; cur = tmp;
                }
                return prev[b.Length];
            }

            public bool TryEnum<T>(LocatedJson node, string path, string[]? allowed, out T value, IDictionary<string, string>? aliases = null) where T : struct
            {
                value = default;
                var names = allowed ?? Enum.GetNames(typeof(T)).Select(n => char.ToLowerInvariant(n[0]) + n.Substring(1)).ToArray();
                if (node.Kind != JsonKind.String)
                {
                    Report(ConfigErrorCodes.WrongType, "'" + path + "' must be a string, one of: " + string.Join(", ", names), node.Location);
                    return false;
                }
                var s = node.String ?? "";
                if (Array.IndexOf(names, s) < 0)
                {
                    Report(ConfigErrorCodes.InvalidValue, "'" + path + "' is \"" + s + "\"" + Hint(s, names) + "; allowed: " + string.Join(", ", names), node.Location);
                    return false;
                }
                if (aliases is not null && aliases.TryGetValue(s, out var canonical)) s = canonical;
                return Enum.TryParse(s, true, out value);
            }
        }

        private sealed class ObjectReader
        {
            private readonly Binder _b;
            private readonly string _path;
            private readonly string[] _known;
            public LocatedJson Node { get; }

            public ObjectReader(Binder b, LocatedJson node, string path, string[] known) { _b = b; Node = node; _path = path; _known = known; }

            private string Full(string name) => _path.Length == 0 ? name : _path + "." + name;

            public LocatedJson? Get(string name)
            {
                if (System.Array.IndexOf(_known, name) < 0) throw new InvalidOperationException("ImageFlowIO bug: property '" + Full(name) + "' is read but not declared in the parser's shape.");
                foreach (var p in Node.Properties) if (p.Name == name) return p.Value;
                return null;
            }

            public void Ignore(string name) => Get(name);

            public TextLocation LocationOf(string name) => Get(name)?.Location ?? Node.Location;

            private readonly Dictionary<string, ObjectReader?> _opened = new Dictionary<string, ObjectReader?>(StringComparer.Ordinal);

            // Opened once: opening reports unknown properties, and each problem is reported once.
            public ObjectReader? Obj(string name)
            {
                if (_opened.TryGetValue(name, out var reader)) return reader;
                var v = Get(name);
                reader = v is null ? null : _b.Open(v, Full(name));
                _opened[name] = reader;
                return reader;
            }

            private bool Expect(LocatedJson v, string name, JsonKind kind, string what)
            {
                if (v.Kind == kind || (kind == JsonKind.True && v.Kind == JsonKind.False)) return true;
                _b.Report(ConfigErrorCodes.WrongType, "'" + Full(name) + "' must be " + what + ", not " + v.KindName, v.Location);
                return false;
            }

            public string? String(string name, bool required = false)
            {
                var v = Get(name);
                if (v is null)
                {
                    if (required) _b.Report(ConfigErrorCodes.MissingProperty, "'" + Full(name) + "' is required", Node.Location);
                    return null;
                }
                if (!Expect(v, name, JsonKind.String, "a string")) return null;
                if (required && string.IsNullOrWhiteSpace(v.String)) { _b.Report(ConfigErrorCodes.InvalidValue, "'" + Full(name) + "' must not be empty", v.Location); return null; }
                return v.String;
            }

            public bool Bool(string name, bool fallback)
            {
                var v = Get(name);
                if (v is null || !Expect(v, name, JsonKind.True, "true or false")) return fallback;
                return v.Kind == JsonKind.True;
            }

            public double Double(string name, double fallback, double min = double.MinValue, double max = double.MaxValue)
            {
                var v = Get(name);
                if (v is null || !Expect(v, name, JsonKind.Number, "a number")) return fallback;
                if (v.Number < min || v.Number > max)
                {
                    _b.Report(ConfigErrorCodes.OutOfRange, "'" + Full(name) + "' is " + v.RawNumber + " but must be between " + min.ToString(CultureInfo.InvariantCulture) + " and " + max.ToString(CultureInfo.InvariantCulture), v.Location);
                    return fallback;
                }
                return v.Number;
            }

            public long Long(string name, long fallback, long min, long max)
            {
                var v = Get(name);
                if (v is null || !Expect(v, name, JsonKind.Number, "an integer")) return fallback;
                if (v.Number != Math.Floor(v.Number) || Math.Abs(v.Number) > 9.2e18)
                {
                    _b.Report(ConfigErrorCodes.WrongType, "'" + Full(name) + "' must be an integer, not " + v.RawNumber, v.Location);
                    return fallback;
                }
                var n = (long)v.Number;
                if (n < min || n > max)
                {
                    _b.Report(ConfigErrorCodes.OutOfRange, "'" + Full(name) + "' is " + v.RawNumber + " but must be between " + min.ToString(CultureInfo.InvariantCulture) + " and " + max.ToString(CultureInfo.InvariantCulture), v.Location);
                    return fallback;
                }
                return n;
            }

            public int Int(string name, int fallback, int min, int max) => (int)Long(name, fallback, min, max);

            public T Enum<T>(string name, T fallback, string[]? allowed = null, IDictionary<string, string>? aliases = null) where T : struct
            {
                var v = Get(name);
                if (v is null) return fallback;
                return _b.TryEnum<T>(v, Full(name), allowed, out var value, aliases) ? value : fallback;
            }

            private List<LocatedJson>? ArrayOf(string name, string what)
            {
                var v = Get(name);
                if (v is null || !Expect(v, name, JsonKind.Array, what)) return null;
                return v.Items;
            }

            public Size2? Size(string name)
            {
                var items = ArrayOf(name, "[width, height]");
                if (items is null) return null;
                if (items.Count != 2 || items.Any(i => i.Kind != JsonKind.Number || i.Number != Math.Floor(i.Number) || i.Number < 1 || i.Number > 65535))
                {
                    _b.Report(ConfigErrorCodes.InvalidValue, "'" + Full(name) + "' must be [width, height] with two whole numbers from 1 to 65535", Get(name)!.Location);
                    return null;
                }
                return new Size2((int)items[0].Number, (int)items[1].Number);
            }

            public double[]? Numbers(string name)
            {
                var items = ArrayOf(name, "an array of numbers");
                if (items is null) return null;
                if (items.Count == 0 || items.Count > 4 || items.Any(i => i.Kind != JsonKind.Number))
                {
                    _b.Report(ConfigErrorCodes.InvalidValue, "'" + Full(name) + "' must be an array of 1 to 4 numbers, one per channel", Get(name)!.Location);
                    return null;
                }
                return items.Select(i => i.Number).ToArray();
            }

            public string[]? Strings(string name)
            {
                var items = ArrayOf(name, "an array of strings");
                if (items is null) return null;
                if (items.Any(i => i.Kind != JsonKind.String))
                {
                    _b.Report(ConfigErrorCodes.WrongType, "'" + Full(name) + "' must hold strings only", Get(name)!.Location);
                    return null;
                }
                return items.Select(i => i.String ?? "").ToArray();
            }

            private Rgb8? ColorOf(LocatedJson v, string label)
            {
                if (v.Kind != JsonKind.Array || v.Items.Count != 3 || v.Items.Any(i => i.Kind != JsonKind.Number || i.Number != Math.Floor(i.Number) || i.Number < 0 || i.Number > 255))
                {
                    _b.Report(ConfigErrorCodes.InvalidValue, "'" + label + "' must be a colour [r, g, b] with whole numbers from 0 to 255", v.Location);
                    return null;
                }
                return new Rgb8((byte)v.Items[0].Number, (byte)v.Items[1].Number, (byte)v.Items[2].Number);
            }

            public Rgb8? Color(string name)
            {
                var v = Get(name);
                return v is null ? null : ColorOf(v, Full(name));
            }

            public List<Rgb8>? Colors(string name)
            {
                var items = ArrayOf(name, "an array of [r, g, b] colours");
                if (items is null) return null;
                var result = new List<Rgb8>();
                foreach (var item in items) { var c = ColorOf(item, Full(name)); if (c is not null) result.Add(c.Value); }
                return result;
            }
        }
    }
}
