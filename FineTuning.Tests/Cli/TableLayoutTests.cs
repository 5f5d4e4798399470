using FineTuning.Core.Workflow;
using FineTuning.Local.Cli;
using Spectre.Console;

namespace FineTuning.Tests.Cli;

/// <summary><c>finetune runs</c> and <c>finetune models</c> stay readable at 80 and 120 columns: no cell is cut.</summary>
public class TableLayoutTests
{
    private static readonly RunRow[] Runs =
    [
        new()
        {
            RunId = "run-0123456789abcdef0123",
            DatasetBlob = "datasets/support-chat-2026-11.jsonl",
            Stage = RunStages.RegisterModel,
            Status = RunStatus.Succeeded,
            JobId = "ftjob-emu000001",
            JobStatus = "succeeded",
            ModelId = "ft:gpt-4.1-mini-2025-04-14:personal:support:run-0123456789abcdef0123",
            UpdatedAt = new DateTime(2026, 12, 4, 12, 0, 0, DateTimeKind.Utc),
        },
        new()
        {
            RunId = "run-fedcba9876543210fedc",
            DatasetBlob = "datasets/tone.jsonl",
            Stage = RunStages.Monitor,
            Status = RunStatus.Running,
            JobId = "ftjob-emu000002",
            JobStatus = "running",
            UpdatedAt = new DateTime(2026, 12, 4, 12, 5, 0, DateTimeKind.Utc),
        },
    ];

    private static readonly ModelRow[] Models =
    [
        new()
        {
            ModelId = "ft:gpt-4.1-mini-2025-04-14:personal:support:run-0123456789abcdef0123",
            BaseModel = "gpt-4.1-mini-2025-04-14",
            Method = "supervised",
            RunId = "run-0123456789abcdef0123",
            JobId = "ftjob-emu000001",
            DatasetBlob = "datasets/support-chat-2026-11.jsonl",
            FileIds = ["file-1"],
            Outcome = "improved_significantly",
            Metrics = new Dictionary<string, double> { ["valid_loss"] = 0.4123 },
        },
    ];

    private static string Render(int width, Action<IAnsiConsole, TextWriter> write)
    {
        var writer = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(
            new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(writer),
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
            }
        );
        console.Profile.Width = width;
        write(console, writer);
        return writer.ToString();
    }

    [Theory]
    [InlineData(80)]
    [InlineData(120)]
    public void Runs_FitTheWidth_WithEveryShownCellWhole(int width)
    {
        string output = Render(width, (console, writer) => TableCommands.WriteRuns(console, writer, Runs));

        Assert.All(output.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= width, $"{line.Length} > {width}: {line}"));
        Assert.All(Runs, r => Assert.Contains(r.RunId, output, StringComparison.Ordinal));
        Assert.Contains("Succeeded", output, StringComparison.Ordinal);
        Assert.Contains("RegisterModel", output, StringComparison.Ordinal);
        Assert.Contains("Not shown at this width:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Runs_AtAWideConsole_ShowEveryColumnInOneTable()
    {
        string output = Render(250, (console, writer) => TableCommands.WriteRuns(console, writer, Runs));

        Assert.Contains(Runs[0].ModelId!, output, StringComparison.Ordinal);
        Assert.Contains("datasets/support-chat-2026-11.jsonl", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Not shown", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(80)]
    [InlineData(120)]
    public void Models_FitTheWidth_OrBecomeABlockPerModel(int width)
    {
        string output = Render(width, (console, writer) => TableCommands.WriteModels(console, writer, Models));

        Assert.All(output.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= width, $"{line.Length} > {width}: {line}"));
        Assert.Contains(Models[0].ModelId, output, StringComparison.Ordinal);
        Assert.Contains(ModelStages.Candidate, output, StringComparison.Ordinal);
        Assert.Contains("not evaluated", output, StringComparison.Ordinal);
        if (width == 80)
            Assert.Matches(@"\n  Outcome +improved_significantly", output);
    }
}
