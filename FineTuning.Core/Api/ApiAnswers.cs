using FineTuning.Core.Datasets;
using FineTuning.Core.Estimation;
using FineTuning.Core.Workflow;

namespace FineTuning.Core.Api;

/// <summary>The answer of both hosts' APIs to a cancel request.</summary>
public sealed record CancelRequested(string Id, string Cancel = "requested");

/// <summary>The answer of both hosts' APIs to a pause or resume request (202: the run passes it to the provider).</summary>
public sealed record ControlRequested(string Id, string Control, string Status = "requested");

/// <summary>
/// The answer to a promote that deploys first (202, Azure OpenAI): the model, the promotion's instance, the deployment
/// it creates, and where to see the model become production.
/// </summary>
public sealed record PromotionStarted(string ModelId, string Promotion, string Deployment, string StatusQueryGetUri)
{
    /// <summary>The answer for a host at <paramref name="authority"/> (<c>scheme://host:port</c>): the model's own URL to follow.</summary>
    public static PromotionStarted At(string authority, string modelId, string promotion, string deployment) =>
        new(modelId, promotion, deployment, $"{authority}/api/models/{Uri.EscapeDataString(modelId)}");
}

/// <summary>An estimate with the validation it was made from (both hosts' APIs, and <c>finetune estimate --json</c>).</summary>
public sealed record EstimateAnswer(CostEstimate Estimate, DatasetReport Validation);

/// <summary>
/// <c>GET /api/runs/{id}</c> on both hosts: the run's row (null for a moment after it starts), whether its orchestration
/// is in progress, its latest progress (the job monitor's while the job runs: step, metric, estimated finish), and the
/// reports that exist for it.
/// </summary>
public sealed record RunDetail(RunRow? Run, bool Running, RunProgress? Progress, IReadOnlyList<string> Reports);

/// <summary>
/// <c>POST /api/runs</c> on both hosts (202): the run id and where to follow it, in the shape of Durable Functions'
/// check-status payload (on Azure the links are the Durable webhooks; locally the API's own routes).
/// </summary>
public sealed record CheckStatus(
    string Id,
    string StatusQueryGetUri,
    string SendEventPostUri,
    string TerminatePostUri,
    string? ValidationReportGetUri = null
);
