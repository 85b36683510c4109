using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ImageFlowIO.Config;

namespace ImageFlowIO.Caching;

/// <summary>
/// Content-addressed cache keys (SPEC §3): the input's content digest, the canonical JSON of exactly the config
/// sections a stage reads, the model's digest (inference) and the tool version. Never the raw path.
/// </summary>
internal static class CacheKeys
{
    /// <summary>Version of this tool; part of every key so a new release never reads an older format.</summary>
    public static readonly string ToolVersion = typeof(CacheKeys).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    /// <summary>Canonical JSON of the preprocessing inputs: every effective value, defaults included, so an edit that changes nothing keeps the key.</summary>
    /// <remarks>Configs that take the one-pass resize + normalise add its name: their tensors are not the ImageSharp path's.</remarks>
    public static string PreprocessSection(PipelineConfig config, TensorLayout layout) =>
        CanonicalKeyJson.Write(new PreprocessKeyParts(config.Preprocessing, config.Input.AutoOrient, layout))
        + (Imaging.ResizeNormalizeKernel.Applies(config.Preprocessing) ? "|resize-normalize/1" : "");

    public static string InferenceSection(PipelineConfig config, BackendKind backend, string inputName, string outputName) =>
        CanonicalKeyJson.Write(new InferenceKeyParts(config.Inference, backend, inputName, outputName));

    /// <summary>Canonical JSON of everything that shapes the output files of one inference result.</summary>
    public static string OutputSection(PipelineConfig config, string? labelsDigest) =>
        CanonicalKeyJson.Write(new OutputKeyParts(config.Postprocessing, config.Output, config.Visualization, config.Custom, config.ModelName, labelsDigest));

    /// <summary>The output stage: the inference entry, the output sections, and the files' places relative to the input's output folder (a new name pattern writes anew; another output folder reuses the entry).</summary>
    /// <remarks>"output/facts": entries carry <see cref="OutputFacts"/> since then; older entries (without them) are never looked up.
    /// <paramref name="outputSection"/>: <see cref="SectionDigest"/> of <see cref="OutputSection"/>.</remarks>
    public static string Output(string inferenceKey, string outputSection, string relativeImagePath, string rawNameStem) =>
        Digest("output/facts", ToolVersion, inferenceKey, outputSection, relativeImagePath, rawNameStem);

    /// <summary>Canonical JSON of the postprocessing section alone (the up-to-date decision names the section that changed).</summary>
    public static string PostprocessingSection(PipelineConfig config) => CanonicalKeyJson.WritePostprocessing(config.Postprocessing);

    /// <summary>Canonical JSON of what shapes the output files besides postprocessing: output, visualization, custom, the model's name.</summary>
    public static string OutputFilesSection(PipelineConfig config) =>
        CanonicalKeyJson.WriteOutputFiles(new OutputKeyParts(config.Postprocessing, config.Output, config.Visualization, config.Custom, config.ModelName, null));

    /// <summary>The digest the output key takes for the labels and the palette file: the labels' alone when there is no palette file (keys stay as they were).</summary>
    public static string? DecorationsDigest(string? labelsDigest, string? paletteDigest) =>
        paletteDigest is null ? labelsDigest : (labelsDigest ?? "") + "+palette:" + paletteDigest;

    /// <summary>
    /// A config section as the keys take it: the digest of its canonical JSON, made once per pipeline. Each input's keys
    /// then hash a few dozen bytes, not the section's kilobyte again (a fully cached run computes keys and little else).
    /// </summary>
    public static string SectionDigest(string section) => Digest(section);

    /// <param name="inputDigest">The input file's content digest.</param>
    /// <param name="preprocessSection"><see cref="SectionDigest"/> of <see cref="PreprocessSection"/> (and a host hook's identity).</param>
    public static string Preprocess(string inputDigest, string preprocessSection) =>
        Digest("preprocess", ToolVersion, inputDigest, preprocessSection);

    /// <param name="preprocessKey">The input's preprocess key.</param>
    /// <param name="modelDigest">The model file's content digest.</param>
    /// <param name="inferenceSection"><see cref="SectionDigest"/> of <see cref="InferenceSection"/>.</param>
    public static string Inference(string preprocessKey, string modelDigest, string inferenceSection) =>
        Digest("inference", ToolVersion, preprocessKey, modelDigest, inferenceSection);

    /// <summary>Base64URL of SHA-256 over the length-prefixed parts (43 characters, safe in any file system).</summary>
    public static string Digest(params ReadOnlySpan<string> parts)
    {
        var length = 0;
        foreach (var part in parts) length += 4 + Encoding.UTF8.GetByteCount(part);
        var buffer = length <= 1024 ? stackalloc byte[length] : new byte[length];
        var at = 0;
        foreach (var part in parts)
        {
            var written = Encoding.UTF8.GetBytes(part, buffer[(at + 4)..]);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(buffer[at..], written);
            at += 4 + written;
        }
        // Managed: a run served from the cache computes only keys, and then never loads OpenSSL (KeySha256).
        Span<byte> digest = stackalloc byte[32];
        KeySha256.Hash(buffer, digest);
        return Base64Url(digest);
    }

    /// <summary>Base64URL without padding (RFC 4648 §5), made as one string.</summary>
    public static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>SHA-256 of content, hex.</summary>
    public static string ContentDigest(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));
}

internal sealed record PreprocessKeyParts(PreprocessingConfig Preprocessing, bool AutoOrient, TensorLayout Layout);
internal sealed record OutputKeyParts(PostprocessingConfig Postprocessing, OutputConfig Output, VisualizationConfig Visualization, CustomConfig Custom, string ModelName, string? LabelsDigest);
internal sealed record InferenceKeyParts(InferenceConfig Inference, BackendKind Backend, string InputName, string OutputName);
