using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ImageFlowIO.Config;

namespace ImageFlowIO.Caching;

/// <summary>One content-addressed blob a manifest names: SHA-256 (hex) of its bytes and its size.</summary>
internal readonly record struct RemoteBlob(string Sha256, long Size);

/// <summary>
/// The small JSON document kept under <c>/ac/&lt;sha256 of the entry key&gt;</c>: the entry's stage, key, tool version
/// and <see cref="EntryInfo"/>, and the <c>/cas/</c> blobs whose bytes, one after another, are its payload. With a
/// signing key the document is <c>{"entry": {...}, "signature": "hmac-sha256:&lt;hex&gt;"}</c>, the tag taken over the
/// entry object's exact bytes (which name every blob by digest, so the tag covers the content). Parsing never throws
/// and bounds everything it reads: a manifest is untrusted input.
/// </summary>
internal sealed class RemoteManifest
{
    public const int CurrentFormat = 1;
    /// <summary>A manifest larger than this is not one we wrote (4096 files with long paths stay below it).</summary>
    public const int MaxBytes = 8 << 20;
    private const int MaxBlobs = 64;
    private const string SignaturePrefix = "hmac-sha256:";

    public required CacheStage Stage { get; init; }
    public required string Key { get; init; }
    public required string ToolVersion { get; init; }
    public required EntryInfo Info { get; init; }
    public required IReadOnlyList<RemoteBlob> Blobs { get; init; }
    public long PayloadLength => Blobs.Sum(b => b.Size);

    /// <summary>The ac address of an entry: SHA-256 (hex) of its stage and key.</summary>
    public static string ActionId(CacheStage stage, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(StageCache.StageName(stage) + "/" + key)));

    public byte[] ToJson(byte[]? signingKey)
    {
        var entry = EntryJson();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WritePropertyName("entry");
            w.WriteRawValue(entry, skipInputValidation: true);
            if (signingKey is not null) w.WriteString("signature", SignaturePrefix + Convert.ToHexStringLower(HMACSHA256.HashData(signingKey, entry)));
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private byte[] EntryJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            var info = Info;
            w.WriteStartObject();
            w.WriteNumber("format", CurrentFormat);
            w.WriteString("stage", StageCache.StageName(Stage));
            w.WriteString("key", Key);
            w.WriteString("toolVersion", ToolVersion);
            EntryInfoJson.Write(w, info);
            w.WriteStartArray("blobs");
            foreach (var b in Blobs)
            {
                w.WriteStartObject();
                w.WriteString("sha256", b.Sha256);
                w.WriteNumber("size", b.Size);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>What reading a manifest found.</summary>
    public enum ParseOutcome
    {
        Ok,
        /// <summary>Not JSON at all: the server answered with something that is not a manifest (a fault of the server, not of one entry).</summary>
        NotJson,
        /// <summary>JSON, but not a valid manifest of the requested entry.</summary>
        Invalid,
        /// <summary>Valid, but another tool version's entry: a plain miss.</summary>
        OtherVersion,
        /// <summary>No valid signature while a signing key is set.</summary>
        Untrusted,
    }

    public static ParseOutcome TryParse(ReadOnlySpan<byte> json, CacheStage stage, string key, byte[]? signingKey, out RemoteManifest manifest, out string problem)
    {
        manifest = null!;
        problem = "";
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException ex)
        {
            problem = $"the answer is not a manifest ({ex.Message})";
            return ParseOutcome.NotJson;
        }
        using (doc)
        {
            try
            {
                var root = doc.RootElement;
                var entry = root.GetProperty("entry");
                if (entry.ValueKind != JsonValueKind.Object) throw new FormatException("'entry' is not an object");
                if (signingKey is not null)
                {
                    if (!root.TryGetProperty("signature", out var sig) || sig.GetString() is not { } tag || !tag.StartsWith(SignaturePrefix, StringComparison.Ordinal))
                    {
                        problem = "the entry is not signed";
                        return ParseOutcome.Untrusted;
                    }
                    var expected = HMACSHA256.HashData(signingKey, System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(entry));
                    byte[] given;
                    try { given = Convert.FromHexString(tag.AsSpan(SignaturePrefix.Length)); }
                    catch (FormatException) { given = []; }
                    if (!CryptographicOperations.FixedTimeEquals(expected, given))
                    {
                        problem = "the entry's signature does not match the signing key";
                        return ParseOutcome.Untrusted;
                    }
                }
                if (entry.GetProperty("format").GetInt32() != CurrentFormat) { problem = "another manifest format"; return ParseOutcome.OtherVersion; }
                var toolVersion = entry.GetProperty("toolVersion").GetString() ?? "";
                if (toolVersion != CacheKeys.ToolVersion) { problem = "another tool version"; return ParseOutcome.OtherVersion; }
                if (DiskEntryMetadata.ParseStage(entry.GetProperty("stage").GetString()) != stage || entry.GetProperty("key").GetString() != key)
                    throw new FormatException("the manifest names another entry");

                var blobs = entry.GetProperty("blobs");
                if (blobs.GetArrayLength() is 0 or > MaxBlobs) throw new FormatException("no blobs or too many");
                var named = blobs.EnumerateArray().Select(b => new RemoteBlob(b.GetProperty("sha256").GetString() ?? "", b.GetProperty("size").GetInt64())).ToList();
                if (named.Any(b => !IsSha256Hex(b.Sha256) || b.Size < 0)) throw new FormatException("a blob with a bad digest or size");
                if (named.Sum(b => b.Size) > int.MaxValue) throw new FormatException("the payload is too large");

                manifest = new RemoteManifest
                {
                    Stage = stage,
                    Key = key,
                    ToolVersion = toolVersion,
                    Blobs = named,
                    Info = EntryInfoJson.Read(entry),
                };
                return ParseOutcome.Ok;
            }
            catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
            {
                problem = $"manifest unreadable ({ex.Message})";
                return ParseOutcome.Invalid;
            }
        }
    }

    public static bool IsSha256Hex(string value) => value.Length == 64 && value.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
