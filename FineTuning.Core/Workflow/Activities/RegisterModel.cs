namespace FineTuning.Core.Workflow.Activities;

/// <summary>Registers the model with its lineage (upsert).</summary>
public sealed class RegisterModel(IModelRegistry registry) : IWorkflowActivity<ModelRow, bool>
{
    public async Task<bool> RunAsync(ModelRow row, CancellationToken cancellationToken = default)
    {
        await registry.UpsertAsync(row, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
