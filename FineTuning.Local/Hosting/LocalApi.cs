using System.Net;
using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Estimation;
using FineTuning.Core.Workflow;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.OpenApi;

namespace FineTuning.Local.Hosting;

/// <summary>
/// The HTTP API of DESIGN.md on this machine, with the request and response types of the Azure host: 202 with
/// Durable's check-status payload, problem+json errors, an OpenAPI document at <c>/openapi/v1.json</c>.
/// Binds 127.0.0.1; any other address requires an API key (<c>x-functions-key</c> header or <c>code</c> query).
/// </summary>
public sealed class LocalApi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LocalApi(WebApplication app, Uri root)
    {
        _app = app;
        Root = root;
    }

    public Uri Root { get; }

    public static async Task<LocalApi> StartAsync(
        LocalRunHost host,
        string address,
        int port,
        string? apiKey,
        CancellationToken cancellationToken = default
    )
    {
        if (!IPAddress.TryParse(address, out IPAddress? ip))
        {
            throw new ArgumentException($"'{address}' is not an IP address to bind.", nameof(address));
        }

        if (!IPAddress.IsLoopback(ip) && string.IsNullOrEmpty(apiKey))
        {
            throw new ArgumentException($"Binding {address} exposes the API beyond this machine: pass --api-key.", nameof(apiKey));
        }

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{address}:{port}");
        builder.Services.AddOpenApi();
        // Every error answers problem+json with a detail that says what to do, including the server's own (routing
        // 404 and 405, the key's 401, a body over the limit, a failure): they had empty bodies.
        builder.Services.AddProblemDetails(problems =>
            problems.CustomizeProblemDetails = context =>
                context.ProblemDetails.Detail ??= DetailFor(context.HttpContext.Request, context.ProblemDetails.Status ?? 500)
        );
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = LocalJson.Options.PropertyNamingPolicy;
            foreach (var converter in LocalJson.Options.Converters)
                o.SerializerOptions.Converters.Add(converter);
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, LocalJson.Options.TypeInfoResolver!);
        });
        WebApplication app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        if (!string.IsNullOrEmpty(apiKey))
        {
            app.Use(
                async (context, next) =>
                {
                    // The dashboard's own files load without the key: the page then asks for it once.
                    if (HttpMethods.IsGet(context.Request.Method) && Dashboard.Serves(context.Request.Path))
                    {
                        await next(context).ConfigureAwait(false);
                        return;
                    }

                    string? given = context.Request.Headers["x-functions-key"].FirstOrDefault()
                        ?? context.Request.Query["code"].FirstOrDefault();
                    if (!string.Equals(given, apiKey, StringComparison.Ordinal))
                    {
                        context.Response.StatusCode = 401;
                        return;
                    }

                    await next(context).ConfigureAwait(false);
                }
            );
        }

        app.MapOpenApi();
        Dashboard.Map(app);
        Map(app, host);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LocalApi(app, new Uri(bound.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>What an error the server itself answers means, and what to do.</summary>
    private static string DetailFor(HttpRequest request, int status) =>
        status switch
        {
            401 => "Send the API key as the x-functions-key header (or ?code=).",
            404 => $"No route {request.Method} {request.Path}; the routes are in /openapi/v1.json.",
            405 => $"{request.Method} is not allowed on {request.Path}; the routes and their methods are in /openapi/v1.json.",
            413 => "The body is larger than this route takes; give large datasets to a run (copy them into the data directory).",
            >= 500 => "The server failed on this request; its console says why. Try again, or report it with the time.",
            _ => "The request was not accepted.",
        };

    private static IResult Problem(ApiProblem problem) =>
        Results.Json(problem, LocalJson.TypeInfo<ApiProblem>(), ApiProblem.ContentType, problem.Status);

    private static IResult Json<T>(T value, int status = 200) => Results.Json(value, LocalJson.TypeInfo<T>(), statusCode: status);

    private static void Map(WebApplication app, LocalRunHost host)
    {
        IRunStore runs = host.Tables;
        IModelRegistry models = host.Tables;

        app.MapPost("/api/runs", async (HttpRequest request, CancellationToken ct) =>
            {
                RunRequest? run;
                try
                {
                    run = await JsonSerializer.DeserializeAsync(request.Body, LocalJson.TypeInfo<RunRequest>(), ct).ConfigureAwait(false);
                }
                catch (JsonException ex)
                {
                    return Problem(ApiProblem.Validation(new Dictionary<string, string[]> { ["body"] = [ex.Message] }));
                }

                if (run is null)
                    return Problem(ApiProblem.Validation(new Dictionary<string, string[]> { ["body"] = ["a RunRequest is required"] }));
                (string? runId, IReadOnlyDictionary<string, string[]> problems) = await host.StartRunAsync(run, ct).ConfigureAwait(false);
                if (runId is null)
                    return Problem(ApiProblem.Validation(problems));
                string baseUri = $"{request.Scheme}://{request.Host}/api/runs/{runId}";
                return Json(
                    new CheckStatus(runId, baseUri, $"{baseUri}/cancel", $"{baseUri}/cancel", $"{baseUri}/reports/validation"),
                    202
                );
            })
            .WithSummary("Start a run; 202 with Durable's check-status payload.")
            .Accepts<RunRequest>("application/json")
            .Produces<CheckStatus>(202)
            .Produces<ApiProblem>(400, ApiProblem.ContentType);

        app.MapGet("/api/runs", async (CancellationToken ct) => Json(await runs.ListAsync(ct).ConfigureAwait(false)))
            .WithSummary("List runs, newest first.")
            .Produces<IReadOnlyList<RunRow>>();

        app.MapGet("/api/runs/{id}", async (string id, CancellationToken ct) =>
            {
                RunRow? row = await runs.GetAsync(id, ct).ConfigureAwait(false);
                bool running = host.Runtime.IsRunningHere(id);
                return row is null && !running
                    ? Problem(ApiProblem.NotFound($"No run '{id}'."))
                    : Json(
                        await RunApi
                            .DetailAsync(host.Blobs, id, row, running, LocalRunHost.Progress(host.Runtime.Store, id), ct)
                            .ConfigureAwait(false)
                    );
            })
            .WithSummary("One run: its row (stage, status, counts, job, model, error), whether it runs, its progress, its reports.")
            .Produces<RunDetail>()
            .Produces<ApiProblem>(404, ApiProblem.ContentType);

        foreach (
            (string control, string summary) in new[]
            {
                (
                    "cancel",
                    "Cancel a run: before submission no job is created; after it, the provider job is cancelled. 409 when the run has "
                        + "ended."
                ),
                ("pause", "Pause the run's running job (its deadline clock stops while paused). 409 unless the job is running."),
                ("resume", "Resume the run's paused job. 409 unless the job is paused."),
                (
                    "approve",
                    "Approve the model of a run waiting for approval (body: {\"by\", \"why\"}, both optional): it is deployed and promoted "
                        + "to production. 409 unless the run is AwaitingApproval."
                ),
                (
                    "reject",
                    "Reject the model of a run waiting for approval (body: {\"by\", \"why\"}): it is registered as rejected and never "
                        + "deployed. 409 unless the run is AwaitingApproval."
                ),
            }
        )
        {
            RouteHandlerBuilder endpoint = app.MapPost(
                    $"/api/runs/{{id}}/{control}",
                    async (string id, HttpRequest request, CancellationToken ct) =>
                    {
                        Decision? decision = null;
                        if (RunApi.IsDecision(control))
                        {
                            (decision, ApiProblem? invalid) = await RunApi.ReadDecisionAsync(request.Body, "api", ct).ConfigureAwait(false);
                            if (decision is null)
                                return Problem(invalid!);
                        }

                        return await host.ControlAsync(id, control, decision, ct).ConfigureAwait(false) is { } problem ? Problem(problem)
                            : control == "cancel" ? Json(new CancelRequested(id), 202)
                            : Json(new ControlRequested(id, control), 202);
                    }
                )
                .WithSummary(summary)
                .Produces<ApiProblem>(404, ApiProblem.ContentType)
                .Produces<ApiProblem>(409, ApiProblem.ContentType);
            if (RunApi.IsDecision(control))
                endpoint.Produces<ApiProblem>(400, ApiProblem.ContentType);
            _ = control == "cancel" ? endpoint.Produces<CancelRequested>(202) : endpoint.Produces<ControlRequested>(202);
        }

        foreach ((string action, string stage) in RunApi.ModelActions)
        {
            app.MapPost($"/api/models/{{id}}/{action}", async (string id, HttpRequest request, CancellationToken ct) =>
                {
                    (Decision? decision, ApiProblem? invalid) = await RunApi
                        .ReadDecisionAsync(request.Body, "api", ct)
                        .ConfigureAwait(false);
                    if (decision is null)
                        return Problem(invalid!);
                    (ModelRow? model, ApiProblem? problem, PromotionRequest? deploy, string? promotion) = await host.ChangeModelStageAsync(
                            new ModelStageInput(Uri.UnescapeDataString(id), stage, DateTime.UtcNow, decision.By!, decision.Why),
                            ct
                        )
                        .ConfigureAwait(false);
                    if (problem is not null)
                        return Problem(problem);
                    if (deploy is null)
                        return Json(model!);
                    // On Azure OpenAI: deploy first, then promote (a promotion already under way is the same one).
                    return Json(
                        PromotionStarted.At($"{request.Scheme}://{request.Host}", model!.ModelId, promotion!, deploy.DeploymentName),
                        202
                    );
                })
                .WithSummary(
                    action == "promote"
                        ? "Make a candidate (or archived) model the production model of its name; the one before is archived."
                        : "Archive a model (it leaves production, or is set aside as a candidate)."
                )
                .Produces<ModelRow>()
                .Produces<ApiProblem>(400, ApiProblem.ContentType)
                .Produces<ApiProblem>(404, ApiProblem.ContentType)
                .Produces<ApiProblem>(409, ApiProblem.ContentType);
        }

        app.MapGet("/api/runs/{id}/reports/{name}", async (string id, string name, CancellationToken ct) =>
            {
                if (
                    RunApi.ReportBlob(id, name) is not { } blob
                    || await host.Blobs.GetPropertiesAsync(blob, ct).ConfigureAwait(false) is null
                )
                {
                    return Problem(RunApi.NoReport(id, name));
                }

                return Results.Stream(await host.Blobs.OpenReadAsync(blob, ct).ConfigureAwait(false), "application/json");
            })
            .WithSummary("The validation, results or evaluation report of a run.")
            .Produces<DatasetReport>()
            .Produces<ApiProblem>(404, ApiProblem.ContentType);

        app.MapPut("/api/datasets/{name}", async (string name, HttpRequest request, CancellationToken ct) =>
            {
                // The body streams to the blob store; the upload's own limit applies, not the server's default.
                if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                    limit.MaxRequestBodySize = DatasetApi.MaxBytes + 1;
                (DatasetInfo? dataset, ApiProblem? problem) = await DatasetApi
                    .UploadAsync(host.Blobs, name, request.Body, ct)
                    .ConfigureAwait(false);
                return problem is not null ? Problem(problem) : Json(dataset!, 201);
            })
            .WithSummary(
                "Upload a JSONL dataset (the body, streamed, at most 512 MB) as datasets/{name}; it starts no run: validate it, then "
                    + "POST /api/runs with its blob."
            )
            .Produces<DatasetInfo>(201)
            .Produces<ApiProblem>(400, ApiProblem.ContentType)
            .Produces<ApiProblem>(413, ApiProblem.ContentType);
        app.MapGet("/api/datasets", async (CancellationToken ct) => Json(await DatasetApi.ListAsync(host.Blobs, ct).ConfigureAwait(false)))
            .WithSummary("The datasets in the datasets container (or folder), by name.")
            .Produces<IReadOnlyList<DatasetInfo>>();

        app.MapGet("/api/models", async (CancellationToken ct) => Json(await models.ListAsync(ct).ConfigureAwait(false)))
            .WithSummary("The model registry.")
            .Produces<IReadOnlyList<ModelRow>>();
        app.MapGet("/api/models/{id}", async (string id, CancellationToken ct) =>
                await models.GetAsync(Uri.UnescapeDataString(id), ct).ConfigureAwait(false) is { } model
                    ? Json(model)
                    : Problem(ApiProblem.NotFound($"No model '{id}'."))
            )
            .WithSummary("One registered model with its lineage.")
            .Produces<ModelRow>()
            .Produces<ApiProblem>(404, ApiProblem.ContentType);

        // Dry runs read their body as it arrives (never copied into memory), at most one per core at a time: the rest wait
        // for a slot with their bodies unread.
        var dryRuns = new SemaphoreSlim(Environment.ProcessorCount);
        app.MapPost("/api/validate", (HttpRequest request, CancellationToken ct) => DryRun(request, dryRuns, estimate: false, ct))
            .WithSummary("Validate the request body as a dataset (?method=, ?model=).")
            .AddOpenApiOperationTransformer(DatasetBody)
            .Produces<DatasetReport>()
            .Produces<ApiProblem>(400, ApiProblem.ContentType);
        app.MapPost("/api/estimate", (HttpRequest request, CancellationToken ct) => DryRun(request, dryRuns, estimate: true, ct))
            .WithSummary("Estimate epochs, billed tokens and cost for the request body (?method=, ?model=, ?epochs=).")
            .AddOpenApiOperationTransformer(DatasetBody)
            .Produces<EstimateAnswer>()
            .Produces<ApiProblem>(400, ApiProblem.ContentType);
    }

    /// <summary>
    /// Documents a dry run's body, a JSON Lines dataset, without declaring it as accepted metadata (which would make routing
    /// answer 415 to any other content type: clients send JSON Lines as whatever type they like).
    /// </summary>
    private static Task DatasetBody(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = "The dataset: JSON Lines, one example per line (any content type).",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/jsonl"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
            },
        };
        return Task.CompletedTask;
    }

    /// <summary>A dry run: its options checked first (400 naming a bad or unknown one), then the body validated.</summary>
    private static async Task<IResult> DryRun(HttpRequest request, SemaphoreSlim slots, bool estimate, CancellationToken cancellationToken)
    {
        (RunApi.DryRunOptions? options, IReadOnlyDictionary<string, string[]> problems) = RunApi.ReadDryRunOptions(
            request.Query.Select(q => new KeyValuePair<string, string?>(q.Key, q.Value.ToString())),
            estimate
        );
        if (options is null)
        {
            return Problem(ApiProblem.Validation(problems));
        }

        await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        DatasetReport report;
        try
        {
            // The validator reads synchronously, a line at a time over one pooled buffer: let it read the request as it
            // arrives, on a thread of its own, rather than copying the body into memory first.
            request.HttpContext.Features.Get<IHttpBodyControlFeature>()!.AllowSynchronousIO = true;
            report = await Task.Run(() => RunApi.DryRun(request.Body, options, ModelCatalog.Default, cancellationToken), cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            slots.Release();
        }

        return estimate
            ? Json(new EstimateAnswer(CostEstimator.Estimate(report, ModelCatalog.Default, options.Model, options.Epochs), report))
            : Json(report);
    }
}
