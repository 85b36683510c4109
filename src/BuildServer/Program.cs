using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

// dotnet exec ImageFlowIO.BuildServer.dll --msbuild <the SDK's MSBuild folder> --pipe <name> --task-id <id> [--idle-timeout <s>]
// Started by the task (BuildServerClient), never by hand. MSBuild's own assemblies are not shipped with the task: they are
// loaded from the SDK whose build started the server (its folder is part of the pipe name, so an SDK update gets a new server).
var at = Array.IndexOf(args, "--msbuild");
if (at < 0 || at + 1 >= args.Length || !Directory.Exists(args[at + 1]))
{
    Console.Error.WriteLine("ImageFlowIO.BuildServer is started by the ImageFlowIO build task (ImageFlowBuildServer=true), not by hand.");
    return 2;
}
var msbuild = args[at + 1];
AssemblyLoadContext.Default.Resolving += (context, name) =>
    Path.Combine(msbuild, name.Name + ".dll") is var path && File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
return RunServer(args);

// Not inlined: the task's types (which name MSBuild's) load only after the resolver above is in place.
[MethodImpl(MethodImplOptions.NoInlining)]
static int RunServer(string[] args)
{
    var host = Type.GetType("ImageFlowIO.Tasks.BuildServer.BuildServerHost, ImageFlowIO.Tasks", throwOnError: true)!;
    return (int)host.GetMethod("Run", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.Invoke(null, [args])!;
}
