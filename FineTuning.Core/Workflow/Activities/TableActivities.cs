namespace FineTuning.Core.Workflow.Activities;

/// <summary>Writes the run's row (upsert).</summary>
public sealed class UpdateRun(IRunStore runs)
{
    public async Task<bool> RunAsync(RunRow row, CancellationToken cancellationToken = default)
    {
        await runs.UpsertAsync(row, cancellationToken).ConfigureAwait(false);
        return true;
    }
}

/// <summary>Registers the model with its lineage (upsert).</summary>
public sealed class RegisterModel(IModelRegistry registry)
{
    public async Task<bool> RunAsync(ModelRow row, CancellationToken cancellationToken = default)
    {
        await registry.UpsertAsync(row, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
