using System.Globalization;
using System.Text.RegularExpressions;
using ImageFlowIO.Config;

namespace ImageFlowIO.Chains;

/// <summary>A quality gate that fired for one input: the check's id, its code (<c>IFIO7###</c>), severity and what it found.</summary>
public sealed record CheckFinding(string Id, string Code, CheckSeverity Severity, string Message);

/// <summary>
/// Evaluates the config's <c>checks</c> over one input's result: its lines (a chain), its top label (a classifier) and
/// the model output's channel statistics. Pure: from whatever the result holds, cached or computed, so editing a check
/// runs no model.
/// </summary>
internal static class QualityChecks
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    public static IReadOnlyList<CheckFinding> Evaluate(IReadOnlyList<CheckConfig> checks, PipelineResult result)
    {
        if (checks.Count == 0 || !result.Succeeded) return [];
        var findings = new List<CheckFinding>();
        foreach (var check in checks)
            if (Fired(check, result) is { } what)
                findings.Add(new CheckFinding(check.Id, CodeOf(check), check.Severity, $"check '{check.Id}' ({check.Severity.ToString().ToLowerInvariant()}): {check.Message ?? what}"));
        return findings;
    }

    public static string CodeOf(CheckConfig check) =>
        check.Label is not null ? ErrorCodes.CheckLabel
        : check.TextMatches is not null ? ErrorCodes.CheckTextMatches
        : check.TextMissing is not null ? ErrorCodes.CheckTextMissing
        : ErrorCodes.CheckStatistic;

    /// <summary>What the check found (a sentence), or null when it does not fire.</summary>
    private static string? Fired(CheckConfig check, PipelineResult r)
    {
        if (check.Label is { } label)
        {
            if (r.TopK.Count > 0 && r.TopK[0].Label == label && r.TopK[0].Score >= check.MinScore)
                return Invariant($"the top label is '{label}' with score {r.TopK[0].Score:0.###} (at least {check.MinScore:0.###})");
            var turned = r.Lines?.Where(l => l.Angle.ToString(CultureInfo.InvariantCulture) == label && l.AngleScore >= check.MinScore).ToList();
            if (turned is { Count: > 0 })
                return Invariant($"{turned.Count} of {r.Lines!.Count} text lines are at {label} degrees (score at least {check.MinScore:0.###}), first \"{turned[0].Text}\"");
            return null;
        }
        // Text checks apply to inputs a chain read; a plain model has no text to check.
        if (r.Text is not { } text) return null;
        if (check.TextMatches is { } pattern)
        {
            try
            {
                var match = Regex.Match(text, pattern, RegexOptions.CultureInvariant, MatchTimeout);
                return match.Success ? $"the text matches /{pattern}/: \"{match.Value}\"" : null;
            }
            catch (RegexMatchTimeoutException) { return $"the pattern /{pattern}/ took over {MatchTimeout.TotalSeconds:0} s on this text; simplify it"; }
        }
        if (check.TextMissing is { } expected)
            return text.Contains(expected, StringComparison.Ordinal) ? null : $"the text does not contain \"{expected}\"";
        if (check.Statistic is { } statistic && check.Channel < r.OutputStatistics.Count)
        {
            var s = r.OutputStatistics[check.Channel];
            var value = statistic switch { CheckStatistic.Min => s.Min, CheckStatistic.Max => s.Max, _ => s.Mean };
            var name = statistic.ToString().ToLowerInvariant();
            if (check.Below is { } below && value < below) return Invariant($"the output's channel {check.Channel} {name} is {value:0.####}, below {below:0.####}");
            if (check.Above is { } above && value > above) return Invariant($"the output's channel {check.Channel} {name} is {value:0.####}, above {above:0.####}");
        }
        return null;
    }

    private static string Invariant(FormattableString s) => FormattableString.Invariant(s);
}
