using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Functions.Http;
using FineTuning.Local.Hosting;
using FineTuning.Tests.Storage;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuning.Tests.Functions;

/// <summary>
/// One HTTP contract on both hosts: the same conversation (start a run, follow it, read its reports and model, every
/// error a client can meet) is held to the same statuses, media types and JSON shapes, route by route; and the routes
/// the local host's OpenAPI document lists are the Azure host's <c>[Function]</c> routes.
/// </summary>
[Collection(AzuriteTests.Name)]
public sealed class HostContractTests(AzuriteFixture azurite) : IAsyncLifetime, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly HttpClient _http = new();
    private AzureHost _azure = null!;
    private LocalRunHost _local = null!;
    private LocalApi _localApi = null!;

    public async Task InitializeAsync()
    {
        _azure = await AzureHost.StartAsync(azurite);
        _local = await LocalRunHost.StartAsync(_dir.File("data"), new ConfigurationBuilder().Build());
        _localApi = await LocalApi.StartAsync(_local, "127.0.0.1", 0, apiKey: null);
        _http.BaseAddress = _localApi.Root;
    }

    public async Task DisposeAsync()
    {
        await _localApi.DisposeAsync();
        await _local.DisposeAsync();
        await _azure.DisposeAsync();
    }

    public void Dispose()
    {
        _http.Dispose();
        _dir.Dispose();
    }

    /// <summary>An answer as a client sees it: status, media type, and the JSON's shape (member names, nesting, kinds).</summary>
    private sealed record Answer(string Step, int Status, string? MediaType, string Shape, JsonElement? Body)
    {
        /// <summary>The request's method and path (no query), set by the conversation.</summary>
        public string Route { get; init; } = "";
    }

    /// <summary>One host seen through HTTP: send a request, wait for a run to end, and where its datasets go.</summary>
    private interface IApiHost
    {
        Task<Answer> SendAsync(string step, string method, string pathAndQuery, string? body = null);

        Task WaitForRunAsync(string runId);

        Task<string> WriteDatasetAsync(string jsonl);
    }

    [Fact]
    public async Task BothHosts_AnswerEveryRoute_WithTheSameStatusMediaTypeAndShape()
    {
        IReadOnlyList<Answer> azure = await ConverseAsync(new AzureApi(_azure));
        IReadOnlyList<Answer> local = await ConverseAsync(new LocalHttp(_local, _http));

        Assert.Equal(azure.Count, local.Count);
        foreach ((Answer a, Answer l) in azure.Zip(local))
        {
            Assert.True(a.Status == l.Status, $"{a.Step}: Azure {a.Status}, local {l.Status}");
            Assert.True(a.MediaType == l.MediaType, $"{a.Step}: Azure {a.MediaType}, local {l.MediaType}");
            Assert.True(a.Shape == l.Shape, $"{a.Step}:\n  Azure {a.Shape}\n  local {l.Shape}");
        }

        // The conversation holds what it says, not only the same thing twice.
        Assert.Equal(
            ApiContract.PropertiesOf<CheckStatus>(),
            azure.Single(a => a.Step == "start").Body!.Value.EnumerateObject().Select(p => p.Name)
        );
        Assert.Equal(
            ApiContract.PropertiesOf<RunDetail>(),
            azure.Single(a => a.Step == "run").Body!.Value.EnumerateObject().Select(p => p.Name)
        );
        foreach (Answer problem in azure.Where(a => a.Status >= 400))
        {
            Assert.Equal(ApiProblem.ContentType, problem.MediaType);
            Assert.False(string.IsNullOrWhiteSpace(problem.Body!.Value.GetProperty("detail").GetString()), problem.Step);
        }

        // The OpenAPI document promises every answer the conversation met, with its media type.
        using JsonDocument openApi = JsonDocument.Parse(await _http.GetStringAsync(new Uri("openapi/v1.json", UriKind.Relative)));
        foreach (Answer answer in azure)
        {
            JsonElement operation = Operation(openApi.RootElement, answer.Route);
            Assert.True(
                operation.GetProperty("responses").TryGetProperty($"{answer.Status}", out JsonElement documented),
                $"{answer.Step}: {answer.Route} answered {answer.Status}, which /openapi/v1.json does not list"
            );
            Assert.True(documented.GetProperty("content").TryGetProperty(answer.MediaType!, out _), $"{answer.Step}: {answer.MediaType}");
        }

        // A client generated from it can start a run: the body is a RunRequest with its dataset blob.
        JsonElement start = Operation(openApi.RootElement, "POST /api/runs");
        string schema = start
            .GetProperty("requestBody")
            .GetProperty("content")
            .GetProperty("application/json")
            .GetProperty("schema")
            .GetProperty("$ref")
            .GetString()!;
        Assert.Equal("#/components/schemas/RunRequest", schema);
        foreach (string dryRun in new[] { "POST /api/validate", "POST /api/estimate" })
        {
            Assert.True(
                Operation(openApi.RootElement, dryRun)
                    .GetProperty("requestBody")
                    .GetProperty("content")
                    .TryGetProperty("application/jsonl", out _),
                dryRun
            );
        }
        Assert.True(
            openApi
                .RootElement.GetProperty("components")
                .GetProperty("schemas")
                .GetProperty("RunRequest")
                .GetProperty("properties")
                .TryGetProperty("datasetBlob", out _)
        );
    }

    /// <summary>The operation of the document's path template that fits a concrete <c>METHOD /path</c>.</summary>
    private static JsonElement Operation(JsonElement openApi, string route)
    {
        string[] parts = route.Split(' ');
        string[] segments = parts[1].Split('/');
        foreach (JsonProperty path in openApi.GetProperty("paths").EnumerateObject())
        {
            string[] template = path.Name.Split('/');
            if (
                template.Length == segments.Length
                && template.Zip(segments).All(p => p.First.StartsWith('{') || p.First == p.Second)
                && path.Value.TryGetProperty(parts[0].ToLowerInvariant(), out JsonElement operation)
            )
            {
                return operation;
            }
        }

        throw new Xunit.Sdk.XunitException($"/openapi/v1.json has no operation for {route}");
    }

    /// <summary>The conversation a client has with either host; each step names the route it holds.</summary>
    private static async Task<IReadOnlyList<Answer>> ConverseAsync(IApiHost host)
    {
        var answers = new List<Answer>();
        string dataset = await host.WriteDatasetAsync(Rows.Jsonl(Rows.ManyChats(30, i => i % 2 == 0 ? "billing" : "shipping")));
        string chats = Rows.Jsonl(Rows.ManyChats(12));

        Answer started = await host.SendAsync(
            "start",
            "POST",
            "/api/runs",
            $$"""{"datasetBlob": "{{dataset}}", "suffix": "contract", "pollInterval": "00:00:01"}"""
        );
        answers.Add(started);
        string runId = started.Body!.Value.GetProperty("id").GetString()!;
        await host.WaitForRunAsync(runId);

        Answer run = await host.SendAsync("run", "GET", $"/api/runs/{runId}");
        answers.Add(run);
        string modelId = run.Body!.Value.GetProperty("run").GetProperty("modelId").GetString()!;
        answers.Add(await host.SendAsync("runs", "GET", "/api/runs"));
        answers.Add(await host.SendAsync("validation report", "GET", $"/api/runs/{runId}/reports/validation"));
        answers.Add(await host.SendAsync("results report", "GET", $"/api/runs/{runId}/reports/results"));
        answers.Add(await host.SendAsync("models", "GET", "/api/models"));
        answers.Add(await host.SendAsync("model", "GET", $"/api/models/{Uri.EscapeDataString(modelId)}"));
        answers.Add(await host.SendAsync("validate", "POST", "/api/validate?method=supervised", chats));
        answers.Add(await host.SendAsync("estimate", "POST", "/api/estimate?epochs=2", chats));
        foreach (string control in RunApi.Controls.Keys)
        {
            answers.Add(await host.SendAsync($"{control} an ended run (409)", "POST", $"/api/runs/{runId}/{control}"));
            answers.Add(await host.SendAsync($"{control} no run (404)", "POST", $"/api/runs/none/{control}"));
        }

        string model = Uri.EscapeDataString(modelId);
        answers.Add(await host.SendAsync("promote", "POST", $"/api/models/{model}/promote", """{"by": "ana", "why": "contract"}"""));
        answers.Add(await host.SendAsync("archive", "POST", $"/api/models/{model}/archive"));
        answers.Add(await host.SendAsync("promote no model (404)", "POST", "/api/models/none/promote"));
        answers.Add(await host.SendAsync("a decision that is not one (400)", "POST", $"/api/models/{model}/promote", "[1]"));
        answers.Add(await host.SendAsync("approve with a broken body (400)", "POST", $"/api/runs/{runId}/approve", "{"));
        answers.Add(await host.SendAsync("no evaluation report (404)", "GET", $"/api/runs/{runId}/reports/evaluation"));
        answers.Add(await host.SendAsync("upload a dataset (201)", "PUT", "/api/datasets/contract-upload.jsonl", chats));
        answers.Add(await host.SendAsync("datasets", "GET", "/api/datasets"));
        answers.Add(await host.SendAsync("upload under a bad name (400)", "PUT", "/api/datasets/notes.txt", chats));
        answers.Add(await host.SendAsync("no run (404)", "GET", "/api/runs/none"));
        answers.Add(await host.SendAsync("no report (404)", "GET", $"/api/runs/{runId}/reports/bogus"));
        answers.Add(await host.SendAsync("no model (404)", "GET", "/api/models/none"));
        answers.Add(await host.SendAsync("broken body (400)", "POST", "/api/runs", "{"));
        answers.Add(await host.SendAsync("missing dataset (400)", "POST", "/api/runs", """{"datasetBlob": "datasets/none.jsonl"}"""));
        answers.Add(await host.SendAsync("bad field (400)", "POST", "/api/runs", $$"""{"datasetBlob": "{{dataset}}", "trainRatio": 2}"""));
        answers.Add(await host.SendAsync("bad dry-run option (400)", "POST", "/api/validate?method=bogus", chats));
        answers.Add(await host.SendAsync("unknown dry-run option (400)", "POST", "/api/estimate?epoch=2", chats));
        return answers;
    }

    [Fact]
    public async Task LocalOpenApiDocument_ListsExactlyTheAzureHostsRoutes()
    {
        using JsonDocument openApi = JsonDocument.Parse(await _http.GetStringAsync(new Uri("openapi/v1.json", UriKind.Relative)));

        string[] documented =
        [
            .. openApi
                .RootElement.GetProperty("paths")
                .EnumerateObject()
                .SelectMany(path => path.Value.EnumerateObject().Select(op => $"{op.Name.ToUpperInvariant()} {path.Name}"))
                .Order(StringComparer.Ordinal),
        ];
        string[] azure =
        [
            .. AzureApi
                .Routes()
                .SelectMany(r =>
                    r.Template.Contains("{control}", StringComparison.Ordinal)
                        ? RunApi.Controls.Keys.Select(c =>
                            (r.Method, Template: r.Template.Replace("{control}", c, StringComparison.Ordinal))
                        )
                    : r.Template.Contains("{action}", StringComparison.Ordinal)
                        ? RunApi.ModelActions.Keys.Select(a =>
                            (r.Method, Template: r.Template.Replace("{action}", a, StringComparison.Ordinal))
                        )
                    : [(r.Method, r.Template)]
                )
                .Select(r => $"{r.Method} /api/{r.Template}")
                .Order(StringComparer.Ordinal),
        ];
        Assert.Equal(azure, documented);
    }

    private static Answer Read(string step, int status, string? mediaType, string body)
    {
        JsonElement? json = body.Length == 0 ? null : JsonDocument.Parse(body).RootElement.Clone();
        return new Answer(step, status, mediaType, json is { } j ? Shape(j) : "(empty)", json);
    }

    /// <summary>Member names in order, nested; arrays by their first element; scalars by kind, null taken as any kind.</summary>
    private static string Shape(JsonElement element) =>
        element.ValueKind switch
        {
            JsonValueKind.Object => "{" + string.Join(",", element.EnumerateObject().Select(p => $"{p.Name}:{Shape(p.Value)}")) + "}",
            JsonValueKind.Array => "[" + (element.GetArrayLength() == 0 ? "" : Shape(element[0])) + "]",
            JsonValueKind.True or JsonValueKind.False => "bool",
            JsonValueKind.Number => "number",
            JsonValueKind.String => "string",
            _ => "?",
        };

    /// <summary>The local host through a real HTTP client.</summary>
    private sealed class LocalHttp(LocalRunHost host, HttpClient http) : IApiHost
    {
        public async Task<Answer> SendAsync(string step, string method, string pathAndQuery, string? body = null)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(pathAndQuery.TrimStart('/'), UriKind.Relative));
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            using HttpResponseMessage response = await http.SendAsync(request);
            MediaTypeHeaderValue? type = response.Content.Headers.ContentType;
            return Read(step, (int)response.StatusCode, type?.MediaType, await response.Content.ReadAsStringAsync()) with
            {
                Route = $"{method} {pathAndQuery.Split('?')[0]}",
            };
        }

        public async Task WaitForRunAsync(string runId) => await (host.Outcome(runId) ?? Task.FromResult<Core.Workflow.RunOutcome>(null!));

        public async Task<string> WriteDatasetAsync(string jsonl)
        {
            const string blob = "datasets/support.jsonl";
            await host.Blobs.WriteAsync(blob, (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(jsonl), ct).AsTask());
            return blob;
        }
    }

    /// <summary>
    /// The Azure host's <c>[Function]</c> methods, found by their HTTP trigger's method and route and called as the worker
    /// calls them: route values by name, the request, the Durable client and a cancellation token.
    /// </summary>
    private sealed class AzureApi(AzureHost host) : IApiHost
    {
        private readonly FunctionsHttp _http = new();
        private readonly RunsApi _api = ActivatorUtilities.CreateInstance<RunsApi>(host.App.Services);

        public static IEnumerable<(string Method, string Template, MethodInfo Function)> Routes() =>
            typeof(RunsApi)
                .GetMethods()
                .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
                .SelectMany(m =>
                    m.GetParameters()
                        .Select(p => p.GetCustomAttribute<HttpTriggerAttribute>())
                        .OfType<HttpTriggerAttribute>()
                        .SelectMany(t => t.Methods!.Select(verb => (verb.ToUpperInvariant(), t.Route!, m)))
                );

        public async Task<Answer> SendAsync(string step, string method, string pathAndQuery, string? body = null)
        {
            string path = pathAndQuery.Split('?')[0]["/api/".Length..];
            foreach ((string verb, string template, MethodInfo function) in Routes())
            {
                if (verb == method && Match(template, path) is { } values)
                {
                    HttpRequestData request = _http.Request(method, pathAndQuery, body);
                    object?[] arguments =
                    [
                        .. function
                            .GetParameters()
                            .Select(p =>
                                p.ParameterType == typeof(HttpRequestData) ? request
                                : p.ParameterType == typeof(DurableTaskClient) ? host.Durable.Client
                                : p.ParameterType == typeof(CancellationToken) ? CancellationToken.None
                                : (object?)values[p.Name!]
                            ),
                    ];
                    HttpResponseData response = await (Task<HttpResponseData>)function.Invoke(_api, arguments)!;
                    string? type = FunctionsHttp.Header(response, "Content-Type")?.Split(';')[0];
                    return Read(step, (int)response.StatusCode, type, FunctionsHttp.Body(response)) with
                    {
                        Route = $"{method} {pathAndQuery.Split('?')[0]}",
                    };
                }
            }

            throw new InvalidOperationException($"{step}: no Azure function answers {method} {pathAndQuery}.");
        }

        /// <summary>The route values when <paramref name="path"/> fits the template, as the Functions host matches.</summary>
        private static Dictionary<string, string>? Match(string template, string path)
        {
            string[] parts = template.Split('/');
            string[] given = path.Split('/');
            if (parts.Length != given.Length)
            {
                return null;
            }

            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach ((string part, string segment) in parts.Zip(given))
            {
                if (part.StartsWith('{'))
                    values[part.Trim('{', '}')] = segment;
                else if (part != segment)
                    return null;
            }

            return values;
        }

        public async Task WaitForRunAsync(string runId)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await host.Durable.Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: false, timeout.Token);
        }

        public Task<string> WriteDatasetAsync(string jsonl) => host.WriteDatasetAsync(jsonl);
    }
}
