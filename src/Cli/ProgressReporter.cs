using Spectre.Console;
using Spectre.Console.Rendering;

namespace ImageFlowIO.Cli;

/// <summary>A Spectre.Console progress bar on stderr for folder runs; off by default when stderr is redirected or CI is set.</summary>
internal static class ProgressReporter
{
    /// <summary>On by default only when the CLI writes its errors to a terminal (the process's own, not redirected) outside CI.</summary>
    public static bool DefaultEnabled(TextWriter stderr) =>
        DefaultEnabled(ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected, Environment.GetEnvironmentVariable("CI"));

    internal static bool DefaultEnabled(bool stderrIsTerminal, string? ci) => stderrIsTerminal && ci is null or "" or "0" or "false";

    public static async Task<BatchResult> RunAsync(TextWriter stderr, CliLoggerProvider log, int total, Func<IProgress<PipelineResult>, Task<BatchResult>> run)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stderr),
            // Only reached on a terminal or with --progress: draw it even where Spectre cannot detect a terminal
            // (Spectre's live display draws nothing without ANSI).
            Interactive = InteractionSupport.Yes,
            Ansi = AnsiSupport.Yes,
        });
        BatchResult? result = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("images", maxValue: Math.Max(1, total));
                // Log lines go through the console that draws the bar: it puts them where the bar was and draws the bar below them.
                using (log.RouteConsole(line => console.Write(new LineOverLiveDisplay(line))))
                    result = await run(new Progress(task)).ConfigureAwait(false);
                task.Value = task.MaxValue;
            }).ConfigureAwait(false);
        return result!;
    }

    /// <summary>
    /// A log line written where the live display was: Spectre moves the cursor to the display's top but does not clear
    /// it, so a line shorter than the bar would leave the bar's tail beside it. Erasing to the end of the screen first
    /// leaves only the line (the display is drawn again below it).
    /// </summary>
    private sealed class LineOverLiveDisplay(string line) : IRenderable
    {
        private readonly Text _text = new(line + Environment.NewLine);
        public Measurement Measure(RenderOptions options, int maxWidth) => ((IRenderable)_text).Measure(options, maxWidth);
        public IEnumerable<Segment> Render(RenderOptions options, int maxWidth) =>
            ((IRenderable)_text).Render(options, maxWidth).Prepend(Segment.Control("\u001b[J"));
    }

    private sealed class Progress(ProgressTask task) : IProgress<PipelineResult>
    {
        public void Report(PipelineResult value) => task.Increment(1);
    }
}
