using System.Text;
using ImageFlowIO.Tests.Support;

namespace ImageFlowIO.Tests.Cli;

/// <summary>Log lines and the live progress bar never overwrite each other: what a terminal shows after a run, replayed from the bytes the CLI wrote.</summary>
// The CLI cases NativeAotCliTests runs again against the shipped Native AOT binary (CliRunner, IMAGEFLOWIO_TEST_CLI).
[Trait("Surface", "cli")]
public sealed class ProgressAndLogTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_log_line_is_whole_on_the_screen_and_the_bar_is_drawn_once_below_them()
    {
        _dir.Copy(TestPaths.Model("invert_nchw.onnx"), "models/invert_nchw.onnx");
        foreach (var (name, i) in new[] { "photo_64x48.png", "gradient_33x17.png", "solid_red_32x32.png", "photo_160x120.jpg", "photo_64x48.webp", "rgba_64x48.png" }.Select((n, i) => (n, i)))
            _dir.Copy(TestPaths.Image(name), $"in/{i}_{name}");
        var config = _dir.Write("imageflow.json", """
            { "model": { "path": "models/invert_nchw.onnx" }, "input": { "source": "in" }, "execution": { "useCaching": "memory" },
              "output": { "save": { "apply": true, "path": "out" } } }
            """);
        var logFile = _dir.Combine("run.log");
        var r = await CliRunner.RunAsync("--config", config, "--progress", "-v", "--concurrency", "2", "--log-file", logFile);
        Assert.Equal(0, r.ExitCode);

        var screen = Terminal.Replay(r.Stderr, width: 80);
        // The log file has every line the console was given, in order: "<timestamp> <level>: <message>".
        var logged = File.ReadAllLines(logFile).Select(l => l[(l.IndexOf(' ') + 1)..]).ToList();
        Assert.Contains(logged, l => l.StartsWith("info: cache statistics: memory: ", StringComparison.Ordinal));
        Assert.True(logged.Count > 10, string.Join("\n", logged));

        var barRows = screen.Where(row => row.StartsWith("images ", StringComparison.Ordinal)).ToList();
        var bar = Assert.Single(barRows);
        Assert.Contains("100%", bar);
        var textRows = screen.Where(row => row.Length > 0 && !barRows.Contains(row)).ToList();
        Assert.True(screen.IndexOf(bar) > screen.IndexOf(textRows[^1]), "the bar ends below the log");
        // Every character of every log line, in order, and nothing else: a long line is folded at the console width, by
        // Spectre at a space or by the terminal mid-word (a session-evict line that other tests' sessions caused here
        // showed both), so the rows are compared without the whitespace the fold moved.
        static string Letters(IEnumerable<string> lines) => string.Concat(string.Concat(lines).Where(c => !char.IsWhiteSpace(c)));
        Assert.Equal(Letters(logged), Letters(textRows));
        // A line that fits the width is one whole row.
        foreach (var line in logged.Where(l => l.Length < 80)) Assert.Contains(line, textRows.Select(row => row.TrimEnd()));
    }

    /// <summary>
    /// Just enough of a VT100 terminal to replay Spectre.Console's live display: printable characters (with
    /// deferred auto-wrap), CR, LF, cursor up (ESC[nA), erase in line (ESC[nK), erase below (ESC[J), and colour/mode sequences (ignored).
    /// </summary>
    private static class Terminal
    {
        public static List<string> Replay(string output, int width)
        {
            var rows = new List<StringBuilder> { new() };
            int row = 0, col = 0;
            void Put(char c)
            {
                if (col >= width) { row++; col = 0; }
                while (rows.Count <= row) rows.Add(new StringBuilder());
                var line = rows[row];
                while (line.Length <= col) line.Append(' ');
                line[col++] = c;
            }
            for (var i = 0; i < output.Length; i++)
            {
                var c = output[i];
                if (c == '\u001b' && i + 1 < output.Length && output[i + 1] == '[')
                {
                    var j = i + 2;
                    while (j < output.Length && (char.IsDigit(output[j]) || output[j] is ';' or '?')) j++;
                    var args = output[(i + 2)..j];
                    var command = output[j];
                    var n = int.TryParse(args, out var v) ? v : 0;
                    switch (command)
                    {
                        case 'A': row = Math.Max(0, row - Math.Max(1, n)); break;
                        case 'K':
                            while (rows.Count <= row) rows.Add(new StringBuilder());
                            if (n == 2) rows[row].Clear();
                            else if (n == 0 && rows[row].Length > col) rows[row].Length = col;
                            break;
                        case 'J' when n == 0:
                            while (rows.Count <= row) rows.Add(new StringBuilder());
                            if (rows[row].Length > col) rows[row].Length = col;
                            rows.RemoveRange(row + 1, rows.Count - row - 1);
                            break;
                        case 'm' or 'h' or 'l': break;
                        default: throw new InvalidOperationException($"escape sequence ESC[{args}{command} is not emulated");
                    }
                    i = j;
                }
                else if (c == '\r') col = 0;
                else if (c == '\n') { row++; col = 0; while (rows.Count <= row) rows.Add(new StringBuilder()); }
                else Put(c);
            }
            return rows.Select(r => r.ToString().TrimEnd()).ToList();
        }
    }
}
