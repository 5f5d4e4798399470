using System.CommandLine;
using FineTuning.Core.Api;
using FineTuning.Core.Workflow;
using FineTuning.Local.Storage;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune promote|archive MODEL</c>: the registry's actions, with who and why kept in the model's stage history.</summary>
internal static class ModelCommands
{
    public static IEnumerable<Command> Create(TextWriter stdout, TextWriter stderr) =>
        RunApi.ModelActions.Select(a => Create(a.Key, a.Value, stdout, stderr));

    private static Command Create(string action, string stage, TextWriter stdout, TextWriter stderr)
    {
        var id = new Argument<string>("MODEL") { Description = "The model id (from finetune models)." };
        var data = new Option<DirectoryInfo>("--data")
        {
            Description = "Data directory (as given to finetune run or serve).",
            DefaultValueFactory = _ => new DirectoryInfo(".finetuning"),
        };
        var by = new Option<string?>("--by") { Description = "Who decides (default: your user name)." };
        var why = new Option<string?>("--why") { Description = "Why: kept in the model's stage history." };
        var command = new Command(
            action,
            action == "promote"
                ? "Make a model the production model of its name (a candidate, or an archived one rolled back to); the production model "
                    + "before it is archived. A rejected model is never promoted."
                : "Archive a model: it leaves production (its name then has none) or is set aside as a candidate."
        )
        {
            id,
            data,
            by,
            why,
        };
        command.SetAction(
            async (result, ct) =>
            {
                if (TableCommands.Open(result.GetValue(data)!, stderr) is not { } tables)
                    return FinetuneCli.ExitUsage;
                (ModelRow? model, ApiProblem? problem, _) = await ModelRegistryChanges.ChangeStageAsync(
                    tables,
                    new ModelStageInput(
                        result.GetValue(id)!,
                        stage,
                        DateTime.UtcNow,
                        result.GetValue(by) ?? Environment.UserName,
                        result.GetValue(why)
                    ),
                    ct
                );
                if (model is null)
                {
                    await stderr.WriteLineAsync(
                        $"error: {problem!.Detail}{(problem.Status == 404 ? " 'finetune models' lists them." : "")}"
                    );
                    return problem.Status == 404 ? FinetuneCli.ExitUsage : FinetuneCli.ExitNotFit;
                }

                await stdout.WriteLineAsync($"{model.ModelId} is {model.Stage} ({model.Name} version {model.Version}).");
                return FinetuneCli.ExitOk;
            }
        );
        return command;
    }
}
