using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using ILogger = Microsoft.Extensions.Logging.ILogger;

namespace ImageFlowIO.BuildServer;

/// <summary>
/// Routes the pipeline's <see cref="ILogger"/> messages into an asset build's log: debug and info at low importance
/// (visible with -v:d), warnings as warnings carrying their <c>IFIO####</c> code (MSBuild's code field).
/// Errors stay low-importance messages because the build reports each failure itself, once, as a coded error with its file.
/// </summary>
internal sealed partial class BuildLoggerFactory(AssetBuildLog log) : ILoggerFactory
{
    // The runtime's messages name config keys; a build has its own knobs for some of them.
    private static readonly Dictionary<string, string> BuildHints = new(StringComparer.Ordinal)
    {
        [ErrorCodes.CacheUnavailable] = "in a build, set the ImageFlowCacheDir property",
    };

    public ILogger CreateLogger(string categoryName) => new BuildLogger(log);
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }

    /// <summary>A warning as MSBuild wants it: the code, the file it is about (if any) and the text without either.</summary>
    internal readonly record struct CodedMessage(string? Code, string? File, string Text);

    /// <summary>
    /// The code is the event id's name (<c>IFIO4001</c>: the runtime logs coded warnings with such ids); a message that
    /// starts with its first template value and ": " (<c>{Folder}: …</c>) is about that file, which MSBuild shows apart.
    /// </summary>
    internal static CodedMessage Parse(EventId eventId, object? state, string message)
    {
        var code = eventId.Name is { } name && CodeShape().IsMatch(name) ? name : null;
        if (state is IEnumerable<KeyValuePair<string, object?>> values && values.FirstOrDefault().Value is string subject
            && subject.Length > 0 && message.StartsWith(subject + ": ", StringComparison.Ordinal))
            return new CodedMessage(code, subject, message.Substring(subject.Length + 2));
        return new CodedMessage(code, null, message);
    }

    private sealed class BuildLogger(AssetBuildLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        // Debug and info lines are built only for a build that shows low-importance messages.
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && (logLevel >= LogLevel.Warning || log.Logs(AssetBuildImportance.Low));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (logLevel != LogLevel.Warning)
            {
                log.Message(AssetBuildImportance.Low, message);
                return;
            }
            var coded = Parse(eventId, state, message);
            var hint = coded.Code is { } code && BuildHints.TryGetValue(code, out var h) ? "; " + h : "";
            log.Warning(coded.Code, coded.File, coded.Text + hint);
        }
    }

    [GeneratedRegex(@"^IFIO\d{4}$")]
    private static partial Regex CodeShape();
}
