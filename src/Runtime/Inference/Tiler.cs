using ImageFlowIO.Config;

namespace ImageFlowIO.Inference;

/// <summary>
/// Runs a model over a large image in tiles (SPEC §2 inference.tiling): tiles of <c>tileSize</c> overlapping by
/// <c>overlap</c> pixels are cut from the preprocessed tensor, edge tiles padded to full size (reflect, edge or zero),
/// run in batches of up to <c>batchSize</c>, and stitched back in float with average, feather or max blending.
/// The output has the model's channel count; an output tile an integer multiple of the input tile scales positions.
/// </summary>
internal sealed class Tiler(TilingConfig tiling, int batchSize, bool dynamicBatch, string? modelPath)
{
    private readonly int _batch = dynamicBatch ? Math.Max(1, batchSize) : 1;

    /// <summary>How many tiles of <paramref name="tile"/> with stride <paramref name="stride"/> cover <paramref name="length"/>.</summary>
    public static int TileCount(int length, int tile, int stride) => length <= tile ? 1 : (length - tile + stride - 1) / stride + 1;

    /// <summary>Runs <paramref name="run"/> on every tile of <paramref name="input"/> (batch 1, rank 4) and returns the stitched float32 output.</summary>
    public TensorData Run(TensorData input, Func<TensorData, TensorData> run, out int runs)
    {
        var (channels, height, width) = input.ImageDims;
        var tw = tiling.TileSize.Width;
        var th = tiling.TileSize.Height;
        var overlap = tiling.Overlap;
        if (overlap < 0 || overlap >= tw || overlap >= th)
            throw Mismatch($"inference.tiling.overlap {overlap} must be at least 0 and smaller than the tile size {tw}×{th}");
        var (sx, sy) = (tw - overlap, th - overlap);
        var (nx, ny) = (TileCount(width, tw, sx), TileCount(height, th, sy));
        var positions = new List<(int X, int Y)>(nx * ny);
        for (var j = 0; j < ny; j++)
            for (var i = 0; i < nx; i++) positions.Add((i * sx, j * sy));

        Canvas? canvas = null;
        runs = 0;
        for (var start = 0; start < positions.Count; start += _batch)
        {
            var count = Math.Min(_batch, positions.Count - start);
            var tiles = new TensorData[count];
            for (var k = 0; k < count; k++) tiles[k] = Cut(input, positions[start + k].X, positions[start + k].Y, tw, th);
            var output = run(TensorBatch.Stack(tiles));
            runs++;
            var outTiles = TensorBatch.Split(output, count);
            for (var k = 0; k < count; k++)
            {
                var tile = outTiles[k];
                if (tile.Shape.Count != 4) throw Mismatch($"tiling needs an image output (rank 4), the model gives shape [{string.Join(",", tile.Shape)}]");
                canvas ??= CreateCanvas(tile, width, height, tw, th);
                canvas.Add(tile, positions[start + k].X, positions[start + k].Y);
            }
        }
        return canvas!.Finish();
    }

    private ModelException Mismatch(string message) => new(ErrorCodes.ModelInputMismatch, modelPath, message);

    private Canvas CreateCanvas(TensorData tile, int width, int height, int tw, int th)
    {
        var (oc, oh, ow) = tile.ImageDims;
        if (ow % tw != 0 || oh % th != 0 || ow / tw != oh / th)
            throw Mismatch($"the model turns a {tw}×{th} tile into {ow}×{oh}; tiling needs the same size or an integer multiple in both directions (choose another inference.tiling.tileSize or turn tiling off)");
        return new Canvas(oc, width, height, ow / tw, tw, th, tiling.Overlap, tiling.Blend, tile.Layout);
    }

    /// <summary>Cuts the tile at (x0, y0), padding what lies outside the image with the pad mode.</summary>
    public TensorData Cut(TensorData input, int x0, int y0, int tw, int th)
    {
        var (channels, height, width) = input.ImageDims;
        var size = TensorData.ElementSize(input.ElementType);
        var xs = SourceIndices(x0, tw, width);
        var ys = SourceIndices(y0, th, height);
        var src = input.Bytes;
        var dst = new byte[tw * th * channels * size];
        var nhwc = input.Layout == TensorLayout.Nhwc;
        for (var c = 0; c < channels; c++)
            for (var y = 0; y < th; y++)
            {
                var syy = ys[y];
                for (var x = 0; x < tw; x++)
                {
                    var sxx = xs[x];
                    var d = (nhwc ? (y * tw + x) * channels + c : (c * th + y) * tw + x) * size;
                    if (syy < 0 || sxx < 0) continue; // zero padding: the array is already zero
                    var s = (nhwc ? (syy * width + sxx) * channels + c : (c * height + syy) * width + sxx) * size;
                    src.Slice(s, size).CopyTo(dst.AsSpan(d, size));
                }
            }
        int[] shape = nhwc ? [1, th, tw, channels] : [1, channels, th, tw];
        return new TensorData(input.ElementType, shape, dst, input.Layout);
    }

    /// <summary>For each tile position, the source index along one axis (−1 means a zero pad).</summary>
    private int[] SourceIndices(int start, int tile, int length)
    {
        var result = new int[tile];
        for (var i = 0; i < tile; i++)
        {
            var p = start + i;
            result[i] = p < length ? p : tiling.PadMode switch
            {
                TilePadMode.Edge => length - 1,
                TilePadMode.Zero => -1,
                _ => Reflect(p, length),
            };
        }
        return result;
    }

    // Mirror without repeating the edge pixel (numpy's 'reflect'), folded as often as needed for tiles larger than the image.
    private static int Reflect(int p, int length)
    {
        if (length == 1) return 0;
        var period = 2 * (length - 1);
        p %= period;
        if (p < 0) p += period;
        return p < length ? p : period - p;
    }

    /// <summary>Float accumulators for the stitched output and the blend weights.</summary>
    private sealed class Canvas
    {
        private readonly int _channels, _width, _height, _scale, _tw, _th, _overlap;
        private readonly TileBlend _blend;
        private readonly TensorLayout _layout;
        private readonly float[] _sum;
        private readonly float[] _weight;
        private readonly float[] _tileWeight;

        public Canvas(int channels, int width, int height, int scale, int tw, int th, int overlap, TileBlend blend, TensorLayout layout)
        {
            (_channels, _scale, _tw, _th, _overlap, _blend, _layout) = (channels, scale, tw * scale, th * scale, overlap * scale, blend, layout);
            (_width, _height) = (width * scale, height * scale);
            _sum = new float[_channels * _width * _height];
            if (blend == TileBlend.Max) Array.Fill(_sum, float.NegativeInfinity);
            _weight = new float[_width * _height];
            _tileWeight = TileWeights();
        }

        // Feather: weights ramp up linearly over the overlap from each tile edge; every weight stays > 0, so pixels
        // covered by a single tile (image borders) keep their value exactly.
        private float[] TileWeights()
        {
            var w = new float[_tw * _th];
            for (var y = 0; y < _th; y++)
                for (var x = 0; x < _tw; x++)
                {
                    if (_blend != TileBlend.Feather || _overlap == 0) { w[y * _tw + x] = 1f; continue; }
                    var dx = Math.Min(x, _tw - 1 - x) + 1;
                    var dy = Math.Min(y, _th - 1 - y) + 1;
                    w[y * _tw + x] = Math.Min(1f, Math.Min(dx, dy) / (float)(_overlap + 1));
                }
            return w;
        }

        public void Add(TensorData tile, int x0, int y0)
        {
            var values = tile.AsFloat32();
            var nhwc = tile.Layout == TensorLayout.Nhwc;
            var (ox, oy) = (x0 * _scale, y0 * _scale);
            var plane = _width * _height;
            for (var y = 0; y < _th && oy + y < _height; y++)
                for (var x = 0; x < _tw && ox + x < _width; x++)
                {
                    var p = (oy + y) * _width + ox + x;
                    var w = _tileWeight[y * _tw + x];
                    for (var c = 0; c < _channels; c++)
                    {
                        var v = values[nhwc ? (y * _tw + x) * _channels + c : (c * _th + y) * _tw + x];
                        ref var acc = ref _sum[c * plane + p];
                        acc = _blend == TileBlend.Max ? MathF.Max(acc, v) : acc + w * v;
                    }
                    _weight[p] += w;
                }
        }

        public TensorData Finish()
        {
            var plane = _width * _height;
            var result = new float[_sum.Length];
            for (var c = 0; c < _channels; c++)
                for (var p = 0; p < plane; p++)
                {
                    var v = _blend == TileBlend.Max ? _sum[c * plane + p] : _sum[c * plane + p] / _weight[p];
                    result[_layout == TensorLayout.Nhwc ? p * _channels + c : c * plane + p] = v;
                }
            int[] shape = _layout == TensorLayout.Nhwc ? [1, _height, _width, _channels] : [1, _channels, _height, _width];
            return TensorData.FromFloats(shape, result, _layout);
        }
    }
}
