using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace ImageFlowIO.Tasks.BuildServer;

/// <summary>
/// The task's wire to the ImageFlowIO build server (<c>ImageFlowBuildServer=true</c>): the MSBuild node sends the task's
/// parameters and items, the server runs the same <see cref="ImageFlowAssetTask"/> in its warm process (loaded ONNX
/// Runtime, sessions, compiled code) and streams the task's log events back, then the result. Frames are a 4-byte
/// little-endian length and a <see cref="BinaryWriter"/> body, over a pipe only the current user can open (a Unix domain socket on Linux/macOS).
/// </summary>
internal static class BuildServerProtocol
{
    /// <summary>Bumped when a frame changes shape; the server refuses any other.</summary>
    public const int Version = 2;
    // A request of 100 000 assets is a few tens of MB; anything beyond is not ours.
    private const int MaxFrameBytes = 256 << 20;

    /// <summary>One server per user, task build, MSBuild and .NET host: a task or SDK update never talks to an old server.</summary>
    public static string PipeName(string taskAssemblyId, string msbuildDirectory, string host) =>
        PipeName(CurrentUser(), taskAssemblyId, msbuildDirectory, host);

    internal static string PipeName(string user, string taskAssemblyId, string msbuildDirectory, string host)
    {
        // FNV-1a: a name, not a secret (the pipe admits only its owner); no crypto library to load in a fresh MSBuild node.
        var hash = 14695981039346656037UL;
        foreach (var c in string.Join("\n", user, taskAssemblyId, msbuildDirectory, host))
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        // Short: on Unix the name becomes a socket path (max ~104 bytes) under the temp folder.
        return "ifio-bs-" + hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Where a server records an exception that ends it (its console is nobody's): the client names it when a connection breaks.</summary>
    public static string CrashLogPath(string pipeName) => Path.Combine(Path.GetTempPath(), pipeName + ".crash.log");

    /// <summary>The effective uid on Unix (Environment.UserName resolves the name through NSS: ~5 ms in a fresh process).</summary>
    private static string CurrentUser() => OperatingSystem.IsWindows() ? Environment.UserName : "uid:" + NativeMethods.geteuid();

    public static void WriteRequest(Stream stream, BuildServerRequest request) => WriteFrame(stream, w =>
    {
        w.Write(request.Protocol);
        w.Write(request.TaskAssemblyId);
        w.Write(request.Shutdown);
        w.Write(request.Start);
        w.Write(request.MaxImportance);
        WriteNullable(w, request.ProjectFile);
        w.Write(request.Line);
        w.Write(request.Column);
        WriteMap(w, request.Parameters);
        WriteMap(w, request.Environment);
        w.Write(request.Assets.Count);
        foreach (var item in request.Assets)
        {
            w.Write(item.ItemSpec);
            WriteMap(w, item.Metadata);
        }
    });

    /// <summary>The next request, or null at a clean end of stream; a torn, oversized or malformed frame is an <see cref="IOException"/>.</summary>
    public static BuildServerRequest? ReadRequest(Stream stream) => ReadFrame(stream, r =>
    {
        var request = new BuildServerRequest { Protocol = r.ReadInt32() };
        // Another protocol's body is not ours to parse: the server answers "refused" from the version alone.
        if (request.Protocol != Version) return request;
        request.TaskAssemblyId = r.ReadString();
        request.Shutdown = r.ReadBoolean();
        request.Start = r.ReadBoolean();
        request.MaxImportance = r.ReadInt32();
        request.ProjectFile = ReadNullable(r);
        request.Line = r.ReadInt32();
        request.Column = r.ReadInt32();
        ReadMap(r, request.Parameters);
        ReadMap(r, request.Environment);
        var count = Count(r);
        for (var i = 0; i < count; i++)
        {
            var item = new ForwardedItem { ItemSpec = r.ReadString() };
            ReadMap(r, item.Metadata);
            request.Assets.Add(item);
        }
        return request;
    });

    public static void WriteEvent(Stream stream, BuildServerEvent e) => WriteFrame(stream, w =>
    {
        w.Write(e.Kind);
        WriteNullable(w, e.Subcategory);
        WriteNullable(w, e.Code);
        WriteNullable(w, e.HelpKeyword);
        WriteNullable(w, e.File);
        w.Write(e.Line);
        w.Write(e.Column);
        w.Write(e.EndLine);
        w.Write(e.EndColumn);
        WriteNullable(w, e.Text);
        w.Write(e.Importance);
        w.Write(e.Result);
        w.Write(e.ServerProcessId);
    });

    public static BuildServerEvent? ReadEvent(Stream stream) => ReadFrame(stream, r => new BuildServerEvent
    {
        Kind = r.ReadString(),
        Subcategory = ReadNullable(r),
        Code = ReadNullable(r),
        HelpKeyword = ReadNullable(r),
        File = ReadNullable(r),
        Line = r.ReadInt32(),
        Column = r.ReadInt32(),
        EndLine = r.ReadInt32(),
        EndColumn = r.ReadInt32(),
        Text = ReadNullable(r),
        Importance = r.ReadInt32(),
        Result = r.ReadBoolean(),
        ServerProcessId = r.ReadInt32(),
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
        foreach (var (key, value) in map)
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

/// <summary>What the MSBuild node asks: run the task with these parameters and items.</summary>
internal sealed class BuildServerRequest
{
    public int Protocol { get; set; } = BuildServerProtocol.Version;
    /// <summary>The client's task assembly (module version id): the server runs only its own build of the task.</summary>
    public string TaskAssemblyId { get; set; } = "";
    /// <summary>Stop the server (<c>ImageFlowBuildServerShutdown</c>): it answers "done", finishes running requests and exits.</summary>
    public bool Shutdown { get; set; }
    /// <summary>Work the build hands over as CoreBuild starts (<see cref="ImageFlowAssetTask.StartInBuildServer"/>): it runs
    /// beside MSBuild's own targets, and the same build's task call collects it if it asks for the same work (<see cref="SameWork"/>).</summary>
    public bool Start { get; set; }
    /// <summary>Every task parameter the targets set, by name, as MSBuild would pass it (invariant text).</summary>
    public Dictionary<string, string> Parameters { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The build's cache variables that are set (<see cref="BuildServerClient.ForwardedVariables"/>): the server's own
    /// environment is that of whichever build started it.</summary>
    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);
    public List<ForwardedItem> Assets { get; set; } = [];
    /// <summary>The least important <c>MessageImportance</c> the build logs (0 high, 1 normal, 2 low): others are not sent.</summary>
    public int MaxImportance { get; set; } = 2;
    public string? ProjectFile { get; set; }
    public int Line { get; set; }
    public int Column { get; set; }

    /// <summary>
    /// The same work as <paramref name="other"/>: same project, parameters, variables, items and metadata, and log level (where the
    /// task call sits and whether it only starts do not count). A request for other work runs afresh.
    /// </summary>
    public bool SameWork(BuildServerRequest other) =>
        ProjectFile == other.ProjectFile && MaxImportance == other.MaxImportance && SameMap(Parameters, other.Parameters)
        && SameMap(Environment, other.Environment)
        && Assets.Count == other.Assets.Count
        && Assets.Zip(other.Assets).All(p => p.First.ItemSpec == p.Second.ItemSpec && SameMap(p.First.Metadata, p.Second.Metadata));

    private static bool SameMap(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(e => b.TryGetValue(e.Key, out var v) && string.Equals(v, e.Value, StringComparison.Ordinal));
}

/// <summary>An item with the metadata the task reads (well-known ones such as FullPath computed by the MSBuild node).</summary>
internal sealed class ForwardedItem
{
    public string ItemSpec { get; set; } = "";
    public Dictionary<string, string> Metadata { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One thing the server's task did: a log event, or the end (<see cref="Kind"/> "done", with <see cref="Result"/>;
/// "refused": the server runs another build of the task, and the client runs it in-process).</summary>
internal sealed class BuildServerEvent
{
    public const string Error = "error", Warning = "warning", Message = "message", Done = "done", Refused = "refused";
    public string Kind { get; set; } = Message;
    public string? Subcategory { get; set; }
    public string? Code { get; set; }
    public string? HelpKeyword { get; set; }
    public string? File { get; set; }
    public int Line { get; set; }
    public int Column { get; set; }
    public int EndLine { get; set; }
    public int EndColumn { get; set; }
    public string? Text { get; set; }
    public int Importance { get; set; }
    public bool Result { get; set; }
    /// <summary>The server's process id (on "done"): the client logs which server ran the task.</summary>
    public int ServerProcessId { get; set; }
}

internal static partial class NativeMethods
{
    [LibraryImport("libc", SetLastError = false)]
    internal static partial uint geteuid();
}
