using System.CommandLine;
using FineTuning.Local.Hosting;
using FineTuning.Local.Runtime;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune cancel ID</c>: raises a run's cancel event; the process that owns the data directory (or the next to start) delivers it.</summary>
internal static class CancelCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var id = new Argument<string>("ID") { Description = "The run id (from finetune runs)." };
        var data = new Option<DirectoryInfo>("--data") { Description = "Data directory (as given to finetune run or serve).", DefaultValueFactory = _ => new DirectoryInfo(".finetuning") };
        var command = new Command("cancel", "Cancel a run in progress: its provider job is cancelled and the run ends as Cancelled. Works while 'finetune run' or 'finetune serve' follows the run in another terminal, and while nothing runs (the run is cancelled when one next starts).") { id, data };
        command.SetAction(async (result, ct) =>
        {
            string root = result.GetValue(data)!.FullName;
            string runId = result.GetValue(id)!;
            if (!File.Exists(Path.Combine(root, "durable.db")))
            {
                await stderr.WriteLineAsync($"error: no runs in {root} (no durable.db); pass the --data the run was started with");
                return FinetuneCli.ExitUsage;
            }

            HistoryStore history = LocalRunHost.OpenHistory(root);
            if (!LocalRunHost.RequestCancel(history, runId, TimeProvider.System))
            {
                string state = history.Get(runId) is { } ended ? $"it has already ended ({ended.Status})" : "there is no such run; 'finetune runs' lists them";
                await stderr.WriteLineAsync($"error: cannot cancel '{runId}': {state}");
                return FinetuneCli.ExitUsage;
            }

            await stdout.WriteLineAsync($"Cancel requested for {runId}. Its provider job is cancelled and the run ends as Cancelled; 'finetune status {runId}' shows when.");
            return FinetuneCli.ExitOk;
        });
        return command;
    }
}
