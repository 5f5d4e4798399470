using FineTuning.Core.Providers;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Uploads a split file to the provider.</summary>
public sealed class UploadFile(IBlobStore blobs, IFineTuningProvider provider) : IWorkflowActivity<string, ProviderFile>
{
    public async Task<ProviderFile> RunAsync(string blobName, CancellationToken cancellationToken = default)
    {
        await using Stream content = await blobs.OpenReadAsync(blobName, cancellationToken).ConfigureAwait(false);
        return await provider.UploadFileAsync(Path.GetFileName(blobName), content, cancellationToken).ConfigureAwait(false);
    }
}
