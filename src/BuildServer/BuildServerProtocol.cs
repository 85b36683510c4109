using System.Buffers.Binary;
using System.Text;

namespace ImageFlowIO.BuildServer;

/// <summary>
/// The wire to the ImageFlowIO build server: the MSBuild node sends an <see cref="AssetBuildRequest"/>, the server runs the
/// same <see cref="AssetBuild"/> in its warm process (loaded ONNX Runtime, sessions, compiled code) and streams the build's
/// events back, then the result. Frames are a 4-byte little-endian length and a <see cref="BinaryWriter"/> body, over a
/// pipe only the current user can open (a Unix domain socket on Linux/macOS).
/// </summary>
internal static class BuildServerProtocol
{
    /// <summary>Bumped when a frame changes shape; the server refuses any other.</summary>
    public const int Version = 3;
    // A request of 100 000 assets is a few tens of MB; anything beyond is not ours.
    private const int MaxFrameBytes = 256 << 20;

    public static void WriteCall(Stream stream, BuildServerCall call) => WriteFrame(stream, w =>
    {
        w.Write(call.Protocol);
        w.Write(call.Identity);
        w.Write(call.Shutdown);
        w.Write(call.Build is not null);
        if (call.Build is not { } request) return;
        w.Write(request.OverlapsBuild);
        WriteWork(w, request);
    });

    /// <summary>The next call, or null at a clean end of stream; a torn, oversized or malformed frame is an <see cref="IOException"/>.</summary>
    public static BuildServerCall? ReadCall(Stream stream) => ReadFrame(stream, r =>
    {
        var call = new BuildServerCall { Protocol = r.ReadInt32() };
        // Another protocol's body is not ours to parse: the server answers "refused" from the version alone.
        if (call.Protocol != Version) return call;
        call.Identity = r.ReadString();
        call.Shutdown = r.ReadBoolean();
        if (!r.ReadBoolean()) return call;
        call.Build = new AssetBuildRequest { OverlapsBuild = r.ReadBoolean() };
        ReadWork(r, call.Build);
        return call;
    });

    /// <summary>The request's work as bytes (everything but where it runs): two requests for the same work have the same bytes.</summary>
    public static byte[] WorkBytes(AssetBuildRequest request)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true)) WriteWork(writer, request);
        return buffer.ToArray();
    }

    private static void WriteWork(BinaryWriter w, AssetBuildRequest request)
    {
        foreach (var text in (ReadOnlySpan<string>)[request.OutputDirectory, request.ProjectDirectory, request.OutputsFile, request.DependenciesFile, request.SummaryFile]) w.Write(text);
        foreach (var text in (ReadOnlySpan<string?>)[request.StampFile, request.CacheMode, request.CacheDirectory, request.CatalogueFile, request.RemoteCache, request.Shard, request.OnnxRuntimeLibrary]) WriteNullable(w, text);
        w.Write(request.MaxParallelism);
        w.Write(request.RemoteCacheReadOnly);
        w.Write((int)request.MaxImportance);
        WriteMap(w, request.Environment);
        w.Write(request.Assets.Count);
        foreach (var item in request.Assets)
            foreach (var text in (ReadOnlySpan<string>)[item.ItemSpec, item.FullPath, item.Config, item.OutputDir, item.Link, item.RecursiveDir, item.SuppressChecks]) w.Write(text);
    }

    private static void ReadWork(BinaryReader r, AssetBuildRequest request)
    {
        request.OutputDirectory = r.ReadString();
        request.ProjectDirectory = r.ReadString();
        request.OutputsFile = r.ReadString();
        request.DependenciesFile = r.ReadString();
        request.SummaryFile = r.ReadString();
        request.StampFile = ReadNullable(r);
        request.CacheMode = ReadNullable(r);
        request.CacheDirectory = ReadNullable(r);
        request.CatalogueFile = ReadNullable(r);
        request.RemoteCache = ReadNullable(r);
        request.Shard = ReadNullable(r);
        request.OnnxRuntimeLibrary = ReadNullable(r);
        request.MaxParallelism = r.ReadInt32();
        request.RemoteCacheReadOnly = r.ReadBoolean();
        request.MaxImportance = (AssetBuildImportance)Math.Clamp(r.ReadInt32(), 0, 2);
        ReadMap(r, request.Environment);
        var count = Count(r);
        for (var i = 0; i < count; i++)
            request.Assets.Add(new AssetItem(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString()));
    }

    public static void WriteReply(Stream stream, BuildServerReply reply) => WriteFrame(stream, w =>
    {
        w.Write((byte)reply.Kind);
        switch (reply.Kind)
        {
            case BuildServerReplyKind.Event:
                var e = reply.Event!;
                w.Write((byte)e.Kind);
                w.Write(e.Text);
                WriteNullable(w, e.Code);
                WriteNullable(w, e.File);
                w.Write(e.Line);
                w.Write(e.Column);
                w.Write((byte)e.Importance);
                break;
            case BuildServerReplyKind.Done:
                w.Write(reply.Result);
                w.Write(reply.ServerProcessId);
                break;
            default:
                w.Write(reply.Text ?? "");
                break;
        }
    });

    public static BuildServerReply? ReadReply(Stream stream) => ReadFrame(stream, r =>
    {
        var kind = (BuildServerReplyKind)r.ReadByte();
        return kind switch
        {
            BuildServerReplyKind.Event => new BuildServerReply
            {
                Kind = kind,
                Event = new AssetBuildEvent((AssetBuildEventKind)Math.Min(r.ReadByte(), (byte)2), r.ReadString(), ReadNullable(r), ReadNullable(r), r.ReadInt32(), r.ReadInt32(),
                    (AssetBuildImportance)Math.Min(r.ReadByte(), (byte)2)),
            },
            BuildServerReplyKind.Done => new BuildServerReply { Kind = kind, Result = r.ReadBoolean(), ServerProcessId = r.ReadInt32() },
            BuildServerReplyKind.Refused => new BuildServerReply { Kind = kind, Text = r.ReadString() },
            _ => throw new FormatException($"reply kind {(int)kind}"),
        };
    });

    // Binary, not JSON: a fresh MSBuild node pays no serializer start-up for a 200-item request (~20 ms with System.Text.Json).
    private static void WriteFrame(Stream stream, Action<BinaryWriter> body)
    {
        using var buffer = new MemoryStream();
        buffer.Write(stackalloc byte[4]);
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true)) body(writer);
        var frame = buffer.GetBuffer();
        BinaryPrimitives.WriteInt32LittleEndian(frame, (int)buffer.Length - 4);
        stream.Write(frame, 0, (int)buffer.Length);
        stream.Flush();
    }

    private static T? ReadFrame<T>(Stream stream, Func<BinaryReader, T> body) where T : class
    {
        Span<byte> header = stackalloc byte[4];
        var got = ReadFully(stream, header);
        if (got == 0) return null;
        if (got < 4) throw new IOException("build server: torn frame header");
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length is < 0 or > MaxFrameBytes) throw new IOException($"build server: frame of {length} bytes");
        var frame = new byte[length];
        if (ReadFully(stream, frame) != length) throw new IOException("build server: torn frame");
        using var reader = new BinaryReader(new MemoryStream(frame, writable: false), Encoding.UTF8);
        try { return body(reader); }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException or DecoderFallbackException)
        {
            throw new IOException("build server: malformed frame: " + ex.Message, ex);
        }
    }

    private static void WriteNullable(BinaryWriter w, string? value)
    {
        w.Write(value is not null);
        if (value is not null) w.Write(value);
    }

    private static string? ReadNullable(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    private static void WriteMap(BinaryWriter w, Dictionary<string, string> map)
    {
        w.Write(map.Count);
        foreach (var (key, value) in map.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            w.Write(key);
            w.Write(value);
        }
    }

    private static void ReadMap(BinaryReader r, Dictionary<string, string> map)
    {
        var count = Count(r);
        for (var i = 0; i < count; i++) map[r.ReadString()] = r.ReadString();
    }

    private static int Count(BinaryReader r)
    {
        var n = r.ReadInt32();
        return n is >= 0 and <= MaxFrameBytes ? n : throw new FormatException($"count {n}");
    }

    private static int ReadFully(Stream stream, Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}

/// <summary>What a client asks: run a build, or stop (<c>ImageFlowBuildServerShutdown</c>), for the server of <see cref="Identity"/>.</summary>
internal sealed class BuildServerCall
{
    public int Protocol { get; set; } = BuildServerProtocol.Version;
    /// <summary>The digest of the files the client expects the server to run (<see cref="BuildServerIdentity"/>).</summary>
    public string Identity { get; set; } = "";
    /// <summary>Stop the server: it answers "done", finishes running builds and exits.</summary>
    public bool Shutdown { get; set; }
    public AssetBuildRequest? Build { get; set; }
}

internal enum BuildServerReplyKind : byte { Event, Done, Refused }

/// <summary>One frame of the server's answer: an event of the build, its end ("done", with <see cref="Result"/>), or
/// "refused" (another protocol or identity: the client runs the build in its own process).</summary>
internal sealed class BuildServerReply
{
    public BuildServerReplyKind Kind { get; set; }
    public AssetBuildEvent? Event { get; set; }
    public bool Result { get; set; }
    /// <summary>The server's process id (on "done"): the client logs which server ran the build.</summary>
    public int ServerProcessId { get; set; }
    public string? Text { get; set; }
}
