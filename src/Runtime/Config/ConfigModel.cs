// The one config model of ImageFlowIO. Plain netstandard2.0-compatible source: the source generator compiles
// this file too (linked), so keep it free of APIs newer than netstandard2.0.
using System;
using System.Collections.Generic;
using System.IO;

namespace ImageFlowIO.Config
{
    /// <summary>An immutable, validated ImageFlowIO config (one JSON file).</summary>
    public sealed class PipelineConfig
    {
        /// <summary>Full path of the config file, or null for a config built in code.</summary>
        public string? ConfigPath { get; init; }
        /// <summary>Folder that relative paths in the config resolve against.</summary>
        public string BaseDirectory { get; init; } = "";
        public ModelConfig Model { get; init; } = new ModelConfig();
        public ExecutionConfig Execution { get; init; } = new ExecutionConfig();
        public InputConfig Input { get; init; } = new InputConfig();
        public PreprocessingConfig Preprocessing { get; init; } = new PreprocessingConfig();
        public InferenceConfig Inference { get; init; } = new InferenceConfig();
        public PostprocessingConfig Postprocessing { get; init; } = new PostprocessingConfig();
        public OutputConfig Output { get; init; } = new OutputConfig();
        public LoggingConfig Logging { get; init; } = new LoggingConfig();
        public VisualizationConfig Visualization { get; init; } = new VisualizationConfig();
        public CustomConfig Custom { get; init; } = new CustomConfig();
        /// <summary>Models run per region of the model's output (null: one model per image, as before).</summary>
        public ChainConfig? Chain { get; init; }
        /// <summary>Quality gates over what the models found, reported as <c>IFIO7###</c> diagnostics.</summary>
        public IReadOnlyList<CheckConfig> Checks { get; init; } = Array.Empty<CheckConfig>();

        /// <summary>Resolves a path written in the config against <see cref="BaseDirectory"/>.</summary>
        public string ResolvePath(string path)
        {
            if (Path.IsPathRooted(path)) return Path.GetFullPath(path);
            var baseDir = string.IsNullOrEmpty(BaseDirectory) ? Directory.GetCurrentDirectory() : BaseDirectory;
            return Path.GetFullPath(Path.Combine(baseDir, path));
        }

        /// <summary>The identifier used in file names and the generated class name.</summary>
        public string ModelName
        {
            get
            {
                if (!string.IsNullOrEmpty(Model.Name)) return Model.Name!;
                var stem = Path.GetFileNameWithoutExtension(Model.Path);
                return string.IsNullOrEmpty(stem) ? "model" : stem;
            }
        }
    }

    public enum TensorLayout { Auto, Nchw, Nhwc }
    public enum BackendKind { Auto, Onnx, Noop, Tfjs }
    public enum CacheMode { None, Memory, Disk }
    public enum CacheCompression { None, Lz4, Zstd }
    public enum ResizeMode { Fill, Fit, Crop }
    public enum ResizeKernel { Nearest, Linear, Cubic, Lanczos3 }
    public enum AugmentationMethod { Flip, Rotate, ColorJitter }
    public enum FlipAxis { Horizontal, Vertical }
    public enum TensorDataType { Float32, Float16, Uint8, Int8 }
    public enum ChannelOrder { Rgb, Bgr }
    public enum TilePadMode { Reflect, Edge, Zero }
    public enum TileBlend { Average, Feather, Max }
    public enum ActivationType { None, Sigmoid, Tanh, Softmax }
    public enum OutputDataType { Uint8, Uint16, Float32 }
    public enum ToneMapMethod { Aces, Reinhard, Filmic }
    public enum ColorMapMode { Grayscale, Viridis, Magma, Plasma, Inferno, Turbo }
    public enum PaletteSource { Argmax, Channel }
    public enum PaletteMode { Preset, File, Inline }
    public enum ResizeTargetKind { None, Input, Size }
    public enum ImageFormat { Png, Jpeg, Webp, Tiff }
    public enum ColorSpace { Srgb, Linear }
    public enum RawFormat { Npy, Npz, Bin }
    public enum RawDataType { Float32, Uint8 }
    public enum LogLevel { Debug, Info, Warn, Error }
    public enum VisualizationType { SideBySide, Difference, Overlay, Heatmap }
    /// <summary>How a model output becomes regions of the source image (later: boxes, a detector's [N, 6] output).</summary>
    public enum RegionFinderKind { DbText }
    /// <summary>What a per-region model does with its crop (later: classifier, labels per region).</summary>
    public enum RegionStepKind { Orientation, Recognizer }
    public enum CheckSeverity { Info, Warning, Error }
    public enum CheckStatistic { Min, Max, Mean }

    /// <summary>A width × height pair, as written <c>[w, h]</c>.</summary>
    public readonly struct Size2 : IEquatable<Size2>
    {
        public Size2(int width, int height) { Width = width; Height = height; }
        public int Width { get; }
        public int Height { get; }
        public bool Equals(Size2 other) => Width == other.Width && Height == other.Height;
        public override bool Equals(object? obj) => obj is Size2 s && Equals(s);
        public override int GetHashCode() => Width * 397 ^ Height;
        public override string ToString() => "[" + Width + ", " + Height + "]";
    }

    /// <summary>An 8-bit RGB colour, as written <c>[r, g, b]</c>.</summary>
    public readonly struct Rgb8 : IEquatable<Rgb8>
    {
        public Rgb8(byte r, byte g, byte b) { R = r; G = g; B = b; }
        public byte R { get; }
        public byte G { get; }
        public byte B { get; }
        public bool Equals(Rgb8 other) => R == other.R && G == other.G && B == other.B;
        public override bool Equals(object? obj) => obj is Rgb8 c && Equals(c);
        public override int GetHashCode() => R << 16 | G << 8 | B;
        public override string ToString() => "[" + R + ", " + G + ", " + B + "]";
    }

    public sealed class ModelConfig
    {
        public string Path { get; init; } = "";
        public string? Name { get; init; }
        public TensorLayout Layout { get; init; } = TensorLayout.Auto;
        public string? InputName { get; init; }
        public string? OutputName { get; init; }
        public string? Labels { get; init; }
    }

    public sealed class ExecutionConfig
    {
        public BackendKind Backend { get; init; } = BackendKind.Auto;
        public ThreadsConfig Threads { get; init; } = new ThreadsConfig();
        public int WarmupRuns { get; init; }
        public CacheMode UseCaching { get; init; } = CacheMode.None;
        public string? CacheDir { get; init; }
        public CacheOptionsConfig Cache { get; init; } = new CacheOptionsConfig();
    }

    public sealed class ThreadsConfig
    {
        public bool Apply { get; init; }
        /// <summary>Thread count; null means "auto" (all cores).</summary>
        public int? Count { get; init; }
    }

    public sealed class CacheOptionsConfig
    {
        public int MemoryLimitMB { get; init; } = 512;
        public int DiskLimitMB { get; init; } = 2048;
        public CacheCompression Compression { get; init; } = CacheCompression.None;
        public RemoteCacheConfig? Remote { get; init; }
    }

    public sealed class RemoteCacheConfig
    {
        public string Url { get; init; } = "";
        public bool ReadOnly { get; init; }
        public int TimeoutMs { get; init; } = 2000;
    }

    public sealed class InputConfig
    {
        public string Type { get; init; } = "image";
        public string? Source { get; init; }
        public int BatchSize { get; init; } = 1;
        public bool AutoOrient { get; init; } = true;
        public long MaxPixels { get; init; } = 100_000_000;
    }

    public sealed class PreprocessingConfig
    {
        public ResizeConfig Resize { get; init; } = new ResizeConfig();
        public CenterCropConfig CenterCrop { get; init; } = new CenterCropConfig();
        public GrayscaleConfig Grayscale { get; init; } = new GrayscaleConfig();
        public AugmentationsConfig Augmentations { get; init; } = new AugmentationsConfig();
        public FormatConfig Format { get; init; } = new FormatConfig();
        public NormalizeConfig Normalize { get; init; } = new NormalizeConfig();
    }

    public sealed class ResizeConfig
    {
        public bool Apply { get; init; }
        public Size2? ImageSize { get; init; }
        public bool KeepAspectRatio { get; init; } = true;
        public ResizeMode ResizeMode { get; init; } = ResizeMode.Fit;
        public ResizeKernel Kernel { get; init; } = ResizeKernel.Lanczos3;
        public Rgb8 PadColor { get; init; }
        /// <summary>The mode actually applied: <c>keepAspectRatio: false</c> means fill.</summary>
        public ResizeMode EffectiveMode => KeepAspectRatio ? ResizeMode : ResizeMode.Fill;
    }

    public sealed class CenterCropConfig
    {
        public bool Apply { get; init; }
        public Size2? Size { get; init; }
    }

    public sealed class GrayscaleConfig
    {
        public bool Apply { get; init; }
    }

    public sealed class AugmentationsConfig
    {
        public bool Apply { get; init; }
        public IReadOnlyList<AugmentationMethod> Methods { get; init; } = Array.Empty<AugmentationMethod>();
        public FlipAxis FlipAxis { get; init; } = FlipAxis.Horizontal;
        public int RotateAngle { get; init; } = 90;
        public double Brightness { get; init; } = 1.0;
        public double Saturation { get; init; } = 1.0;
        public double Hue { get; init; }
    }

    public sealed class FormatConfig
    {
        public TensorDataType DataType { get; init; } = TensorDataType.Float32;
        public int Channels { get; init; } = 3;
        public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;
    }

    public sealed class NormalizeConfig
    {
        public bool Apply { get; init; }
        public IReadOnlyList<double> Mean { get; init; } = new double[] { 0, 0, 0 };
        public IReadOnlyList<double> Std { get; init; } = new double[] { 1, 1, 1 };
    }

    public sealed class InferenceConfig
    {
        public int BatchSize { get; init; } = 1;
        public TilingConfig Tiling { get; init; } = new TilingConfig();
    }

    public sealed class TilingConfig
    {
        public bool Apply { get; init; }
        public Size2 TileSize { get; init; } = new Size2(256, 256);
        public int Overlap { get; init; }
        public TilePadMode PadMode { get; init; } = TilePadMode.Reflect;
        public TileBlend Blend { get; init; } = TileBlend.Average;
    }

    public sealed class PostprocessingConfig
    {
        public ActivationConfig Activation { get; init; } = new ActivationConfig();
        public ClampConfig Clamp { get; init; } = new ClampConfig();
        public DenormalizeConfig Denormalize { get; init; } = new DenormalizeConfig();
        public ToneMapConfig ToneMap { get; init; } = new ToneMapConfig();
        public ColorMapConfig ColorMap { get; init; } = new ColorMapConfig();
        public PaletteMapConfig PaletteMap { get; init; } = new PaletteMapConfig();
        public ResizeTargetConfig ResizeTo { get; init; } = new ResizeTargetConfig();
        public BlendOverlayConfig BlendOverlay { get; init; } = new BlendOverlayConfig();
    }

    public sealed class ActivationConfig
    {
        public bool Apply { get; init; }
        public ActivationType Type { get; init; } = ActivationType.None;
    }

    public sealed class ClampConfig
    {
        public bool Apply { get; init; }
        public double Min { get; init; }
        public double Max { get; init; } = 1.0;
    }

    public sealed class DenormalizeConfig
    {
        public bool Apply { get; init; }
        public double Scale { get; init; } = 255.0;
        public OutputDataType Dtype { get; init; } = OutputDataType.Uint8;
    }

    public sealed class ToneMapConfig
    {
        public bool Apply { get; init; }
        public ToneMapMethod Method { get; init; } = ToneMapMethod.Aces;
        public double Exposure { get; init; }
        public double Gamma { get; init; } = 2.2;
    }

    public sealed class ColorMapConfig
    {
        public bool Apply { get; init; }
        public ColorMapMode Mode { get; init; } = ColorMapMode.Grayscale;
        public int Channel { get; init; }
    }

    public sealed class PaletteMapConfig
    {
        public bool Apply { get; init; }
        public PaletteSource Source { get; init; } = PaletteSource.Argmax;
        public int Channel { get; init; }
        public PaletteConfig Palette { get; init; } = new PaletteConfig();
        public OutlineConfig Outline { get; init; } = new OutlineConfig();
    }

    public sealed class PaletteConfig
    {
        public PaletteMode Mode { get; init; } = PaletteMode.Preset;
        public string Preset { get; init; } = "pascal_voc";
        public string? File { get; init; }
        public IReadOnlyList<Rgb8> Inline { get; init; } = Array.Empty<Rgb8>();
    }

    public sealed class OutlineConfig
    {
        public bool Apply { get; init; }
        public Rgb8 Color { get; init; } = new Rgb8(255, 255, 255);
        public int Thickness { get; init; } = 1;
    }

    public sealed class ResizeTargetConfig
    {
        public ResizeTargetKind Kind { get; init; } = ResizeTargetKind.None;
        public Size2 Size { get; init; }
    }

    public sealed class BlendOverlayConfig
    {
        public bool Apply { get; init; }
        public double Alpha { get; init; } = 0.5;
    }

    public sealed class OutputConfig
    {
        public SaveConfig Save { get; init; } = new SaveConfig();
        public SaveRawConfig SaveRaw { get; init; } = new SaveRawConfig();
        public WriteMetaConfig WriteMeta { get; init; } = new WriteMetaConfig();
    }

    public sealed class SaveConfig
    {
        public bool Apply { get; init; }
        public string Path { get; init; } = "outputs";
        public ImageFormat Format { get; init; } = ImageFormat.Png;
        /// <summary>Bits per channel; null means the format's default (8, or 16 for a uint16 denormalize).</summary>
        public int? BitDepth { get; init; }
        public ColorSpace ColorSpace { get; init; } = ColorSpace.Srgb;
        public bool LinearToSRGB { get; init; }
        public bool SplitChannels { get; init; }
        public IReadOnlyList<string> ChannelNames { get; init; } = Array.Empty<string>();
        /// <summary>File name pattern; null means <c>{name}.{format}</c>.</summary>
        public string? Filename { get; init; }
        public int Quality { get; init; } = 90;
        /// <summary>PNG deflate level 0-9 (ImageFlowIO extension); lower is faster.</summary>
        public int CompressionLevel { get; init; } = 1;
    }

    public sealed class SaveRawConfig
    {
        public bool Apply { get; init; }
        public RawFormat Format { get; init; } = RawFormat.Npy;
        public RawDataType Dtype { get; init; } = RawDataType.Float32;
        public string Path { get; init; } = "outputs/raw";
    }

    public sealed class WriteMetaConfig
    {
        public bool Apply { get; init; }
        public string? JsonPath { get; init; }
    }

    public sealed class LoggingConfig
    {
        public LogLevel Level { get; init; } = LogLevel.Info;
        public bool SaveLogs { get; init; }
        public string? LogPath { get; init; }
    }

    public sealed class VisualizationConfig
    {
        public bool Apply { get; init; }
        public VisualizationType Type { get; init; } = VisualizationType.SideBySide;
        public string? OutputPath { get; init; }
        public double Alpha { get; init; } = 0.5;
    }

    public sealed class CustomConfig
    {
        public string? PreprocessingFn { get; init; }
        public string? PostprocessingFn { get; init; }
    }

    /// <summary>
    /// A chain: the model's output (a text probability map) becomes regions of the source image, and each region, cropped
    /// at source resolution, runs through the per-region models in order.
    /// </summary>
    public sealed class ChainConfig
    {
        public RegionsConfig Regions { get; init; } = new RegionsConfig();
        public IReadOnlyList<RegionStepConfig> PerRegion { get; init; } = Array.Empty<RegionStepConfig>();
        public ChainOverlayConfig Overlay { get; init; } = new ChainOverlayConfig();
    }

    /// <summary>The region finder and its settings (DB text detection post-processing: PaddleOCR's names and defaults).</summary>
    public sealed class RegionsConfig
    {
        public RegionFinderKind Finder { get; init; } = RegionFinderKind.DbText;
        /// <summary>Probability above which a map pixel is text.</summary>
        public double Threshold { get; init; } = 0.3;
        /// <summary>Mean probability inside a box below which it is dropped.</summary>
        public double BoxThreshold { get; init; } = 0.6;
        /// <summary>How much a box grows: area × ratio / perimeter on every side.</summary>
        public double UnclipRatio { get; init; } = 1.5;
        /// <summary>Boxes with a side shorter than this (map pixels) are dropped.</summary>
        public double MinSize { get; init; } = 3;
        public int MaxCandidates { get; init; } = 1000;
    }

    /// <summary>One model run on every region's crop.</summary>
    public sealed class RegionStepConfig
    {
        public RegionStepKind Kind { get; init; } = RegionStepKind.Recognizer;
        /// <summary>The .onnx file.</summary>
        public string Path { get; init; } = "";
        /// <summary>Recognizer: the dictionary file, one character per line (the space is added).</summary>
        public string? Dictionary { get; init; }
        /// <summary>The crop's size at the model: [width, height]. Orientation: exactly (default [192, 48]); recognizer: the height, and the width a narrower line is padded to (default [64, 48]; wider lines are padded to a multiple of 32).</summary>
        public Size2? InputSize { get; init; }
        /// <summary>Orientation: the score at which a crop is turned (default 0.9). Recognizer: lines scoring under it are dropped (default 0.5).</summary>
        public double? MinScore { get; init; }

        /// <summary>The crop's pixels become (v / 255 − mean) / std. Orientation default 0.5 (PaddleOCR's); recognizer default 0.</summary>
        public double? Mean { get; init; }
        /// <summary>Orientation default 0.5; recognizer default 1 (the [0, 1] input reads spaced Latin text best, measured in docs/chains.md).</summary>
        public double? Std { get; init; }
        /// <summary>Recognizer: the space's probability at a blank step above which a space is read between two characters (default 0.02; 1 turns it off).</summary>
        public double? SpaceScore { get; init; }

        public double EffectiveMean => Mean ?? (Kind == RegionStepKind.Orientation ? 0.5 : 0);
        public double EffectiveStd => Std ?? (Kind == RegionStepKind.Orientation ? 0.5 : 1);
        public double EffectiveSpaceScore => SpaceScore ?? 0.02;
        public Size2 EffectiveInputSize => InputSize ?? (Kind == RegionStepKind.Orientation ? new Size2(192, 48) : new Size2(64, 48));
        public double EffectiveMinScore => MinScore ?? (Kind == RegionStepKind.Orientation ? 0.9 : 0.5);
    }

    /// <summary>An image of the source with each region's box (and its text where a font is available).</summary>
    public sealed class ChainOverlayConfig
    {
        public bool Apply { get; init; }
        public string Path { get; init; } = "outputs";
        /// <summary>File name pattern with the output tokens; null means <c>{name}.lines.png</c>.</summary>
        public string? Filename { get; init; }
    }

    /// <summary>
    /// A quality gate: one condition over what the models found. Exactly one of <see cref="Label"/>,
    /// <see cref="TextMatches"/>, <see cref="TextMissing"/> or <see cref="Statistic"/> is set.
    /// </summary>
    public sealed class CheckConfig
    {
        /// <summary>Stable id, named in the diagnostic and used to silence it per asset.</summary>
        public string Id { get; init; } = "";
        public CheckSeverity Severity { get; init; } = CheckSeverity.Warning;
        /// <summary>Fires when this label (the classifier's top label, or a region's orientation) scores at least <see cref="MinScore"/>.</summary>
        public string? Label { get; init; }
        public double MinScore { get; init; } = 0.5;
        /// <summary>Fires when the recognized text matches this regular expression.</summary>
        public string? TextMatches { get; init; }
        /// <summary>Fires when the recognized text does not contain this string (ordinal, case-sensitive).</summary>
        public string? TextMissing { get; init; }
        /// <summary>Fires when this statistic of the model output's <see cref="Channel"/> is below <see cref="Below"/> or above <see cref="Above"/>.</summary>
        public CheckStatistic? Statistic { get; init; }
        public int Channel { get; init; }
        public double? Below { get; init; }
        public double? Above { get; init; }
        /// <summary>What the diagnostic says, in place of the generated sentence.</summary>
        public string? Message { get; init; }
    }
}
