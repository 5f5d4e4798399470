using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow;

/// <summary>What both HTTP hosts (Azure Functions and <c>finetune serve</c>) do the same way behind their routes.</summary>
public static class RunApi
{
    /// <summary>The blob of a run's report (<c>validation</c> or <c>results</c>), or null for a name that is not a report.</summary>
    public static string? ReportBlob(string runId, string name)
    {
        string blob = $"runs/{runId}/reports/{name}.json";
        return name is "validation" or "results" && BlobNames.Problem(blob) is null ? blob : null;
    }

    /// <summary>Validates a dataset sent in a request body (<c>POST /api/validate</c>, <c>/api/estimate</c>).</summary>
    public static DatasetReport DryRun(Stream body, string? method, string? model, ModelCatalog catalog, CancellationToken cancellationToken = default)
    {
        var options = new ValidationOptions
        {
            Method = FineTuningMethods.TryParse(method, out FineTuningMethod m) ? m : FineTuningMethod.Auto,
            Model = model,
            Catalog = catalog,
        };
        var validator = new DatasetValidator(options);
        return validator.Finish([validator.ValidateShard(body, cancellationToken: cancellationToken)], "request body");
    }

    /// <summary>The sidecars that may hold a dropped dataset's run options, preferred first: <c>support.run.json</c>, <c>support.jsonl.run.json</c>.</summary>
    public static IReadOnlyList<string> SidecarBlobs(string datasetBlob) =>
        datasetBlob.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            ? [datasetBlob[..^".jsonl".Length] + ".run.json", datasetBlob + ".run.json"]
            : [datasetBlob + ".run.json"];

    /// <summary>
    /// The run request for a dataset dropped into the <c>datasets</c> container or folder: defaults, or the options of
    /// its sidecar. A sidecar that is not valid JSON, or asks for something wrong, gives its problems by field (with
    /// the line of a JSON error) and no request.
    /// </summary>
    public static async Task<(RunRequest? Request, IReadOnlyDictionary<string, string[]> Problems)> DropRequestAsync(IBlobStore blobs, string datasetBlob, CancellationToken cancellationToken = default)
    {
        RunRequest request = new() { DatasetBlob = datasetBlob };
        foreach (string sidecar in SidecarBlobs(datasetBlob))
        {
            if (await blobs.GetPropertiesAsync(sidecar, cancellationToken).ConfigureAwait(false) is null)
            {
                continue;
            }

            try
            {
                await using Stream options = await blobs.OpenReadAsync(sidecar, cancellationToken).ConfigureAwait(false);
                request = (await System.Text.Json.JsonSerializer.DeserializeAsync(options, ReportSerializer.TypeInfo<RunRequest>(), cancellationToken).ConfigureAwait(false) ?? request) with { DatasetBlob = datasetBlob };
            }
            catch (System.Text.Json.JsonException ex)
            {
                string where = ex.LineNumber is long line ? $"line {line + 1}{(ex.Path is { Length: > 1 } path ? $", {path}" : "")}: " : "";
                return (null, new Dictionary<string, string[]> { [sidecar] = [$"{where}{ex.Message.Split(" Path:")[0]} Fix the options file; see the run options in the README."] });
            }

            break;
        }

        IReadOnlyDictionary<string, string[]> problems = request.Problems();
        return (problems.Count > 0 ? null : request, problems);
    }

    /// <summary>
    /// Where a host stands with the run of one attempt: it does not exist yet, is in progress,
    /// registered a model, or ended otherwise (failed or cancelled).
    /// </summary>
    public enum AttemptState
    {
        Absent,
        InProgress,
        Succeeded,
        Ended,
    }

    /// <summary>
    /// The run a request is: the same input is the same run, so one in progress is followed and one that registered a
    /// model is not repeated; after one that failed or was cancelled, the next attempt (a new run id, so a job of its
    /// own) is the run. Returns null when the dataset blob does not exist; <c>Start</c> says the host must schedule it.
    /// </summary>
    public static async Task<(string RunId, RunRequest Request, bool Start)?> ChooseAttemptAsync(IBlobStore blobs, RunRequest request,
        Func<string, CancellationToken, Task<AttemptState>> stateOf, CancellationToken cancellationToken = default)
    {
        for (int attempt = request.Attempt; ; attempt++)
        {
            RunRequest candidate = request with { Attempt = attempt };
            if (await FineTuningOrchestrator.RunIdForAsync(blobs, candidate, cancellationToken).ConfigureAwait(false) is not { } runId)
            {
                return null;
            }

            switch (await stateOf(runId, cancellationToken).ConfigureAwait(false))
            {
                case AttemptState.Absent:
                    return (runId, candidate, true);
                case AttemptState.InProgress or AttemptState.Succeeded:
                    return (runId, candidate, false);
            }
        }
    }
}
