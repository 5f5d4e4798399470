namespace FineTuning.Core.Workflow.Activities;

/// <summary>Registers the model with its lineage under the next version of its name (see <see cref="ModelRegistryChanges"/>).</summary>
public sealed class RegisterModel(IModelRegistry registry) : IWorkflowActivity<ModelRow, bool>
{
    public async Task<bool> RunAsync(ModelRow row, CancellationToken cancellationToken = default)
    {
        await ModelRegistryChanges.RegisterAsync(registry, row, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
