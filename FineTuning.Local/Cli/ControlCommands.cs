using System.CommandLine;
using FineTuning.Core.Api;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using FineTuning.Local.Runtime;
using FineTuning.Local.Storage;
using Microsoft.Extensions.Configuration;

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
        (
            "approve",
            "Approve the model of a run waiting for approval (its evaluation passed the promotion policy): it is deployed and becomes "
                + "the production model of its name; the one before is archived.",
            "The run deploys and promotes its model"
        ),
        (
            "reject",
            "Reject the model of a run waiting for approval: it is registered as rejected, with your reason, and never deployed.",
            "The run records the rejection"
        ),
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
        var by = new Option<string?>("--by") { Description = "Who decides (default: your user name)." };
        var why = new Option<string?>("--why") { Description = "Why: kept in the model's stage history." };
        bool decides = RunApi.IsDecision(control);
        var command = new Command(
            control,
            help
                + (
                    decides
                        ? " Delivered to 'finetune serve' when it serves the data directory; otherwise this command runs the rest of "
                            + "the run."
                        : " Works while 'finetune run' or 'finetune serve' follows the run in another terminal, and while nothing "
                            + "runs (then when "
                            + "one next starts)."
                )
        )
        {
            id,
            data,
        };
        if (decides)
        {
            command.Options.Add(by);
            command.Options.Add(why);
        }
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
                        decides ? new Decision(result.GetValue(by) ?? Environment.UserName, result.GetValue(why)) : null,
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
                return decides ? await FinishAsync(root, runId, stdout, ct).ConfigureAwait(false) : FinetuneCli.ExitOk;
            }
        );
        return command;
    }

    /// <summary>
    /// After an approval or a rejection: when no other process serves the data directory, runs the rest of the run here
    /// (deploy and promote, or record the rejection) and says how it ended.
    /// </summary>
    private static async Task<int> FinishAsync(string root, string runId, TextWriter stdout, CancellationToken cancellationToken)
    {
        LocalRunHost host;
        try
        {
            host = await LocalRunHost
                .StartAsync(root, new ConfigurationBuilder().AddEnvironmentVariables().Build(), cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        }
        catch (IOException)
        {
            return FinetuneCli.ExitOk; // another process serves the data directory: it delivers the decision
        }

        await using (host.ConfigureAwait(false))
        {
            if (host.Outcome(runId) is not { } running)
                return FinetuneCli.ExitOk;
            RunOutcome? outcome = await RunFollow.WaitAsync(host, runId, running, cancellationToken, toTheEnd: true).ConfigureAwait(false);
            return await RunFollow.ReportAsync(host, runId, outcome, root, stdout, cancellationToken).ConfigureAwait(false);
        }
    }
}
