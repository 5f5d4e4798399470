using System.Net;
using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Estimation;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace FineTuning.Functions.Http;

/// <summary>
/// The HTTP API of DESIGN.md: runs, reports, models, and dry runs; the same request and response types as the local
/// host.
/// </summary>
public sealed class RunsApi(
    IBlobStore blobs,
    IRunStore runs,
    IModelRegistry models,
    ModelCatalog catalog,
    IModelDeployments? deployments = null
)
{
    [Function("StartRun")]
    public async Task<HttpResponseData> StartAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs")] HttpRequestData request,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    )
    {
        RunRequest? run;
        try
        {
            run = await JsonSerializer.DeserializeAsync<RunRequest>(request.Body, ReportSerializer.Options, cancellationToken);
        }
        catch (JsonException ex)
        {
            return await HttpJson.Problem(request, ApiProblem.Validation(new Dictionary<string, string[]> { ["body"] = [ex.Message] }));
        }

        if (run is null || run.Problems() is { Count: > 0 })
        {
            return await HttpJson.Problem(
                request,
                ApiProblem.Validation(run?.Problems() ?? new Dictionary<string, string[]> { ["body"] = ["a RunRequest is required"] })
            );
        }

        if (await RunApi.ChooseAttemptAsync(blobs, run, (id, ct) => RunStates.OfAsync(client, id, ct), cancellationToken) is not { } chosen)
        {
            return await HttpJson.Problem(
                request,
                ApiProblem.Validation(new Dictionary<string, string[]> { ["datasetBlob"] = [$"'{run.DatasetBlob}' does not exist"] })
            );
        }

        if (chosen.Start)
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                nameof(FineTuningOrchestrator),
                chosen.Request,
                new StartOrchestrationOptions(InstanceId: chosen.RunId),
                cancellationToken
            );
        }

        // The check-status links in the API's own JSON (camelCase, as the local host answers), not in whatever naming
        // the worker's serializer has (PascalCase by default in the isolated worker).
        HttpManagementPayload links = client.CreateHttpManagementPayload(chosen.RunId, request);
        string api = $"{request.Url.GetLeftPart(UriPartial.Authority)}/api/runs/{chosen.RunId}";
        HttpResponseData response = await HttpJson.Ok(
            request,
            new CheckStatus(
                chosen.RunId,
                links.StatusQueryGetUri ?? api,
                links.SendEventPostUri ?? $"{api}/cancel",
                links.TerminatePostUri ?? $"{api}/cancel",
                $"{api}/reports/validation"
            ),
            HttpStatusCode.Accepted
        );
        response.Headers.Add("Location", links.StatusQueryGetUri ?? api);
        return response;
    }

    [Function("ListRuns")]
    public async Task<HttpResponseData> ListAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs")] HttpRequestData request,
        CancellationToken cancellationToken
    ) => await HttpJson.Ok(request, await runs.ListAsync(cancellationToken));

    [Function("GetRun")]
    public async Task<HttpResponseData> GetAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}")] HttpRequestData request,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    )
    {
        RunRow? row = await runs.GetAsync(id, cancellationToken);
        OrchestrationMetadata? instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken);
        if (row is null && instance is null)
        {
            return await HttpJson.Problem(request, ApiProblem.NotFound($"No run '{id}'."));
        }

        // While the job runs, its progress (step, loss or reward) is the job monitor's custom status.
        OrchestrationMetadata? monitor = await client.GetInstanceAsync(JobMonitor.InstanceIdFor(id), cancellationToken);
        string? progress = monitor is { RuntimeStatus: OrchestrationRuntimeStatus.Running, SerializedCustomStatus: { } monitoring }
            ? monitoring
            : instance?.SerializedCustomStatus;
        bool running =
            instance is
            {
                RuntimeStatus: OrchestrationRuntimeStatus.Running
                    or OrchestrationRuntimeStatus.Pending
                    or OrchestrationRuntimeStatus.Suspended
            };
        return await HttpJson.Ok(
            request,
            await RunApi.DetailAsync(
                blobs,
                id,
                row,
                running,
                progress is null ? null : ReportSerializer.Deserialize<RunProgress>(progress),
                cancellationToken
            )
        );
    }

    /// <summary><c>POST /api/runs/{id}/cancel</c>, <c>/pause</c>, <c>/resume</c> (<see cref="RunApi.Controls"/>).</summary>
    [Function("ControlRun")]
    public Task<HttpResponseData> ControlAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/{control}")] HttpRequestData request,
        string id,
        string control,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => ControlRunAsync(request, id, control, client, cancellationToken);

    /// <summary>Raises the run's cancel, pause or resume event, or answers 404/409 with why it cannot apply now.</summary>
    private async Task<HttpResponseData> ControlRunAsync(
        HttpRequestData request,
        string id,
        string control,
        DurableTaskClient client,
        CancellationToken cancellationToken
    )
    {
        if (!RunApi.Controls.ContainsKey(control))
        {
            return await HttpJson.Problem(
                request,
                ApiProblem.NotFound($"No action '{control}' on runs (actions: {string.Join(", ", RunApi.Controls.Keys)}).")
            );
        }

        // The body first (a bad one is a 400 whatever the run's state, as on the local host).
        Decision? decision = null;
        if (RunApi.IsDecision(control))
        {
            (decision, ApiProblem? invalid) = await RunApi.ReadDecisionAsync(request.Body, "api", cancellationToken);
            if (decision is null)
            {
                return await HttpJson.Problem(request, invalid!);
            }
        }

        OrchestrationMetadata? instance = await client.GetInstanceAsync(id, cancellationToken);
        bool inProgress =
            instance is
            {
                RuntimeStatus: OrchestrationRuntimeStatus.Running
                    or OrchestrationRuntimeStatus.Pending
                    or OrchestrationRuntimeStatus.Suspended
            };
        RunRow? row = await runs.GetAsync(id, cancellationToken);
        ApiProblem? problem = RunApi.ControlProblem(id, row, inProgress, control)
            ?? (
                inProgress
                    ? null
                    : ApiProblem.Conflict(
                        $"Run '{id}' is not in progress: its orchestration is {instance?.RuntimeStatus.ToString() ?? "gone"}."
                    )
            );
        if (problem is not null)
        {
            return await HttpJson.Problem(request, problem);
        }

        // An approval or a rejection carries who and why; the other controls carry nothing.
        await client.RaiseEventAsync(id, RunApi.Controls[control], decision is null ? true : decision, cancellationToken);
        return control == "cancel"
            ? await HttpJson.Ok(request, new CancelRequested(id), HttpStatusCode.Accepted)
            : await HttpJson.Ok(request, new ControlRequested(id, control), HttpStatusCode.Accepted);
    }

    [Function("GetReport")]
    public async Task<HttpResponseData> ReportAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}/reports/{name}")] HttpRequestData request,
        string id,
        string name,
        CancellationToken cancellationToken
    )
    {
        if (RunApi.ReportBlob(id, name) is not { } blob || await blobs.GetPropertiesAsync(blob, cancellationToken) is null)
        {
            return await HttpJson.Problem(request, RunApi.NoReport(id, name));
        }

        HttpResponseData response = request.CreateResponse(HttpStatusCode.OK);
        response.Headers.Add("Content-Type", "application/json; charset=utf-8");
        await using Stream content = await blobs.OpenReadAsync(blob, cancellationToken);
        await content.CopyToAsync(response.Body, cancellationToken);
        return response;
    }

    /// <summary><c>PUT /api/datasets/{name}</c>: the body streamed into <c>datasets/{name}</c>; it starts no run.</summary>
    [Function("UploadDataset")]
    public async Task<HttpResponseData> UploadDatasetAsync(
        [HttpTrigger(AuthorizationLevel.Function, "put", Route = "datasets/{name}")] HttpRequestData request,
        string name,
        CancellationToken cancellationToken
    )
    {
        (DatasetInfo? dataset, ApiProblem? problem) = await DatasetApi.UploadAsync(blobs, name, request.Body, cancellationToken);
        return problem is not null
            ? await HttpJson.Problem(request, problem)
            : await HttpJson.Ok(request, dataset!, HttpStatusCode.Created);
    }

    [Function("ListDatasets")]
    public async Task<HttpResponseData> ListDatasetsAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "datasets")] HttpRequestData request,
        CancellationToken cancellationToken
    ) => await HttpJson.Ok(request, await DatasetApi.ListAsync(blobs, cancellationToken));

    [Function("ListModels")]
    public async Task<HttpResponseData> ModelsAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models")] HttpRequestData request,
        CancellationToken cancellationToken
    ) => await HttpJson.Ok(request, await models.ListAsync(cancellationToken));

    [Function("GetModel")]
    public async Task<HttpResponseData> ModelAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models/{id}")] HttpRequestData request,
        string id,
        CancellationToken cancellationToken
    ) =>
        await models.GetAsync(Uri.UnescapeDataString(id), cancellationToken) is { } model
            ? await HttpJson.Ok(request, model)
            : await HttpJson.Problem(request, ApiProblem.NotFound($"No model '{id}'."));

    /// <summary>
    /// <c>POST /api/models/{id}/promote</c>, <c>/archive</c> (<see cref="RunApi.ModelActions"/>), with <c>{"by", "why"}</c>.
    /// </summary>
    [Function("ChangeModel")]
    public async Task<HttpResponseData> ChangeModelAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "models/{id}/{action}")] HttpRequestData request,
        string id,
        string action,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    )
    {
        if (!RunApi.ModelActions.TryGetValue(action, out string? stage))
        {
            return await HttpJson.Problem(
                request,
                ApiProblem.NotFound($"No action '{action}' on models (actions: {string.Join(", ", RunApi.ModelActions.Keys)}).")
            );
        }

        (Decision? decision, ApiProblem? invalid) = await RunApi.ReadDecisionAsync(request.Body, "api", cancellationToken);
        if (decision is null)
        {
            return await HttpJson.Problem(request, invalid!);
        }

        (ModelRow? model, ApiProblem? problem, PromotionRequest? deploy) = await ModelRegistryChanges.ChangeStageOnRequestAsync(
            models,
            deployments,
            new ModelStageInput(Uri.UnescapeDataString(id), stage, DateTime.UtcNow, decision.By!, decision.Why),
            RunRequest.DefaultPollInterval,
            cancellationToken
        );
        if (problem is not null)
            return await HttpJson.Problem(request, problem);
        if (deploy is null)
            return await HttpJson.Ok(request, model!);

        // On Azure OpenAI: deploy first, then promote; a promotion already under way is the same one.
        string promotion = ModelPromotion.InstanceId(model!);
        if (await client.GetInstanceAsync(promotion, cancellationToken) is null)
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                ModelPromotion.Name,
                deploy,
                new StartOrchestrationOptions(InstanceId: promotion),
                cancellationToken
            );
        }

        HttpResponseData started = await HttpJson.Ok(
            request,
            PromotionStarted.At(request.Url.GetLeftPart(UriPartial.Authority), model!.ModelId, promotion, deploy.DeploymentName)
        );
        started.StatusCode = HttpStatusCode.Accepted;
        return started;
    }

    [Function("ValidateDataset")]
    public Task<HttpResponseData> ValidateAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "validate")] HttpRequestData request,
        CancellationToken cancellationToken
    ) => DryRunAsync(request, estimate: false, cancellationToken);

    [Function("EstimateDataset")]
    public Task<HttpResponseData> EstimateAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "estimate")] HttpRequestData request,
        CancellationToken cancellationToken
    ) => DryRunAsync(request, estimate: true, cancellationToken);

    /// <summary>A dry run: its options checked first (400 naming a bad or unknown one), then the body validated.</summary>
    private async Task<HttpResponseData> DryRunAsync(HttpRequestData request, bool estimate, CancellationToken cancellationToken)
    {
        (RunApi.DryRunOptions? options, IReadOnlyDictionary<string, string[]> problems) = RunApi.ReadDryRunOptions(
            request.Query.AllKeys.Select(key => new KeyValuePair<string, string?>(key ?? "", request.Query[key])),
            estimate
        );
        if (options is null)
        {
            return await HttpJson.Problem(request, ApiProblem.Validation(problems));
        }

        DatasetReport report = RunApi.DryRun(request.Body, options, catalog, cancellationToken);
        return estimate
            ? await HttpJson.Ok(request, new EstimateAnswer(CostEstimator.Estimate(report, catalog, options.Model, options.Epochs), report))
            : await HttpJson.Ok(request, report);
    }
}
