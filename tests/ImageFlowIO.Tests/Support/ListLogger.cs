using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ImageFlowIO.Tests.Support;

/// <summary>Collects log lines ("level: message") so tests can assert on them.</summary>
public sealed class ListLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<string> _lines = new();
    public IReadOnlyList<string> Lines => _lines.ToArray();
    public ILogger CreateLogger(string categoryName) => new Logger(this);
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }
    public int Count(string fragment) => Lines.Count(l => l.Contains(fragment, StringComparison.Ordinal));

    private sealed class Logger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner._lines.Enqueue($"{logLevel.ToString().ToLowerInvariant()}: {(eventId.Name is { } code && code.StartsWith("IFIO", StringComparison.Ordinal) ? code + ": " : "")}{formatter(state, exception)}");
    }
}
