using ImageFlowIO.Caching;

namespace ImageFlowIO.CacheCrashChild;

/// <summary>
/// Deterministic synthetic entries for the crash test: the child process writes them and the test checks that every
/// entry that reads as valid holds exactly these bytes. Linked into the test project too.
/// </summary>
internal static class CrashEntries
{
    public const int Count = 48;
    public const long DiskLimitBytes = 3L * 1024 * 1024;

    public static string Key(int n) => CacheKeys.Digest("crash-test", n.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static CacheEntry Entry(int n) => TensorCodec.Inference.Encode(Key(n), Value(n), "synthetic");

    public static StageValue Value(int n)
    {
        var floats = new float[4096 + n * 2048];
        var random = new Random(n);
        for (var i = 0; i < floats.Length; i++) floats[i] = (float)random.NextDouble() * (i % 7);
        return new StageValue(TensorData.FromFloats([floats.Length], floats), n, n + 1);
    }
}
