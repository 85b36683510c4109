using System.Text;
using ImageFlowIO.Config;

namespace ImageFlowIO.Caching;

/// <summary>
/// Where the shared remote cache is and how to talk to it, resolved from the host, the config and the environment.
/// Holds the credentials apart from the address: <see cref="BaseUri"/> carries no user info, and <see cref="Display"/>
/// (the only form ever printed) carries neither user info nor query.
/// </summary>
internal sealed class RemoteCacheSettings
{
    public const string UrlVariable = "IMAGEFLOWIO_REMOTE_CACHE";
    public const string TokenVariable = "IMAGEFLOWIO_REMOTE_CACHE_TOKEN";
    public const string KeyVariable = "IMAGEFLOWIO_REMOTE_CACHE_KEY";
    public const int DefaultTimeoutMs = 2000;

    private readonly string[] _secrets;

    private RemoteCacheSettings(Uri baseUri, string? authorization, bool readOnly, int timeoutMs, byte[]? signingKey, string[] secrets)
    {
        BaseUri = baseUri;
        Authorization = authorization;
        ReadOnly = readOnly;
        TimeoutMs = timeoutMs;
        SigningKey = signingKey;
        _secrets = secrets;
        Display = Redact(baseUri);
    }

    /// <summary>The server's base address without user info or query, ending in '/'.</summary>
    public Uri BaseUri { get; }
    /// <summary>The Authorization header value (Bearer from the token variable, else Basic from the URL's user info).</summary>
    public string? Authorization { get; }
    public bool ReadOnly { get; }
    public int TimeoutMs { get; }
    /// <summary>HMAC-SHA256 key: manifests written are signed, manifests read must carry a valid tag.</summary>
    public byte[]? SigningKey { get; }
    /// <summary>The address as it may appear in logs, errors and summaries: scheme, host, port and path only.</summary>
    public string Display { get; }

    /// <summary>
    /// The remote cache the host (CLI <c>--remote-cache</c>, MSBuild <c>ImageFlowRemoteCache</c>) &gt; the config
    /// (<c>execution.cache.remote</c>) &gt; <c>IMAGEFLOWIO_REMOTE_CACHE</c> name, or null for none. A URL that is not an
    /// absolute http(s) address gives null with <paramref name="problem"/> set (printable: credentials removed).
    /// </summary>
    public static RemoteCacheSettings? Resolve(PipelineConfig config, PipelineOptions options, Func<string, string?> environment, out string? problem)
    {
        problem = null;
        var fromConfig = config.Execution.Cache.Remote;
        var url = options.RemoteCache is { Length: > 0 } host ? host
            : fromConfig is { Url.Length: > 0 } ? fromConfig.Url
            : environment(UrlVariable) is { Length: > 0 } env ? env.Trim() : null;
        if (url is null) return null;
        var readOnly = options.RemoteCacheReadOnly ?? fromConfig?.ReadOnly ?? false;
        var timeoutMs = fromConfig?.TimeoutMs ?? DefaultTimeoutMs;
        var key = environment(KeyVariable) is { Length: > 0 } k ? Encoding.UTF8.GetBytes(k) : null;
        return Create(url, environment(TokenVariable), readOnly, timeoutMs, key, out problem);
    }

    /// <summary>Settings for <paramref name="url"/> (user info becomes Basic credentials unless a bearer token is given).</summary>
    public static RemoteCacheSettings? Create(string url, string? token, bool readOnly, int timeoutMs, byte[]? signingKey, out string? problem)
    {
        problem = null;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            // Never echo the URL itself: it may carry a password even when it does not parse.
            problem = "the remote cache URL is not an absolute http:// or https:// address";
            return null;
        }
        var secrets = new List<string>();
        string? authorization = null;
        if (!string.IsNullOrEmpty(token))
        {
            authorization = "Bearer " + token.Trim();
            secrets.Add(token.Trim());
        }
        if (uri.UserInfo.Length > 0)
        {
            var userInfo = Uri.UnescapeDataString(uri.UserInfo);
            authorization ??= "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(userInfo));
            secrets.Add(uri.UserInfo);
            secrets.Add(userInfo);
            if (userInfo.IndexOf(':') is var colon and > 0 && colon < userInfo.Length - 1) secrets.Add(userInfo[(colon + 1)..]);
        }
        var clean = new UriBuilder(uri) { UserName = "", Password = "", Query = "", Fragment = "" };
        if (!clean.Path.EndsWith('/')) clean.Path += "/";
        return new RemoteCacheSettings(clean.Uri, authorization, readOnly, Math.Max(1, timeoutMs), signingKey, [.. secrets.Where(s => s.Length >= 3)]);
    }

    /// <summary>An address fit to print: no user info, no query, no fragment.</summary>
    public static string Redact(Uri uri) => uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) + (uri.Query.Length > 1 ? "?…" : "");

    /// <summary>A message with any credential these settings hold replaced (defence in depth: messages are built without them).</summary>
    public string Scrub(string message)
    {
        foreach (var secret in _secrets) message = message.Replace(secret, "***", StringComparison.Ordinal);
        return message;
    }
}
