using System.CommandLine;
using FineTuning.Core.Api;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using Microsoft.Extensions.Configuration;

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
                    + "before it is archived. A rejected model is never promoted. With an Azure OpenAI account configured "
                    + "(FineTuning__Deployments__AccountResourceId) the model is deployed first, and this waits until the "
                    + "deployment is live."
                : "Archive a model: it leaves production (its name then has none) or is set aside as a candidate. With an Azure OpenAI "
                    + "account configured, its deployment is removed."
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
                DirectoryInfo root = result.GetValue(data)!;
                if (TableCommands.Open(root, stderr) is not { } tables)
                    return FinetuneCli.ExitUsage;
                var change = new ModelStageInput(
                    result.GetValue(id)!,
                    stage,
                    DateTime.UtcNow,
                    result.GetValue(by) ?? Environment.UserName,
                    result.GetValue(why)
                );
                IConfiguration configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
                if (LocalComposition.Settings(configuration).Deployments.AccountResourceId is null)
                {
                    // Nothing to deploy: a change of stage in the registry, which works while another process serves it.
                    (ModelRow? model, ApiProblem? problem, _) = await ModelRegistryChanges.ChangeStageAsync(tables, change, ct);
                    return await ReportAsync(model, problem, stdout, stderr);
                }

                return await OnTheAccountAsync(root.FullName, configuration, change, stdout, stderr, ct);
            }
        );
        return command;
    }

    /// <summary>
    /// On a host that deploys to an Azure OpenAI account: a promote deploys the model first (following the deployment
    /// until it is live, as the API's 202 does in the background), an archive removes its deployment. Needs the data
    /// directory to itself: while 'finetune serve' has it, its API and dashboard do this.
    /// </summary>
    private static async Task<int> OnTheAccountAsync(
        string root,
        IConfiguration configuration,
        ModelStageInput change,
        TextWriter stdout,
        TextWriter stderr,
        CancellationToken cancellationToken
    )
    {
        LocalRunHost host;
        try
        {
            host = await LocalRunHost.StartAsync(root, configuration, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            string action = change.Stage == ModelStages.Production ? "promote" : "archive";
            await stderr.WriteLineAsync(
                $"error: {ex.Message} A model on an Azure OpenAI account is deployed by the process that serves the data directory: "
                    + $"POST /api/models/{Uri.EscapeDataString(change.ModelId)}/{action} to it, or use its dashboard."
            );
            return FinetuneCli.ExitUsage;
        }

        await using (host.ConfigureAwait(false))
        {
            (ModelRow? model, ApiProblem? problem, PromotionRequest? deploy, string? promotion) = await host.ChangeModelStageAsync(
                    change,
                    cancellationToken
                )
                .ConfigureAwait(false);
            if (deploy is null)
                return await ReportAsync(model, problem, stdout, stderr).ConfigureAwait(false);

            await stdout.WriteLineAsync(
                $"Deploying {deploy.ModelId} as {deploy.DeploymentName}; it becomes production once the deployment is live "
                    + "(interrupted, the promotion goes on when finetune next starts on this data directory)."
            );
            PromotionOutcome outcome;
            try
            {
                outcome = await host.PromotionOutcomeAsync(promotion!, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return FinetuneCli.ExitInterrupted;
            }

            if (!outcome.Promoted)
            {
                await stderr.WriteLineAsync($"error: {outcome.Error}");
                return FinetuneCli.ExitNotFit;
            }

            ModelRow promoted = (await ((IModelRegistry)host.Tables).GetAsync(deploy.ModelId, cancellationToken).ConfigureAwait(false))!;
            await stdout.WriteLineAsync(
                $"{promoted.ModelId} is {promoted.Stage} ({promoted.Name} version {promoted.Version}), deployed as {outcome.Deployment}."
            );
            return FinetuneCli.ExitOk;
        }
    }

    private static async Task<int> ReportAsync(ModelRow? model, ApiProblem? problem, TextWriter stdout, TextWriter stderr)
    {
        if (model is null)
        {
            await stderr.WriteLineAsync($"error: {problem!.Detail}{(problem.Status == 404 ? " 'finetune models' lists them." : "")}");
            return problem.Status == 404 ? FinetuneCli.ExitUsage : FinetuneCli.ExitNotFit;
        }

        await stdout.WriteLineAsync(
            $"{model.ModelId} is {model.Stage} ({model.Name} version {model.Version})"
                + $"{(model.Deployment is { } d && model.Stage == ModelStages.Production ? $", deployed as {d}" : "")}."
        );
        return FinetuneCli.ExitOk;
    }
}
