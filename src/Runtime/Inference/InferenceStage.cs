using ImageFlowIO.Caching;
using ImageFlowIO.Config;

namespace ImageFlowIO.Inference;

/// <summary>
/// The inference stage: preprocessed tensors → the model's raw output, batched (same-size tensors share a run on a
/// dynamic batch axis) and tiled when the config asks. A pure function of (the preprocess key, the model's content
/// digest, the inference section, the backend and tensor names).
/// </summary>
internal sealed class InferenceStage
{
    private readonly PipelineConfig _config;
    private readonly IInferenceBackend _backend;
    private readonly BackendKind _backendKind;
    private readonly string _section;
    private int _warmedUp;
    private int _runs;

    public InferenceStage(PipelineConfig config, IInferenceBackend backend, BackendKind backendKind)
    {
        (_config, _backend, _backendKind) = (config, backend, backendKind);
        _section = CacheKeys.SectionDigest(CacheKeys.InferenceSection(config, backendKind, backend.Signature.InputName, backend.Signature.OutputName));
    }

    public IStageCodec<StageValue> Codec => TensorCodec.Inference;

    public string Key(string preprocessKey) => CacheKeys.Inference(preprocessKey, _backend.ModelDigest, _section);

    /// <summary>How many times the model ran (warm-up runs excluded).</summary>
    public int Runs => Volatile.Read(ref _runs);

    /// <summary>Inputs per model run: the configured batch size when the model has a dynamic batch axis and tiling is off, else 1.</summary>
    public int BatchSize
    {
        get
        {
            var size = Math.Max(_config.Inference.BatchSize, _config.Input.BatchSize);
            return size > 1 && _backend.Signature.HasDynamicBatch && !_config.Inference.Tiling.Apply ? size : 1;
        }
    }

    /// <summary>Runs the model once over same-size tensors stacked into one batch; returns one output per tensor.</summary>
    public TensorData[] Run(IReadOnlyList<TensorData> tensors, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        WarmUp(tensors[0]);
        var input = TensorBatch.Stack(tensors);
        return TensorBatch.Split(RunModel(input, ct), tensors.Count);
    }

    /// <summary>One model run over a tensor: tiled when inference.tiling is on.</summary>
    private TensorData RunModel(TensorData input, CancellationToken ct)
    {
        if (!_config.Inference.Tiling.Apply)
        {
            var output = _backend.Run(input, ct);
            Interlocked.Increment(ref _runs);
            return output;
        }
        var tiler = new Tiler(_config.Inference.Tiling, _config.Inference.BatchSize, _backend.Signature.HasDynamicBatch,
            _backendKind == BackendKind.Onnx ? _config.ResolvePath(_config.Model.Path) : null);
        var stitched = tiler.Run(input, t => _backend.Run(t, ct), out var runs);
        Interlocked.Add(ref _runs, runs);
        return stitched;
    }

    private void WarmUp(TensorData tensor)
    {
        var runs = _config.Execution.WarmupRuns;
        if (runs <= 0 || Interlocked.Exchange(ref _warmedUp, 1) == 1) return;
        for (var i = 0; i < runs; i++) _backend.Run(tensor);
    }
}
