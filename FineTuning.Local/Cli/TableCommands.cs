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
        new("--data") { Description = "Data directory (as given to finetune run).", DefaultValueFactory = _ => new DirectoryInfo(".finetuning") };

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of a table." };

    private static SqliteTables? Open(DirectoryInfo data, TextWriter stderr)
    {
        string path = Path.Combine(data.FullName, "finetuning.db");
        if (File.Exists(path))
        {
            return new SqliteTables(path);
        }

        stderr.WriteLine($"error: no runs in {data.FullName} (no finetuning.db); start one with 'finetune run FILE' or pass --data");
        return null;
    }

    public static IEnumerable<Command> Create(TextWriter stdout, TextWriter stderr)
    {
        var data = DataOption();
        var json = JsonOption();
        var runs = new Command("runs", "List the runs, newest first: stage, status, job and model.") { data, json };
        runs.SetAction(async (result, ct) =>
        {
            if (Open(result.GetValue(data)!, stderr) is not { } tables) return FinetuneCli.ExitUsage;
            IReadOnlyList<RunRow> rows = await ((IRunStore)tables).ListAsync(ct);
            if (result.GetValue(json))
            {
                ReportJson.Write(stdout, rows);
                return FinetuneCli.ExitOk;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumn(new TableColumn("Run").NoWrap()).AddColumns("Dataset", "Stage", "Status", "Job").AddColumn(new TableColumn("Model").NoWrap()).AddColumn("Updated");
            foreach (RunRow r in rows)
            {
                table.AddRow(Markup.Escape(r.RunId), Markup.Escape(r.DatasetBlob), r.Stage, r.Status.ToString(), Markup.Escape($"{r.JobId} {r.JobStatus}".Trim()), Markup.Escape(r.ModelId ?? ""), $"{r.UpdatedAt:yyyy-MM-dd HH:mm:ss}");
            }

            ReportRenderer.ConsoleFor(stdout).Write(table);
            return FinetuneCli.ExitOk;
        });

        var statusData = DataOption();
        var statusJson = JsonOption();
        var id = new Argument<string>("ID") { Description = "The run id (from finetune runs)." };
        var status = new Command("status", "Show one run: stage, status, counts, job, model and the error if any.") { id, statusData, statusJson };
        status.SetAction(async (result, ct) =>
        {
            if (Open(result.GetValue(statusData)!, stderr) is not { } tables) return FinetuneCli.ExitUsage;
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
                await stdout.WriteLineAsync($"  rows {run.Rows}, examples {run.Examples}, train {run.TrainRows}, validation {run.ValidationRows}");
                if (run.JobId is not null) await stdout.WriteLineAsync($"  job {run.JobId} ({run.JobStatus})");
                string history = Path.Combine(result.GetValue(statusData)!.FullName, "durable.db");
                if (run.Status == RunStatus.Running && File.Exists(history) && LocalRunHost.Progress(LocalRunHost.OpenHistory(result.GetValue(statusData)!.FullName), run.RunId) is { } progress)
                {
                    await stdout.WriteLineAsync($"  progress: {progress.Describe()}");
                }

                if (run.Status == RunStatus.Running && !LocalRunHost.IsOwned(result.GetValue(statusData)!.FullName))
                {
                    await stdout.WriteLineAsync($"  no finetune process is running it now: it resumes where it was when 'finetune run' or 'finetune serve' next starts with --data {result.GetValue(statusData)!.FullName}");
                }

                if (run.ModelId is not null) await stdout.WriteLineAsync($"  model {run.ModelId}");
                if (run.Error is not null) await stdout.WriteLineAsync($"  error: {run.Error}");
            }

            return run.Status is RunStatus.Failed or RunStatus.Cancelled ? FinetuneCli.ExitNotFit : FinetuneCli.ExitOk;
        });

        var modelsData = DataOption();
        var modelsJson = JsonOption();
        var models = new Command("models", "List the registered models with their lineage.") { modelsData, modelsJson };
        models.SetAction(async (result, ct) =>
        {
            if (Open(result.GetValue(modelsData)!, stderr) is not { } tables) return FinetuneCli.ExitUsage;
            IReadOnlyList<ModelRow> rows = await ((IModelRegistry)tables).ListAsync(ct);
            if (result.GetValue(modelsJson))
            {
                ReportJson.Write(stdout, rows);
                return FinetuneCli.ExitOk;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumn(new TableColumn("Model").NoWrap()).AddColumns("Base", "Method", "Outcome", "Metric").AddColumn(new TableColumn("Run").NoWrap()).AddColumn("Dataset");
            foreach (ModelRow m in rows)
            {
                table.AddRow(Markup.Escape(m.ModelId), Markup.Escape(m.BaseModel), m.Method, Markup.Escape(m.Outcome ?? ""),
                    Markup.Escape(string.Join(", ", m.Metrics.Select(x => $"{x.Key} {x.Value:0.###}"))), Markup.Escape(m.RunId), Markup.Escape(m.DatasetBlob));
            }

            ReportRenderer.ConsoleFor(stdout).Write(table);
            return FinetuneCli.ExitOk;
        });

        return [runs, status, models];
    }
}
