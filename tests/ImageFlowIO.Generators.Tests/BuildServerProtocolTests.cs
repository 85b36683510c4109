using System.Buffers.Binary;
using ImageFlowIO.Tasks.BuildServer;

namespace ImageFlowIO.Generators.Tests;

/// <summary>
/// The build server's frames (src/Tasks/BuildServer): what one side writes the other reads back field for field, and a
/// frame that is torn, oversized or malformed is an <see cref="IOException"/> (the client then runs the task in-process;
/// the server drops the connection), never an exception of another kind or a half-read request.
/// </summary>
public sealed class BuildServerProtocolTests
{
    [Fact]
    public void A_request_and_its_events_round_trip()
    {
        var request = new BuildServerRequest
        {
            TaskAssemblyId = "0123456789abcdef0123456789abcdef",
            Shutdown = true,
            MaxImportance = 1,
            ProjectFile = "/src/app/App.csproj",
            Line = 12,
            Column = 5,
            Parameters = { ["OutputDirectory"] = "/src/app/obj/imageflow/", ["MaxParallelism"] = "0", ["CatalogueFile"] = "" },
            Environment = { ["IMAGEFLOWIO_REMOTE_CACHE"] = "http://127.0.0.1:9/" },
            Assets =
            {
                new ForwardedItem { ItemSpec = "assets/ä b.png", Metadata = { ["FullPath"] = "/src/app/assets/ä b.png", ["Config"] = "imageflow.json", ["RecursiveDir"] = "" } },
                new ForwardedItem { ItemSpec = "x.jpg" },
            },
        };
        using var stream = new MemoryStream();
        BuildServerProtocol.WriteRequest(stream, request);
        BuildServerProtocol.WriteEvent(stream, new BuildServerEvent { Kind = BuildServerEvent.Error, Subcategory = "ImageFlowIO", Code = "IFIO1001", File = "/src/app/assets/x.jpg", Line = 0, Text = "cannot decode" });
        BuildServerProtocol.WriteEvent(stream, new BuildServerEvent { Kind = BuildServerEvent.Done, Result = true, ServerProcessId = 4242 });
        stream.Position = 0;

        var back = BuildServerProtocol.ReadRequest(stream)!;
        Assert.Equal(request.TaskAssemblyId, back.TaskAssemblyId);
        Assert.True(back.Shutdown);
        Assert.False(back.Start);
        Assert.Equal((1, "/src/app/App.csproj", 12, 5), (back.MaxImportance, back.ProjectFile, back.Line, back.Column));
        Assert.Equal(request.Parameters, back.Parameters);
        Assert.Equal(request.Environment, back.Environment);
        Assert.Equal(["assets/ä b.png", "x.jpg"], back.Assets.Select(a => a.ItemSpec));
        Assert.Equal(request.Assets[0].Metadata, back.Assets[0].Metadata);
        Assert.Empty(back.Assets[1].Metadata);

        var error = BuildServerProtocol.ReadEvent(stream)!;
        Assert.Equal((BuildServerEvent.Error, "ImageFlowIO", "IFIO1001", "/src/app/assets/x.jpg", "cannot decode"), (error.Kind, error.Subcategory, error.Code, error.File, error.Text));
        Assert.Null(error.HelpKeyword);
        var done = BuildServerProtocol.ReadEvent(stream)!;
        Assert.Equal((BuildServerEvent.Done, true, 4242), (done.Kind, done.Result, done.ServerProcessId));
        Assert.Null(BuildServerProtocol.ReadEvent(stream)); // clean end of stream
    }

    [Fact]
    public void The_early_start_and_the_task_call_ask_for_the_same_work_unless_a_parameter_or_item_differs()
    {
        static BuildServerRequest Request(bool start, int line) => new()
        {
            TaskAssemblyId = "t", Start = start, MaxImportance = 2, ProjectFile = "/src/app/App.csproj", Line = line, Column = 5,
            Parameters = { ["StateFile"] = "/src/app/obj/imageflow/imageflow.state.json", ["MaxParallelism"] = "0" },
            Assets = { new ForwardedItem { ItemSpec = "a.png", Metadata = { ["FullPath"] = "/src/app/a.png", ["Config"] = "/src/app/imageflow.json" } } },
        };
        var started = Request(start: true, line: 150);
        using (var stream = new MemoryStream())
        {
            BuildServerProtocol.WriteRequest(stream, started);
            stream.Position = 0;
            Assert.True(BuildServerProtocol.ReadRequest(stream)!.Start);
        }
        // Where the task call sits and the start flag do not count.
        Assert.True(started.SameWork(Request(start: false, line: 172)));

        var otherParameter = Request(false, 172);
        otherParameter.Parameters["MaxParallelism"] = "1";
        var otherItem = Request(false, 172);
        otherItem.Assets.Add(new ForwardedItem { ItemSpec = "late.png" });
        var otherMetadata = Request(false, 172);
        otherMetadata.Assets[0].Metadata["Config"] = "/src/app/other.imageflow.json";
        var otherLog = Request(false, 172);
        otherLog.MaxImportance = 1;
        var otherProject = Request(false, 172);
        otherProject.ProjectFile = "/src/lib/Lib.csproj";
        var otherVariable = Request(false, 172);
        otherVariable.Environment["IMAGEFLOWIO_REMOTE_CACHE"] = "http://127.0.0.1:9/";
        foreach (var other in new[] { otherParameter, otherItem, otherMetadata, otherLog, otherProject, otherVariable })
            Assert.False(started.SameWork(other));
    }

    [Fact]
    public void Another_protocol_version_is_read_as_its_version_only()
    {
        using var stream = new MemoryStream();
        BuildServerProtocol.WriteRequest(stream, new BuildServerRequest { Protocol = BuildServerProtocol.Version + 1, TaskAssemblyId = "x" });
        stream.Position = 0;
        var request = BuildServerProtocol.ReadRequest(stream)!;
        Assert.Equal(BuildServerProtocol.Version + 1, request.Protocol);
        Assert.Equal("", request.TaskAssemblyId); // the server answers "refused" without parsing a body it does not know
    }

    public static TheoryData<string, byte[]> BadFrames()
    {
        using var valid = new MemoryStream();
        BuildServerProtocol.WriteEvent(valid, new BuildServerEvent { Kind = BuildServerEvent.Message, Text = "hello" });
        var frame = valid.ToArray();
        var oversized = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(oversized, int.MaxValue);
        var negative = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(negative, -5);
        // Version 1, then a string length prefix that runs past the frame (for an event: its kind's length prefix).
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
        Assert.Throws<IOException>(() => BuildServerProtocol.ReadEvent(new MemoryStream(bytes)));
        // A request whose first field is not this version is refused unparsed, not an error.
        if (what != "malformed first field") Assert.Throws<IOException>(() => BuildServerProtocol.ReadRequest(new MemoryStream(bytes)));
    }

    [Fact]
    public void The_pipe_name_is_short_and_changes_with_the_user_the_task_the_sdk_and_the_host()
    {
        Assert.NotEqual(BuildServerProtocol.PipeName("uid:1000", "task1", "/sdk", "/dotnet"), BuildServerProtocol.PipeName("uid:1001", "task1", "/sdk", "/dotnet"));
        var name = BuildServerProtocol.PipeName("task1", "/usr/share/dotnet/sdk/10.0.401", "/usr/share/dotnet/dotnet");
        Assert.Matches("^ifio-bs-[0-9a-f]{16}$", name);
        Assert.Equal(name, BuildServerProtocol.PipeName("task1", "/usr/share/dotnet/sdk/10.0.401", "/usr/share/dotnet/dotnet"));
        Assert.NotEqual(name, BuildServerProtocol.PipeName("task2", "/usr/share/dotnet/sdk/10.0.401", "/usr/share/dotnet/dotnet"));
        Assert.NotEqual(name, BuildServerProtocol.PipeName("task1", "/usr/share/dotnet/sdk/10.0.500", "/usr/share/dotnet/dotnet"));
        Assert.NotEqual(name, BuildServerProtocol.PipeName("task1", "/usr/share/dotnet/sdk/10.0.401", "/opt/dotnet/dotnet"));
    }
}
