using System.Runtime.InteropServices;
using ImageFlowIO.Config;

namespace ImageFlowIO.Output;

/// <summary>Writes the true model output tensor for <c>output.saveRaw</c> (npy, npz, bin; float32 or uint8).</summary>
internal static class RawTensorWriter
{
    public static void Write(string path, TensorData tensor, SaveRawConfig raw)
    {
        var floats = tensor.ToFloatArray();
        byte[] data;
        string descr;
        if (raw.Dtype == RawDataType.Uint8)
        {
            // uint8 stores the 0..1 range as 0..255.
            data = new byte[floats.Length];
            for (var i = 0; i < floats.Length; i++) data[i] = (byte)Math.Clamp(MathF.Round(floats[i] * 255f), 0f, 255f);
            descr = "|u1";
        }
        else
        {
            data = MemoryMarshal.AsBytes(floats.AsSpan()).ToArray();
            descr = "<f4";
        }
        var shape = tensor.Shape;
        AtomicFile.Write(path, s =>
        {
            switch (raw.Format)
            {
                case RawFormat.Npy: NpyWriter.WriteNpy(s, data, descr, shape); break;
                case RawFormat.Npz: NpyWriter.WriteNpz(s, data, descr, shape); break;
                default: s.Write(data); break;
            }
        });
    }
}
