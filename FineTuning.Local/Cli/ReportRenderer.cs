using FineTuning.Core.Datasets;
using Spectre.Console;

namespace FineTuning.Local.Cli;

/// <summary>Human output: a summary table, then findings grouped by code with their first lines.</summary>
internal static class ReportRenderer
{
    public static IAnsiConsole ConsoleFor(TextWriter writer)
    {
        bool terminal = ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;
        IAnsiConsole console = AnsiConsole.Create(
            new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(writer),
                Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            }
        );
        if (!terminal)
        {
            console.Profile.Width = 120; // files and pipes: wide enough that findings stay on one line
        }

        return console;
    }

    public static void RenderValidation(TextWriter writer, DatasetReport report, ValidationOptions options)
    {
        IAnsiConsole console = ConsoleFor(writer);
        var summary = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(report.File)).AddColumn("").AddColumn("");
        summary.ShowHeaders = false;
        summary.AddRow("Method", Markup.Escape(report.Method + (report.MethodDetected ? " (detected)" : "")));
        summary.AddRow(
            "Model",
            Markup.Escape(report.Model + (report.MaxTokensPerExample is int limit ? $" (limit {limit:N0} tokens per example)" : ""))
        );
        summary.AddRow("Size", $"{report.Bytes / 1048576.0:N2} MiB, {report.Lines:N0} lines");
        summary.AddRow("Rows", $"{report.Rows:N0} ({report.ValidRows:N0} valid, {report.ErrorRows:N0} with errors)");
        summary.AddRow("Examples", $"{report.Examples:N0} distinct ({report.Duplicates:N0} duplicates)");
        if (report.SensitiveData.Count > 0)
        {
            summary.AddRow(
                "Possible PII",
                string.Join(", ", report.SensitiveData.Select(k => $"{k.Value:N0} {k.Key.Replace('_', ' ')}")) + " (see possible_pii)"
            );
        }
        if (report.ExcludedByMetadata > 0 || report.Generated > 0)
        {
            summary.AddRow("Metadata", $"{report.ExcludedByMetadata:N0} marked invalid, {report.Generated:N0} generated");
        }

        AddSummary(summary, "Messages / example", report.Tokens.MessagesPerExample);
        AddSummary(summary, "Tokens / example*", report.Tokens.TokensPerExample);
        AddSummary(summary, "Assistant tokens*", report.Tokens.AssistantTokensPerExample);
        summary.AddRow("Billable tokens / epoch*", $"{report.Tokens.BillableTokensPerEpoch:N0}");
        summary.AddRow("System prompts", $"{report.DistinctSystemPrompts:N0} distinct");
        console.Write(summary);
        console.MarkupLine($"[grey]* {Markup.Escape(report.Tokens.Note)} ({Markup.Escape(report.Tokens.TokenEstimator)})[/]");

        if (report.Topics.Count > 0 && !(report.Topics.Count == 1 && report.Topics.ContainsKey(Topics.None)))
        {
            var topics = new Table()
                .Border(TableBorder.Simple)
                .AddColumn($"Topic ({Markup.Escape(report.TopicField)})")
                .AddColumn(new TableColumn("Rows").RightAligned())
                .AddColumn(new TableColumn("Share").RightAligned());
            foreach ((string topic, long count) in report.Topics.Take(25))
            {
                topics.AddRow(Markup.Escape(topic), $"{count:N0}", $"{100.0 * count / Math.Max(1, report.ValidRows):0.0}%");
            }

            if (report.Topics.Count > 25)
            {
                topics.AddRow($"… {report.Topics.Count - 25:N0} more", "", "");
            }

            console.Write(topics);
        }

        RenderFindings(console, report.Counts, report.Findings, options.MaxFindingsPerCode);
        console.WriteLine();
        console.MarkupLine(report.Fit ? $"[green]{Markup.Escape(report.Verdict)}[/]" : $"[red]{Markup.Escape(report.Verdict)}[/]");
    }

    public static void RenderFindings(
        IAnsiConsole console,
        IReadOnlyDictionary<string, long> counts,
        IReadOnlyList<Finding> findings,
        int shown
    )
    {
        if (counts.Count == 0)
        {
            console.MarkupLine("No findings.");
            return;
        }

        ILookup<string, Finding> byCode = findings.ToLookup(f => f.Code);
        foreach ((string code, long count) in counts)
        {
            FindingCode info = FindingCodes.Get(code);
            string color = info.Severity == Severity.Error ? "red" : "yellow";
            console.WriteLine();
            console.MarkupLine(
                $"[{color}]{info.Severity.ToString().ToLowerInvariant()}[/] [bold]{code}[/] × {count:N0}: {Markup.Escape(info.Meaning)}"
            );
            foreach (Finding f in byCode[code].Take(shown))
            {
                console.MarkupLine($"  {Markup.Escape(f.ToString())}");
            }

            if (count > Math.Min(shown, byCode[code].Count()) && info.Scope == FindingScope.Line)
            {
                console.MarkupLine(
                    $"  [grey]… and {count - Math.Min(shown, byCode[code].Count()):N0} more (--max-errors to list more, --json for all "
                        + "counts)[/]"
                );
            }

            console.MarkupLine($"  [grey]fix: {Markup.Escape(info.Remedy)}[/]");
        }
    }

    private static void AddSummary(Table table, string label, Summary? s)
    {
        table.AddRow(
            label,
            s is null ? "-" : $"min {s.Min:N0} · p10 {s.P10:N0} · median {s.Median:N0} · mean {s.Mean:N1} · p90 {s.P90:N0} · max {s.Max:N0}"
        );
    }
}
