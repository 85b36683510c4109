using ImageFlowIO.Caching;
using ImageFlowIO.Config;

namespace ImageFlowIO.Chains;

/// <summary>The regions a finder turned one model output into, and the source size they are in.</summary>
internal sealed record RegionSet(IReadOnlyList<TextRegion> Regions, int SourceWidth, int SourceHeight);

/// <summary>What the per-region models made of one crop: its orientation (and score) and the recognizer's best path.</summary>
internal sealed record RegionReading(bool UpsideDown, float AngleScore, BestPath Path);

/// <summary>Codec of the regions stage: per region eight corner coordinates and the score, as float32.</summary>
internal sealed class RegionsCodec : IStageCodec<RegionSet>
{
    public static readonly RegionsCodec Instance = new();
    private const int PerRegion = 9;
    private const int MaxRegions = 100_000;

    public CacheStage Stage => CacheStage.Regions;

    public CacheEntry Encode(string key, RegionSet value, string inputLabel)
    {
        var floats = new float[1 + value.Regions.Count * PerRegion];
        floats[0] = value.Regions.Count;
        for (var i = 0; i < value.Regions.Count; i++)
        {
            var r = value.Regions[i];
            for (var k = 0; k < 4; k++) { floats[1 + i * PerRegion + 2 * k] = r.Corners[k].X; floats[2 + i * PerRegion + 2 * k] = r.Corners[k].Y; }
            floats[1 + i * PerRegion + 8] = r.Score;
        }
        var t = TensorData.FromFloats([floats.Length], floats);
        return new CacheEntry(Stage, key, new EntryInfo
        {
            DataType = TensorDataType.Float32, Shape = [floats.Length], SourceWidth = value.SourceWidth, SourceHeight = value.SourceHeight, Input = Path.GetFileName(inputLabel),
        }, t.UnsafeArray);
    }

    public bool TryDecode(CacheEntry entry, out RegionSet value, out string problem)
    {
        value = null!;
        var info = entry.Info;
        if (info.Files is not null || info.DataType != TensorDataType.Float32 || info.Shape.Length != 1 || entry.Payload.Length != info.Shape[0] * 4L || info.Shape[0] < 1)
        { problem = "not a regions entry"; return false; }
        if (info.SourceWidth is <= 0 or > 1 << 20 || info.SourceHeight is <= 0 or > 1 << 20) { problem = "bad source size"; return false; }
        var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(entry.Payload);
        var count = floats[0];
        if (!(count >= 0 && count <= MaxRegions && count == MathF.Floor(count) && floats.Length == 1 + (int)count * PerRegion)) { problem = "region count does not match the data"; return false; }
        var regions = new List<TextRegion>((int)count);
        for (var i = 0; i < (int)count; i++)
        {
            var corners = new TextPoint[4];
            for (var k = 0; k < 4; k++)
            {
                float x = floats[1 + i * PerRegion + 2 * k], y = floats[2 + i * PerRegion + 2 * k];
                // Corners lie inside the source image: a cached box never crops outside it.
                if (!(x >= 0 && x <= info.SourceWidth && y >= 0 && y <= info.SourceHeight)) { problem = "a corner outside the source image"; return false; }
                corners[k] = new TextPoint(x, y);
            }
            var score = floats[1 + i * PerRegion + 8];
            if (!(score >= 0 && score <= 1)) { problem = "a score outside [0, 1]"; return false; }
            regions.Add(new TextRegion(corners, score));
        }
        value = new RegionSet(regions, info.SourceWidth, info.SourceHeight);
        problem = "";
        return true;
    }
}

/// <summary>Codec of one region's reading: [upside down, angle score, classes, n, n ids, n scores] as float32.</summary>
internal sealed class RegionReadingCodec : IStageCodec<RegionReading>
{
    public static readonly RegionReadingCodec Instance = new();
    private const int MaxClasses = 1 << 20;
    private const int MaxLength = 1 << 16;

    public CacheStage Stage => CacheStage.Region;

    public CacheEntry Encode(string key, RegionReading value, string inputLabel)
    {
        var n = value.Path.Ids.Length;
        var floats = new float[4 + 2 * n];
        (floats[0], floats[1], floats[2], floats[3]) = (value.UpsideDown ? 1 : 0, value.AngleScore, value.Path.Classes, n);
        for (var i = 0; i < n; i++) { floats[4 + i] = value.Path.Ids[i]; floats[4 + n + i] = value.Path.Scores[i]; }
        return new CacheEntry(Stage, key, new EntryInfo
        {
            DataType = TensorDataType.Float32, Shape = [floats.Length], Input = Path.GetFileName(inputLabel),
        }, TensorData.FromFloats([floats.Length], floats).UnsafeArray);
    }

    public bool TryDecode(CacheEntry entry, out RegionReading value, out string problem)
    {
        value = null!;
        var info = entry.Info;
        if (info.Files is not null || info.DataType != TensorDataType.Float32 || info.Shape.Length != 1 || info.Shape[0] < 4 || entry.Payload.Length != info.Shape[0] * 4L)
        { problem = "not a region entry"; return false; }
        var f = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(entry.Payload);
        float classes = f[2], n = f[3];
        if (f[0] is not (0 or 1) || !(f[1] >= 0 && f[1] <= 1) || !(classes >= 2 && classes <= MaxClasses && classes == MathF.Floor(classes))
            || !(n >= 0 && n <= MaxLength && n == MathF.Floor(n)) || f.Length != 4 + 2 * (int)n)
        { problem = "region entry header does not match its data"; return false; }
        var ids = new int[(int)n];
        var scores = new float[(int)n];
        for (var i = 0; i < ids.Length; i++)
        {
            float id = f[4 + i], score = f[4 + ids.Length + i];
            if (!(id >= 1 && id < classes && id == MathF.Floor(id)) || !(score >= 0 && score <= 1)) { problem = "a class id or score out of range"; return false; }
            (ids[i], scores[i]) = ((int)id, score);
        }
        value = new RegionReading(f[0] == 1, f[1], new BestPath((int)classes, ids, scores));
        problem = "";
        return true;
    }
}

/// <summary>
/// Codec of a region set's crop digests (one SHA-256 per region, of its crop as the recognizer sees it upright): the
/// per-region readings are keyed by them, so a served input finds its readings without decoding the image. Kept in the
/// regions stage (its key is the regions key and the crop settings).
/// </summary>
internal sealed class CropDigestsCodec : IStageCodec<string[]>
{
    public static readonly CropDigestsCodec Instance = new();
    private const int DigestBytes = 32;

    public CacheStage Stage => CacheStage.Regions;

    public CacheEntry Encode(string key, string[] value, string inputLabel)
    {
        var payload = new byte[value.Length * DigestBytes];
        for (var i = 0; i < value.Length; i++) Convert.FromHexString(value[i]).CopyTo(payload, i * DigestBytes);
        return new CacheEntry(Stage, key, new EntryInfo { DataType = TensorDataType.Uint8, Shape = [payload.Length], Input = Path.GetFileName(inputLabel) }, payload);
    }

    public bool TryDecode(CacheEntry entry, out string[] value, out string problem)
    {
        value = [];
        var info = entry.Info;
        if (info.Files is not null || info.DataType != TensorDataType.Uint8 || info.Shape.Length != 1 || entry.Payload.Length != info.Shape[0] || entry.Payload.Length % DigestBytes != 0)
        { problem = "not a crop digests entry"; return false; }
        value = new string[entry.Payload.Length / DigestBytes];
        for (var i = 0; i < value.Length; i++) value[i] = Convert.ToHexStringLower(entry.Payload, i * DigestBytes, DigestBytes);
        problem = "";
        return true;
    }
}
