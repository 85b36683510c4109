using System.Buffers.Binary;
using ImageFlowIO.BuildServer;

namespace ImageFlowIO.Generators.Tests;

/// <summary>
/// The build server's wire and identity (src/BuildServer): what one side writes the other reads back field for field; a
/// frame that is torn, oversized or malformed is an <see cref="IOException"/> (the client then builds in-process; the
/// server drops the connection), never an exception of another kind or a half-read request; the identity changes with any
/// file the server would run; the single-instance lock is what says a server runs.
/// </summary>
public sealed class BuildServerProtocolTests
{
    private static AssetBuildRequest Request() => new()
    {
        OutputDirectory = "/src/app/obj/imageflow/",
        ProjectDirectory = "/src/app",
        OutputsFile = "/src/app/obj/imageflow/imageflow.outputs.txt",
        DependenciesFile = "/src/app/obj/imageflow/imageflow.dependencies.txt",
        SummaryFile = "/src/app/obj/imageflow/summary.json",
        StampFile = "/src/app/obj/imageflow/imageflow.stamp",
        CacheMode = "disk",
        MaxParallelism = 3,
        RemoteCacheReadOnly = true,
        MaxImportance = AssetBuildImportance.Normal,
        Environment = { ["IMAGEFLOWIO_REMOTE_CACHE"] = "http://127.0.0.1:9/" },
        Assets =
        {
            new AssetItem("assets/ä b.png", "/src/app/assets/ä b.png", "/src/app/imageflow.json", RecursiveDir: "x/"),
            new AssetItem("x.jpg", "/src/app/x.jpg", "/src/app/imageflow.json", OutputDir: "out", Link: "l/x.jpg"),
        },
    };

    [Fact]
    public void A_call_and_its_replies_round_trip()
    {
        var request = Request();
        request.OverlapsBuild = true;
        using var stream = new MemoryStream();
        BuildServerProtocol.WriteCall(stream, new BuildServerCall { Identity = "0123456789abcdef", Build = request });
        BuildServerProtocol.WriteReply(stream, new BuildServerReply { Kind = BuildServerReplyKind.Event, Event = new AssetBuildEvent(AssetBuildEventKind.Error, "cannot decode", "IFIO1001", "/src/app/assets/x.jpg", 3, 4) });
        BuildServerProtocol.WriteReply(stream, new BuildServerReply { Kind = BuildServerReplyKind.Event, Event = new AssetBuildEvent(AssetBuildEventKind.Message, "hello", Importance: AssetBuildImportance.High) });
        BuildServerProtocol.WriteReply(stream, new BuildServerReply { Kind = BuildServerReplyKind.Done, Result = true, ServerProcessId = 4242 });
        BuildServerProtocol.WriteReply(stream, new BuildServerReply { Kind = BuildServerReplyKind.Refused, Text = "not mine" });
        stream.Position = 0;

        var call = BuildServerProtocol.ReadCall(stream)!;
        Assert.Equal(("0123456789abcdef", false), (call.Identity, call.Shutdown));
        var back = call.Build!;
        Assert.True(back.OverlapsBuild);
        Assert.True(back.SameWork(request));
        Assert.Equal(request.Assets, back.Assets); // records: every field
        Assert.Equal((request.StampFile, request.CacheMode, request.CatalogueFile, request.MaxParallelism, request.RemoteCacheReadOnly, request.MaxImportance),
            (back.StampFile, back.CacheMode, back.CatalogueFile, back.MaxParallelism, back.RemoteCacheReadOnly, back.MaxImportance));
        Assert.Equal(request.Environment, back.Environment);

        Assert.Equal(new AssetBuildEvent(AssetBuildEventKind.Error, "cannot decode", "IFIO1001", "/src/app/assets/x.jpg", 3, 4), BuildServerProtocol.ReadReply(stream)!.Event);
        Assert.Equal(new AssetBuildEvent(AssetBuildEventKind.Message, "hello", Importance: AssetBuildImportance.High), BuildServerProtocol.ReadReply(stream)!.Event);
        var done = BuildServerProtocol.ReadReply(stream)!;
        Assert.Equal((BuildServerReplyKind.Done, true, 4242), (done.Kind, done.Result, done.ServerProcessId));
        var refused = BuildServerProtocol.ReadReply(stream)!;
        Assert.Equal((BuildServerReplyKind.Refused, "not mine"), (refused.Kind, refused.Text));
        Assert.Null(BuildServerProtocol.ReadReply(stream)); // clean end of stream
    }

    [Fact]
    public void The_early_start_and_the_task_call_ask_for_the_same_work_unless_a_setting_an_item_or_a_variable_differs()
    {
        var started = Request();
        started.OverlapsBuild = true;
        Assert.True(started.SameWork(Request())); // where it runs does not count

        var changes = new Action<AssetBuildRequest>[]
        {
            r => r.MaxParallelism = 1,
            r => r.Assets.Add(new AssetItem("late.png", "/src/app/late.png", "/src/app/imageflow.json")),
            r => r.Assets[0] = r.Assets[0] with { Config = "/src/app/other.imageflow.json" },
            r => r.Assets[1] = r.Assets[1] with { OutputDir = "" },
            r => r.MaxImportance = AssetBuildImportance.Low,
            r => r.Environment["IMAGEFLOWIO_REMOTE_CACHE"] = "http://127.0.0.1:10/",
            r => r.CatalogueFile = "/src/app/obj/imageflow/imageflow.catalogue.json",
            r => r.OutputsFile = "/src/lib/obj/imageflow/imageflow.outputs.txt",
        };
        foreach (var change in changes)
        {
            var other = Request();
            change(other);
            Assert.False(started.SameWork(other));
        }
    }

    [Fact]
    public void Another_protocol_version_is_read_as_its_version_only()
    {
        using var stream = new MemoryStream();
        BuildServerProtocol.WriteCall(stream, new BuildServerCall { Protocol = BuildServerProtocol.Version + 1, Identity = "x", Build = Request() });
        stream.Position = 0;
        var call = BuildServerProtocol.ReadCall(stream)!;
        Assert.Equal(BuildServerProtocol.Version + 1, call.Protocol);
        Assert.Equal("", call.Identity); // the server answers "refused" without parsing a body it does not know
        Assert.Null(call.Build);
    }

    public static TheoryData<string, byte[]> BadFrames()
    {
        using var valid = new MemoryStream();
        BuildServerProtocol.WriteReply(valid, new BuildServerReply { Kind = BuildServerReplyKind.Event, Event = new AssetBuildEvent(AssetBuildEventKind.Message, "hello") });
        var frame = valid.ToArray();
        var oversized = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(oversized, int.MaxValue);
        var negative = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(negative, -5);
        // This version, then a string length prefix that runs past the frame (for a reply: kind "event", then a string that runs past it).
        var garbage = new byte[4 + 4 + 6];
        BinaryPrimitives.WriteInt32LittleEndian(garbage, 10);
        BinaryPrimitives.WriteInt32LittleEndian(garbage.AsSpan(4), BuildServerProtocol.Version);
        garbage.AsSpan(8).Fill(0xFF);
        var badKind = new byte[4 + 6];
        BinaryPrimitives.WriteInt32LittleEndian(badKind, 6);
        badKind.AsSpan(4).Fill(0xFF);
        return new TheoryData<string, byte[]>
        {
            { "torn header", frame[..2] },
            { "torn body", frame[..^3] },
            { "oversized length", oversized },
            { "negative length", negative },
            { "malformed body", garbage },
            { "malformed first field", badKind },
        };
    }

    [Theory]
    [MemberData(nameof(BadFrames))]
    public void A_bad_frame_is_an_io_error(string what, byte[] bytes)
    {
        Assert.Throws<IOException>(() => BuildServerProtocol.ReadReply(new MemoryStream(bytes)));
        // A call whose first field is not this version is refused unparsed, not an error.
        if (what != "malformed first field") Assert.Throws<IOException>(() => BuildServerProtocol.ReadCall(new MemoryStream(bytes)));
    }

    [Fact]
    public void The_identity_changes_with_every_file_the_server_would_run_and_says_which()
    {
        var folder = Directory.CreateTempSubdirectory("ifio-identity-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(folder, "ImageFlowIO.dll"), new byte[100]);
            File.WriteAllBytes(Path.Combine(folder, "ImageFlowIO.BuildServer.dll"), new byte[50]);
            File.WriteAllBytes(Path.Combine(folder, "notes.txt"), new byte[5]); // not an assembly
            var ort = Path.Combine(folder, "libonnxruntime.so");
            File.WriteAllBytes(ort, new byte[70]);
            BuildServerIdentity Identity(string? library = null, string host = "/usr/share/dotnet/dotnet") => BuildServerIdentity.Of(folder, host, "/fx/10.0.1/", library ?? ort);

            var first = Identity();
            Assert.Matches("^ifio-bs-[0-9a-f]{16}$", first.PipeName);
            Assert.Equal(first.Digest, Identity().Digest);
            Assert.Contains(first.Parts, p => p.StartsWith("assembly ImageFlowIO.dll|100 ", StringComparison.Ordinal));
            Assert.DoesNotContain(first.Parts, p => p.Contains("notes.txt", StringComparison.Ordinal));
            Assert.NotEqual(first.Digest, Identity(host: "/opt/dotnet/dotnet").Digest);
            Assert.NotEqual(first.Digest, Identity(library: Path.Combine(folder, "other.so")).Digest);

            // The same size, a later time: a deterministic rebuild with one constant changed.
            File.WriteAllBytes(Path.Combine(folder, "ImageFlowIO.dll"), Enumerable.Repeat((byte)1, 100).ToArray());
            File.SetLastWriteTimeUtc(Path.Combine(folder, "ImageFlowIO.dll"), DateTime.UtcNow.AddMinutes(1));
            var rebuilt = Identity();
            Assert.NotEqual(first.Digest, rebuilt.Digest);
            Assert.Equal("assembly ImageFlowIO.dll changed", rebuilt.Changes(first.Parts));
            File.WriteAllBytes(ort, new byte[71]);
            File.WriteAllBytes(Path.Combine(folder, "New.dll"), new byte[1]);
            Assert.Equal($"assembly ImageFlowIO.dll changed, assembly New.dll added, onnxruntime {ort} changed", Identity().Changes(first.Parts));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void A_server_runs_while_it_holds_its_lock_and_a_second_one_cannot_take_it()
    {
        var folder = Directory.CreateTempSubdirectory("ifio-lock-").FullName;
        try
        {
            var path = Path.Combine(folder, "ifio-bs-0123456789abcdef.lock");
            Assert.False(BuildServerIdentity.IsRunning(path)); // no lock file yet
            using (var held = BuildServerIdentity.TryLock(path))
            {
                Assert.NotNull(held);
                Assert.True(BuildServerIdentity.IsRunning(path));
                Assert.Null(BuildServerIdentity.TryLock(path)); // a second server for the same identity exits
            }
            Assert.True(File.Exists(path));
            Assert.False(BuildServerIdentity.IsRunning(path)); // a file left by a server that is gone (killed) holds no lock
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void The_user_folder_is_the_user_s_alone()
    {
        var folder = BuildServerIdentity.UserDirectory();
        Assert.True(Directory.Exists(folder));
        if (Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData) is { Length: > 0 } home)
            Assert.StartsWith(home, folder, StringComparison.Ordinal); // never a shared temp path
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
    }
}
