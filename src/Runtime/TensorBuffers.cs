namespace ImageFlowIO;

/// <summary>
/// Exact-length byte arrays for per-image tensors (the preprocess tensor, the model output: 1.2 MB each for a float
/// 3×320², on the large object heap; and the quantized samples a PNG is encoded from), reused instead of allocated per
/// image. Renting never requires a return: an array
/// nobody returns is garbage as before. Only the pipeline returns one, and only when it has proved nothing else holds it
/// (computed in this run, no cache layer that keeps payloads, no host hook, tensors not kept in results): a returned
/// array is handed out again with its old contents, which every renter overwrites in full. Bounded per length and in
/// total, so an idle process keeps little.
/// </summary>
internal static class TensorBuffers
{
    /// <summary>Smaller arrays are cheap gen-0 allocations: not worth pooling.</summary>
    internal const int MinPooledLength = 64 * 1024;
    private const int MaxPerLength = 8;
    private const long MaxPooledBytes = 64L << 20;

    private static readonly Dictionary<int, Stack<byte[]>> Free = new();
    private static long _pooledBytes;
    private static long _reused;
    private static long _returned;

    /// <summary>Arrays handed out again so far in this process (tests, benchmarks).</summary>
    public static long Reused => Interlocked.Read(ref _reused);
    /// <summary>Arrays given back so far in this process.</summary>
    public static long Returned => Interlocked.Read(ref _returned);

    /// <summary>An array of exactly <paramref name="length"/> bytes, not zeroed: the caller writes every byte.</summary>
    public static byte[] Rent(int length)
    {
        if (length >= MinPooledLength)
        {
            lock (Free)
            {
                if (Free.TryGetValue(length, out var stack) && stack.TryPop(out var array))
                {
                    _pooledBytes -= length;
                    _reused++;
                    return array;
                }
            }
        }
        return GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>Gives an array back for reuse. Only for an array no one else can still read or write.</summary>
    public static void Return(byte[] array)
    {
        if (array.Length < MinPooledLength) return;
        lock (Free)
        {
            if (_pooledBytes + array.Length > MaxPooledBytes) return;
            if (!Free.TryGetValue(array.Length, out var stack)) Free[array.Length] = stack = new Stack<byte[]>();
            if (stack.Count >= MaxPerLength) return;
            stack.Push(array);
            _pooledBytes += array.Length;
            _returned++;
        }
    }
}
