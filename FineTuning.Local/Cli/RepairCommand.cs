using System.CommandLine;
using FineTuning.Local.Hosting;
using FineTuning.Local.Storage;

namespace FineTuning.Local.Cli;

/// <summary>
/// <c>finetune repair</c>: checks the data directory's databases and rebuilds the runs and models <c>finetuning.db</c>
/// lacks from <c>durable.db</c>'s history, without starting anything (a start of run or serve does the same).
/// </summary>
internal static class RepairCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var data = new Option<DirectoryInfo>("--data")
        {
            Description = "Data directory (as given to finetune run or serve).",
            DefaultValueFactory = _ => new DirectoryInfo(".finetuning"),
        };
        var command = new Command(
            "repair",
            "Check finetuning.db and durable.db (SQLite's quick_check), rebuild the runs and models finetuning.db lacks from durable.db's "
                + "history, and mark unfinished runs whose history is gone as failed. A damaged file is named with what to do."
        )
        {
            data,
        };
        command.SetAction(
            async (result, ct) =>
            {
                string root = result.GetValue(data)!.FullName;
                if (!File.Exists(Path.Combine(root, LocalRepair.HistoryFile)) && !File.Exists(Path.Combine(root, LocalRepair.TablesFile)))
                {
                    await stderr.WriteLineAsync(
                        $"error: {root} holds no runs (no {LocalRepair.HistoryFile}); pass the --data of your runs"
                    );
                    return FinetuneCli.ExitUsage;
                }

                if (LocalRunHost.IsOwned(root))
                {
                    await stderr.WriteLineAsync(
                        $"error: a finetune process (run or serve) is using {root}; it repaired the data directory when it started"
                    );
                    return FinetuneCli.ExitUsage;
                }

                if (!CliErrors.DatabasesSound(root, stderr))
                {
                    return FinetuneCli.ExitUsage;
                }

                RepairReport report = await LocalRepair.RepairAsync(
                    LocalRunHost.OpenHistory(root),
                    new SqliteTables(Path.Combine(root, LocalRepair.TablesFile)),
                    DateTime.UtcNow
                );
                await stdout.WriteLineAsync(
                    report.Changed ? $"Repaired {root}: {report}." : $"{root}: both databases are sound and finetuning.db lacks nothing."
                );
                return FinetuneCli.ExitOk;
            }
        );
        return command;
    }
}
