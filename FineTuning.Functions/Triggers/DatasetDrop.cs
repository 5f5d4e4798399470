using Azure.Storage.Blobs;
using FineTuning.Core.Api;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FineTuning.Functions.Triggers;

/// <summary>
/// A <c>.jsonl</c> landing in the <c>datasets</c> container starts a run, with the options of a sidecar
/// (<c>support.run.json</c> or <c>support.jsonl.run.json</c>) when there is one. The run id comes from the blob's name,
/// ETag and options, so a
/// re-delivered event starts nothing new.
/// </summary>
public sealed class DatasetDrop(IBlobStore blobs, ILogger<DatasetDrop> logger)
{
    [Function(nameof(DatasetDrop))]
    public async Task RunAsync(
        // A client, not a Stream: the dataset is read by the run (pinned to its ETag), never downloaded by the trigger.
        [BlobTrigger("datasets/{name}", Source = BlobTriggerSource.EventGrid, Connection = "DatasetStorage")] BlobClient blob,
        string name,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    )
    {
        if (!name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        string datasetBlob = $"datasets/{name}";
        if (DatasetApi.StartsNoRun(await blobs.GetPropertiesAsync(datasetBlob, cancellationToken)))
        {
            return; // uploaded over the API: its run starts when someone asks for it
        }

        (RunRequest? request, IReadOnlyDictionary<string, string[]> problems) = await RunApi.DropRequestAsync(
            blobs,
            datasetBlob,
            cancellationToken
        );
        if (request is null)
        {
            Logs.DropInvalidOptions(logger, datasetBlob, string.Join("; ", problems.Select(p => $"{p.Key}: {string.Join(", ", p.Value)}")));
            return;
        }

        if (
            await FineTuningOrchestrator.RunIdForAsync(blobs, request, cancellationToken) is { } runId
            && await client.GetInstanceAsync(runId, cancellationToken) is null
        )
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                nameof(FineTuningOrchestrator),
                request,
                new StartOrchestrationOptions(InstanceId: runId),
                cancellationToken
            );
            Logs.DropStarted(logger, runId, datasetBlob);
        }
    }
}
