using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Cli;

/// <summary>
/// Plain "level: message" lines to stderr and, optionally, a log file: greppable and stable for tests. While a live
/// progress display owns the terminal, console lines go through it (<see cref="RouteConsole"/>) so neither overwrites the other.
/// </summary>
internal sealed class CliLoggerProvider : ILoggerProvider
{
    private readonly object _gate = new();
    private readonly TextWriter _console;
    private readonly StreamWriter? _file;
    private Action<string>? _live;
    private readonly Action<string?, string>? _jsonWarnings;

    /// <summary>Opens the log file (creating its folder) now, so a bad path fails before any work; throws IOException or UnauthorizedAccessException.</summary>
    /// <remarks>With <c>jsonWarnings</c> (<c>--errors json</c>) warnings and errors go to it (code, message) instead of the console, and other console lines are dropped.</remarks>
    public CliLoggerProvider(LogLevel minimum, TextWriter console, string? logFile, Action<string?, string>? jsonWarnings = null)
    {
        Minimum = minimum;
        _jsonWarnings = jsonWarnings;
        _console = console;
        _file = logFile is null ? null : OpenLog(logFile);
    }

    internal LogLevel Minimum { get; }

    private static StreamWriter OpenLog(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return new StreamWriter(path, append: true) { AutoFlush = true };
    }

    /// <summary>Sends console lines to <paramref name="live"/> until the returned scope ends (the log file is unaffected).</summary>
    public IDisposable RouteConsole(Action<string> live)
    {
        lock (_gate) _live = live;
        return new Route(this);
    }

    private sealed class Route(CliLoggerProvider owner) : IDisposable
    {
        public void Dispose() { lock (owner._gate) owner._live = null; }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    private void Write(LogLevel level, string? code, string message)
    {
        var label = level switch
        {
            LogLevel.Trace or LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            _ => "error",
        };
        var line = $"{label}: {(code is null ? "" : code + ": ")}{message}";
        if (_jsonWarnings is { } json && level >= LogLevel.Warning) json(code, message);
        lock (_gate)
        {
            if (_jsonWarnings is null)
            {
                if (_live is { } live) live(line);
                else _console.WriteLine(line);
            }
            _file?.WriteLine($"{DateTime.UtcNow:O} {line}");
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
            var code = eventId.Name is { } name && name.StartsWith("IFIO", StringComparison.Ordinal) ? name : null;
            owner.Write(logLevel, code, formatter(state, exception));
        }
    }
}
