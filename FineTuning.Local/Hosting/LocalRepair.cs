using FineTuning.Core.Workflow;
using FineTuning.Core.Workflow.Activities;
using FineTuning.Local.Runtime;
using FineTuning.Local.Storage;

namespace FineTuning.Local.Hosting;

/// <summary>What <see cref="LocalRepair.RepairAsync"/> did.</summary>
public sealed record RepairReport(int RunsRebuilt, int ModelsRebuilt, int RunsLost)
{
    public bool Changed => RunsRebuilt + ModelsRebuilt + RunsLost > 0;

    public override string ToString() =>
        $"rebuilt {RunsRebuilt:N0} run{(RunsRebuilt == 1 ? "" : "s")} and {ModelsRebuilt:N0} model{(ModelsRebuilt == 1 ? "" : "s")} "
        + $"from durable.db's history; {RunsLost:N0} unfinished run{(RunsLost == 1 ? "" : "s")} without a history marked failed";
}

/// <summary>
/// The data directory's two databases checked and, where rows are missing, rebuilt. <c>finetuning.db</c> (runs and
/// models) is derived: every row the workflow wrote went through an <c>UpdateRun</c> or <c>RegisterModel</c> activity
/// whose input <c>durable.db</c>'s history keeps, so a lost or emptied <c>finetuning.db</c> is rebuilt from it. The
/// history is the source of truth: a run whose history is gone cannot resume, and is marked failed rather than shown
/// running for ever.
/// </summary>
public static class LocalRepair
{
    public const string TablesFile = "finetuning.db";
    public const string HistoryFile = "durable.db";

    /// <summary>Throws, naming the file and what to do, when a database of the data directory is damaged.</summary>
    public static void CheckDatabases(string root)
    {
        foreach (string name in new[] { TablesFile, HistoryFile })
        {
            string path = Path.Combine(root, name);
            if (SqliteFile.Damage(path) is { } damage)
            {
                string consequence =
                    name == TablesFile
                        ? "runs and models are rebuilt from durable.db's history"
                        : "the runs it held cannot resume and are marked failed; their models stay registered";
                throw new InvalidOperationException(
                    $"{path} is damaged ({damage}). Move it aside (mv {path} {path}.damaged) and start again: {consequence}. "
                        + $"'finetune repair --data {root}' does the same check and rebuild without starting anything."
                );
            }
        }
    }

    /// <summary>
    /// Rebuilds the rows the history knows and the tables lack (never replacing a row that exists), and marks unfinished
    /// runs whose history is gone as failed.
    /// </summary>
    public static async Task<RepairReport> RepairAsync(HistoryStore history, SqliteTables tables, DateTime now)
    {
        IRunStore runs = tables;
        IModelRegistry models = tables;
        int runsRebuilt = 0,
            modelsRebuilt = 0,
            lost = 0;
        // Each table read once (every start runs this): what exists, then what the history holds beyond it.
        Dictionary<string, RunRow> rows = (await runs.ListAsync().ConfigureAwait(false)).ToDictionary(r => r.RunId, StringComparer.Ordinal);
        HashSet<string> modelIds = [.. (await models.ListAsync().ConfigureAwait(false)).Select(m => m.ModelId)];
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (InstanceState instance in history.All())
        {
            if (instance.Name is not (LocalRunHost.Orchestrator or LocalWorkflow.LegacyOrchestrator))
            {
                continue;
            }

            known.Add(instance.InstanceId);
            RunRow? existing = rows.GetValueOrDefault(instance.InstanceId);
            if (existing is not null && (existing.ModelId is null || modelIds.Contains(existing.ModelId)))
            {
                continue; // nothing of this run is missing: its history is not read
            }

            RunRow? lastRow = null;
            ModelRow? registered = null;
            foreach (HistoryEvent e in history.LoadHistory(instance.InstanceId))
            {
                if (e.Kind != HistoryKind.TaskScheduled || e.Payload is null)
                    continue;
                if (e.Name == nameof(UpdateRun))
                    lastRow = LocalJson.Deserialize<RunRow>(e.Payload);
                else if (e.Name == nameof(RegisterModel))
                    registered = LocalJson.Deserialize<ModelRow>(e.Payload);
            }

            if (lastRow is not null && existing is null)
            {
                if (instance.Status == InstanceStatus.Failed && lastRow.FinishedAt is null)
                {
                    lastRow = lastRow with { Status = RunStatus.Failed, Error = instance.Failure, FinishedAt = instance.UpdatedAt };
                }

                await runs.UpsertAsync(lastRow).ConfigureAwait(false);
                runsRebuilt++;
            }

            if (registered is not null && modelIds.Add(registered.ModelId))
            {
                await models.UpsertAsync(registered).ConfigureAwait(false);
                modelsRebuilt++;
            }
        }

        foreach (RunRow row in rows.Values)
        {
            if (row.FinishedAt is null && !known.Contains(row.RunId))
            {
                await runs.UpsertAsync(
                        row with
                        {
                            Status = RunStatus.Failed,
                            Error = $"Its history ({HistoryFile}) is gone, so it cannot resume; start the run again.",
                            UpdatedAt = now,
                            FinishedAt = now,
                        }
                    )
                    .ConfigureAwait(false);
                lost++;
            }
        }

        return new RepairReport(runsRebuilt, modelsRebuilt, lost);
    }
}
