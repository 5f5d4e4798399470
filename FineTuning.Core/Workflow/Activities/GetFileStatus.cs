using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Reads a provider file's status (uploaded, processed, error).</summary>
public sealed class GetFileStatus(IFineTuningProvider provider) : IWorkflowActivity<string, ProviderFile>
{
    public async Task<ProviderFile> RunAsync(string fileId, CancellationToken cancellationToken = default) =>
        await provider.GetFileAsync(fileId, cancellationToken).ConfigureAwait(false);
}
