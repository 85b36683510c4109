// dotnet exec ImageFlowIO.BuildServer.dll --identity <digest> --host <dotnet> --framework <dir> [--onnxruntime <lib>] [--idle-timeout <s>]
// Started by the ImageFlowIO task (BuildServerConnection), never by hand; it loads no MSBuild assembly.
return ImageFlowIO.BuildServer.BuildServerHost.Run(args);
