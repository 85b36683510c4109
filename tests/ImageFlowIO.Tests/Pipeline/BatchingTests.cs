namespace ImageFlowIO.Tests.PipelineStages;

public sealed class BatchingTests : IDisposable
{
    private readonly PipelineFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static string Json(string model, int batch, string where = "input") => $$"""
        {
          "model": { "path": "models/{{model}}" },
          "execution": { "backend": "onnx" },
          "input": { "batchSize": {{(where == "input" ? batch : 1)}} },
          "preprocessing": {
            "resize": { "apply": true, "imageSize": [32, 24], "keepAspectRatio": false },
            "format": { "dataType": "float32", "channels": 3 }
          },
          "inference": { "batchSize": {{(where == "inference" ? batch : 1)}} }
        }
        """;

    private List<InputItem> Inputs() =>
        _f.Images("photo_64x48.png", "gradient_33x17.png", "solid_red_32x32.png", "photo_160x120.png", "rgba_64x48.png")
            .Select(p => new InputItem(p)).ToList();

    [Theory]
    [InlineData("input")]
    [InlineData("inference")]
    public async Task A_dynamic_batch_model_runs_batches_and_gives_the_same_outputs_as_one_by_one(string where)
    {
        _f.Model("invert_nchw.onnx");
        var inputs = Inputs();
        using var single = _f.Create(Json("invert_nchw.onnx", 1), new PipelineOptions { MaxParallelism = 1 });
        using var batched = _f.Create(Json("invert_nchw.onnx", 2, where), new PipelineOptions { MaxParallelism = 2 });
        Assert.Equal(2, batched.ModelBatchSize);
        var a = await single.RunBatchAsync(inputs);
        var b = await batched.RunBatchAsync(inputs);
        Assert.Equal(5, single.InferenceRuns);
        Assert.Equal(3, batched.InferenceRuns); // 2 + 2 + 1
        for (var i = 0; i < inputs.Count; i++)
        {
            Assert.True(b.Items[i].Succeeded, b.Items[i].Error?.ToString());
            Assert.Equal(inputs[i].Path, b.Items[i].Input);
            Assert.Equal(new[] { 1, 3, 24, 32 }, b.Items[i].Output!.Shape);
            Assert.Equal(0f, PipelineFixture.MaxDiff(a.Items[i].Output!, b.Items[i].Output!));
        }
    }

    [Fact]
    public async Task A_fixed_batch_of_one_falls_back_to_one_by_one()
    {
        _f.Model("fixed_batch1_invert_nchw.onnx");
        using var p = _f.Create(Json("fixed_batch1_invert_nchw.onnx", 4));
        Assert.Equal(1, p.ModelBatchSize);
        var result = await p.RunBatchAsync(Inputs());
        Assert.Equal(5, result.Processed);
        Assert.Equal(5, p.InferenceRuns);
    }

    [Fact]
    public async Task A_bad_image_in_a_batch_fails_alone_and_the_rest_of_its_batch_runs()
    {
        _f.Model("invert_nchw.onnx");
        var inputs = InputsWithTruncatedJpegAt(1);
        using var p = _f.Create(Json("invert_nchw.onnx", 3));
        var result = await p.RunBatchAsync(inputs);
        Assert.Equal(5, result.Processed);
        Assert.Equal(1, result.Failed);
        Assert.False(result.Items[1].Succeeded);
        Assert.StartsWith("IFIO2", result.Items[1].Error!.Code);
        Assert.Equal(2, p.InferenceRuns); // 2 good of the first 3 share a run, then 3 in the second
    }

    [Fact]
    public async Task One_worker_whose_model_has_several_threads_prepares_the_next_input_while_the_model_runs_and_gives_the_same_results()
    {
        _f.Model("invert_nchw.onnx");
        var inputs = InputsWithTruncatedJpegAt(2);
        using var apart = _f.Create(Json("invert_nchw.onnx", 1), new PipelineOptions { MaxParallelism = 2, IntraOpThreads = 1 });
        var expected = await apart.RunBatchAsync(inputs);

        // The first input's postprocess waits (up to 10 s) for the second input's preprocess: only preparing ahead gets there.
        var preprocessed = 0;
        var postprocessed = 0;
        var secondPreparedDuringFirst = false;
        using var secondPrepared = new ManualResetEventSlim();
        var options = new PipelineOptions { MaxParallelism = 1, IntraOpThreads = 2 }.WithHooks(
            t => { if (Interlocked.Increment(ref preprocessed) == 2) secondPrepared.Set(); return t; },
            t => { if (Interlocked.Increment(ref postprocessed) == 1) secondPreparedDuringFirst = secondPrepared.Wait(TimeSpan.FromSeconds(10)); return t; });
        using var ahead = _f.Create(Json("invert_nchw.onnx", 1), options);
        var reported = new List<string>();
        var result = await ahead.RunBatchAsync(inputs, new SynchronousProgress(r => { lock (reported) reported.Add(r.Input); }));

        Assert.True(secondPreparedDuringFirst, "the second input was not preprocessed while the first one's model ran");
        Assert.Equal(5, ahead.InferenceRuns);
        Assert.Equal(1, result.Failed);
        Assert.StartsWith("IFIO2", result.Items[2].Error!.Code);
        Assert.Equal(inputs.Select(i => i.Path), reported); // one lane: results come in input order
        for (var i = 0; i < inputs.Count; i++)
        {
            Assert.Equal(inputs[i].Path, result.Items[i].Input);
            if (i == 2) continue;
            Assert.True(result.Items[i].Succeeded, result.Items[i].Error?.ToString());
            Assert.Equal(0f, PipelineFixture.MaxDiff(expected.Items[i].Output!, result.Items[i].Output!));
        }
    }

    /// <summary>The five photos with a truncated JPEG (an IFIO2xxx failure) at <paramref name="index"/>.</summary>
    private List<InputItem> InputsWithTruncatedJpegAt(int index)
    {
        var inputs = Inputs();
        inputs.Insert(index, new InputItem(_f.Dir.Copy(Support.TestPaths.Bad("truncated.jpg"), "in/zz_truncated.jpg")));
        return inputs;
    }

    private sealed class SynchronousProgress(Action<PipelineResult> report) : IProgress<PipelineResult>
    {
        public void Report(PipelineResult value) => report(value);
    }
}
