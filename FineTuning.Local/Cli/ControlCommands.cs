using System.CommandLine;
using FineTuning.Core.Api;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using FineTuning.Local.Runtime;
using FineTuning.Local.Storage;

namespace FineTuning.Local.Cli;

/// <summary>
/// <c>finetune cancel|pause|resume ID</c>: raises the run's event; the process that owns the data directory (or the
/// next to start) delivers it, so they work while another terminal follows the run and while nothing runs.
/// </summary>
internal static class ControlCommands
{
    private static readonly (string Name, string Help, string Done)[] Controls =
    [
        (
            "cancel",
            "Cancel a run in progress: its provider job (if one was created) is cancelled and the run ends as Cancelled. A run cancelled "
                + "before its job is submitted creates none.",
            "Its provider job is cancelled and the run ends as Cancelled"
        ),
        (
            "pause",
            "Pause a run's running job at the provider. The run waits, and its deadline clock stops, until 'finetune resume'.",
            "The run pauses its job at the provider; its deadline clock stops while it is paused"
        ),
        ("resume", "Resume a run's paused job.", "The run resumes its job at the provider"),
    ];

    public static IEnumerable<Command> Create(TextWriter stdout, TextWriter stderr) =>
        Controls.Select(c => Create(c.Name, c.Help, c.Done, stdout, stderr));

    private static Command Create(string control, string help, string done, TextWriter stdout, TextWriter stderr)
    {
        var id = new Argument<string>("ID") { Description = "The run id (from finetune runs)." };
        var data = new Option<DirectoryInfo>("--data")
        {
            Description = "Data directory (as given to finetune run or serve).",
            DefaultValueFactory = _ => new DirectoryInfo(".finetuning"),
        };
        var command = new Command(
            control,
            help
                + " Works while 'finetune run' or 'finetune serve' follows the run in another terminal, and while nothing runs (then when "
                + "one next starts)."
        )
        {
            id,
            data,
        };
        command.SetAction(
            async (result, ct) =>
            {
                string root = result.GetValue(data)!.FullName;
                string runId = result.GetValue(id)!;
                if (!File.Exists(Path.Combine(root, "durable.db")))
                {
                    await stderr.WriteLineAsync($"error: no runs in {root} (no durable.db); pass the --data the run was started with");
                    return FinetuneCli.ExitUsage;
                }

                if (!CliErrors.DatabasesSound(root, stderr))
                {
                    return FinetuneCli.ExitUsage;
                }

                ApiProblem? problem = await LocalRunHost
                    .RequestControlAsync(
                        LocalRunHost.OpenHistory(root),
                        new SqliteTables(Path.Combine(root, "finetuning.db")),
                        runId,
                        control,
                        TimeProvider.System,
                        ct
                    )
                    .ConfigureAwait(false);
                if (problem is not null)
                {
                    await stderr.WriteLineAsync(
                        $"error: {problem.Detail}{(problem.Status == 404 ? " 'finetune runs' lists the runs." : "")}"
                    );
                    return FinetuneCli.ExitUsage;
                }

                await stdout.WriteLineAsync(
                    $"{char.ToUpperInvariant(control[0])}{control[1..]} requested for {runId}. {done}; 'finetune status {runId}' shows "
                        + "when."
                );
                return FinetuneCli.ExitOk;
            }
        );
        return command;
    }
}
