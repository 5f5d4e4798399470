using System.Globalization;
using FineTuning.Core.Evaluation;

namespace FineTuning.Local.Cli;

/// <summary>An evaluation report as a person reads it in a terminal: the table by topic, the win rate, the outcome and the gate.</summary>
internal static class EvaluationText
{
    public static IEnumerable<string> Lines(EvaluationReport report)
    {
        EvaluationSummary summary = report.Summary;
        int width = Math.Clamp(summary.Topics.Select(t => t.Name.Length).Append("overall".Length).Max(), 7, 32);
        string models = $"{report.Models.BaseModel} (base) against {report.Models.FineTunedModel}";
        yield return Invariant($"Evaluation on {report.RowsEvaluated:N0} held-out rows: {models}, scored by {report.ScoredBy}");
        yield return $"  {"topic".PadRight(width)}  {"rows", 5}  {"base", 6}  {"tuned", 6}  change";
        foreach (ScoreComparison topic in summary.Topics)
        {
            bool regressed = summary.RegressedTopics.Contains(topic.Name);
            yield return Row(topic, width) + (regressed ? "  regressed" : "");
        }

        string interval = summary.ImprovementPercentInterval is { } ci
            ? Invariant($" (95% interval {ci.Low:+0.0;-0.0;0.0}% to {ci.High:+0.0;-0.0;0.0}%)")
            : Invariant($" (95% interval of the difference {summary.DifferenceInterval.Low:+0.###;-0.###;0} to ")
                + Invariant($"{summary.DifferenceInterval.High:+0.###;-0.###;0})");
        yield return Row(summary.Overall, width) + interval;
        WinRate win = summary.WinRate;
        string consistency =
            summary.AllTopicsImproved ? "all topics improved"
            : summary.RegressedTopics.Count > 0 ? $"regressed: {string.Join(", ", summary.RegressedTopics)}"
            : "not every topic improved";
        yield return win.Rate is double rate
            ? Invariant($"  win rate {rate * 100:0}% ({win.Wins} wins, {win.Losses} losses, {win.Ties} ties); {consistency}")
            : $"  no pairwise verdicts; {consistency}";
        yield return $"  outcome: {Words(summary.Outcome)} → {summary.Advice}"
            + (report.CostUsd is decimal cost ? Invariant($"; cost ${cost:0.00##} ({report.Tokens.Total:N0} tokens)") : "");
        yield return report.Decision.Passed
            ? "  promotion policy: passed"
            : "  promotion policy: not passed: " + string.Join("; ", report.Decision.Reasons);
    }

    private static string Row(ScoreComparison s, int width)
    {
        string name = s.Name.Length > width ? s.Name[..(width - 1)] + "…" : s.Name;
        string change = s.ImprovementPercent is double p
            ? Invariant($"{p:+0.0;-0.0;0.0}%")
            : Invariant($"{s.Difference:+0.###;-0.###;0} (the base scored 0)");
        return Invariant($"  {name.PadRight(width)}  {s.Rows, 5}  {s.BaseScore, 6:0.000}  {s.FineTunedScore, 6:0.000}  {change}");
    }

    private static string Words(EvaluationOutcome outcome) =>
        outcome switch
        {
            EvaluationOutcome.ImprovedSignificantly => "improved significantly",
            EvaluationOutcome.Marginal => "marginal improvement",
            EvaluationOutcome.NoImprovement => "no improvement",
            _ => "regression",
        };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
