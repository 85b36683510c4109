using System.Diagnostics;
using ImageFlowIO.Caching;
using ImageFlowIO.Config;
using ImageFlowIO.Imaging;
using ImageFlowIO.Inference;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Chains;

/// <summary>
/// The chain after a model (<see cref="ChainConfig"/>): the model output becomes regions of the source image
/// (<see cref="TextRegionFinder"/>), and each region's crop runs through the per-region models: an optional orientation
/// classifier, then the recognizer, whose best path is decoded over the dictionary (<see cref="CtcDecoder"/>). Two cached
/// stages through the one <see cref="StageCache"/>: the regions (keyed by the inference key and the finder's settings,
/// with their crops' digests beside them) and each region's reading (keyed by its crop's content — the pixels the
/// recognizer sees upright — and the per-region models' digests and settings, not the dictionary's). So an edited
/// dictionary only decodes again, a new recognizer re-reads the regions without detecting them, a touched image runs
/// nothing, and a line already read in another image (a re-encoded copy, an edit elsewhere) is not read again. Owns its two
/// per-region backends (leases on the process-wide sessions).
/// </summary>
internal sealed class TextChain : IDisposable
{
    private const int MaxBatch = 8;
    private readonly PipelineConfig _config;
    private readonly ChainConfig _chain;
    private readonly StageCache _cache;
    private readonly ILogger _logger;
    private readonly IInferenceBackend? _orientation;
    private readonly RegionStepConfig? _orientationStep;
    private readonly IInferenceBackend _recognizer;
    private readonly RegionStepConfig _recognizerStep;
    private readonly TextDictionary _dictionary;
    private readonly string _regionsSection;
    private readonly string _readingSection;
    private readonly string _cropSection;
    // The worker's share of the cores (its intra-op threads, read when lines are read: a host may size it after deciding
    // what runs): lines read side by side, each on a one-thread session.
    private readonly Func<int> _lanes;
    private int _regionRuns;

    public TextChain(PipelineConfig config, StageCache cache, ILogger logger, Func<int> intraOpThreads, string? signatureFolder)
    {
        _config = config;
        _chain = config.Chain!;
        _cache = cache;
        _logger = logger;
        _orientationStep = _chain.PerRegion.FirstOrDefault(s => s.Kind == RegionStepKind.Orientation);
        _recognizerStep = _chain.PerRegion.Last(s => s.Kind == RegionStepKind.Recognizer);
        _lanes = intraOpThreads;
        var dictionaryPath = config.ResolvePath(_recognizerStep.Dictionary!);
        try { _dictionary = TextDictionary.Parse(File.ReadAllBytes(dictionaryPath)); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelException(ErrorCodes.ModelDictionaryUnreadable, dictionaryPath, $"the recognizer's dictionary cannot be read ({ex.Message}); fix chain.perRegion[].dictionary");
        }
        try
        {
            _orientation = _orientationStep is null ? null : Backend(_orientationStep, signatureFolder);
            _recognizer = Backend(_recognizerStep, signatureFolder);
            var classes = _recognizer.Signature.OutputShape.Count == 3 ? _recognizer.Signature.OutputShape[2] : -1;
            if (classes > 0 && classes != _dictionary.Classes)
                throw new ModelException(ErrorCodes.ModelInputMismatch, dictionaryPath,
                    $"the recognizer gives {classes} classes but this dictionary makes {_dictionary.Classes} (the blank, {_dictionary.Entries.Count - 1} lines and the space); use the dictionary the recognizer was trained with");
        }
        catch
        {
            _orientation?.Dispose();
            throw;
        }
        // The inference key already holds the preprocessing (and so the resize the regions are mapped back through).
        var r = _chain.Regions;
        _regionsSection = Invariant($"{r.Finder} {r.Threshold:R} {r.BoxThreshold:R} {r.UnclipRatio:R} {r.MinSize:R} {r.MaxCandidates}");
        // What a crop's pixels are made of besides the source: the recognizer's input size and normalisation, the orientation.
        _cropSection = Invariant($"{_recognizerStep.EffectiveInputSize} {_recognizerStep.EffectiveMean:R} {_recognizerStep.EffectiveStd:R} {(config.Input.AutoOrient ? "oriented" : "as-stored")}");
        // The dictionary is not part of it: readings are best paths of class ids, decoded on every use.
        _readingSection = CacheKeys.Digest(
            _orientation?.ModelDigest ?? "", _orientationStep is null ? "" : Invariant($"{_orientationStep.EffectiveInputSize} {_orientationStep.EffectiveMinScore:R} {_orientationStep.EffectiveMean:R} {_orientationStep.EffectiveStd:R}"),
            _recognizer.ModelDigest, Invariant($"{_recognizerStep.EffectiveInputSize} {_recognizerStep.EffectiveMean:R} {_recognizerStep.EffectiveStd:R} {_recognizerStep.EffectiveSpaceScore:R}"), config.Input.AutoOrient ? "oriented" : "as-stored");
    }

    private static string Invariant(FormattableString s) => FormattableString.Invariant(s);

    // One intra-op thread: a line's tensor is too small to share among threads; the worker's cores read lines side by side instead.
    private IInferenceBackend Backend(RegionStepConfig step, string? signatureFolder) =>
        new OnnxBackend(_config.ResolvePath(step.Path), new ModelConfig { Path = step.Path }, 1, _logger, signatureFolder, _cache.InputDigests);

    /// <summary>The detector will run: the per-region models' sessions load meanwhile on other cores.</summary>
    public void OpenSessionsSoon()
    {
        _orientation?.OpenSoon();
        _recognizer.OpenSoon();
    }

    /// <summary>Crops run through the per-region models in this process (tests: a cached reading runs none).</summary>
    internal int RegionRuns => Volatile.Read(ref _regionRuns);

    public string RegionsKey(string inferenceKey) => CacheKeys.Digest("regions", CacheKeys.ToolVersion, inferenceKey, _regionsSection);

    private string CropsKey(string regionsKey) => CacheKeys.Digest("crops", CacheKeys.ToolVersion, regionsKey, _cropSection);

    // From the crop's content: the same line in another image (or a re-encoded copy) is read once.
    private string ReadingKey(string cropDigest) => CacheKeys.Digest("region", CacheKeys.ToolVersion, cropDigest, _readingSection);

    /// <summary>Where the recognizer's crop of a region lies (turned half when upside down) and its width at the recognizer's height.</summary>
    private (TextPoint[] Corners, int Width, int TensorWidth) RecognizerCrop(TextRegion region, bool turned)
    {
        var rec = _recognizerStep.EffectiveInputSize;
        var corners = RegionCrop.Oriented(region.Corners, turned);
        var width = RegionCrop.ScaledWidth(corners, rec.Height, int.MaxValue);
        // Padded to a multiple of 32: a handful of input shapes serve every line (a new shape costs ONNX Runtime a plan).
        return (corners, width, Math.Max(rec.Width, (width + 31) / 32 * 32));
    }

    private float[] RecognizerTensor(RgbPixels pixels, (TextPoint[] Corners, int Width, int TensorWidth) crop) =>
        RegionCrop.ToTensor(pixels, crop.Corners, crop.Width, _recognizerStep.EffectiveInputSize.Height, crop.TensorWidth, (float)_recognizerStep.EffectiveMean, (float)_recognizerStep.EffectiveStd);

    /// <summary>The lines of an input whose regions and every region's reading are cached: no model, no decode of the image.</summary>
    public bool TryServe(string inferenceKey, string label, out IReadOnlyList<TextLine> lines, out (int Width, int Height) source)
    {
        lines = [];
        source = default;
        var regionsKey = RegionsKey(inferenceKey);
        if (!_cache.IsEnabled || !_cache.TryGet(RegionsCodec.Instance, regionsKey, label, out var set, out _)) return false;
        if (!_cache.TryGet(CropDigestsCodec.Instance, CropsKey(regionsKey), label, out var digests, out _) || digests.Length != set.Regions.Count) return false;
        var readings = new RegionReading[set.Regions.Count];
        for (var i = 0; i < readings.Length; i++)
            if (!_cache.TryGet(RegionReadingCodec.Instance, ReadingKey(digests[i]), label, out readings[i], out _)) return false;
        lines = Decode(set, readings, label);
        source = (set.SourceWidth, set.SourceHeight);
        return true;
    }

    /// <summary>The lines of an input from its model output: regions (cached or found now), each region's reading (cached or run now).</summary>
    public IReadOnlyList<TextLine> Run(string inferenceKey, StageValue inference, Func<RgbPixels> source, string label, Dictionary<string, double> timings, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var regionsKey = RegionsKey(inferenceKey);
        var set = _cache.GetOrCompute(RegionsCodec.Instance, regionsKey, label, () => FindRegions(inference), out _);
        timings["regions"] = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        RgbPixels? pixels = null;
        RgbPixels Pixels()
        {
            if (pixels is not null) return pixels;
            pixels = source();
            if (pixels.Width != set.SourceWidth || pixels.Height != set.SourceHeight)
                throw new ImageInputException(ErrorCodes.ImageNotFound, label, "the input changed size while it was being processed; run again");
            timings["cropSource"] = sw.Elapsed.TotalMilliseconds;
            return pixels;
        }
        // Each region's upright crop, made when its digest is (the recognizer reads it as is unless the line is upside down).
        var upright = new float[]?[set.Regions.Count];
        var cropsKey = CropsKey(regionsKey);
        if (!(_cache.IsEnabled && _cache.TryGet(CropDigestsCodec.Instance, cropsKey, label, out var digests, out _) && digests.Length == set.Regions.Count))
        {
            digests = new string[set.Regions.Count];
            for (var i = 0; i < digests.Length; i++)
            {
                upright[i] = RecognizerTensor(Pixels(), RecognizerCrop(set.Regions[i], turned: false));
                digests[i] = CacheKeys.ContentDigest(System.Runtime.InteropServices.MemoryMarshal.AsBytes(upright[i].AsSpan()));
            }
            _cache.Put(CropDigestsCodec.Instance, cropsKey, digests, label);
        }
        var readings = new RegionReading?[set.Regions.Count];
        var missing = new List<int>();
        for (var i = 0; i < readings.Length; i++)
        {
            if (_cache.IsEnabled && _cache.TryGet(RegionReadingCodec.Instance, ReadingKey(digests[i]), label, out var cached, out _)) readings[i] = cached;
            else missing.Add(i);
        }
        if (missing.Count > 0)
        {
            Read(Pixels(), set.Regions, missing, readings, upright, timings, ct);
            foreach (var i in missing) _cache.Put(RegionReadingCodec.Instance, ReadingKey(digests[i]), readings[i]!, label);
        }
        timings["perRegion"] = sw.Elapsed.TotalMilliseconds;
        return Decode(set, readings!, label);
    }

    private RegionSet FindRegions(StageValue inference)
    {
        var t = inference.Tensor;
        var shape = t.Shape;
        if (shape.Count < 2 || (shape.Count == 4 && (shape[0] != 1 || shape[1] != 1)) || (shape.Count == 3 && shape[0] != 1))
            throw new ModelException(ErrorCodes.ModelInputMismatch, _config.ResolvePath(_config.Model.Path),
                $"the dbText region finder reads a probability map [1, 1, H, W], but the model gives [{string.Join(", ", shape)}]; use a DB text detector or another region finder");
        int mapH = shape[^2], mapW = shape[^1];
        var regions = TextRegionFinder.Find(t.AsFloat32(), mapW, mapH,
            new DbTextSettings((float)_chain.Regions.Threshold, (float)_chain.Regions.BoxThreshold, (float)_chain.Regions.UnclipRatio, (float)_chain.Regions.MinSize, _chain.Regions.MaxCandidates),
            MapToSource(_config.Preprocessing.Resize, inference.SourceWidth, inference.SourceHeight, mapW, mapH), inference.SourceWidth, inference.SourceHeight);
        return new RegionSet(regions, inference.SourceWidth, inference.SourceHeight);
    }

    /// <summary>Undoes the preprocessing's resize: a point of the model's map in source pixels.</summary>
    internal static Func<TextPoint, TextPoint> MapToSource(ResizeConfig resize, int sourceWidth, int sourceHeight, int mapWidth, int mapHeight)
    {
        if (!(resize.Apply && resize.ImageSize is { } size))
            return p => new TextPoint(p.X * sourceWidth / mapWidth, p.Y * sourceHeight / mapHeight);
        double kx = (double)size.Width / mapWidth, ky = (double)size.Height / mapHeight;
        switch (resize.EffectiveMode)
        {
            case ResizeMode.Fill:
                return p => new TextPoint((float)(p.X * kx * sourceWidth / size.Width), (float)(p.Y * ky * sourceHeight / size.Height));
            case ResizeMode.Crop:
            {
                var scale = Math.Max((double)size.Width / sourceWidth, (double)size.Height / sourceHeight);
                double offX = (sourceWidth * scale - size.Width) / 2, offY = (sourceHeight * scale - size.Height) / 2;
                return p => new TextPoint((float)((p.X * kx + offX) / scale), (float)((p.Y * ky + offY) / scale));
            }
            default:
            {
                // As Preprocessor's fit: scaled inside, rounded, padded centred.
                var scale = Math.Min((double)size.Width / sourceWidth, (double)size.Height / sourceHeight);
                var w = Math.Clamp((int)Math.Round(sourceWidth * scale), 1, size.Width);
                var h = Math.Clamp((int)Math.Round(sourceHeight * scale), 1, size.Height);
                int offX = (size.Width - w) / 2, offY = (size.Height - h) / 2;
                return p => new TextPoint((float)((p.X * kx - offX) * sourceWidth / w), (float)((p.Y * ky - offY) * sourceHeight / h));
            }
        }
    }

    /// <summary>Runs the per-region models over the regions not cached: orientation in batches of one size, then recognition in batches of equal width.</summary>
    private void Read(RgbPixels pixels, IReadOnlyList<TextRegion> regions, List<int> todo, RegionReading?[] readings, float[]?[] upright, Dictionary<string, double> timings, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        Interlocked.Add(ref _regionRuns, todo.Count);
        var turned = new bool[regions.Count];
        var angleScores = new float[regions.Count];
        if (_orientation is not null)
        {
            var size = _orientationStep!.EffectiveInputSize;
            foreach (var batch in todo.Chunk(MaxBatch))
            {
                ct.ThrowIfCancellationRequested();
                var plane = 3 * size.Height * size.Width;
                var input = new float[batch.Length * plane];
                for (var b = 0; b < batch.Length; b++)
                {
                    var corners = RegionCrop.Oriented(regions[batch[b]].Corners, upsideDown: false);
                    var width = RegionCrop.ScaledWidth(corners, size.Height, size.Width);
                    RegionCrop.ToTensor(pixels, corners, width, size.Height, size.Width, (float)_orientationStep.EffectiveMean, (float)_orientationStep.EffectiveStd).CopyTo(input, b * plane);
                }
                var output = _orientation.Run(TensorData.FromFloats([batch.Length, 3, size.Height, size.Width], input));
                var scores = output.AsFloat32();
                var classes = output.Shape[^1];
                for (var b = 0; b < batch.Length; b++)
                {
                    float upScore = scores[b * classes], downScore = classes > 1 ? scores[b * classes + 1] : 0;
                    turned[batch[b]] = downScore > upScore && downScore >= _orientationStep.EffectiveMinScore;
                    angleScores[batch[b]] = Math.Clamp(Math.Max(upScore, downScore), 0, 1);
                }
            }
        }
        timings["orientation"] = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        var crops = todo.Select(i => (Index: i, Crop: RecognizerCrop(regions[i], turned[i]))).OrderByDescending(c => c.Crop.TensorWidth).ToList();
        // One line per run (batches padded to the widest measured no faster per line on one thread), lines side by side on the worker's cores.
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _lanes()), CancellationToken = ct };
        try { Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(crops, loadBalance: true), options, c => readings[c.Index] = Recognize((turned[c.Index] ? null : upright[c.Index]) ?? RecognizerTensor(pixels, c.Crop), c.Crop.TensorWidth, turned[c.Index], angleScores[c.Index])); }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerExceptions[0]); }
        timings["recognition"] = sw.Elapsed.TotalMilliseconds;
    }

    private RegionReading Recognize(float[] input, int tensorWidth, bool turned, float angleScore)
    {
        var rec = _recognizerStep.EffectiveInputSize;
        var output = _recognizer.Run(TensorData.FromFloats([1, 3, rec.Height, tensorWidth], input));
        if (output.Shape.Count != 3 || output.Shape[0] != 1)
            throw new ModelException(ErrorCodes.ModelInputMismatch, _config.ResolvePath(_recognizerStep.Path), $"a recognizer gives [N, T, classes], but this one gave [{string.Join(", ", output.Shape)}]");
        int steps = output.Shape[1], classes = output.Shape[2];
        if (classes != _dictionary.Classes)
            throw new ModelException(ErrorCodes.ModelInputMismatch, _config.ResolvePath(_recognizerStep.Dictionary!), $"the recognizer gives {classes} classes but the dictionary makes {_dictionary.Classes}; use the dictionary the recognizer was trained with");
        return new RegionReading(turned, angleScore, CtcDecoder.Greedy(output.AsFloat32()[..(steps * classes)], steps, classes, (float)_recognizerStep.EffectiveSpaceScore));
    }

    /// <summary>Decodes every reading over the dictionary; lines under the recognizer's minimum score (or empty) are left out.</summary>
    private List<TextLine> Decode(RegionSet set, RegionReading[] readings, string label)
    {
        var regions = set.Regions;
        var lines = new List<TextLine>(regions.Count);
        for (var i = 0; i < regions.Count; i++)
        {
            var reading = readings[i];
            if (reading.Path.Classes != _dictionary.Classes) continue;
            var (text, score) = CtcDecoder.Decode(reading.Path, _dictionary.Entries);
            if (text.Length == 0 || score < _recognizerStep.EffectiveMinScore) continue;
            lines.Add(new TextLine(text, score, regions[i].Corners) { Angle = reading.UpsideDown ? 180 : 0, AngleScore = reading.AngleScore });
        }
        _logger.LogInformation("chain/lines {Input}: {Count} lines ({Regions} regions)", label, lines.Count, regions.Count);
        if (_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            foreach (var line in lines) _logger.LogDebug("chain/text {Input}: {Text} ({Score:0.000})", label, line.Text, line.Score);
        return lines.Count(l => l.Angle == 180) * 2 > lines.Count ? InTurnedReadingOrder(lines, set.SourceWidth, set.SourceHeight) : lines;
    }

    /// <summary>
    /// Most lines were upside down, so the image is: its reading order is the one of the image turned half, where the
    /// last line in the source is the first. The boxes stay in source pixels.
    /// </summary>
    private static List<TextLine> InTurnedReadingOrder(List<TextLine> lines, int width, int height)
    {
        var turned = lines.Select((l, i) => new TextRegion([.. RegionCrop.Oriented([.. l.Box], upsideDown: true).Select(p => new TextPoint(width - p.X, height - p.Y))], i)).ToList();
        TextRegionFinder.SortReadingOrder(turned);
        return turned.Select(r => lines[(int)r.Score]).ToList();
    }

    public void Dispose()
    {
        _orientation?.Dispose();
        _recognizer.Dispose();
    }
}

