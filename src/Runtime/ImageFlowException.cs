using ImageFlowIO.Config;

namespace ImageFlowIO;

/// <summary>Stable error codes outside the config range (IFIO0###). Never renumber.</summary>
public static class ErrorCodes
{
    // IFIO1### model
    public const string ModelNotFound = "IFIO1001";
    public const string ModelUnreadable = "IFIO1002";
    public const string ModelInputMismatch = "IFIO1003";
    public const string ModelTensorNameNotFound = "IFIO1004";
    public const string ModelRunFailed = "IFIO1005";
    public const string ModelLabelsUnreadable = "IFIO1006";
    public const string OnnxRuntimeNotLoadable = "IFIO1007";
    public const string ModelDictionaryUnreadable = "IFIO1008";

    // IFIO2### one input image
    public const string ImageEmpty = "IFIO2001";
    public const string ImageFormatUnknown = "IFIO2002";
    public const string ImageCorrupt = "IFIO2003";
    public const string ImageTooLarge = "IFIO2004";
    public const string ImageExtensionMismatch = "IFIO2005";
    public const string ImageNotFound = "IFIO2006";
    public const string ImageTruncated = "IFIO2007";
    public const string ImageDataCorrupt = "IFIO2008";

    // IFIO3### outputs
    public const string OutputNotWritable = "IFIO3001";
    public const string OutputCollision = "IFIO3002";
    public const string OutputDiskFull = "IFIO3003";
    public const string OutputWriteFailed = "IFIO3004";

    // IFIO4### caches (warnings: a cache never fails a run)
    public const string CacheUnavailable = "IFIO4001";
    public const string RemoteCacheUnavailable = "IFIO4002";
    public const string RemoteCacheReadOnly = "IFIO4003";

    // IFIO5### build integration
    public const string BuildNoConfig = "IFIO5001";
    public const string BuildTaskFailed = "IFIO5002";
    public const string BuildFileOutsideProject = "IFIO5003";
    public const string BuildBadShard = "IFIO5004";
    /// <summary>The CLI's command line is invalid (a flag's value, flags that contradict each other, <c>--shard auto</c> with inconsistent CI variables).</summary>
    public const string CommandLineInvalid = "IFIO5005";

    // IFIO7### quality gates (chain.checks): what the models found, reported at the asset
    public const string CheckLabel = "IFIO7001";
    public const string CheckTextMatches = "IFIO7002";
    public const string CheckTextMissing = "IFIO7003";
    public const string CheckStatistic = "IFIO7004";

    // IFIO9### bugs
    public const string Internal = "IFIO9001";
}

/// <summary>What failed, which decides the CLI exit code and whether the rest of a batch goes on.</summary>
public enum ErrorFamily
{
    /// <summary>The config is invalid (exit code 2).</summary>
    Config,
    /// <summary>The model is missing, unreadable or does not match the config (exit code 3).</summary>
    Model,
    /// <summary>One input image is bad; the rest of the batch goes on (exit code 1).</summary>
    Input,
    /// <summary>An output cannot be written (exit code 4 when the folder itself is not writable).</summary>
    Output,
    /// <summary>An unexpected failure (a bug).</summary>
    Internal,
}

/// <summary>An ImageFlowIO failure with a stable code, the file it concerns and what to do about it.</summary>
public class ImageFlowException : Exception
{
    public ImageFlowException(ErrorFamily family, string code, string? filePath, string message, Exception? inner = null)
        : base(message, inner)
    {
        Family = family;
        Code = code;
        FilePath = filePath;
    }

    public ErrorFamily Family { get; }
    /// <summary>Stable code <c>IFIO####</c>.</summary>
    public string Code { get; }
    /// <summary>The file the error is about (input image, model, config or output).</summary>
    public string? FilePath { get; }

    /// <summary><c>file: error IFIO2003: message</c>, the form MSBuild and editors understand.</summary>
    public override string ToString() => (FilePath is null ? "" : FilePath + ": ") + "error " + Code + ": " + Message;
}

/// <summary>The config has errors; <see cref="Diagnostics"/> lists each one with its location.</summary>
public sealed class ConfigException(IReadOnlyList<ConfigDiagnostic> diagnostics, string? filePath)
    : ImageFlowException(ErrorFamily.Config, diagnostics.FirstOrDefault(d => d.IsError)?.Code ?? ConfigErrorCodes.InvalidJson, filePath,
        string.Join(Environment.NewLine, diagnostics.Where(d => d.IsError).Select(d => d.ToString())))
{
    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; } = diagnostics;
}

public sealed class ModelException(string code, string? modelPath, string message, Exception? inner = null)
    : ImageFlowException(ErrorFamily.Model, code, modelPath, message, inner);

public sealed class ImageInputException(string code, string imagePath, string message, Exception? inner = null)
    : ImageFlowException(ErrorFamily.Input, code, imagePath, message, inner);

public sealed class OutputException(string code, string outputPath, string message, Exception? inner = null)
    : ImageFlowException(ErrorFamily.Output, code, outputPath, message, inner);

/// <summary>
/// Log events that carry an IFIO code as data: the <see cref="Microsoft.Extensions.Logging.EventId"/>'s id is the
/// number and its name the code, so a host (MSBuild, CLI) shows the code without parsing the message.
/// </summary>
internal static class CodedEvents
{
    public static Microsoft.Extensions.Logging.EventId For(string code) =>
        new(int.Parse(code.AsSpan(4), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture), code);
}

/// <summary>The cache's coded warnings (a cache never fails a run).</summary>
internal static class CacheEvents
{
    public static readonly Microsoft.Extensions.Logging.EventId Unavailable = CodedEvents.For(ErrorCodes.CacheUnavailable);
    public static readonly Microsoft.Extensions.Logging.EventId RemoteUnavailable = CodedEvents.For(ErrorCodes.RemoteCacheUnavailable);
    public static readonly Microsoft.Extensions.Logging.EventId RemoteReadOnly = CodedEvents.For(ErrorCodes.RemoteCacheReadOnly);
}
