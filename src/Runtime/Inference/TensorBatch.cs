using ImageFlowIO.Config;

namespace ImageFlowIO.Inference;

/// <summary>Stacks same-shaped tensors along the batch axis for one model run, and splits a batched output back.</summary>
internal static class TensorBatch
{
    /// <summary>One tensor of batch <c>n = Σ items' batch</c>; every item must share element type, layout and the other dims.</summary>
    public static TensorData Stack(IReadOnlyList<TensorData> items)
    {
        if (items.Count == 1) return items[0];
        var first = items[0];
        var batch = 0;
        var length = 0;
        foreach (var t in items)
        {
            if (!SameItemShape(t, first)) throw new ArgumentException("tensors in one batch must share element type, layout and item shape", nameof(items));
            batch += t.Shape[0];
            length += t.Bytes.Length;
        }
        var bytes = GC.AllocateUninitializedArray<byte>(length);
        var offset = 0;
        foreach (var t in items)
        {
            t.Bytes.CopyTo(bytes.AsSpan(offset));
            offset += t.Bytes.Length;
        }
        var shape = first.Shape.ToArray();
        shape[0] = batch;
        return new TensorData(first.ElementType, shape, bytes, first.Layout);
    }

    /// <summary>Splits a batched tensor into <paramref name="count"/> tensors of batch 1 each.</summary>
    public static TensorData[] Split(TensorData batched, int count)
    {
        if (count == 1) return [batched];
        if (batched.Shape.Count == 0 || batched.Shape[0] != count)
            throw new ModelException(ErrorCodes.ModelRunFailed, null, $"the model returned a batch of {(batched.Shape.Count == 0 ? 0 : batched.Shape[0])} for {count} inputs; its output's first axis must be the batch axis");
        var shape = batched.Shape.ToArray();
        shape[0] = 1;
        var itemBytes = batched.Bytes.Length / count;
        var result = new TensorData[count];
        for (var i = 0; i < count; i++)
            result[i] = new TensorData(batched.ElementType, shape, batched.Bytes.Slice(i * itemBytes, itemBytes).ToArray(), batched.Layout);
        return result;
    }

    public static bool SameItemShape(TensorData a, TensorData b)
    {
        if (a.ElementType != b.ElementType || a.Layout != b.Layout || a.Shape.Count != b.Shape.Count) return false;
        for (var i = 1; i < a.Shape.Count; i++) if (a.Shape[i] != b.Shape[i]) return false;
        return true;
    }
}
