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
}
