using System.Security.Cryptography;
using System.Text;
using ImageFlowIO.Caching;

namespace ImageFlowIO.Tests.Caching;

/// <summary>Cache keys hash with a managed SHA-256 (no OpenSSL load in a fully cached run): the same digests as before.</summary>
public sealed class KeyDigestTests
{
    [Fact]
    public void Managed_sha256_equals_the_platform_sha256_at_every_padding_boundary()
    {
        var random = new Random(7);
        foreach (var length in Enumerable.Range(0, 200).Concat([255, 256, 447, 448, 511, 512, 1023, 1024, 1025, 4096, 70_001]))
        {
            var data = new byte[length];
            random.NextBytes(data);
            var digest = new byte[32];
            KeySha256.Hash(data, digest);
            Assert.Equal(SHA256.HashData(data), digest);
        }
    }

    [Fact]
    public void Keys_are_the_length_prefixed_sha256_they_always_were()
    {
        string[][] cases =
        [
            [],
            ["preprocess", "0.1.0", "0123456789abcdef", "{\"resize\":{\"imageSize\":[320,320]}}"],
            ["output/facts", "ünïcödé ✓", "", new string('x', 3000)], // multi-byte UTF-8, an empty part, over the stack buffer
        ];
        foreach (var parts in cases)
        {
            // The construction as written before (IncrementalHash over OpenSSL): caches written then stay valid.
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var part in parts)
            {
                var bytes = Encoding.UTF8.GetBytes(part);
                hash.AppendData(BitConverter.GetBytes(bytes.Length)); // little-endian on every supported platform
                hash.AppendData(bytes);
            }
            var digest = hash.GetHashAndReset();
            // Base64URL as the keys were first spelled (padding trimmed, then + and / replaced): existing entries keep their names.
            Assert.Equal(Convert.ToBase64String(digest).TrimEnd('=').Replace('+', '-').Replace('/', '_'), CacheKeys.Digest(parts));
        }
        Assert.Equal(43, CacheKeys.Digest("a").Length);
        var random = new Random(11);
        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[random.Next(0, 70)];
            random.NextBytes(bytes);
            Assert.Equal(Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_'), CacheKeys.Base64Url(bytes));
        }
    }
}
