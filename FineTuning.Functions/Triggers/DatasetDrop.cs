using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FineTuning.Functions.Triggers;

/// <summary>
/// A <c>.jsonl</c> landing in the <c>datasets</c> container starts a run, with the options of a sidecar
/// <c>{name}.run.json</c> when there is one. The run id comes from the blob's name, ETag and options, so a
/// re-delivered event starts nothing new.
/// </summary>
public sealed partial class DatasetDrop(IBlobStore blobs, ILogger<DatasetDrop> logger)
{
    [Function(nameof(DatasetDrop))]
    public async Task RunAsync(
        [BlobTrigger("datasets/{name}", Source = BlobTriggerSource.EventGrid, Connection = "DatasetStorage")] Stream blob,
        string name,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        if (!name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        string datasetBlob = $"datasets/{name}";
        RunRequest request = new() { DatasetBlob = datasetBlob };
        string sidecar = $"datasets/{name}.run.json";
        if (await blobs.GetPropertiesAsync(sidecar, cancellationToken) is not null)
        {
            await using Stream options = await blobs.OpenReadAsync(sidecar, cancellationToken);
            request = (await JsonSerializer.DeserializeAsync<RunRequest>(options, ReportSerializer.Options, cancellationToken) ?? request) with { DatasetBlob = datasetBlob };
        }

        if (request.Problems() is { Count: > 0 } problems)
        {
            LogInvalidOptions(datasetBlob, string.Join("; ", problems.Select(p => $"{p.Key}: {string.Join(", ", p.Value)}")));
            return;
        }

        if (await FineTuningOrchestrator.RunIdForAsync(blobs, request, cancellationToken) is { } runId && await client.GetInstanceAsync(runId, cancellationToken) is null)
        {
            await client.ScheduleNewOrchestrationInstanceAsync(nameof(FineTuningOrchestrator), request, new StartOrchestrationOptions(InstanceId: runId), cancellationToken);
            LogStarted(runId, datasetBlob);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started run {RunId} for {DatasetBlob}")]
    private partial void LogStarted(string runId, string datasetBlob);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not starting a run for {DatasetBlob}: its options are invalid ({Problems})")]
    private partial void LogInvalidOptions(string datasetBlob, string problems);
}
