using System.Text.RegularExpressions;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using Microsoft.Extensions.Logging;

namespace FineTuning.Tests.Workflow;

/// <summary>The orchestrators' log events: a field per placeholder, written as structured state on both hosts.</summary>
public partial class WorkflowEventTests
{
    public static TheoryData<WorkflowEvent> Events() =>
        [
            new StageEntered("run-1", RunStages.Split),
            new StageEntered("run-1", RunStages.Monitor, "ftjob-1", "running"),
            new RunSucceeded("run-1", "ft:gpt-4.1-mini:x"),
            new RunEnded("run-1", RunStatus.Failed, RunStages.SubmitJob, "400 bad"),
            new JobStatusChanged("run-1", "ftjob-1", "running"),
            new JobStatusChanged("run-1", "ftjob-1", "running", 3, 10),
            new JobControlNotApplied("run-1", "ftjob-1", "PauseJob", "the job is queued"),
            new ModelEvaluated("run-1", "ft:gpt-4.1-mini:x", "ImprovedSignificantly", 42.5, 0.8, true),
        ];

    [GeneratedRegex(@"\{([A-Za-z]+)\}")]
    private static partial Regex Placeholder();

    [Theory]
    [MemberData(nameof(Events))]
    public void EveryEvent_HasAValuePerPlaceholder_AndTheRunIdAsAField(WorkflowEvent entry)
    {
        string[] names = [.. Placeholder().Matches(entry.Template).Select(m => m.Groups[1].Value)];

        Assert.Equal(names.Length, entry.Arguments.Length);
        IReadOnlyList<KeyValuePair<string, object?>> fields = entry.Fields();
        Assert.Equal([.. names, "{OriginalFormat}"], fields.Select(f => f.Key));
        Assert.Equal("run-1", fields.Single(f => f.Key == "RunId").Value);
        Assert.DoesNotContain("{", entry.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_GivesTheLoggerTheEventsFieldsAsStructuredState()
    {
        var captured = new CapturingLogger();
        var entry = new StageEntered("run-1", RunStages.Monitor, "ftjob-1", "running");

        captured.Write(entry);

        Assert.Single(captured.Entries);
        Assert.All(captured.Entries, e =>
        {
            Assert.Equal(WorkflowEventIds.StageEntered, e.Id.Id);
            Assert.Equal("Run run-1: Monitor (job ftjob-1 running)", e.Message);
            Assert.Equal("Monitor", e.State.Single(f => f.Key == "Stage").Value);
            Assert.Equal("running", e.State.Single(f => f.Key == "JobStatus").Value);
        });
    }

    [Fact]
    public void ConsoleLines_WriteALinePerEntry_MarkingWarnings()
    {
        var writer = new StringWriter();
        ILogger logger = new ConsoleLines(writer).CreateLogger("test");

        logger.Write(new RunEnded("run-1", RunStatus.Cancelled, RunStages.Split, "Cancelled on request; no job was created."));

        Assert.Matches(
            @"^\d\d:\d\d:\d\d warning: Run run-1: Cancelled at Split: Cancelled on request; no job was created\.\r?\n$",
            writer.ToString()
        );
    }

    private sealed class CapturingLogger : ILogger
    {
        public List<(EventId Id, string Message, IReadOnlyList<KeyValuePair<string, object?>> State)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(
            LogLevel logLevel,
            EventId eventId,
            TState state,
            Exception? exception,
            Func<TState, Exception?, string> formatter
        ) =>
            Entries.Add(
                (eventId, formatter(state, exception), Assert.IsAssignableFrom<IReadOnlyList<KeyValuePair<string, object?>>>(state))
            );
    }
}
