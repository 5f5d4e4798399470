using System.CommandLine;
using FineTuning.Core.Datasets;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using FineTuning.Local.Storage;
using Spectre.Console;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune runs</c>, <c>finetune status ID</c>, <c>finetune models</c>: the runs table and the model registry.</summary>
internal static class TableCommands
{
    private static Option<DirectoryInfo> DataOption() =>
        new("--data")
        {
            Description = "Data directory (as given to finetune run).",
            DefaultValueFactory = _ => new DirectoryInfo(".finetuning"),
        };

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of a table." };

    internal static SqliteTables? Open(DirectoryInfo data, TextWriter stderr)
    {
        string path = Path.Combine(data.FullName, "finetuning.db");
        if (File.Exists(path))
        {
            return CliErrors.DatabasesSound(data.FullName, stderr) ? new SqliteTables(path) : null;
        }

        stderr.WriteLine($"error: no runs in {data.FullName} (no finetuning.db); start one with 'finetune run FILE' or pass --data");
        return null;
    }

    public static IEnumerable<Command> Create(TextWriter stdout, TextWriter stderr)
    {
        var data = DataOption();
        var json = JsonOption();
        var runs = new Command("runs", "List the runs, newest first: stage, status, job and model.") { data, json };
        runs.SetAction(
            async (result, ct) =>
            {
                if (Open(result.GetValue(data)!, stderr) is not { } tables)
                    return FinetuneCli.ExitUsage;
                IReadOnlyList<RunRow> rows = await ((IRunStore)tables).ListAsync(ct);
                if (result.GetValue(json))
                {
                    ReportJson.Write(stdout, rows);
                    return FinetuneCli.ExitOk;
                }

                WriteRuns(ReportRenderer.ConsoleFor(stdout), stdout, rows);
                return FinetuneCli.ExitOk;
            }
        );

        var statusData = DataOption();
        var statusJson = JsonOption();
        var id = new Argument<string>("ID") { Description = "The run id (from finetune runs)." };
        var status = new Command("status", "Show one run: stage, status, counts, job, model and the error if any.")
        {
            id,
            statusData,
            statusJson,
        };
        status.SetAction(
            async (result, ct) =>
            {
                if (Open(result.GetValue(statusData)!, stderr) is not { } tables)
                    return FinetuneCli.ExitUsage;
                if (await ((IRunStore)tables).GetAsync(result.GetValue(id)!, ct) is not { } run)
                {
                    await stderr.WriteLineAsync($"error: no run '{result.GetValue(id)}'; 'finetune runs' lists them");
                    return FinetuneCli.ExitUsage;
                }

                if (result.GetValue(statusJson))
                {
                    ReportJson.Write(stdout, run);
                }
                else
                {
                    await stdout.WriteLineAsync($"{run.RunId}: {run.Status} at {run.Stage} ({run.DatasetBlob})");
                    await stdout.WriteLineAsync(
                        $"  rows {run.Rows}, examples {run.Examples}, train {run.TrainRows}, validation {run.ValidationRows}"
                    );
                    if (run.JobId is not null)
                        await stdout.WriteLineAsync($"  job {run.JobId} ({run.JobStatus})");
                    string history = Path.Combine(result.GetValue(statusData)!.FullName, "durable.db");
                    if (
                        run.Status == RunStatus.Running
                        && File.Exists(history)
                        && LocalRunHost.Progress(LocalRunHost.OpenHistory(result.GetValue(statusData)!.FullName), run.RunId) is { } progress
                    )
                    {
                        await stdout.WriteLineAsync($"  progress: {progress.Describe()}");
                    }

                    if (run.Status == RunStatus.Running && !LocalRunHost.IsOwned(result.GetValue(statusData)!.FullName))
                    {
                        await stdout.WriteLineAsync(
                            "  no finetune process is running it now: it resumes where it was when 'finetune run' or 'finetune serve' "
                                + $"next starts with --data {result.GetValue(statusData)!.FullName}"
                        );
                    }

                    if (run.ModelId is not null)
                        await stdout.WriteLineAsync($"  model {run.ModelId}");
                    if (run.Error is not null)
                        await stdout.WriteLineAsync($"  error: {run.Error}");
                }

                return run.Status is RunStatus.Failed or RunStatus.Cancelled ? FinetuneCli.ExitNotFit : FinetuneCli.ExitOk;
            }
        );

        var modelsData = DataOption();
        var modelsJson = JsonOption();
        var models = new Command("models", "List the registered models with their lineage.") { modelsData, modelsJson };
        models.SetAction(
            async (result, ct) =>
            {
                if (Open(result.GetValue(modelsData)!, stderr) is not { } tables)
                    return FinetuneCli.ExitUsage;
                IReadOnlyList<ModelRow> rows = await ((IModelRegistry)tables).ListAsync(ct);
                if (result.GetValue(modelsJson))
                {
                    ReportJson.Write(stdout, rows);
                    return FinetuneCli.ExitOk;
                }

                WriteModels(ReportRenderer.ConsoleFor(stdout), stdout, rows);
                return FinetuneCli.ExitOk;
            }
        );

        return [runs, status, models];
    }

    /// <summary>The runs table, most telling columns first, fitted to the console's width.</summary>
    internal static void WriteRuns(IAnsiConsole console, TextWriter writer, IReadOnlyList<RunRow> rows) =>
        FittedTable.Write(
            console,
            writer,
            rows,
            [
                new("Run", r => r.RunId),
                new("Status", r => r.Status.ToString()),
                new("Stage", r => r.Stage),
                new("Job", r => r.JobStatus ?? ""),
                new("Dataset", r => r.DatasetBlob),
                new("Updated", r => $"{r.UpdatedAt:yyyy-MM-dd HH:mm:ss}"),
                new("Model", r => r.ModelId ?? ""),
                new("Job id", r => r.JobId ?? ""),
            ],
            essential: 3,
            more: "finetune status ID shows them"
        );

    /// <summary>The model registry, fitted to the console's width.</summary>
    internal static void WriteModels(IAnsiConsole console, TextWriter writer, IReadOnlyList<ModelRow> rows) =>
        FittedTable.Write(
            console,
            writer,
            rows,
            [
                new("Model", m => m.ModelId),
                new("Stage", m => m.Stage),
                new("Name", m => m.Version > 0 ? $"{m.Name} v{m.Version}" : m.Name),
                new("Evaluation", m =>
                    m.Evaluation is { } e
                        ? string.Create(
                            System.Globalization.CultureInfo.InvariantCulture,
                            $"{e.BaseScore:0.00} → {e.FineTunedScore:0.00}{(e.ImprovementPercent is double p ? $" ({p:+0;-0}%)" : "")}"
                        )
                        : "not evaluated"
                ),
                new("Outcome", m => m.Outcome ?? ""),
                new("Metric", m =>
                    string.Join(
                        ", ",
                        m.Metrics.Select(x => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{x.Key} {x.Value:0.###}"))
                    )
                ),
                new("Base", m => m.BaseModel),
                new("Method", m => m.Method),
                new("Run", m => m.RunId),
                new("Dataset", m => m.DatasetBlob),
            ],
            essential: 2,
            more: "--json shows them, with the lineage and the stage history"
        );
}
