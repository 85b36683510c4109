using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using ILogger = Microsoft.Extensions.Logging.ILogger;
using Microsoft.Build.Utilities;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Tasks;

/// <summary>
/// Routes the pipeline's <see cref="ILogger"/> messages into the MSBuild log: debug and info at low importance
/// (visible with -v:d), warnings as MSBuild warnings carrying their <c>IFIO####</c> code in MSBuild's code field.
/// Errors stay low-importance messages because the task reports each failure itself, once, as a coded MSBuild error
/// with its file.
/// </summary>
internal sealed partial class TaskLoggerFactory(TaskLoggingHelper log) : ILoggerFactory
{
    private const string Subcategory = "ImageFlowIO";

    // The runtime's messages name config keys; a build has its own knobs for some of them.
    private static readonly Dictionary<string, string> BuildHints = new(StringComparer.Ordinal)
    {
        [ErrorCodes.CacheUnavailable] = "in a build, set the ImageFlowCacheDir property",
    };

    public ILogger CreateLogger(string categoryName) => new TaskLogger(log);
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

    private sealed class TaskLogger(TaskLoggingHelper log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (logLevel != LogLevel.Warning)
            {
                log.LogMessage(MessageImportance.Low, "{0}", message);
                return;
            }
            var coded = Parse(eventId, state, message);
            var hint = coded.Code is { } code && BuildHints.TryGetValue(code, out var h) ? "; " + h : "";
            log.LogWarning(Subcategory, coded.Code, null, coded.File, 0, 0, 0, 0, "{0}{1}", coded.Text, hint);
        }
    }

    [GeneratedRegex(@"^IFIO\d{4}$")]
    private static partial Regex CodeShape();
}
