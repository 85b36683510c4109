using ImageFlowIO.Config;
using ImageFlowIO.Inference;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Inference;

/// <summary>OnnxBackend writes a float output straight into the tensor's own array once it knows the output shape for an input shape.</summary>
public sealed class OnnxOutputBufferTests
{
    private static TensorData Input(int height, int width, float seed)
    {
        var values = new float[3 * height * width];
        for (var i = 0; i < values.Length; i++) values[i] = (i * 37 % 101) / 101f + seed;
        return TensorData.FromFloats([1, 3, height, width], values);
    }

    [Fact]
    public void TheSecondRunOfAnInputShapeWritesIntoItsOwnArrayWithTheSameValues()
    {
        using var backend = new OnnxBackend(TestPaths.Model("conv3_nchw.onnx"), new ModelConfig(), intraOpThreads: 1);
        var first = backend.Run(Input(32, 48, 0f));
        Assert.Equal(0, backend.RunsIntoOwnArray);
        var again = backend.Run(Input(32, 48, 0f));
        Assert.Equal(1, backend.RunsIntoOwnArray);
        Assert.Equal(first.Shape, again.Shape);
        Assert.Equal(first.Bytes.ToArray(), again.Bytes.ToArray());
        var other = backend.Run(Input(32, 48, 0.25f));
        Assert.Equal(2, backend.RunsIntoOwnArray);
        Assert.NotEqual(first.Bytes.ToArray(), other.Bytes.ToArray());
        // Each result owns its array: a later run never changes an earlier tensor (they are cached and returned).
        Assert.Equal(backend.Run(Input(32, 48, 0f)).Bytes.ToArray(), first.Bytes.ToArray());
        Assert.Equal(again.Bytes.ToArray(), first.Bytes.ToArray());

        // A new input shape runs the ordinary way first (its output shape is not known yet), then directly.
        var bigger = backend.Run(Input(40, 40, 0f));
        Assert.Equal(3, backend.RunsIntoOwnArray);
        var biggerAgain = backend.Run(Input(40, 40, 0f));
        Assert.Equal(4, backend.RunsIntoOwnArray);
        Assert.Equal(bigger.Shape, biggerAgain.Shape);
        Assert.Equal(bigger.Bytes.ToArray(), biggerAgain.Bytes.ToArray());
    }
}
