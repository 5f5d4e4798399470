using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;

namespace FineTuning.Core.Api;

/// <summary>What both HTTP hosts (Azure Functions and <c>finetune serve</c>) do the same way behind their routes.</summary>
public static class RunApi
{
    /// <summary>
    /// The blob of a run's report (<c>validation</c>, <c>split</c>, <c>results</c>, <c>evaluation</c>), or null for a name
    /// that is not a report.
    /// </summary>
    public static string? ReportBlob(string runId, string name)
    {
        string blob = name == "split" ? $"runs/{runId}/split/split-report.json" : $"runs/{runId}/reports/{name}.json";
        return ReportNames.Contains(name) && BlobNames.Problem(blob) is null ? blob : null;
    }

    /// <summary>The names of the reports a run can have, in the order the run writes them.</summary>
    public static IReadOnlyList<string> ReportNames { get; } = ["validation", "split", "results", "evaluation"];

    /// <summary>The 404 for a report a run does not have.</summary>
    public static ApiProblem NoReport(string runId, string name) =>
        ApiProblem.NotFound($"No report '{name}' for run '{runId}' (reports: {string.Join(", ", ReportNames)}).");

    /// <summary>
    /// The answer to <c>GET /api/runs/{id}</c>: the row, whether it runs, its progress, and the links of the reports
    /// that exist.
    /// </summary>
    public static async Task<RunDetail> DetailAsync(
        IBlobStore blobs,
        string runId,
        RunRow? row,
        bool running,
        RunProgress? progress,
        CancellationToken cancellationToken = default
    )
    {
        var reports = new List<string>();
        foreach (string name in ReportNames)
        {
            if (
                ReportBlob(runId, name) is { } blob
                && await blobs.GetPropertiesAsync(blob, cancellationToken).ConfigureAwait(false) is not null
            )
            {
                reports.Add($"/api/runs/{runId}/reports/{name}");
            }
        }

        return new RunDetail(row, running, progress, reports);
    }

    /// <summary>
    /// The options of a dry run (<c>POST /api/validate</c>, <c>/api/estimate</c>) from its query string; with
    /// <paramref name="NearDuplicates"/> the opt-in fuzzy check (<c>--near-duplicates</c>) runs too.
    /// </summary>
    public sealed record DryRunOptions(string? Method, string? Model, int? Epochs, bool PiiCheck = true, bool NearDuplicates = false);

    /// <summary>
    /// Reads a dry run's query options (method, model, and epochs for an estimate); an unknown option or a bad value is a
    /// problem naming it, as the CLI refuses them (exit 2), rather than silently ignored.
    /// </summary>
    public static (DryRunOptions? Options, IReadOnlyDictionary<string, string[]> Problems) ReadDryRunOptions(
        IEnumerable<KeyValuePair<string, string?>> query,
        bool estimate
    )
    {
        var problems = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string? method = null,
            model = null;
        int? epochs = null;
        bool piiCheck = true,
            nearDuplicates = false;
        foreach ((string key, string? value) in query)
        {
            switch (key)
            {
                case "method" when FineTuningMethods.TryParse(value, out _):
                    method = value;
                    break;
                case "method":
                    problems[key] = [$"\"{value}\" is not a method (auto, supervised, dpo, reinforcement)"];
                    break;
                case "model":
                    model = value;
                    break;
                case "code":
                    break; // the API key, as Azure Functions takes a function key

                case "piiCheck" when bool.TryParse(value, out bool check):
                    piiCheck = check;
                    break;
                case "piiCheck":
                    problems[key] = [$"\"{value}\" is not true or false"];
                    break;
                case "nearDuplicates" when bool.TryParse(value, out bool fuzzy):
                    nearDuplicates = fuzzy;
                    break;
                case "nearDuplicates":
                    problems[key] = [$"\"{value}\" is not true or false"];
                    break;

                case "epochs"
                    when estimate
                        && int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out int n)
                        && n is >= 1 and <= 50:
                    epochs = n;
                    break;
                case "epochs" when estimate:
                    problems[key] = [$"\"{value}\" is not a number of epochs from 1 to 50"];
                    break;
                default:
                    problems[key] =
                    [
                        $"is not an option here (options: method, model{(estimate ? ", epochs" : "")}, piiCheck, nearDuplicates)",
                    ];
                    break;
            }
        }

        return (problems.Count == 0 ? new DryRunOptions(method, model, epochs, piiCheck, nearDuplicates) : null, problems);
    }

    /// <summary>Validates a dataset sent in a request body (<c>POST /api/validate</c>, <c>/api/estimate</c>).</summary>
    public static DatasetReport DryRun(
        Stream body,
        DryRunOptions dryRun,
        ModelCatalog catalog,
        CancellationToken cancellationToken = default
    )
    {
        var options = new ValidationOptions
        {
            Method = FineTuningMethods.TryParse(dryRun.Method, out FineTuningMethod m) ? m : FineTuningMethod.Auto,
            Model = dryRun.Model,
            Catalog = catalog,
            CheckSensitiveData = dryRun.PiiCheck,
            FuzzyNearDuplicates = dryRun.NearDuplicates,
        };
        var validator = new DatasetValidator(options);
        return validator.Finish([validator.ValidateShard(body, cancellationToken: cancellationToken)], "request body");
    }

    /// <summary>The run controls both hosts accept (<c>POST /api/runs/{id}/{control}</c>) and the event each raises.</summary>
    public static IReadOnlyDictionary<string, string> Controls { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["cancel"] = FineTuningOrchestrator.CancelEvent,
            ["pause"] = FineTuningOrchestrator.PauseEvent,
            ["resume"] = FineTuningOrchestrator.ResumeEvent,
            ["approve"] = FineTuningOrchestrator.ApproveEvent,
            ["reject"] = FineTuningOrchestrator.RejectEvent,
        };

    /// <summary>Whether <paramref name="control"/> carries a <see cref="Decision"/> (who and why) rather than nothing.</summary>
    public static bool IsDecision(string control) => control is "approve" or "reject";

    /// <summary>
    /// The decision in a request body (<c>{"by": "...", "why": "..."}</c>, or nothing): a body that is not such JSON, or a
    /// field over 500 characters, is a problem by field.
    /// </summary>
    public static async Task<(Decision? Decision, ApiProblem? Problem)> ReadDecisionAsync(
        Stream body,
        string fallbackBy,
        CancellationToken cancellationToken = default
    )
    {
        // At most 16 KiB: a longer body is cut, and so is not JSON (a 400 names the body).
        using var reader = new StreamReader(body);
        char[] buffer = new char[16_384];
        int read = await reader.ReadBlockAsync(buffer, cancellationToken).ConfigureAwait(false);
        (Decision? decision, IReadOnlyDictionary<string, string[]> problems) = ReadDecision(new string(buffer, 0, read), fallbackBy);
        return (decision, decision is null ? ApiProblem.Validation(problems) : null);
    }

    /// <summary>The decision in a body's text (see <see cref="ReadDecisionAsync"/>).</summary>
    public static (Decision? Decision, IReadOnlyDictionary<string, string[]> Problems) ReadDecision(string? body, string fallbackBy)
    {
        Decision decision;
        try
        {
            decision = string.IsNullOrWhiteSpace(body) ? new Decision() : ReportSerializer.Deserialize<Decision>(body) ?? new Decision();
        }
        catch (System.Text.Json.JsonException ex)
        {
            return (
                null,
                new Dictionary<string, string[]> { ["body"] = [$"is not a decision ({{\"by\": \"...\", \"why\": \"...\"}}): {ex.Message}"] }
            );
        }

        var problems = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (decision.By is { Length: > 200 })
            problems["by"] = ["must be at most 200 characters"];
        if (decision.Why is { Length: > 2000 })
            problems["why"] = ["must be at most 2,000 characters"];
        return problems.Count > 0
            ? (null, problems)
            : (decision with { By = string.IsNullOrWhiteSpace(decision.By) ? fallbackBy : decision.By }, problems);
    }

    /// <summary>The registry's actions (<c>POST /api/models/{id}/{action}</c>) and the stage each moves a model to.</summary>
    public static IReadOnlyDictionary<string, string> ModelActions { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["promote"] = ModelStages.Production, ["archive"] = ModelStages.Archived };

    /// <summary>
    /// Why <paramref name="control"/> (cancel, pause or resume) cannot apply to a run whose row is <paramref name="row"/>
    /// (null: none yet), or null when it can: a run that ended takes none; a pause needs a running job, a resume a paused one.
    /// </summary>
    public static ApiProblem? ControlProblem(string runId, RunRow? row, bool inProgress, string control)
    {
        if (row is { FinishedAt: not null } || (row is not null && !inProgress && RunStatuses.IsFinal(row.Status)))
        {
            return ApiProblem.Conflict(
                $"Run '{runId}' has already ended ({row.Status}{(row.Error is { } e ? $": {e}" : "")}); there is nothing to {control}."
            );
        }

        if (row is null && !inProgress)
        {
            return ApiProblem.NotFound($"No run '{runId}'.");
        }

        string job = row?.JobId is null ? "no job has been submitted yet" : $"its job {row.JobId} is {row.JobStatus}";
        return control switch
        {
            "pause" when row?.JobStatus != Providers.JobStatuses.Running => ApiProblem.Conflict(
                $"Run '{runId}' cannot be paused now: {job}. Only a running job can be paused."
            ),
            "resume" when row?.JobStatus != Providers.JobStatuses.Paused => ApiProblem.Conflict(
                $"Run '{runId}' cannot be resumed: {job}. Only a paused job can be resumed."
            ),
            "approve" or "reject" when row?.Status != RunStatus.AwaitingApproval => ApiProblem.Conflict(
                $"Run '{runId}' is not waiting for approval: it is {row?.Status.ToString() ?? "starting"} "
                    + $"at {row?.Stage ?? "its first stage"}. "
                    + "A run waits for approval after its model passed the evaluation (approval: manual)."
            ),
            _ => null,
        };
    }

    /// <summary>
    /// The sidecars that may hold a dropped dataset's run options, preferred first: <c>support.run.json</c>,
    /// <c>support.jsonl.run.json</c>.
    /// </summary>
    public static IReadOnlyList<string> SidecarBlobs(string datasetBlob) =>
        datasetBlob.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            ? [datasetBlob[..^".jsonl".Length] + ".run.json", datasetBlob + ".run.json"]
            : [datasetBlob + ".run.json"];

    /// <summary>
    /// The run request for a dataset dropped into the <c>datasets</c> container or folder: defaults, or the options of
    /// its sidecar. A sidecar that is not valid JSON, or asks for something wrong, gives its problems by field (with
    /// the line of a JSON error) and no request.
    /// </summary>
    public static async Task<(RunRequest? Request, IReadOnlyDictionary<string, string[]> Problems)> DropRequestAsync(
        IBlobStore blobs,
        string datasetBlob,
        CancellationToken cancellationToken = default
    )
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
                request = (
                    await System
                        .Text.Json.JsonSerializer.DeserializeAsync(options, ReportSerializer.TypeInfo<RunRequest>(), cancellationToken)
                        .ConfigureAwait(false)
                    ?? request
                ) with
                {
                    DatasetBlob = datasetBlob,
                };
            }
            catch (System.Text.Json.JsonException ex)
            {
                string where = ex.LineNumber is long line ? $"line {line + 1}{(ex.Path is { Length: > 1 } path ? $", {path}" : "")}: " : "";
                return (
                    null,
                    new Dictionary<string, string[]>
                    {
                        [sidecar] = [$"{where}{ex.Message.Split(" Path:")[0]} Fix the options file; see the run options in the README."],
                    }
                );
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
    public static async Task<(string RunId, RunRequest Request, bool Start)?> ChooseAttemptAsync(
        IBlobStore blobs,
        RunRequest request,
        Func<string, CancellationToken, Task<AttemptState>> stateOf,
        CancellationToken cancellationToken = default
    )
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
