using System.Net;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Core.Datasets;
using FineTuning.Local.Hosting;
using Microsoft.Extensions.Configuration;

namespace FineTuning.Tests.Cli;

/// <summary>The local HTTP API over a real data directory, the built-in emulator and a real HTTP client.</summary>
public sealed class LocalApiTests : IAsyncLifetime, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly HttpClient _http = new();
    private LocalRunHost _host = null!;
    private LocalApi _api = null!;

    public async Task InitializeAsync()
    {
        _host = await LocalRunHost.StartAsync(_dir.File("data"), new ConfigurationBuilder().Build());
        _api = await LocalApi.StartAsync(_host, "127.0.0.1", 0, apiKey: null);
        _http.BaseAddress = _api.Root;
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _host.DisposeAsync();
    }

    public void Dispose()
    {
        _http.Dispose();
        _dir.Dispose();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task PostRun_Answers202WithCheckStatusUrls_AndTheRunRegistersAModel()
    {
        await _host.Blobs.WriteAsync("datasets/support.jsonl", (s, ct) =>
            s.WriteAsync(Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(30))), ct).AsTask()
        );

        HttpResponseMessage started = await _http.PostAsync(
            new Uri("api/runs", UriKind.Relative),
            Json("""{"datasetBlob":"datasets/support.jsonl","pollInterval":"00:00:01"}""")
        );
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        using JsonDocument payload = JsonDocument.Parse(await started.Content.ReadAsStringAsync());
        string id = payload.RootElement.GetProperty("id").GetString()!;
        Assert.EndsWith($"/api/runs/{id}", payload.RootElement.GetProperty("statusQueryGetUri").GetString(), StringComparison.Ordinal);
        await _host.Outcome(id)!;

        Assert.Equal(ApiContract.PropertiesOf<CheckStatus>(), payload.RootElement.EnumerateObject().Select(p => p.Name));
        using JsonDocument run = JsonDocument.Parse(await _http.GetStringAsync(new Uri($"api/runs/{id}", UriKind.Relative)));
        Assert.Equal("succeeded", run.RootElement.GetProperty("run").GetProperty("status").GetString());
        Assert.False(run.RootElement.GetProperty("running").GetBoolean());
        Assert.Equal(ApiContract.PropertiesOf<RunDetail>(), run.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            [$"/api/runs/{id}/reports/validation", $"/api/runs/{id}/reports/split", $"/api/runs/{id}/reports/results"],
            run.RootElement.GetProperty("reports").EnumerateArray().Select(r => r.GetString())
        );
        foreach (string control in new[] { "cancel", "pause", "resume" })
        {
            HttpResponseMessage refused = await _http.PostAsync(new Uri($"api/runs/{id}/{control}", UriKind.Relative), null);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal(ApiProblem.ContentType, refused.Content.Headers.ContentType?.MediaType);
            using JsonDocument problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Contains(
                "has already ended (Succeeded)",
                problem.RootElement.GetProperty("detail").GetString(),
                StringComparison.Ordinal
            );
        }
        using JsonDocument models = JsonDocument.Parse(await _http.GetStringAsync(new Uri("api/models", UriKind.Relative)));
        Assert.Equal(1, models.RootElement.GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(new Uri($"api/runs/{id}/reports/results", UriKind.Relative))).StatusCode);

        // The split report, per topic; the run's timeline, each stage it entered in order, and what it trained.
        using JsonDocument split = JsonDocument.Parse(
            await _http.GetStringAsync(new Uri($"api/runs/{id}/reports/split", UriKind.Relative))
        );
        Assert.Equal(
            split.RootElement.GetProperty("trainRows").GetInt64(),
            split.RootElement.GetProperty("strata").EnumerateArray().Sum(s => s.GetProperty("train").GetInt64())
        );
        JsonElement row = run.RootElement.GetProperty("run");
        Assert.Equal(
            ["PlanShards", "ValidateShards", "Split", "UploadFiles", "SubmitJob", "Monitor", "CollectResults", "RegisterModel"],
            row.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString())
        );
        Assert.Equal("supervised", row.GetProperty("method").GetString());
        Assert.False(string.IsNullOrEmpty(row.GetProperty("model").GetString()));
    }

    [Fact]
    public async Task BadRequest_Is400ProblemJsonListingEveryField_AndStartsNothing()
    {
        HttpResponseMessage response = await _http.PostAsync(
            new Uri("api/runs", UriKind.Relative),
            Json("""{"datasetBlob":"","method":"chat","trainRatio":-1}""")
        );

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        JsonElement errors = problem.RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty("datasetBlob", out _));
        Assert.True(errors.TryGetProperty("method", out _));
        Assert.True(errors.TryGetProperty("trainRatio", out _));
        Assert.Equal(0, JsonDocument.Parse(await _http.GetStringAsync(new Uri("api/runs", UriKind.Relative))).RootElement.GetArrayLength());
    }

    [Theory]
    [InlineData("""{"datasetBlob":"datasets/missing.jsonl"}""", "datasetBlob", "does not exist")]
    [InlineData("""{"datasetBlob":"datasets/missing.jsonl","method":"reinforcement"}""", "grader", "is required for reinforcement")]
    [InlineData("""{"datasetBlob":"datasets/missing.jsonl","method":"finetune-everything"}""", "method", "is not a method")]
    [InlineData("""{"datasetBlob":"datasets/missing.jsonl","trainRatio":-0.5}""", "trainRatio", "")]
    public async Task BadRun_Is400WithTheField_AndSchedulesNothing(string body, string field, string says)
    {
        HttpResponseMessage response = await _http.PostAsync(new Uri("api/runs", UriKind.Relative), Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(says, problem.RootElement.GetProperty("errors").GetProperty(field)[0].GetString(), StringComparison.Ordinal);
        Assert.Empty(_host.Runtime.Store.Running());
    }

    [Fact]
    public async Task UnknownRun_Is404_AndTheOpenApiDocumentListsTheRoutes()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri("api/runs/run-nope", UriKind.Relative))).StatusCode);
        string openApi = await _http.GetStringAsync(new Uri("openapi/v1.json", UriKind.Relative));
        Assert.Contains("/api/runs/{id}/cancel", openApi, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_DryRunsTheBody()
    {
        HttpResponseMessage response = await _http.PostAsync(
            new Uri("api/validate", UriKind.Relative),
            new StringContent(Rows.Jsonl(Rows.ManyChats(3)))
        );

        using JsonDocument report = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(report.RootElement.GetProperty("fit").GetBoolean());
        Assert.Equal(1, report.RootElement.GetProperty("counts").GetProperty("too_few_examples").GetInt64());
    }

    [Fact]
    public async Task Validate_WithNearDuplicates_ReportsRowsThatDifferByAWord_OnlyWhenAskedFor()
    {
        const string answer =
            "To change the billing address open Settings then Billing then Address enter the new street city and postal code "
            + "and press Save the next invoice is sent to the new address and earlier invoices keep the old one for your records";
        string rows = Rows.Jsonl([
            Rows.Chat("How do I change my billing address?", answer),
            Rows.Chat("How do I change my billing address?", answer.Replace("press Save", "press Apply", StringComparison.Ordinal)),
            .. Rows.ManyChats(30),
        ]);
        async Task<JsonElement> Counts(string query)
        {
            HttpResponseMessage response = await _http.PostAsync(
                new Uri($"api/validate{query}", UriKind.Relative),
                new StringContent(rows)
            );
            using JsonDocument report = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return report.RootElement.GetProperty("counts").Clone();
        }

        Assert.Equal(1, (await Counts("?nearDuplicates=true")).GetProperty(FindingCodes.NearDuplicate).GetInt64());
        Assert.False((await Counts("")).TryGetProperty(FindingCodes.NearDuplicate, out _));
        HttpResponseMessage refused = await _http.PostAsync(
            new Uri("api/validate?nearDuplicates=maybe", UriKind.Relative),
            new StringContent(rows)
        );
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("nearDuplicates", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>A body sent in pieces, the next one only after the server took the last: a dry run reads as it arrives.</summary>
    private sealed class Trickle(IEnumerable<string> rows) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            foreach (string row in rows)
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(row + "\n"));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    [Fact]
    public async Task DryRuns_ReadStreamedBodies_ManyAtOnce_MoreThanThereAreSlots()
    {
        Task<HttpResponseMessage>[] posts =
        [
            .. Enumerable
                .Range(0, 3 * Environment.ProcessorCount)
                .Select(i =>
                    _http.PostAsync(
                        new Uri(i % 2 == 0 ? "api/validate" : "api/estimate", UriKind.Relative),
                        new Trickle(Rows.ManyChats(200 + i))
                    )
                ),
        ];

        HttpResponseMessage[] answers = await Task.WhenAll(posts);

        for (int i = 0; i < answers.Length; i++)
        {
            Assert.Equal(HttpStatusCode.OK, answers[i].StatusCode);
            using JsonDocument answer = JsonDocument.Parse(await answers[i].Content.ReadAsStringAsync());
            JsonElement report = i % 2 == 0 ? answer.RootElement : answer.RootElement.GetProperty("validation");
            Assert.Equal(200 + i, report.GetProperty("examples").GetInt64());
        }
    }

    [Fact]
    public async Task BindingBeyondLoopback_RequiresAnApiKey()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => LocalApi.StartAsync(_host, "0.0.0.0", 0, apiKey: null));
    }

    [Theory]
    [InlineData("GET", "api/nope", 404, "No route GET /api/nope")]
    [InlineData("DELETE", "api/runs", 405, "DELETE is not allowed on /api/runs")]
    [InlineData("POST", "api/validate?method=bogus", 400, "method")]
    [InlineData("POST", "api/validate?colour=red", 400, "colour")]
    [InlineData("POST", "api/estimate?epochs=0", 400, "epochs")]
    public async Task EveryError_IsProblemJsonWithADetail(string method, string path, int status, string expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative)) { Content = Json("") };

        HttpResponseMessage response = await _http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains(expected, body, StringComparison.Ordinal);
        Assert.DoesNotContain(_dir.File("data"), body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Estimate_TakesTheEpochsAsked()
    {
        string dataset = Rows.Jsonl(Rows.ManyChats(30));

        HttpResponseMessage response = await _http.PostAsync(new Uri("api/estimate?epochs=7", UriKind.Relative), Json(dataset));

        response.EnsureSuccessStatusCode();
        using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(7, answer.RootElement.GetProperty("estimate").GetProperty("epochs").GetInt32());
    }

    [Fact]
    public async Task MissingDataset_SaysWhatToDo_WithoutTheServersPath()
    {
        HttpResponseMessage response = await _http.PostAsync(
            new Uri("api/runs", UriKind.Relative),
            Json("""{"datasetBlob":"datasets/nope.jsonl"}""")
        );

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("'datasets/nope.jsonl' does not exist", body, StringComparison.Ordinal);
        Assert.DoesNotContain(_dir.File("data"), body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAnApiKey_ARequestWithoutIt_Is401ProblemJson()
    {
        await using LocalApi keyed = await LocalApi.StartAsync(_host, "127.0.0.1", 0, apiKey: "test-key");
        using var http = new HttpClient { BaseAddress = keyed.Root };

        HttpResponseMessage refused = await http.GetAsync(new Uri("api/runs", UriKind.Relative));
        http.DefaultRequestHeaders.Add("x-functions-key", "test-key");
        HttpResponseMessage allowed = await http.GetAsync(new Uri("api/runs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("x-functions-key", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }
}
