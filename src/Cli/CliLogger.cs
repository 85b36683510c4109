using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Cli;

/// <summary>Plain "level: message" lines to stderr and, optionally, a log file: greppable and stable for tests.</summary>
internal sealed class CliLoggerProvider(LogLevel minimum, TextWriter console, string? logFile) : ILoggerProvider
{
    private readonly object _gate = new();
    internal LogLevel Minimum { get; } = minimum;
    private readonly StreamWriter? _file = logFile is null ? null : OpenLog(logFile);

    private static StreamWriter OpenLog(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return new StreamWriter(path, append: true) { AutoFlush = true };
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    private void Write(LogLevel level, string message)
    {
        var label = level switch
        {
            LogLevel.Trace or LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            _ => "error",
        };
        lock (_gate)
        {
            console.WriteLine($"{label}: {message}");
            _file?.WriteLine($"{DateTime.UtcNow:O} {label}: {message}");
        }
    }

    public void Dispose() => _file?.Dispose();

    private sealed class Logger(CliLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner.Minimum;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            // A coded event (IFIO####) shows its code first, as compilers do.
            var code = eventId.Name is { } name && name.StartsWith("IFIO", StringComparison.Ordinal) ? name + ": " : "";
            owner.Write(logLevel, code + formatter(state, exception));
        }
    }
}
