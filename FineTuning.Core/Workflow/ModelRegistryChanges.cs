using FineTuning.Core.Api;
using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow;

/// <summary>A change of a registered model's stage, as the workflow and the registry's actions ask for it.</summary>
public sealed record ModelStageInput(string ModelId, string Stage, DateTime At, string By, string? Why)
{
    /// <summary>The deployment that serves the model once it is in production (Azure OpenAI); null elsewhere.</summary>
    public string? Deployment { get; init; }
}

/// <summary>
/// The registry's rules, the same for the workflow and both hosts' actions: versions count up per name, one model per
/// name is in production (promoting another archives it), and a stage changes only along <c>candidate</c> →
/// <c>production</c> ⇄ <c>archived</c>, or <c>candidate</c> → <c>rejected</c> (→ <c>archived</c>); every change is kept
/// with who made it and why.
/// </summary>
public static class ModelRegistryChanges
{
    /// <summary>
    /// Registers <paramref name="model"/> under the next version of its name; registering it again (a retried activity)
    /// keeps the version and stage history it already has.
    /// </summary>
    public static async Task<ModelRow> RegisterAsync(IModelRegistry registry, ModelRow model, CancellationToken cancellationToken = default)
    {
        ModelRow? existing = await registry.GetAsync(model.ModelId, cancellationToken).ConfigureAwait(false);
        if (existing is not null && existing.RunId == model.RunId)
        {
            model = model with { Version = existing.Version, StageHistory = existing.StageHistory, Stage = existing.Stage };
        }
        else
        {
            IReadOnlyList<ModelRow> all = await registry.ListAsync(cancellationToken).ConfigureAwait(false);
            int latest = all.Where(m => m.Name == model.Name && m.ModelId != model.ModelId).Select(m => m.Version).DefaultIfEmpty(0).Max();
            model = model with { Version = latest + 1 };
        }

        await registry.UpsertAsync(model, cancellationToken).ConfigureAwait(false);
        return model;
    }

    /// <summary>
    /// Moves a model to <see cref="ModelStageInput.Stage"/> (a no-op when it is there); a 404 or 409 problem when it
    /// cannot.
    /// </summary>
    public static async Task<(ModelRow? Model, ApiProblem? Problem, IReadOnlyList<string> RetiredDeployments)> ChangeStageAsync(
        IModelRegistry registry,
        ModelStageInput change,
        CancellationToken cancellationToken = default
    )
    {
        if (await registry.GetAsync(change.ModelId, cancellationToken).ConfigureAwait(false) is not { } model)
        {
            return (null, ApiProblem.NotFound($"No model '{change.ModelId}'."), []);
        }

        if (model.Stage == change.Stage)
        {
            return (model, null, []);
        }

        if (!Allowed(model.Stage, change.Stage))
        {
            string hint =
                model.Stage == ModelStages.Rejected
                    ? " A rejected model is never promoted: improve the data and run again."
                    : $" From {model.Stage} it can become: {string.Join(", ", ModelStages.All.Where(s => Allowed(model.Stage, s)))}.";
            return (null, ApiProblem.Conflict($"Model '{model.ModelId}' is {model.Stage}; it cannot become {change.Stage}.{hint}"), []);
        }

        var retired = new List<string>();
        if (change.Stage == ModelStages.Production)
        {
            foreach (
                ModelRow live in (await registry.ListAsync(cancellationToken).ConfigureAwait(false)).Where(m =>
                    m.Name == model.Name && m.Stage == ModelStages.Production && m.ModelId != model.ModelId
                )
            )
            {
                var archived = new StageChange(
                    ModelStages.Archived,
                    change.At,
                    change.By,
                    $"replaced in production by version {model.Version} ({model.ModelId})"
                );
                await registry
                    .UpsertAsync(
                        live with
                        {
                            Stage = ModelStages.Archived,
                            StageHistory = [.. live.StageHistory, archived],
                            Deployment = null,
                        },
                        cancellationToken
                    )
                    .ConfigureAwait(false);
                if (live.Deployment is { } deployment && deployment != change.Deployment)
                    retired.Add(deployment);
            }
        }

        // An archived model serves nothing: its deployment, if it has one, goes too.
        if (change.Stage == ModelStages.Archived && model.Deployment is { } own)
            retired.Add(own);
        ModelRow changed = model with
        {
            Stage = change.Stage,
            StageHistory = [.. model.StageHistory, new StageChange(change.Stage, change.At, change.By, change.Why)],
            Deployment =
                change.Stage == ModelStages.Production ? change.Deployment ?? model.Deployment
                : change.Stage == ModelStages.Archived ? null
                : model.Deployment,
        };
        await registry.UpsertAsync(changed, cancellationToken).ConfigureAwait(false);
        return (changed, null, retired);
    }

    /// <summary>
    /// A change of stage a person asks for (<c>POST /api/models/{id}/promote|archive</c>, <c>finetune promote|archive</c>),
    /// on a host that deploys models when <paramref name="deployments"/> is given (Azure OpenAI): there a model is
    /// production only with a live deployment, so promoting one that has none is not done here but answered with the
    /// <see cref="PromotionRequest"/> the host starts (<see cref="ModelPromotion"/>: deploy, then promote); the
    /// deployments a change retires (the production model it replaces, or an archived model's own) are removed at once.
    /// </summary>
    public static async Task<(ModelRow? Model, ApiProblem? Problem, PromotionRequest? ToDeploy)> ChangeStageOnRequestAsync(
        IModelRegistry registry,
        IModelDeployments? deployments,
        ModelStageInput change,
        TimeSpan pollInterval,
        CancellationToken cancellationToken = default
    )
    {
        if (
            deployments is not null
            && change.Stage == ModelStages.Production
            && await registry.GetAsync(change.ModelId, cancellationToken).ConfigureAwait(false) is { Deployment: null } undeployed
            && Allowed(undeployed.Stage, ModelStages.Production)
        )
        {
            return (
                undeployed,
                null,
                new PromotionRequest(
                    undeployed.ModelId,
                    FineTuningOrchestrator.DeploymentName(undeployed.Name, undeployed.RunId),
                    new Decision(change.By, change.Why),
                    pollInterval
                )
            );
        }

        (ModelRow? model, ApiProblem? problem, IReadOnlyList<string> retired) = await ChangeStageAsync(registry, change, cancellationToken)
            .ConfigureAwait(false);
        foreach (string deployment in problem is null && deployments is not null ? retired : [])
        {
            await deployments!.DeleteAsync(deployment, cancellationToken).ConfigureAwait(false);
        }

        return (model, problem, null);
    }

    private static bool Allowed(string from, string to) =>
        (from, to) switch
        {
            (ModelStages.Candidate, ModelStages.Production or ModelStages.Archived or ModelStages.Rejected) => true,
            (ModelStages.Production, ModelStages.Archived) => true,
            (ModelStages.Archived, ModelStages.Production) => true,
            (ModelStages.Rejected, ModelStages.Archived) => true,
            _ => false,
        };
}
