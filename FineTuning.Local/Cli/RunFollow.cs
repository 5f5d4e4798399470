using System.Text.Json;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;

namespace FineTuning.Local.Cli;

/// <summary>
/// Follows a run in this process until it ends or waits for a person's approval, and says how it came out: the
/// evaluation table by topic when the run evaluated, the model and its stage, what to do next.
/// </summary>
internal static class RunFollow
{
    /// <summary>
    /// The run's outcome, or null when it waits for approval (the run stays in the data directory, waiting); with
    /// <paramref name="toTheEnd"/> (a decision was just sent), only the outcome.
    /// </summary>
    public static async Task<RunOutcome?> WaitAsync(
        LocalRunHost host,
        string runId,
        Task<RunOutcome> running,
        CancellationToken cancellationToken,
        bool toTheEnd = false
    )
    {
        if (toTheEnd)
            return await running.WaitAsync(cancellationToken);
        IRunStore runs = host.Tables;
        while (true)
        {
            Task done = await Task.WhenAny(running, Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken));
            if (done == running)
                return await running;
            cancellationToken.ThrowIfCancellationRequested();
            if (await runs.GetAsync(runId, cancellationToken) is { Status: RunStatus.AwaitingApproval })
                return null;
        }
    }

    /// <summary>Prints how the run came out (or that it waits); returns the exit code.</summary>
    public static async Task<int> ReportAsync(
        LocalRunHost host,
        string runId,
        RunOutcome? outcome,
        string root,
        TextWriter stdout,
        CancellationToken cancellationToken
    )
    {
        if (await EvaluationAsync(host, runId, cancellationToken) is { } evaluation)
        {
            foreach (string line in EvaluationText.Lines(evaluation))
                await stdout.WriteLineAsync(line);
        }

        string data = root == Path.GetFullPath(".finetuning") ? "" : $" --data {root}";
        if (outcome is null)
        {
            await stdout.WriteLineAsync(
                $"Awaiting approval: the model passed the promotion policy. Approve it: finetune approve {runId}{data} "
                    + $"(or reject it: finetune reject {runId}{data} --why \"...\"). The run waits up to its approval timeout."
            );
            return FinetuneCli.ExitOk;
        }

        ModelRow? registered = outcome.ModelId is null
            ? null
            : await ((IModelRegistry)host.Tables).GetAsync(outcome.ModelId, cancellationToken);
        string reports = Path.Combine(root, "blobs", "runs", runId, "reports");
        foreach (string warning in registered?.TrainingWarnings ?? [])
            await stdout.WriteLineAsync($"Training warning: {warning}.");
        await stdout.WriteLineAsync(
            outcome.Status switch
            {
                RunStatus.Succeeded =>
                    $"Succeeded: registered {outcome.ModelId} as {registered?.Name} version {registered?.Version}, {registered?.Stage} "
                        + $"(training: {registered?.Outcome}; "
                        + $"{string.Join(", ", registered?.Metrics.Select(m => $"{m.Key} {m.Value:0.###}") ?? [])}). Reports: {reports}",
                _ => $"{outcome.Status}: {outcome.Error}"
                    + (registered is null ? "" : $" Registered {registered.ModelId} as {registered.Stage}. Reports: {reports}"),
            }
        );
        return outcome.Status == RunStatus.Succeeded ? FinetuneCli.ExitOk : FinetuneCli.ExitNotFit;
    }

    private static async Task<EvaluationReport?> EvaluationAsync(LocalRunHost host, string runId, CancellationToken cancellationToken)
    {
        string blob = $"runs/{runId}/reports/evaluation.json";
        if (await host.Blobs.GetPropertiesAsync(blob, cancellationToken) is null)
            return null;
        await using Stream stream = await host.Blobs.OpenReadAsync(blob, cancellationToken);
        return await JsonSerializer.DeserializeAsync(stream, ReportSerializer.TypeInfo<EvaluationReport>(), cancellationToken);
    }
}
