using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ImageFlowIO.Config;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing.Processors.Transforms;

namespace ImageFlowIO.Imaging;

/// <summary>
/// Resize (stretch, linear or cubic) and normalise an 8-bit RGB image straight into a float32 tensor in one pass:
/// ImageSharp's kernel weights and support (antialiased when downscaling), the result clamped to the 8-bit range,
/// but no 8-bit rounding between the resize and the tensor. Separable: each source row is filtered horizontally into
/// a small ring of float rows, and each output row is filtered vertically from that ring straight into the tensor.
/// The preprocess stage takes it wherever <see cref="Applies"/> (docs/performance.md, round five: the measurements, and
/// the deliberate change of those configs' tensors); ResizeNormalizeBenchmarks and <c>-- resize-diff</c> measure it.
/// </summary>
/// <remarks>
/// Deterministic on every machine: each output sample sums its taps in a fixed order with separate multiplies and adds
/// (no fused multiply-add), and vectors only run the same per-sample arithmetic side by side, so Vector256, Vector128
/// and the scalar tail give the same floats (<see cref="Reference"/> is that arithmetic one sample at a time).
/// </remarks>
internal static class ResizeNormalizeKernel
{
    private const int Channels = 3;

    /// <summary>Whether the config's preprocessing is exactly what this kernel does (for an 8-bit RGB decode): the configs it serves.</summary>
    public static bool Applies(PreprocessingConfig pre) =>
        pre.Resize.Apply && pre.Resize.ImageSize is not null && pre.Resize.EffectiveMode == ResizeMode.Fill
        && pre.Resize.Kernel is ResizeKernel.Linear or ResizeKernel.Cubic
        && !(pre.CenterCrop.Apply && pre.CenterCrop.Size is not null)
        && !(pre.Augmentations.Apply && pre.Augmentations.Methods.Count > 0)
        && !pre.Grayscale.Apply && pre.Format.Channels == Channels && pre.Format.DataType == TensorDataType.Float32;

    /// <summary>Resizes <paramref name="image"/> to the config's size and writes the normalised float32 tensor.</summary>
    public static TensorData Write(Image<Rgb24> image, PreprocessingConfig pre, TensorLayout layout)
    {
        if (layout == TensorLayout.Auto) layout = TensorLayout.Nchw;
        var size = pre.Resize.ImageSize!.Value;
        var (dstW, dstH) = (size.Width, size.Height);
        var bytes = TensorBuffers.Rent(checked(dstW * dstH * Channels * sizeof(float)));
        var bgr = pre.Format.ChannelOrder == ChannelOrder.Bgr;
        Span<float> scale = stackalloc float[4];
        Span<float> offset = stackalloc float[4];
        TensorWriter.AffineMap(pre, Channels, bgr, scale, offset);
        var sampler = Preprocessor.Sampler(pre.Resize.Kernel);
        var dst = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
        if (image.DangerousTryGetSinglePixelMemory(out var memory))
            Run(MemoryMarshal.AsBytes(memory.Span), image.Width, image.Height, sampler, dstW, dstH, scale, offset, bgr, layout, dst);
        else
        {
            var copy = ArrayPool<byte>.Shared.Rent(image.Width * image.Height * Channels);
            try
            {
                image.CopyPixelDataTo(copy.AsSpan(0, image.Width * image.Height * Channels));
                Run(copy, image.Width, image.Height, sampler, dstW, dstH, scale, offset, bgr, layout, dst);
            }
            finally { ArrayPool<byte>.Shared.Return(copy); }
        }
        int[] shape = layout == TensorLayout.Nhwc ? [1, dstH, dstW, Channels] : [1, Channels, dstH, dstW];
        return new TensorData(TensorDataType.Float32, shape, bytes, layout);
    }

    /// <summary>
    /// One axis of the resize: for each output index the first source index, the tap count and the weights (row-major,
    /// <see cref="MaxTaps"/> per output), as ImageSharp's ResizeKernelMap builds them.
    /// </summary>
    internal sealed class AxisMap
    {
        public required int[] Left { get; init; }
        public required int[] Taps { get; init; }
        public required float[] Weights { get; init; }
        public required int MaxTaps { get; init; }

        public static AxisMap Build(IResampler sampler, int sourceSize, int destinationSize)
        {
            var ratio = (double)sourceSize / destinationSize;
            var scale = Math.Max(ratio, 1);
            // Antialiased when downscaling: the kernel's support widens by the ratio.
            var radius = (int)TolerantCeiling(scale * sampler.Radius);
            var maxTaps = Math.Min(radius * 2 + 1, sourceSize);
            var left = new int[destinationSize];
            var taps = new int[destinationSize];
            var weights = new float[destinationSize * maxTaps];
            Span<double> values = stackalloc double[radius * 2 + 1];
            for (var i = 0; i < destinationSize; i++)
            {
                var center = (i + .5) * ratio - .5;
                var l = Math.Max((int)TolerantCeiling(center - radius), 0);
                var r = Math.Min((int)TolerantFloor(center + radius), sourceSize - 1);
                var n = Math.Max(r - l + 1, 0);
                double sum = 0;
                for (var j = 0; j < n; j++) sum += values[j] = sampler.GetValue((float)((l + j - center) / scale));
                for (var j = 0; j < n; j++) weights[i * maxTaps + j] = (float)(sum > 0 ? values[j] / sum : values[j]);
                (left[i], taps[i]) = (Math.Min(l, sourceSize - 1), n);
            }
            return new AxisMap { Left = left, Taps = taps, Weights = weights, MaxTaps = maxTaps };
        }

        // ImageSharp's TolerantMath (epsilon 1e-8): a value within epsilon of an integer is that integer.
        private static double TolerantCeiling(double a) => Math.Abs(Math.IEEERemainder(a, 1)) < 1e-8 ? Math.Round(a) : Math.Ceiling(a);
        private static double TolerantFloor(double a) => Math.Abs(Math.IEEERemainder(a, 1)) < 1e-8 ? Math.Round(a) : Math.Floor(a);
    }

    /// <summary>
    /// The kernel over interleaved 8-bit RGB <paramref name="source"/> (<paramref name="srcW"/> × <paramref name="srcH"/>,
    /// no row padding) into <paramref name="dst"/> (NCHW or NHWC, tensor channel c = scale[c] · clamp(v, 0, 255) / 255 +
    /// offset[c] of source channel c, or 2 − c when <paramref name="bgr"/>).
    /// </summary>
    internal static void Run(ReadOnlySpan<byte> source, int srcW, int srcH, IResampler sampler, int dstW, int dstH,
        ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, bool bgr, TensorLayout layout, Span<float> dst)
    {
        if (source.Length < srcW * srcH * Channels || dst.Length < dstW * dstH * Channels) throw new ArgumentException("Buffer too small.");
        var hMap = AxisMap.Build(sampler, srcW, dstW);
        var vMap = AxisMap.Build(sampler, srcH, dstH);
        var pairWeights = PairWeights(hMap, dstW);
        // Horizontal rows hold pixels of 4 lanes (the three tensor channels and one unused), +8 for a spare vector.
        var stride = dstW * 4 + 8;
        var ringRows = vMap.MaxTaps;
        var ring = ArrayPool<float>.Shared.Rent(ringRows * stride);
        // A source row as float pixels of 4 lanes, then zeros that the zero-weighted taps of the last pixels may read.
        var pixelsLength = (srcW + hMap.MaxTaps + 1) * 4;
        var pixels = ArrayPool<float>.Shared.Rent(pixelsLength);
        try
        {
            pixels.AsSpan(srcW * 4, pixelsLength - srcW * 4).Clear();
            // Normalisation folded with the 8-bit scale: (v / 255 − mean) / std, per lane of a 4-lane pixel.
            var lanesScale = Vector128.Create(scale[0] / 255f, scale[1] / 255f, scale[2] / 255f, 0f);
            var lanesOffset = Vector128.Create(offset[0], offset[1], offset[2], 0f);
            var next = 0; // the next source row to filter horizontally
            Span<int> ringTaps = stackalloc int[vMap.MaxTaps];
            for (var y = 0; y < dstH; y++)
            {
                var top = vMap.Left[y];
                var taps = vMap.Taps[y];
                for (; next < top + taps; next++)
                {
                    ToFloatPixels(source.Slice(next * srcW * Channels, srcW * Channels), pixels, bgr);
                    Horizontal(pixels, hMap, pairWeights, ring.AsSpan((next % ringRows) * stride, stride), dstW);
                }
                var rows = ringTaps[..taps];
                for (var k = 0; k < taps; k++) rows[k] = ((top + k) % ringRows) * stride;
                Vertical(ring, rows, vMap.Weights.AsSpan(y * vMap.MaxTaps, taps), lanesScale, lanesOffset, layout, dstW, dstH, y, dst);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(ring);
            ArrayPool<float>.Shared.Return(pixels);
        }
    }

    /// <summary>
    /// The horizontal weights of output pixels 2p and 2p + 1 side by side, each broadcast to its pixel's 4 lanes, for all
    /// <see cref="AxisMap.MaxTaps"/> taps (zero past a pixel's own taps: adding 0 × a finite value changes no sum).
    /// </summary>
    private static float[] PairWeights(AxisMap map, int dstW)
    {
        var result = new float[dstW / 2 * map.MaxTaps * 8];
        for (var p = 0; p < dstW / 2; p++)
            for (var k = 0; k < map.MaxTaps; k++)
                for (var lane = 0; lane < 8; lane++)
                {
                    var x = 2 * p + lane / 4;
                    result[(p * map.MaxTaps + k) * 8 + lane] = k < map.Taps[x] ? map.Weights[x * map.MaxTaps + k] : 0f;
                }
        return result;
    }

    /// <summary>One source row as float pixels of 4 lanes (the three tensor channels in order, and a zero).</summary>
    private static void ToFloatPixels(ReadOnlySpan<byte> row, float[] pixels, bool bgr)
    {
        var width = row.Length / Channels;
        ref var src = ref MemoryMarshal.GetReference(row);
        ref var dst = ref MemoryMarshal.GetArrayDataReference(pixels);
        var x = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // Four pixels from 16 bytes: RGB spread to 4 lanes of bytes (the 4th zero: an index past 15 gives 0), then widened.
            var spread = bgr
                ? Vector128.Create((byte)2, 1, 0, 255, 5, 4, 3, 255, 8, 7, 6, 255, 11, 10, 9, 255)
                : Vector128.Create((byte)0, 1, 2, 255, 3, 4, 5, 255, 6, 7, 8, 255, 9, 10, 11, 255);
            if (Avx2.IsSupported)
                for (; x * Channels + 16 <= row.Length; x += 4)
                {
                    var bytes = Ssse3.Shuffle(Vector128.LoadUnsafe(ref src, (nuint)(x * Channels)), spread);
                    Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(bytes)).StoreUnsafe(ref dst, (nuint)(x * 4));
                    Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(bytes, 8))).StoreUnsafe(ref dst, (nuint)(x * 4 + 8));
                }
            for (; x * Channels + 16 <= row.Length; x += 4)
            {
                var bytes = Vector128.Shuffle(Vector128.LoadUnsafe(ref src, (nuint)(x * Channels)), spread);
                var low = Vector128.WidenLower(bytes);
                var high = Vector128.WidenUpper(bytes);
                Vector128.ConvertToSingle(Vector128.WidenLower(low).AsInt32()).StoreUnsafe(ref dst, (nuint)(x * 4));
                Vector128.ConvertToSingle(Vector128.WidenUpper(low).AsInt32()).StoreUnsafe(ref dst, (nuint)(x * 4 + 4));
                Vector128.ConvertToSingle(Vector128.WidenLower(high).AsInt32()).StoreUnsafe(ref dst, (nuint)(x * 4 + 8));
                Vector128.ConvertToSingle(Vector128.WidenUpper(high).AsInt32()).StoreUnsafe(ref dst, (nuint)(x * 4 + 12));
            }
        }
        for (; x < width; x++)
        {
            byte r = Unsafe.Add(ref src, x * Channels), g = Unsafe.Add(ref src, x * Channels + 1), b = Unsafe.Add(ref src, x * Channels + 2);
            Unsafe.Add(ref dst, x * 4) = bgr ? b : r;
            Unsafe.Add(ref dst, x * 4 + 1) = g;
            Unsafe.Add(ref dst, x * 4 + 2) = bgr ? r : b;
            Unsafe.Add(ref dst, x * 4 + 3) = 0;
        }
    }

    /// <summary>Each output pixel's three channels at once (two pixels per 256-bit vector): the sum over its taps, in tap order, of weight × source.</summary>
    private static void Horizontal(float[] pixels, AxisMap map, float[] pairWeights, Span<float> row, int dstW)
    {
        ref var px = ref MemoryMarshal.GetArrayDataReference(pixels);
        ref var dst = ref MemoryMarshal.GetReference(row);
        var maxTaps = map.MaxTaps;
        var x = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var pw = ref MemoryMarshal.GetArrayDataReference(pairWeights);
            ref var left = ref MemoryMarshal.GetArrayDataReference(map.Left);
            ref var tapsOf = ref MemoryMarshal.GetArrayDataReference(map.Taps);
            // Two pairs per step where they have as many taps (all but a few at the edges): two independent sums in flight.
            for (; x + 4 <= dstW; x += 4)
            {
                var taps = Math.Max(Math.Max(Unsafe.Add(ref tapsOf, x), Unsafe.Add(ref tapsOf, x + 1)), Math.Max(Unsafe.Add(ref tapsOf, x + 2), Unsafe.Add(ref tapsOf, x + 3)));
                ref var w0 = ref Unsafe.Add(ref pw, x / 2 * maxTaps * 8);
                ref var w1 = ref Unsafe.Add(ref w0, maxTaps * 8);
                ref var p0 = ref Unsafe.Add(ref px, Unsafe.Add(ref left, x) * 4);
                ref var p1 = ref Unsafe.Add(ref px, Unsafe.Add(ref left, x + 1) * 4);
                ref var p2 = ref Unsafe.Add(ref px, Unsafe.Add(ref left, x + 2) * 4);
                ref var p3 = ref Unsafe.Add(ref px, Unsafe.Add(ref left, x + 3) * 4);
                Vector256<float> acc0 = default, acc1 = default;
                for (nuint k = 0; k < (nuint)taps; k++)
                {
                    acc0 += Vector256.LoadUnsafe(ref w0, k * 8) * Vector256.Create(Vector128.LoadUnsafe(ref p0, k * 4), Vector128.LoadUnsafe(ref p1, k * 4));
                    acc1 += Vector256.LoadUnsafe(ref w1, k * 8) * Vector256.Create(Vector128.LoadUnsafe(ref p2, k * 4), Vector128.LoadUnsafe(ref p3, k * 4));
                }
                acc0.StoreUnsafe(ref dst, (nuint)(x * 4));
                acc1.StoreUnsafe(ref dst, (nuint)(x * 4 + 8));
            }
            for (; x + 2 <= dstW; x += 2)
            {
                var taps = Math.Max(Unsafe.Add(ref tapsOf, x), Unsafe.Add(ref tapsOf, x + 1));
                ref var w = ref Unsafe.Add(ref pw, x / 2 * maxTaps * 8);
                ref var p0 = ref Unsafe.Add(ref px, Unsafe.Add(ref left, x) * 4);
                ref var p1 = ref Unsafe.Add(ref px, Unsafe.Add(ref left, x + 1) * 4);
                var acc = Vector256<float>.Zero;
                for (nuint k = 0; k < (nuint)taps; k++)
                    acc += Vector256.LoadUnsafe(ref w, k * 8) * Vector256.Create(Vector128.LoadUnsafe(ref p0, k * 4), Vector128.LoadUnsafe(ref p1, k * 4));
                acc.StoreUnsafe(ref dst, (nuint)(x * 4));
            }
        }
        ref var weights = ref MemoryMarshal.GetArrayDataReference(map.Weights);
        for (; x < dstW; x++)
        {
            ref var w = ref Unsafe.Add(ref weights, x * maxTaps);
            var first = map.Left[x] * 4;
            var taps = map.Taps[x];
            if (Vector128.IsHardwareAccelerated)
            {
                var acc = Vector128<float>.Zero;
                for (var k = 0; k < taps; k++)
                    acc += Vector128.Create(Unsafe.Add(ref w, k)) * Vector128.LoadUnsafe(ref px, (nuint)(first + k * 4));
                acc.StoreUnsafe(ref dst, (nuint)(x * 4));
            }
            else
            {
                float a0 = 0, a1 = 0, a2 = 0;
                for (var k = 0; k < taps; k++)
                {
                    var wk = Unsafe.Add(ref w, k);
                    ref var p = ref Unsafe.Add(ref px, first + k * 4);
                    a0 += wk * p;
                    a1 += wk * Unsafe.Add(ref p, 1);
                    a2 += wk * Unsafe.Add(ref p, 2);
                }
                Unsafe.Add(ref dst, x * 4) = a0;
                Unsafe.Add(ref dst, x * 4 + 1) = a1;
                Unsafe.Add(ref dst, x * 4 + 2) = a2;
            }
        }
    }

    /// <summary>
    /// Output row <paramref name="y"/>: per pixel, the sum over the vertical taps, in tap order, of weight × horizontal
    /// row, clamped to 0..255, then × scale + offset, into the tensor (8 pixels at a time as four 2-pixel vectors).
    /// </summary>
    private static void Vertical(float[] ring, ReadOnlySpan<int> rows, ReadOnlySpan<float> weights, Vector128<float> lanesScale, Vector128<float> lanesOffset,
        TensorLayout layout, int dstW, int dstH, int y, Span<float> dst)
    {
        ref var h = ref MemoryMarshal.GetArrayDataReference(ring);
        ref var d = ref MemoryMarshal.GetReference(dst);
        var nhwc = layout == TensorLayout.Nhwc;
        var plane = dstW * dstH;
        var x = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var scale = Vector256.Create(lanesScale, lanesScale);
            var offset = Vector256.Create(lanesOffset, lanesOffset);
            var max = Vector256.Create(255f);
            // NHWC stores 4 lanes per pixel, the 4th over the next pixel's first: the tensor's very last pixel stays out.
            var end = nhwc && y == dstH - 1 ? dstW - 1 : dstW;
            for (; x + 8 <= end; x += 8)
            {
                Vector256<float> r0 = default, r1 = default, r2 = default, r3 = default;
                for (var k = 0; k < rows.Length; k++)
                {
                    var wk = Vector256.Create(weights[k]);
                    ref var row = ref Unsafe.Add(ref h, rows[k] + x * 4);
                    r0 += wk * Vector256.LoadUnsafe(ref row);
                    r1 += wk * Vector256.LoadUnsafe(ref row, 8);
                    r2 += wk * Vector256.LoadUnsafe(ref row, 16);
                    r3 += wk * Vector256.LoadUnsafe(ref row, 24);
                }
                r0 = Vector256.Min(Vector256.Max(r0, Vector256<float>.Zero), max) * scale + offset;
                r1 = Vector256.Min(Vector256.Max(r1, Vector256<float>.Zero), max) * scale + offset;
                r2 = Vector256.Min(Vector256.Max(r2, Vector256<float>.Zero), max) * scale + offset;
                r3 = Vector256.Min(Vector256.Max(r3, Vector256<float>.Zero), max) * scale + offset;
                if (nhwc)
                {
                    ref var o = ref Unsafe.Add(ref d, (y * dstW + x) * Channels);
                    r0.GetLower().StoreUnsafe(ref o); r0.GetUpper().StoreUnsafe(ref o, 3);
                    r1.GetLower().StoreUnsafe(ref o, 6); r1.GetUpper().StoreUnsafe(ref o, 9);
                    r2.GetLower().StoreUnsafe(ref o, 12); r2.GetUpper().StoreUnsafe(ref o, 15);
                    r3.GetLower().StoreUnsafe(ref o, 18); r3.GetUpper().StoreUnsafe(ref o, 21);
                }
                else if (Avx2.IsSupported)
                {
                    // 8 RGB_ pixels → 8 R, 8 G, 8 B: a 4×4 transpose in each 128-bit half, then the halves' lanes interleaved.
                    var t0 = Avx.UnpackLow(r0, r1);
                    var t1 = Avx.UnpackHigh(r0, r1);
                    var t2 = Avx.UnpackLow(r2, r3);
                    var t3 = Avx.UnpackHigh(r2, r3);
                    var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
                    ref var o = ref Unsafe.Add(ref d, y * dstW + x);
                    Avx2.PermuteVar8x32(Avx.Shuffle(t0, t2, 0x44), order).StoreUnsafe(ref o);
                    Avx2.PermuteVar8x32(Avx.Shuffle(t0, t2, 0xEE), order).StoreUnsafe(ref o, (nuint)plane);
                    Avx2.PermuteVar8x32(Avx.Shuffle(t1, t3, 0x44), order).StoreUnsafe(ref o, (nuint)(2 * plane));
                }
                else
                {
                    StorePlanar(r0.GetLower(), ref d, y * dstW + x, plane); StorePlanar(r0.GetUpper(), ref d, y * dstW + x + 1, plane);
                    StorePlanar(r1.GetLower(), ref d, y * dstW + x + 2, plane); StorePlanar(r1.GetUpper(), ref d, y * dstW + x + 3, plane);
                    StorePlanar(r2.GetLower(), ref d, y * dstW + x + 4, plane); StorePlanar(r2.GetUpper(), ref d, y * dstW + x + 5, plane);
                    StorePlanar(r3.GetLower(), ref d, y * dstW + x + 6, plane); StorePlanar(r3.GetUpper(), ref d, y * dstW + x + 7, plane);
                }
            }
        }
        for (; x < dstW; x++)
        {
            if (Vector128.IsHardwareAccelerated)
            {
                var acc = Vector128<float>.Zero;
                for (var k = 0; k < rows.Length; k++)
                    acc += Vector128.Create(weights[k]) * Vector128.LoadUnsafe(ref h, (nuint)(rows[k] + x * 4));
                acc = Vector128.Min(Vector128.Max(acc, Vector128<float>.Zero), Vector128.Create(255f)) * lanesScale + lanesOffset;
                if (nhwc)
                {
                    ref var o = ref Unsafe.Add(ref d, (y * dstW + x) * Channels);
                    o = acc.GetElement(0); Unsafe.Add(ref o, 1) = acc.GetElement(1); Unsafe.Add(ref o, 2) = acc.GetElement(2);
                }
                else StorePlanar(acc, ref d, y * dstW + x, plane);
            }
            else
                for (var c = 0; c < Channels; c++)
                {
                    var acc = 0f;
                    for (var k = 0; k < rows.Length; k++) acc += weights[k] * Unsafe.Add(ref h, rows[k] + x * 4 + c);
                    var value = MathF.Min(MathF.Max(acc, 0f), 255f) * lanesScale.GetElement(c) + lanesOffset.GetElement(c);
                    Unsafe.Add(ref d, nhwc ? (y * dstW + x) * Channels + c : c * plane + y * dstW + x) = value;
                }
        }
    }

    private static void StorePlanar(Vector128<float> pixel, ref float d, int at, int plane)
    {
        Unsafe.Add(ref d, at) = pixel.GetElement(0);
        Unsafe.Add(ref d, at + plane) = pixel.GetElement(1);
        Unsafe.Add(ref d, at + 2 * plane) = pixel.GetElement(2);
    }

    /// <summary>
    /// The same arithmetic one sample at a time, straight from the definition (no ring, no vectors): what the tests
    /// hold <see cref="Run"/> to, float for float.
    /// </summary>
    internal static float[] Reference(ReadOnlySpan<byte> source, int srcW, int srcH, IResampler sampler, int dstW, int dstH,
        ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, bool bgr, TensorLayout layout)
    {
        var hMap = AxisMap.Build(sampler, srcW, dstW);
        var vMap = AxisMap.Build(sampler, srcH, dstH);
        var horizontal = new float[srcH, dstW, Channels];
        for (var sy = 0; sy < srcH; sy++)
            for (var x = 0; x < dstW; x++)
                for (var c = 0; c < Channels; c++)
                {
                    var sc = bgr ? 2 - c : c;
                    var acc = 0f;
                    for (var k = 0; k < hMap.Taps[x]; k++)
                        acc += hMap.Weights[x * hMap.MaxTaps + k] * source[(sy * srcW + hMap.Left[x] + k) * Channels + sc];
                    horizontal[sy, x, c] = acc;
                }
        var result = new float[dstW * dstH * Channels];
        for (var y = 0; y < dstH; y++)
            for (var x = 0; x < dstW; x++)
                for (var c = 0; c < Channels; c++)
                {
                    var acc = 0f;
                    for (var k = 0; k < vMap.Taps[y]; k++)
                        acc += vMap.Weights[y * vMap.MaxTaps + k] * horizontal[vMap.Left[y] + k, x, c];
                    var value = MathF.Min(MathF.Max(acc, 0f), 255f) * (scale[c] / 255f) + offset[c];
                    result[layout == TensorLayout.Nhwc ? (y * dstW + x) * Channels + c : c * dstW * dstH + y * dstW + x] = value;
                }
        return result;
    }
}
