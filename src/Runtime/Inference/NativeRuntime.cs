using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Microsoft.ML.OnnxRuntime;

namespace ImageFlowIO.Inference;

/// <summary>
/// The one place ONNX Runtime's native library is first touched: a missing or wrong library becomes one
/// <c>IFIO1007</c> error naming the library, this machine's runtime identifier and the fix, instead of a crash.
/// </summary>
internal static partial class NativeRuntime
{
    private static int _fallbackRegistered;
    private static string? _componentAssembly;
    private static string? _fallbackLibrary;
    // The runtime asks once per P/Invoke: resolve (and parse the .deps.json) once.
    private static IntPtr _resolved;

    /// <summary>The native library ONNX Runtime's managed API loads on this OS.</summary>
    public static string LibraryName =>
        OperatingSystem.IsWindows() ? "onnxruntime.dll" : OperatingSystem.IsMacOS() ? "libonnxruntime.dylib" : "libonnxruntime.so";

    /// <summary>
    /// For a plugin that ships no native library of its own (the MSBuild task in the ImageFlowIO package): ONNX Runtime's
    /// native library is taken from the copy <paramref name="componentAssembly"/>'s .deps.json names when that file is
    /// there (a repo build of the task), else from <paramref name="fallbackLibrary"/> (the consumer's restored
    /// Microsoft.ML.OnnxRuntime package). Once per process: the first caller's choice stands, as the library stays loaded.
    /// The CLI and the library API never call this and keep the host's deps.json resolution.
    /// </summary>
    public static void UseFallbackLibrary(string componentAssembly, string? fallbackLibrary)
    {
        if (Interlocked.CompareExchange(ref _fallbackRegistered, 1, 0) != 0) return;
        _componentAssembly = componentAssembly;
        _fallbackLibrary = string.IsNullOrWhiteSpace(fallbackLibrary) ? null : Path.GetFullPath(fallbackLibrary);
        // A resolver can be set once per assembly: one set by the host before us keeps its choice.
        try { NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, Resolve); }
        catch (InvalidOperationException) { }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!IsOnnxRuntime(name)) return IntPtr.Zero;
        if (_resolved != IntPtr.Zero) return _resolved;
        var path = OwnCopy(name) ?? (_fallbackLibrary is not null && File.Exists(_fallbackLibrary) ? _fallbackLibrary : null);
        // Neither: the load context's own probing runs and fails, and Explain names both places.
        return path is null ? IntPtr.Zero : _resolved = NativeLibrary.Load(path);
    }

    private static bool IsOnnxRuntime(string name) =>
        Path.GetFileNameWithoutExtension(name) is "onnxruntime" or "libonnxruntime" || name is "onnxruntime";

    // What the plugin's load context would resolve from its .deps.json (runtimes/<rid>/native beside the assembly).
    private static string? OwnCopy(string name)
    {
        if (_componentAssembly is null || !File.Exists(_componentAssembly)) return null;
        try { return new AssemblyDependencyResolver(_componentAssembly).ResolveUnmanagedDllToPath(name); }
        catch (InvalidOperationException) { return null; }
    }

    public static T Load<T>(Func<T> create, string modelPath)
    {
        KeepTelemetryOff();
        try { return create(); }
        catch (Exception ex) when (Unwrap(ex) is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException)
        {
            throw Explain(Unwrap(ex), modelPath);
        }
    }

    /// <summary>ONNX Runtime reads this when its environment starts; "1" turns its telemetry off.</summary>
    internal const string TelemetryVariable = "ORT_DISABLE_TELEMETRY";
    private static int _telemetryChecked;

    /// <summary>
    /// ONNX Runtime's Linux and macOS builds keep a telemetry store (~/.cache/Microsoft/DeveloperTools/.onnxruntime) and,
    /// seconds later, upload it to mobile.events.data.microsoft.com. A build tool must not record or call out from every
    /// build, so unless the user set <c>ORT_DISABLE_TELEMETRY</c> themselves (0 lets it run), it is set to 1 in this
    /// process before ONNX Runtime starts. Natively: on Unix the runtime's Environment.SetEnvironmentVariable is a
    /// managed copy that native getenv never sees.
    /// </summary>
    internal static void KeepTelemetryOff()
    {
        if (Interlocked.Exchange(ref _telemetryChecked, 1) != 0 || Environment.GetEnvironmentVariable(TelemetryVariable) is not null) return;
        if (OperatingSystem.IsWindows()) { Environment.SetEnvironmentVariable(TelemetryVariable, "1"); return; }
        // 0: a value set natively meanwhile stands; "libc" is the name the CLI's NativeHeap imports from too.
        try { setenv(TelemetryVariable, "1", 0); }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    internal static ModelException Explain(Exception cause, string modelPath)
    {
        var what = cause switch
        {
            DllNotFoundException => "was not found",
            BadImageFormatException => "is for another processor or OS",
            _ => "is a version this build does not match",
        };
        var rid = RuntimeInformation.RuntimeIdentifier;
        var fix = _fallbackRegistered == 0
            ? $"restore the Microsoft.ML.OnnxRuntime package for this runtime identifier so runtimes/{rid}/native/{LibraryName} sits beside the app"
            : $"restore the project (dotnet restore) so the Microsoft.ML.OnnxRuntime package's runtimes/{rid}/native/{LibraryName} is in the NuGet packages folder " +
              $"(looked for '{_fallbackLibrary ?? "(none resolved)"}' and beside '{_componentAssembly}'), or point ImageFlowOnnxRuntimeLibrary at that file";
        return new ModelException(ErrorCodes.OnnxRuntimeNotLoadable, modelPath,
            $"ONNX Runtime's native library {LibraryName} {what} for runtime '{rid}' ({cause.Message.Split('\n')[0].Trim()}); " +
            $"{fix} (or set execution.backend to \"noop\" to run without a model)", cause);
    }

    private static Exception Unwrap(Exception ex) => ex is TypeInitializationException { InnerException: { } inner } ? Unwrap(inner) : ex;
}
