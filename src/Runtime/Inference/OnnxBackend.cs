using ImageFlowIO.Config;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ImageFlowIO.Inference;

/// <summary>
/// Runs an ONNX model with ONNX Runtime through the process-wide <see cref="SessionCache"/>. With a signature folder
/// (the disk cache's), the model's input/output signature is remembered by model digest, so a later process validates
/// the config without loading ONNX Runtime and creates the session only when an input actually needs the model.
/// </summary>
internal sealed class OnnxBackend : IInferenceBackend
{
    // This backend's lease on the process-wide session: released on Dispose, so a shared session outlives no user and no user outlives it.
    private readonly Lazy<SessionLease> _session;
    private readonly string _modelPath;
    /// <summary>Input shape → the float output shape the model gave it (models whose output shape follows from the input's).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> _floatOutputShapes = new(StringComparer.Ordinal);

    // digests: where the model's digest is looked up by size and time (hashed only when they changed); null: hash it.
    public OnnxBackend(string modelPath, ModelConfig model, int intraOpThreads, ILogger? logger = null, string? signatureFolder = null, Caching.InputDigestIndex? digests = null)
        : this(modelPath, model, () => intraOpThreads, logger, signatureFolder, digests) { }

    // intraOpThreads: read when the session opens (on the first inference), so a host may size it after deciding what runs.
    public OnnxBackend(string modelPath, ModelConfig model, Func<int> intraOpThreads, ILogger? logger = null, string? signatureFolder = null, Caching.InputDigestIndex? digests = null)
    {
        _modelPath = modelPath;
        if (!File.Exists(modelPath))
            throw new ModelException(ErrorCodes.ModelNotFound, modelPath, "the model file does not exist; check model.path (relative paths resolve against the config's folder)");
        // The bytes read for the digest (a fresh clone: the index does not know the file yet) serve the signature too.
        byte[]? modelBytes;
        try
        {
            if (digests is not null) ModelDigest = digests.GetDigest(modelPath, File.ReadAllBytes, out modelBytes);
            else ModelDigest = Caching.CacheKeys.ContentDigest(modelBytes = File.ReadAllBytes(modelPath));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelException(ErrorCodes.ModelUnreadable, modelPath, $"the model file cannot be read ({ex.Message})", ex);
        }
        // The optimised graph is kept beside the remembered signature: a later process skips ONNX Runtime's graph optimisation.
        var optimized = signatureFolder is null ? null : new OptimizedModel(signatureFolder, ModelDigest);
        _session = new Lazy<SessionLease>(() => OpenSession(intraOpThreads(), logger, optimized), LazyThreadSafetyMode.ExecutionAndPublication);
        var signatureFile = signatureFolder is null ? null : Path.Combine(signatureFolder, SignatureFileName(model));
        if (signatureFile is not null && ModelSignatureFile.TryRead(signatureFile) is { } known) Signature = known;
        else
        {
            // The file's own protobuf first: a run served by caches (a fresh clone fed by a remote cache) never needs ONNX Runtime.
            Signature = ReadHeader(modelPath, modelBytes, model) ?? ReadSignature(model);
            if (signatureFile is not null) ModelSignatureFile.TryWrite(signatureFile, Signature);
        }
    }

    /// <summary>
    /// Starts creating the session on a thread of its own (while inputs are preprocessed, or another model loads); a run waits
    /// for it, and a load that fails fails that run as it would have.
    /// </summary>
    public void OpenSoon()
    {
        if (_session.IsValueCreated || Volatile.Read(ref _opening) is not null) return;
        var opening = new Task(() =>
        {
            try { _ = _session.Value; }
            catch (Exception) { } // kept by the Lazy: the run that needs the session reports it
        }, TaskCreationOptions.LongRunning); // a thread of its own: the pool's few threads are busy with the batch
        if (Interlocked.CompareExchange(ref _opening, opening, null) is null) opening.Start();
    }

    private Task? _opening;

    /// <summary>Whether the session was asked for yet (opening on its own thread, or opened).</summary>
    internal bool OpeningStarted => _session.IsValueCreated || Volatile.Read(ref _opening) is not null;

    public ModelSignature Signature { get; }
    /// <summary>Runs whose output ONNX Runtime wrote straight into the tensor's array (no copy out of its buffer).</summary>
    internal int RunsIntoOwnArray => Volatile.Read(ref _runsIntoOwnArray);
    private int _runsIntoOwnArray;
    public string ModelDigest { get; }
    /// <summary>Whether this backend has needed ONNX Runtime yet (false while every input came from a cache).</summary>
    public bool IsSessionCreated => _session.IsValueCreated;
    /// <summary>The shared session this backend leases (null until it needed one).</summary>
    internal SharedSession? LeasedSession => _session.IsValueCreated ? _session.Value.Shared : null;

    /// <summary>Same model bytes and the same config choices of names and layout give the same signature.</summary>
    private string SignatureFileName(ModelConfig model) =>
        ModelDigest + "-" + Caching.CacheKeys.Digest(model.InputName ?? "", model.OutputName ?? "", model.Layout.ToString())[..12] + ".signature.json";

    private static ModelSignature? ReadHeader(string modelPath, byte[]? bytes, ModelConfig model)
    {
        try { return OnnxModelHeader.TryRead(bytes ?? File.ReadAllBytes(modelPath), model); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    private SessionLease OpenSession(int intraOpThreads, ILogger? logger, OptimizedModel? optimized)
    {
        // Sessions open on the first input that needs the model (or a signature only ONNX Runtime can read): say when.
        logger?.LogDebug("model/session open {Model}: an input needs ONNX Runtime", Path.GetFileName(_modelPath));
        try { return SessionCache.Acquire(_modelPath, intraOpThreads, logger, optimized); }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelException(ErrorCodes.ModelUnreadable, _modelPath, $"ONNX Runtime cannot load the model ({FirstLine(ex.Message)}); make sure model.path names a valid .onnx file (opset ≤ 22)", ex);
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    private ModelSignature ReadSignature(ModelConfig model)
    {
        var session = _session.Value.Session;
        var inputName = model.InputName ?? session.InputNames[0];
        var outputName = model.OutputName ?? session.OutputNames[0];
        if (!session.InputMetadata.TryGetValue(inputName, out var input))
            throw new ModelException(ErrorCodes.ModelTensorNameNotFound, _modelPath, $"the model has no input named '{inputName}'; its inputs are: {string.Join(", ", session.InputNames)}. Fix model.inputName");
        if (!session.OutputMetadata.TryGetValue(outputName, out var output))
            throw new ModelException(ErrorCodes.ModelTensorNameNotFound, _modelPath, $"the model has no output named '{outputName}'; its outputs are: {string.Join(", ", session.OutputNames)}. Fix model.outputName");
        var inputType = input.ElementDataType switch
        {
            TensorElementType.Float => TensorDataType.Float32,
            TensorElementType.Float16 => TensorDataType.Float16,
            TensorElementType.UInt8 => TensorDataType.Uint8,
            TensorElementType.Int8 => TensorDataType.Int8,
            var t => throw new ModelException(ErrorCodes.ModelInputMismatch, _modelPath, $"the model input '{inputName}' is {t}; ImageFlowIO feeds float32, float16, uint8 or int8 image tensors"),
        };
        var inputShape = input.Dimensions.Select(d => (long)d).ToArray();
        var layout = model.Layout == TensorLayout.Auto ? ModelSignature.InferLayout(inputShape) : model.Layout;
        return new ModelSignature(inputName, inputType, inputShape, outputName, output.Dimensions.Select(d => (long)d).ToArray(), layout);
    }

    public unsafe TensorData Run(TensorData input, CancellationToken cancellationToken = default)
    {
        var elementType = input.ElementType switch
        {
            TensorDataType.Float32 => TensorElementType.Float,
            TensorDataType.Float16 => TensorElementType.Float16,
            TensorDataType.Uint8 => TensorElementType.UInt8,
            _ => TensorElementType.Int8,
        };
        var shape = input.Shape.Select(d => (long)d).ToArray();
        var bytes = input.UnsafeArray;
        // The session first: it is what loads ONNX Runtime (one IFIO1007 or IFIO1002 for every input when it cannot, the Lazy keeps it).
        _ = _session.Value;
        try
        {
            fixed (byte* data = bytes)
            {
                using var value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, elementType, shape, (IntPtr)data, bytes.Length);
                using var runOptions = new RunOptions();
                var inputShapeKey = string.Join(",", shape);
                if (_floatOutputShapes.TryGetValue(inputShapeKey, out var knownShape) && RunIntoOwnArray(runOptions, value, knownShape) is { } direct)
                    return direct;
                using var results = _session.Value.Session.Run(runOptions, [Signature.InputName], [value], [Signature.OutputName]);
                var output = results[0];
                var info = output.GetTensorTypeAndShape();
                var outShape = info.Shape.Select(d => checked((int)d)).ToArray();
                var layout = outShape.Length == 4 ? Signature.Layout : TensorLayout.Nchw;
                if (info.ElementDataType == TensorElementType.Float) _floatOutputShapes.TryAdd(inputShapeKey, outShape);
                return info.ElementDataType switch
                {
                    TensorElementType.Float => TensorData.FromFloats(outShape, output.GetTensorDataAsSpan<float>(), layout),
                    // Other element types convert straight from ONNX Runtime's buffer into the tensor's own array: one pass, no intermediate arrays.
                    TensorElementType.Float16 => Converted<Float16>(output, outShape, layout, static h => (float)(Half)h.ToFloat()),
                    TensorElementType.UInt8 => Converted<byte>(output, outShape, layout, static b => b / 255f),
                    TensorElementType.Double => Converted<double>(output, outShape, layout, static d => (float)d),
                    var t => throw new ModelException(ErrorCodes.ModelRunFailed, _modelPath, $"the model output '{Signature.OutputName}' is {t}; ImageFlowIO reads float outputs"),
                };
            }
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelException(ErrorCodes.ModelRunFailed, _modelPath, $"the model failed on an input of shape [{string.Join(",", shape)}]: {FirstLine(ex.Message)}", ex);
        }
    }

    /// <summary>
    /// Runs the model with its float output written by ONNX Runtime straight into the tensor's own array (rented: the
    /// pipeline gives it back only when no cache layer or result keeps the tensor), saving the copy out of ONNX Runtime's buffer. The shape comes from an
    /// earlier run on an input of the same shape; null, forgetting it, when the model now disagrees (a data-dependent
    /// output shape), so the caller runs it the ordinary way.
    /// </summary>
    private unsafe TensorData? RunIntoOwnArray(RunOptions runOptions, OrtValue input, int[] outShape)
    {
        var bytes = TensorBuffers.Rent(checked(TensorData.ElementCount(outShape) * sizeof(float)));
        try
        {
            fixed (byte* data = bytes)
            {
                using var output = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                    outShape.Select(d => (long)d).ToArray(), (IntPtr)data, bytes.Length);
                _session.Value.Session.Run(runOptions, [Signature.InputName], [input], [Signature.OutputName], [output]);
            }
            Interlocked.Increment(ref _runsIntoOwnArray);
        }
        catch (OnnxRuntimeException)
        {
            _floatOutputShapes.TryRemove(string.Join(",", input.GetTensorTypeAndShape().Shape), out _);
            return null;
        }
        return new TensorData(TensorDataType.Float32, outShape, bytes, outShape.Length == 4 ? Signature.Layout : TensorLayout.Nchw);
    }

    private static TensorData Converted<T>(OrtValue output, int[] shape, TensorLayout layout, Func<T, float> convert) where T : unmanaged
    {
        var source = output.GetTensorDataAsSpan<T>();
        var count = source.Length;
        return TensorData.FloatsFilledBy(shape, count, layout, (output, convert), static (dst, s) =>
        {
            var src = s.output.GetTensorDataAsSpan<T>();
            for (var i = 0; i < src.Length; i++) dst[i] = s.convert(src[i]);
        });
    }

    public void Dispose()
    {
        Volatile.Read(ref _opening)?.Wait(); // a lease taken in the background is released here too
        if (_session.IsValueCreated) _session.Value.Dispose();
    }
}
