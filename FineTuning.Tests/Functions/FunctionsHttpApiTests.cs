using System.Net;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Core.Workflow;
using FineTuning.Functions.Http;
using FineTuning.Tests.Datasets;
using FineTuning.Tests.Storage;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuning.Tests.Functions;

/// <summary>The Azure host's HTTP API (RunsApi) called as the Functions worker calls it, on the host of <see cref="AzureHost"/>.</summary>
[Collection(AzuriteTests.Name)]
public sealed class FunctionsHttpApiTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FunctionsHttp _http = new();
    private AzureHost _host = null!;
    private RunsApi _api = null!;

    public async Task InitializeAsync()
    {
        _host = await AzureHost.StartAsync(azurite);
        _api = ActivatorUtilities.CreateInstance<RunsApi>(_host.App.Services);
    }

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    private DurableTaskClient Client => _host.Durable.Client;

    private Task<string> DropDataset() => _host.WriteDatasetAsync(Rows.Jsonl(Rows.ManyChats(30, i => i % 2 == 0 ? "billing" : "shipping")));

    private static JsonElement Json(HttpResponseData response) => JsonDocument.Parse(FunctionsHttp.Body(response)).RootElement;

    [Fact]
    public async Task StartRun_Answers202WithStatusLinks_AndTheSameRequestAgainNamesTheSameRun()
    {
        string blob = await DropDataset();
        string body = $$"""{"datasetBlob": "{{blob}}", "suffix": "api", "pollInterval": "00:00:01"}""";

        HttpResponseData started = await _api.StartAsync(_http.Request("POST", "/api/runs", body), Client, CancellationToken.None);

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        JsonElement links = Json(started);
        string runId = links.GetProperty("id").GetString()!;
        Assert.Equal(FunctionsHttp.Header(started, "Location"), links.GetProperty("statusQueryGetUri").GetString());
        Assert.EndsWith(
            $"/runtime/webhooks/durabletask/instances/{runId}",
            links.GetProperty("statusQueryGetUri").GetString(),
            StringComparison.Ordinal
        );
        Assert.Contains("/raiseEvent/", links.GetProperty("sendEventPostUri").GetString(), StringComparison.Ordinal);
        Assert.Equal(ApiContract.PropertiesOf<CheckStatus>(), links.EnumerateObject().Select(p => p.Name));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        OrchestrationMetadata done = await Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);

        HttpResponseData again = await _api.StartAsync(_http.Request("POST", "/api/runs", body), Client, CancellationToken.None);
        Assert.Equal(runId, Json(again).GetProperty("id").GetString());
        Assert.Equal(done.CreatedAt, (await Client.GetInstanceAsync(runId))!.CreatedAt);

        HttpResponseData run = await _api.GetAsync(_http.Request("GET", $"/api/runs/{runId}"), runId, Client, CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        JsonElement state = Json(run);
        Assert.Equal("succeeded", state.GetProperty("run").GetProperty("status").GetString());
        Assert.False(state.GetProperty("running").GetBoolean());
        Assert.Equal(ApiContract.PropertiesOf<RunDetail>(), state.EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            [$"/api/runs/{runId}/reports/validation", $"/api/runs/{runId}/reports/split", $"/api/runs/{runId}/reports/results"],
            state.GetProperty("reports").EnumerateArray().Select(r => r.GetString())
        );
        foreach (string control in new[] { "cancel", "pause", "resume" })
        {
            HttpResponseData refused = await _api.ControlAsync(
                _http.Request("POST", $"/api/runs/{runId}/{control}"),
                runId,
                control,
                Client,
                CancellationToken.None
            );
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal(ApiProblem.ContentType, FunctionsHttp.Header(refused, "Content-Type"));
            Assert.Contains("has already ended (Succeeded)", Json(refused).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        string modelId = state.GetProperty("run").GetProperty("modelId").GetString()!;

        HttpResponseData report = await _api.ReportAsync(
            _http.Request("GET", $"/api/runs/{runId}/reports/validation"),
            runId,
            "validation",
            CancellationToken.None
        );
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.Equal(30, Json(report).GetProperty("examples").GetInt64());

        HttpResponseData model = await _api.ModelAsync(
            _http.Request("GET", $"/api/models/{Uri.EscapeDataString(modelId)}"),
            Uri.EscapeDataString(modelId),
            CancellationToken.None
        );
        Assert.Equal(runId, Json(model).GetProperty("runId").GetString());
        HttpResponseData runs = await _api.ListAsync(_http.Request("GET", "/api/runs"), CancellationToken.None);
        Assert.Contains(Json(runs).EnumerateArray(), r => r.GetProperty("runId").GetString() == runId);
    }

    [Theory]
    [InlineData("{", "body")]
    [InlineData("""{"datasetBlob": "datasets/none.jsonl"}""", "datasetBlob")]
    [InlineData("""{"datasetBlob": "datasets/a.jsonl", "trainRatio": 2}""", "trainRatio")]
    public async Task StartRun_BadRequests_Are400ProblemsNamingTheField(string body, string field)
    {
        HttpResponseData response = await _api.StartAsync(_http.Request("POST", "/api/runs", body), Client, CancellationToken.None);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ApiProblem.ContentType, FunctionsHttp.Header(response, "Content-Type"));
        Assert.True(Json(response).GetProperty("errors").TryGetProperty(field, out _), FunctionsHttp.Body(response));
    }

    [Fact]
    public async Task UnknownRunsReportsAndModels_Are404Problems()
    {
        HttpResponseData[] responses =
        [
            await _api.GetAsync(_http.Request("GET", "/api/runs/run-none"), "run-none", Client, CancellationToken.None),
            await _api.ControlAsync(
                _http.Request("POST", "/api/runs/run-none/cancel"),
                "run-none",
                "cancel",
                Client,
                CancellationToken.None
            ),
            await _api.ControlAsync(_http.Request("POST", "/api/runs/run-none/pause"), "run-none", "pause", Client, CancellationToken.None),
            await _api.ControlAsync(
                _http.Request("POST", "/api/runs/run-none/explode"),
                "run-none",
                "explode",
                Client,
                CancellationToken.None
            ),
            await _api.ReportAsync(
                _http.Request("GET", "/api/runs/run-none/reports/validation"),
                "run-none",
                "validation",
                CancellationToken.None
            ),
            await _api.ReportAsync(
                _http.Request("GET", "/api/runs/run-none/reports/secrets"),
                "run-none",
                "secrets",
                CancellationToken.None
            ),
            await _api.ModelAsync(_http.Request("GET", "/api/models/ft%3Anone"), "ft%3Anone", CancellationToken.None),
        ];

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        Assert.All(responses, r => Assert.Equal(ApiProblem.ContentType, FunctionsHttp.Header(r, "Content-Type")));
    }

    [Fact]
    public async Task Validate_ChecksTheBodyAsADataset()
    {
        string dataset = Rows.Jsonl(Rows.ManyChats(12)) + "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n";

        HttpResponseData response = await _api.ValidateAsync(
            _http.Request("POST", "/api/validate?method=supervised", dataset),
            CancellationToken.None
        );

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement report = Json(response);
        Assert.False(report.GetProperty("fit").GetBoolean());
        Assert.Equal(1, report.GetProperty("counts").GetProperty("unrecognized_role").GetInt64());
    }

    [Theory]
    [InlineData("/api/validate?method=bogus", "method", false)]
    [InlineData("/api/validate?colour=red", "colour", false)]
    [InlineData("/api/estimate?epochs=x", "epochs", true)]
    public async Task DryRunOptions_AreChecked_As400ProblemsNamingThem(string url, string field, bool estimate)
    {
        HttpRequestData request = _http.Request("POST", url, Rows.Jsonl(Rows.ManyChats(12)));

        HttpResponseData response = estimate
            ? await _api.EstimateAsync(request, CancellationToken.None)
            : await _api.ValidateAsync(request, CancellationToken.None);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ApiProblem.ContentType, FunctionsHttp.Header(response, "Content-Type"));
        Assert.True(Json(response).GetProperty("errors").TryGetProperty(field, out _), FunctionsHttp.Body(response));
    }
}
