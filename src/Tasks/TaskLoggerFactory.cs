using Microsoft.Build.Framework;
using ILogger = Microsoft.Extensions.Logging.ILogger;
using Microsoft.Build.Utilities;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Tasks;

/// <summary>
/// Routes the pipeline's <see cref="ILogger"/> messages into the MSBuild log: debug and info at low importance
/// (visible with -v:d), warnings as MSBuild warnings. Errors stay low-importance messages because the task reports
/// each failure itself, once, as a coded MSBuild error with its file.
/// </summary>
internal sealed class TaskLoggerFactory(TaskLoggingHelper log) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new TaskLogger(log);
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }

    private sealed class TaskLogger(TaskLoggingHelper log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (logLevel == LogLevel.Warning) log.LogWarning(message);
            else log.LogMessage(MessageImportance.Low, "{0}", message);
        }
    }
}
