namespace FineTuning.Core.Workflow.Activities;

/// <summary>Moves a registered model to another stage with who and why (see <see cref="ModelRegistryChanges"/>).</summary>
public sealed class ChangeModelStage(IModelRegistry registry) : IWorkflowActivity<ModelStageInput, StageChanged>
{
    public async Task<StageChanged> RunAsync(ModelStageInput input, CancellationToken cancellationToken = default)
    {
        (ModelRow? model, Api.ApiProblem? problem, IReadOnlyList<string> retired) = await ModelRegistryChanges
            .ChangeStageAsync(registry, input, cancellationToken)
            .ConfigureAwait(false);
        return model is null ? throw new InvalidOperationException(problem!.Detail) : new StageChanged(model.Stage, retired);
    }
}

/// <summary>The model's stage now, and the deployments of the models it replaced in production (to remove once it is live).</summary>
public sealed record StageChanged(string Stage, IReadOnlyList<string> RetiredDeployments);
