using System.Diagnostics;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFlowIO.Imaging;

/// <summary>
/// The preprocess stage: image bytes → decoded, oriented, resized/cropped, augmented → the model's input tensor. A pure
/// function of (input digest, the preprocessing section and input orientation, the tensor layout, the host's hook code).
/// </summary>
internal sealed class PreprocessStage
{
    private readonly PipelineConfig _config;
    private readonly TensorLayout _layout;
    private readonly Func<TensorData, TensorData>? _hook;
    private readonly string _section;

    public PreprocessStage(PipelineConfig config, TensorLayout layout, Func<TensorData, TensorData>? hook)
    {
        (_config, _layout, _hook) = (config, layout, hook);
        _section = CacheKeys.SectionDigest(CacheKeys.PreprocessSection(config, layout) + HookIdentity(hook));
    }

    public IStageCodec<StageValue> Codec => TensorCodec.Preprocess;

    public string Key(string inputDigest) => CacheKeys.Preprocess(inputDigest, _section);

    /// <summary>Decodes and preprocesses one image; adds "decode" and "preprocess" milliseconds to <paramref name="timings"/>.</summary>
    public StageValue Run(string path, byte[] bytes, IDictionary<string, double> timings)
    {
        var sw = Stopwatch.StartNew();
        using var decoded = ImageDecoder.Decode(path, bytes, _config.Input, needsAlpha: _config.Preprocessing.Format.Channels == 4);
        timings["decode"] = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        var tensor = Preprocess(decoded, _config.Preprocessing, _layout);
        if (_hook is not null) tensor = _hook(tensor);
        timings["preprocess"] = sw.Elapsed.TotalMilliseconds;
        return new StageValue(tensor, decoded.SourceWidth, decoded.SourceHeight);
    }

    /// <summary>
    /// The decoded image → the model's input tensor: a stretch resize with a linear or cubic kernel into a float32 tensor
    /// of an 8-bit RGB image in one pass (<see cref="ResizeNormalizeKernel"/>), everything else through ImageSharp's
    /// resize (rounded to 8 bits) and <see cref="TensorWriter"/>.
    /// </summary>
    internal static TensorData Preprocess(DecodedImage decoded, PreprocessingConfig pre, TensorLayout layout)
    {
        if (decoded.Image is Image<Rgb24> rgb && ResizeNormalizeKernel.Applies(pre))
            return ResizeNormalizeKernel.Write(rgb, pre, layout);
        Preprocessor.Apply(decoded, pre);
        return TensorWriter.Write(decoded, pre, layout);
    }

    // A hook's code is part of the preprocess stage: its assembly's MVID changes whenever that code is rebuilt differently.
    private static string HookIdentity(Func<TensorData, TensorData>? hook) =>
        hook is null ? "" : "|hook:" + hook.Method.Module.ModuleVersionId.ToString("N") + ":" + hook.Method.MetadataToken.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
