using System.Runtime.InteropServices;

namespace ImageFlowIO.Inference;

/// <summary>
/// The one place ONNX Runtime's native library is first touched: a missing or wrong library becomes one
/// <c>IFIO1007</c> error naming the library, this machine's runtime identifier and the fix, instead of a crash.
/// </summary>
internal static class NativeRuntime
{
    /// <summary>The native library ONNX Runtime's managed API loads on this OS.</summary>
    public static string LibraryName =>
        OperatingSystem.IsWindows() ? "onnxruntime.dll" : OperatingSystem.IsMacOS() ? "libonnxruntime.dylib" : "libonnxruntime.so";

    public static T Load<T>(Func<T> create, string modelPath)
    {
        try { return create(); }
        catch (Exception ex) when (Unwrap(ex) is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException)
        {
            throw Explain(Unwrap(ex), modelPath);
        }
    }

    internal static ModelException Explain(Exception cause, string modelPath)
    {
        var what = cause switch
        {
            DllNotFoundException => "was not found",
            BadImageFormatException => "is for another processor or OS",
            _ => "is a version this build does not match",
        };
        return new ModelException(ErrorCodes.OnnxRuntimeNotLoadable, modelPath,
            $"ONNX Runtime's native library {LibraryName} {what} for runtime '{RuntimeInformation.RuntimeIdentifier}' ({cause.Message.Split('\n')[0].Trim()}); " +
            $"restore the Microsoft.ML.OnnxRuntime package for this runtime identifier so runtimes/{RuntimeInformation.RuntimeIdentifier}/native/{LibraryName} sits beside the app (or set execution.backend to \"noop\" to run without a model)", cause);
    }

    private static Exception Unwrap(Exception ex) => ex is TypeInitializationException { InnerException: { } inner } ? Unwrap(inner) : ex;
}
