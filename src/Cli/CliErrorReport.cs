using System.Text;
using System.Text.Json;
using ImageFlowIO.Config;

namespace ImageFlowIO.Cli;

/// <summary>
/// Where the CLI's errors and warnings go. Pretty (the default): one <c>file(line,col): error CODE: message</c> line each,
/// as they happen. JSON (<c>--errors json</c>, <c>--json-errors</c>): collected, then written as ONE document on stderr when
/// the command ends, in the original's shape (<c>{"ok": false, "error": "config/invalid", "errors": [ … ]}</c>) with our
/// <c>code</c>, <c>file</c>, <c>line</c>, <c>column</c> and <c>message</c> on each error; nothing else goes to stderr then,
/// so a script can parse it whole. Thread-safe (log warnings arrive from pipeline workers).
/// </summary>
internal sealed class CliErrorReport(TextWriter stderr, bool json)
{
    private sealed record Entry(string Severity, string Code, string? File, int Line, int Column, string Message, string? Subject);

    private readonly object _gate = new();
    private readonly List<Entry> _errors = [];
    private readonly List<Entry> _warnings = [];
    private string? _error;

    public bool Json => json;

    /// <summary>A usage mistake (a flag's value, flags that contradict each other): exit code 2.</summary>
    public int Usage(string message)
    {
        if (!json)
        {
            stderr.WriteLine($"error: {message}");
            stderr.WriteLine($"Run '{ImageFlowCli.CommandName} --help' for the list of options.");
        }
        else Add("usage/invalid", new Entry("error", ErrorCodes.CommandLineInvalid, null, 0, 0, message, null));
        return ExitCodes.UsageOrConfig;
    }

    public void Diagnostic(ConfigDiagnostic d)
    {
        if (!json) { stderr.WriteLine(d.ToString()); return; }
        var entry = new Entry(d.IsError ? "error" : "warning", d.Code, d.FilePath, d.Line, d.Column, d.Message, d.Subject);
        if (d.IsError) Add("config/invalid", entry);
        else lock (_gate) _warnings.Add(entry);
    }

    public void Error(ImageFlowException ex)
    {
        if (ex is ConfigException ce) { foreach (var d in ce.Diagnostics) Diagnostic(d); return; }
        if (!json) { stderr.WriteLine(ex.ToString()); return; }
        Add(ErrorClass(ex.Family), new Entry("error", ex.Code, ex.FilePath, 0, 0, ex.Message, null));
    }

    /// <summary>A check that fired for an input (<c>IFIO7###</c>): an error when its severity is error, else a warning (info: a note).</summary>
    public void Check(string file, Chains.CheckFinding finding)
    {
        var severity = finding.Severity switch { CheckSeverity.Error => "error", CheckSeverity.Warning => "warning", _ => "info" };
        if (!json) { stderr.WriteLine($"{file}: {severity} {finding.Code}: {finding.Message}"); return; }
        var entry = new Entry(severity, finding.Code, file, 0, 0, finding.Message, finding.Id);
        if (finding.Severity == CheckSeverity.Error) Add("check/failed", entry);
        else lock (_gate) _warnings.Add(entry);
    }

    /// <summary>A warning the run logged (a cache that went off, a config warning): in the document's <c>warnings</c>.</summary>
    public void Warning(string? code, string message)
    {
        lock (_gate) _warnings.Add(new Entry("warning", code ?? "", null, 0, 0, message, null));
    }

    /// <summary>An interrupted run (Ctrl+C): exit code 130.</summary>
    public int Cancelled()
    {
        if (!json) stderr.WriteLine("imageflowio: cancelled");
        else lock (_gate) _error ??= "run/cancelled";
        return ExitCodes.Cancelled;
    }

    /// <summary>Writes the JSON document (JSON mode; nothing in pretty mode) and returns <paramref name="exitCode"/>.</summary>
    public int Finish(int exitCode)
    {
        if (!json) return exitCode;
        lock (_gate) stderr.Write(Document(exitCode));
        return exitCode;
    }

    /// <summary>The class of a runtime failure, in the original's <c>area/what</c> form (its one class was <c>config/invalid</c>).</summary>
    internal static string ErrorClass(ErrorFamily family) => family switch
    {
        ErrorFamily.Config => "config/invalid",
        ErrorFamily.Model => "model/invalid",
        ErrorFamily.Input => "input/failed",
        ErrorFamily.Output => "output/not-writable",
        _ => "internal/unexpected",
    };

    /// <summary>The original's Ajv keyword for the config codes that have one (a script may switch on it).</summary>
    private static string? Keyword(string code) => code switch
    {
        ConfigErrorCodes.UnknownProperty => "additionalProperties",
        ConfigErrorCodes.WrongType => "type",
        ConfigErrorCodes.InvalidValue => "enum",
        ConfigErrorCodes.MissingProperty => "required",
        _ => null,
    };

    private void Add(string errorClass, Entry entry)
    {
        lock (_gate)
        {
            _error ??= errorClass;
            _errors.Add(entry);
        }
    }

    private string Document(int exitCode)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteBoolean("ok", exitCode == ExitCodes.Ok && _errors.Count == 0);
            if (_error is not null || exitCode != ExitCodes.Ok) w.WriteString("error", _error ?? (exitCode == ExitCodes.SomeInputsFailed ? "input/failed" : "run/failed"));
            WriteEntries(w, "errors", _errors);
            WriteEntries(w, "warnings", _warnings);
            w.WriteNumber("exitCode", exitCode);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + Environment.NewLine;
    }

    private static void WriteEntries(Utf8JsonWriter w, string name, List<Entry> entries)
    {
        w.WriteStartArray(name);
        foreach (var e in entries)
        {
            w.WriteStartObject();
            // The original's (Ajv's) fields where ours map onto them.
            if (e.Subject is { } subject) w.WriteString("instancePath", "/" + subject.Replace('.', '/'));
            if (Keyword(e.Code) is { } keyword) w.WriteString("keyword", keyword);
            w.WriteString("message", e.Message);
            w.WriteString("severity", e.Severity);
            w.WriteString("code", e.Code);
            if (e.File is not null) w.WriteString("file", e.File);
            if (e.Line > 0)
            {
                w.WriteNumber("line", e.Line);
                w.WriteNumber("column", e.Column);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
