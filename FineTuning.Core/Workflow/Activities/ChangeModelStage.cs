namespace FineTuning.Core.Workflow.Activities;

/// <summary>Moves a registered model to another stage with who and why (see <see cref="ModelRegistryChanges"/>).</summary>
public sealed class ChangeModelStage(IModelRegistry registry) : IWorkflowActivity<ModelStageInput, string>
{
    public async Task<string> RunAsync(ModelStageInput input, CancellationToken cancellationToken = default)
    {
        (ModelRow? model, Api.ApiProblem? problem) = await ModelRegistryChanges
            .ChangeStageAsync(registry, input, cancellationToken)
            .ConfigureAwait(false);
        return model?.Stage ?? throw new InvalidOperationException(problem!.Detail);
    }
}
