using ImageFlowIO.Config;
using ImageFlowIO.Postprocessing;

namespace ImageFlowIO.Visualization;

/// <summary>Renders the <c>visualization</c> views of an input and its postprocessed output (both 0..1), at the input's size.</summary>
internal static class Visualizer
{
    public static FloatImage Render(VisualizationType type, FloatImage original, FloatImage output, float alpha)
    {
        var (w, h) = (original.Width, original.Height);
        var result = Postprocessor.Resize(output, w, h);
        var plane = w * h;
        switch (type)
        {
            case VisualizationType.SideBySide:
            {
                var canvas = new FloatImage(2 * w, h, 3);
                for (var c = 0; c < 3; c++)
                {
                    var left = original.Plane(c);
                    var right = result.Plane(Math.Min(c, result.Channels - 1));
                    var dst = canvas.Plane(c);
                    for (var y = 0; y < h; y++)
                    {
                        left.Slice(y * w, w).CopyTo(dst.Slice(y * 2 * w, w));
                        right.Slice(y * w, w).CopyTo(dst.Slice(y * 2 * w + w, w));
                    }
                }
                return canvas;
            }
            case VisualizationType.Difference:
            {
                var diff = new FloatImage(w, h, 3);
                for (var c = 0; c < 3; c++)
                {
                    var a = original.Plane(c);
                    var b = result.Plane(Math.Min(c, result.Channels - 1));
                    var dst = diff.Plane(c);
                    for (var i = 0; i < plane; i++) dst[i] = MathF.Abs(a[i] - b[i]);
                }
                return diff;
            }
            case VisualizationType.Heatmap:
            {
                // Intensity = mean of the output's colour channels, coloured with turbo, then alpha-blended over the input.
                var heat = new FloatImage(w, h, 3);
                var channels = Math.Min(3, result.Channels);
                for (var i = 0; i < plane; i++)
                {
                    var v = 0f;
                    for (var c = 0; c < channels; c++) v += result.Data[c * plane + i];
                    var (r, g, b) = ColorMaps.Lookup(ColorMapMode.Turbo, v / channels);
                    heat.Data[i] = r; heat.Data[plane + i] = g; heat.Data[2 * plane + i] = b;
                }
                return Postprocessor.Blend(heat, original, alpha);
            }
            default:
                return Postprocessor.Blend(result, original, alpha);
        }
    }

    /// <summary>The file name suffix of a visualisation type (<c>{name}_{suffix}.png</c>).</summary>
    public static string Suffix(VisualizationType type) => type switch
    {
        VisualizationType.SideBySide => "sideBySide",
        VisualizationType.Difference => "difference",
        VisualizationType.Heatmap => "heatmap",
        _ => "overlay",
    };
}
