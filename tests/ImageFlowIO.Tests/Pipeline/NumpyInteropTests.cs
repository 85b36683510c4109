using System.Diagnostics;

namespace ImageFlowIO.Tests.PipelineStages;

/// <summary>numpy (Debian's python3-numpy at /usr/bin/python3, installed by .ci/run) reads every raw format we write.</summary>
public sealed class NumpyInteropTests : IDisposable
{
    private readonly PipelineFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static string Python(string script)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "python failed: " + stderr);
        return stdout.Trim();
    }

    [Theory]
    [InlineData("npy", "float32")]
    [InlineData("npy", "uint8")]
    [InlineData("npz", "float32")]
    [InlineData("npz", "uint8")]
    [InlineData("bin", "float32")]
    [InlineData("bin", "uint8")]
    public async Task Numpy_reads_the_true_model_output_with_the_right_shape_dtype_and_values(string format, string dtype)
    {
        _f.Model("invert_nchw.onnx");
        var input = _f.Images("gradient_33x17.png")[0];
        using var p = _f.Create($$"""
            {
              "model": { "path": "models/invert_nchw.onnx" },
              "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
              "postprocessing": { "activation": { "apply": true, "type": "sigmoid" } },
              "output": { "saveRaw": { "apply": true, "format": "{{format}}", "dtype": "{{dtype}}", "path": "raw" } }
            }
            """);
        var r = await p.RunAsync(input);
        Assert.True(r.Succeeded, r.Error?.ToString());
        var file = Assert.Single(r.Outputs);
        Assert.Equal(_f.Dir.Combine("raw", "gradient_33x17." + format), file);
        var load = format switch
        {
            "npy" => $"a = np.load(r'{file}')",
            "npz" => $"z = np.load(r'{file}'); assert list(z.keys()) == ['output'], list(z.keys()); a = z['output']",
            _ => $"a = np.fromfile(r'{file}', dtype=np.{dtype}).reshape(1, 3, 17, 33)",
        };
        // pixel (x=10, y=2): r = 70, g = 26, b = 36 → model output 1 − v/255 (postprocessing never touches raw output)
        var output = Python($"import numpy as np\n{load}\nprint(a.dtype, a.shape, repr(float(a[0, 0, 2, 10])), repr(float(a[0, 1, 2, 10])), repr(float(a[0, 2, 2, 10])))");
        var parts = output.Split(' ', 2);
        Assert.Equal(dtype, parts[0]);
        Assert.StartsWith("(1, 3, 17, 33)", parts[1]);
        var values = parts[1]["(1, 3, 17, 33) ".Length..].Split(' ').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var expected = new[] { 1 - 70 / 255.0, 1 - 26 / 255.0, 1 - 36 / 255.0 };
        for (var c = 0; c < 3; c++)
        {
            if (dtype == "float32") Assert.Equal(expected[c], values[c], 6);
            else Assert.Equal(Math.Round(expected[c] * 255), values[c]);
        }
    }
}
