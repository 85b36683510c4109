using System.CommandLine;

namespace ImageFlowIO.Cli;

/// <summary><c>imageflowio cache stats|clear|prune</c>.</summary>
internal static class CacheCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var cache = new Command("cache", "Inspect and manage a disk cache folder");
        return cache;
    }
}
