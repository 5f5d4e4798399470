using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Identity;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenAI;
using OpenAI.Files;
using OpenAI.FineTuning;

namespace FineTuning.OpenAI;

/// <summary>
/// <see cref="IFineTuningProvider"/> over the OpenAI .NET SDK, for Azure OpenAI (<c>/openai/v1/</c>, Entra ID or
/// api-key), OpenAI and the emulator. File uploads use the SDK's typed client; job calls are protocol calls on the
/// same pipeline (its retry policy retries 408, 429 and 5xx with backoff and Retry-After), so that every method,
/// the metadata filter and the raw error fields are reachable.
/// </summary>
public sealed partial class OpenAIFineTuningProvider : IFineTuningProvider
{
    /// <summary>The token scope of Azure OpenAI.</summary>
    public const string AzureScope = "https://cognitiveservices.azure.com/.default";

    private static readonly Uri OpenAIEndpoint = new("https://api.openai.com/v1/");

    private readonly ClientPipeline _pipeline;
    private readonly OpenAIFileClient _files;
    private readonly Uri _endpoint;
    private readonly ProviderOptions _options;
    private readonly string _credentialDescription;
    private readonly ILogger _logger;
    private readonly FineTuningClient _create;

    private OpenAIFineTuningProvider(ClientPipeline pipeline, AuthenticationPolicy auth, OpenAIClientOptions clientOptions, FineTuningClient create, Uri endpoint, ProviderOptions options, string credentialDescription, ILogger logger)
    {
        _logger = logger;
        _create = create;
        _pipeline = pipeline;
        _endpoint = endpoint;
        _options = options;
        _credentialDescription = credentialDescription;
        _files = new OpenAIClient(auth, clientOptions).GetOpenAIFileClient();
    }

    /// <summary>
    /// Builds the provider once (it is thread-safe); <paramref name="credential"/> defaults to DefaultAzureCredential for
    /// Entra ID. With a <paramref name="loggerFactory"/>, the SDK logs each request, response and retry (headers other
    /// than its safe list, and all bodies, redacted: keys and tokens never reach a log) and the provider logs what it
    /// decides (a job found rather than created, upload parts).
    /// </summary>
    public static OpenAIFineTuningProvider Create(ProviderOptions options, TokenCredential? credential = null, PipelineTransport? transport = null, ILoggerFactory? loggerFactory = null)
    {
        if (options.Problem() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        Uri endpoint = WithSlash(options.Endpoint ?? OpenAIEndpoint);
        (AuthenticationPolicy auth, string description) = options switch
        {
            { Kind: ProviderKind.AzureOpenAI, Auth: AzureAuth.EntraId } =>
                ((AuthenticationPolicy)new BearerTokenPolicy(credential ?? new DefaultAzureCredential(), AzureScope), "Microsoft Entra ID (DefaultAzureCredential)"),
            { Kind: ProviderKind.AzureOpenAI } =>
                (ApiKeyAuthenticationPolicy.CreateHeaderApiKeyPolicy(new ApiKeyCredential(options.ApiKey!), "api-key"), "the resource's api-key"),
            _ => (ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(options.ApiKey ?? "emulator")), "the API key"),
        };

        OpenAIClientOptions ClientOptions(int retries)
        {
            var clientOptions = new OpenAIClientOptions
            {
                Endpoint = endpoint,
                OrganizationId = options.Organization,
                ProjectId = options.Project,
                RetryPolicy = new ClientRetryPolicy(maxRetries: retries),
                NetworkTimeout = options.RequestTimeout,
                ClientLoggingOptions = new ClientLoggingOptions
                {
                    LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance,
                    EnableLogging = loggerFactory is not null,
                    EnableMessageContentLogging = false,
                },
            };
            if (transport is not null)
            {
                clientOptions.Transport = transport;
            }

            return clientOptions;
        }

        OpenAIClientOptions clientOptions = ClientOptions(retries: 5);
        ClientPipeline pipeline = ClientPipeline.Create(clientOptions, [], [auth], []);

        // Creating a job is never retried blindly (see CreateJobAsync): its typed client has no retries of its own.
        FineTuningClient create = new OpenAIClient(auth, ClientOptions(retries: 0)).GetFineTuningClient();
        return new OpenAIFineTuningProvider(pipeline, auth, clientOptions, create, endpoint, options, description,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<OpenAIFineTuningProvider>());
    }

    public async Task<ProviderFile> UploadFileAsync(string fileName, Stream content, CancellationToken cancellationToken = default)
    {
        if (content.CanSeek && content.Length - content.Position > _options.SingleUploadLimitBytes)
        {
            return await UploadInPartsAsync(fileName, content, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            ClientResult<OpenAIFile> result = await _files.UploadFileAsync(content, fileName, FileUploadPurpose.FineTune, cancellationToken).ConfigureAwait(false);
            return ReadFile(JsonDocument.Parse(result.GetRawResponse().Content).RootElement);
        }
        catch (ClientResultException ex) when (ex.GetRawResponse() is { } response)
        {
            throw ToProviderException(response);
        }
    }

    /// <summary>The Uploads API: create an upload, send parts (several at once), complete it in order.</summary>
    private async Task<ProviderFile> UploadInPartsAsync(string fileName, Stream content, CancellationToken cancellationToken)
    {
        long total = content.Length - content.Position;
        string create = new JsonObject { ["filename"] = fileName, ["purpose"] = "fine-tune", ["bytes"] = total, ["mime_type"] = "application/jsonl" }.ToJsonString();
        string uploadId = (await SendAsync("POST", "uploads", create, cancellationToken).ConfigureAwait(false)).GetProperty("id").GetString()!;
        int partCount = (int)((total + _options.UploadPartBytes - 1) / _options.UploadPartBytes);
        LogUploadParts(fileName, partCount, _options.UploadPartBytes);
        var partIds = new string[partCount];
        using var slots = new SemaphoreSlim(Math.Max(1, _options.UploadParallelism));
        var sending = new List<Task>();
        for (int i = 0; i < partCount; i++)
        {
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            // The part is read straight into its multipart request body: one buffer per part, no copies.
            PartBody part = PartBody.Create((int)Math.Min(_options.UploadPartBytes, total - ((long)i * _options.UploadPartBytes)));
            await content.ReadExactlyAsync(part.Data, cancellationToken).ConfigureAwait(false);
            int index = i;
            sending.Add(Task.Run(async () =>
            {
                try
                {
                    partIds[index] = await SendPartAsync(uploadId, part, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    slots.Release();
                }
            }, cancellationToken));
        }

        await Task.WhenAll(sending).ConfigureAwait(false);
        string complete = new JsonObject { ["part_ids"] = new JsonArray([.. partIds.Select(id => (JsonNode)id)]) }.ToJsonString();
        JsonElement upload = await SendAsync("POST", $"uploads/{uploadId}/complete", complete, cancellationToken).ConfigureAwait(false);
        return ReadFile(upload.GetProperty("file"));
    }

    private async Task<string> SendPartAsync(string uploadId, PartBody part, CancellationToken cancellationToken)
    {
        BinaryData response = await SendRawAsync("POST", $"uploads/{uploadId}/parts", cancellationToken, content: (BinaryData.FromBytes(part.Body), part.ContentType)).ConfigureAwait(false);
        using JsonDocument document = JsonDocument.Parse(response);
        return document.RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>A multipart/form-data body with one file field <c>data</c>, whose bytes are read into <see cref="Data"/> in place.</summary>
    private sealed class PartBody
    {
        private PartBody(byte[] body, int offset, int length, string boundary)
        {
            Body = body;
            Data = body.AsMemory(offset, length);
            ContentType = $"multipart/form-data; boundary={boundary}";
        }

        public byte[] Body { get; }

        public Memory<byte> Data { get; }

        public string ContentType { get; }

        public static PartBody Create(int length)
        {
            string boundary = "part-" + Guid.NewGuid().ToString("N");
            byte[] head = Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"part\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            byte[] tail = Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
            byte[] body = new byte[head.Length + length + tail.Length];
            head.CopyTo(body, 0);
            tail.CopyTo(body, head.Length + length);
            return new PartBody(body, head.Length, length, boundary);
        }
    }

    public async Task<ProviderFile> GetFileAsync(string fileId, CancellationToken cancellationToken = default) =>
        ReadFile(await SendAsync("GET", $"files/{Uri.EscapeDataString(fileId)}", null, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Creates the job exactly once: the create call is never retried blindly. When it fails in a way that may have
    /// created the job anyway (a lost response, 408, 429, 5xx), the job is looked up by its run id before trying again.
    /// </summary>
    public async Task<ProviderJob> CreateJobAsync(JobRequest request, CancellationToken cancellationToken = default)
    {
        string body = JobBody(request, _options.TrainingType);
        bool typed = CanCreateTyped(request);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return ReadJob(typed
                    ? await CreateTypedAsync(request, cancellationToken).ConfigureAwait(false)
                    : await SendAsync("POST", "fine_tuning/jobs", body, cancellationToken, retry: false).ConfigureAwait(false));
            }
            catch (Exception ex) when (attempt < MaxCreateAttempts && IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                LogCreateUncertain(request.RunId, attempt, ex.Message);
                if (await FindJobByRunIdAsync(request.RunId, cancellationToken).ConfigureAwait(false) is { } created)
                {
                    LogFoundCreated(created.Id, request.RunId);
                    return created;
                }

                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, attempt - 1))), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private const int MaxCreateAttempts = 5;

    /// <summary>
    /// Supervised and DPO jobs are created with the SDK's typed <see cref="FineTuningClient"/>; reinforcement jobs (the
    /// SDK has no grader type), Azure's <c>trainingType</c> and a fractional DPO <c>beta</c> (the SDK's beta is an
    /// integer) go as protocol JSON on the same pipeline.
    /// </summary>
    internal bool CanCreateTyped(JobRequest request) => _options.TrainingType is null && request.Seed is null or (>= int.MinValue and <= int.MaxValue) && request.Method switch
    {
        FineTuningMethod.Supervised => true,
        FineTuningMethod.Dpo => request.Hyperparameters?.Beta is not double beta || (beta is >= 1 and <= int.MaxValue && beta == Math.Floor(beta)),
        _ => false,
    };

    private async Task<JsonElement> CreateTypedAsync(JobRequest request, CancellationToken cancellationToken)
    {
        Hyperparameters h = request.Hyperparameters ?? new Hyperparameters();
        HyperparameterBatchSize? batchSize = h.BatchSize is int batch ? batch : null;
        HyperparameterEpochCount? epochs = h.Epochs is int n ? n : null;
        HyperparameterLearningRate? learningRate = h.LearningRateMultiplier is double rate ? rate : null;
        var options = new FineTuningOptions
        {
            Suffix = request.Suffix,
            ValidationFile = request.ValidationFileId,
            Seed = request.Seed is long seed ? (int)seed : null,
            TrainingMethod = request.Method == FineTuningMethod.Dpo
                ? FineTuningTrainingMethod.CreateDirectPreferenceOptimization(batchSize, epochs, learningRate, h.Beta is double beta ? (int)beta : null)
                : FineTuningTrainingMethod.CreateSupervised(batchSize, epochs, learningRate),
        };
        options.Metadata["run_id"] = request.RunId;
        try
        {
            FineTuningJob job = await _create.FineTuneAsync(request.Model, request.TrainingFileId, waitUntilCompleted: false, options, cancellationToken).ConfigureAwait(false);
            using JsonDocument document = JsonDocument.Parse(job.GetRawResponse().Content);
            return document.RootElement.Clone();
        }
        catch (ClientResultException ex) when (ex.GetRawResponse() is { } response)
        {
            throw ToProviderException(response);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Creating the job of run {RunId} may have failed (attempt {Attempt}: {Reason}); looking it up by run id before trying again")]
    private partial void LogCreateUncertain(string runId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} was created by an earlier attempt; using it")]
    private partial void LogFoundCreated(string jobId, string runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Uploading {FileName} in {Parts} parts of up to {PartBytes} bytes")]
    private partial void LogUploadParts(string fileName, int parts, int partBytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The provider refused a request with {Status}: {Message}")]
    private partial void LogRefused(int status, string message);

    private static bool IsTransient(Exception ex) => ex switch
    {
        ProviderException p => p.Status is 408 or 409 or 429 or >= 500,
        ClientResultException c => c.Status == 0 || c.Status is 408 or 429 or >= 500,
        HttpRequestException or IOException => true,
        _ => false,
    };

    public async Task<ProviderJob?> FindJobByRunIdAsync(string runId, CancellationToken cancellationToken = default)
    {
        // The metadata filter answers in one call where the service supports it; every job is checked either way,
        // so a service that ignores the filter still gives the right answer.
        await foreach (JsonElement job in ListAsync($"fine_tuning/jobs?metadata[run_id]={Uri.EscapeDataString(runId)}", cancellationToken).ConfigureAwait(false))
        {
            if (job.TryGetProperty("metadata", out JsonElement metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("run_id", out JsonElement id) && id.GetString() == runId)
            {
                return ReadJob(job);
            }
        }

        return null;
    }

    public async Task<ProviderJob> GetJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        ReadJob(await SendAsync("GET", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}", null, cancellationToken).ConfigureAwait(false));

    public async Task<ProviderJob> CancelJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        ReadJob(await SendAsync("POST", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/cancel", null, cancellationToken).ConfigureAwait(false));

    public async Task<IReadOnlyList<ProviderEvent>> GetEventsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var events = new List<ProviderEvent>();
        await foreach (JsonElement e in ListAsync($"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/events", cancellationToken).ConfigureAwait(false))
        {
            events.Add(ReadEvent(e));
        }

        events.Reverse(); // the API lists newest first
        return events;
    }

    public async Task<IReadOnlyList<ProviderEvent>> GetRecentEventsAsync(string jobId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        JsonElement page = await SendAsync("GET", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/events?limit={Math.Min(limit, 100)}", null, cancellationToken).ConfigureAwait(false);
        return [.. page.GetProperty("data").EnumerateArray().Select(ReadEvent)];
    }

    private static ProviderEvent ReadEvent(JsonElement e) => new(
        e.GetProperty("id").GetString()!,
        DateTimeOffset.FromUnixTimeSeconds(e.GetProperty("created_at").GetInt64()),
        e.TryGetProperty("level", out JsonElement level) ? level.GetString() ?? "info" : "info",
        e.TryGetProperty("message", out JsonElement message) ? message.GetString() ?? "" : "",
        e.TryGetProperty("type", out JsonElement type) ? type.GetString() : null,
        e.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Object ? data.Clone() : null);

    public async Task<IReadOnlyList<ProviderCheckpoint>> GetCheckpointsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var checkpoints = new List<ProviderCheckpoint>();
        await foreach (JsonElement c in ListAsync($"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/checkpoints", cancellationToken).ConfigureAwait(false))
        {
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            if (c.TryGetProperty("metrics", out JsonElement m) && m.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in m.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.Number) metrics[p.Name] = p.Value.GetDouble();
                }
            }

            checkpoints.Add(new ProviderCheckpoint(
                c.GetProperty("id").GetString()!,
                c.TryGetProperty("step_number", out JsonElement step) ? step.GetInt32() : 0,
                c.TryGetProperty("fine_tuned_model_checkpoint", out JsonElement model) ? model.GetString() ?? "" : "",
                DateTimeOffset.FromUnixTimeSeconds(c.GetProperty("created_at").GetInt64()),
                metrics));
        }

        return [.. checkpoints.OrderBy(c => c.Step)];
    }

    /// <summary>Every item of a paged list (<c>data</c>, <c>has_more</c>, <c>after</c>), 100 at a time.</summary>
    private async IAsyncEnumerable<JsonElement> ListAsync(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            string page = $"{path}{(path.Contains('?', StringComparison.Ordinal) ? '&' : '?')}limit=100" + (after is null ? "" : $"&after={Uri.EscapeDataString(after)}");
            JsonElement list = await SendAsync("GET", page, null, cancellationToken).ConfigureAwait(false);
            foreach (JsonElement item in list.GetProperty("data").EnumerateArray())
            {
                after = item.GetProperty("id").GetString();
                yield return item;
            }

            if (after is null || !list.TryGetProperty("has_more", out JsonElement more) || !more.GetBoolean())
            {
                yield break;
            }
        }
    }

    public async Task<IReadOnlyList<ResultRow>> GetResultsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        JsonElement job = await SendAsync("GET", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}", null, cancellationToken).ConfigureAwait(false);
        if (!job.TryGetProperty("result_files", out JsonElement files) || files.ValueKind != JsonValueKind.Array || files.GetArrayLength() == 0)
        {
            return [];
        }

        string fileId = files[0].GetString()!;
        BinaryData content = await SendRawAsync("GET", $"files/{Uri.EscapeDataString(fileId)}/content", cancellationToken).ConfigureAwait(false);
        string csv = content.ToString();
        // Azure returns the results file base64-encoded; OpenAI returns the CSV itself.
        if (!csv.Contains(',', StringComparison.Ordinal))
        {
            try
            {
                csv = Encoding.UTF8.GetString(Convert.FromBase64String(csv.Trim()));
            }
            catch (FormatException)
            {
            }
        }

        return ResultsCsv.Parse(csv);
    }

    public async Task<IReadOnlyList<string>> ValidateGraderAsync(JsonElement grader, CancellationToken cancellationToken = default)
    {
        string body = new JsonObject { ["grader"] = JsonNode.Parse(grader.GetRawText()) }.ToJsonString();
        try
        {
            await SendAsync("POST", "fine_tuning/alpha/graders/validate", body, cancellationToken).ConfigureAwait(false);
            return [];
        }
        catch (ProviderException ex) when (ex.Status == 400)
        {
            return [ex.Param is null ? ex.Message : $"{ex.Param}: {ex.Message}"];
        }
    }

    public async Task<FineTuning.Core.Graders.GraderRunResult> RunGraderAsync(JsonElement grader, string modelSample, JsonElement item, CancellationToken cancellationToken = default)
    {
        string body = new JsonObject
        {
            ["grader"] = JsonNode.Parse(grader.GetRawText()),
            ["model_sample"] = modelSample,
            ["item"] = JsonNode.Parse(item.GetRawText()),
        }.ToJsonString();
        JsonElement result = await SendAsync("POST", "fine_tuning/alpha/graders/run", body, cancellationToken).ConfigureAwait(false);
        var subs = new Dictionary<string, double>(StringComparer.Ordinal);
        if (result.TryGetProperty("sub_rewards", out JsonElement sub) && sub.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in sub.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Number) subs[p.Name] = p.Value.GetDouble();
            }
        }

        var errors = new List<string>();
        if (result.TryGetProperty("metadata", out JsonElement meta) && meta.TryGetProperty("errors", out JsonElement errs) && errs.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in errs.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.True || (p.Value.ValueKind == JsonValueKind.String && p.Value.GetString()!.Length > 0))
                {
                    errors.Add(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Name);
                }
            }
        }

        return new FineTuning.Core.Graders.GraderRunResult(result.GetProperty("reward").GetDouble(), subs, errors);
    }

    public async Task<ProviderJob> PauseJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        ReadJob(await SendAsync("POST", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/pause", null, cancellationToken).ConfigureAwait(false));

    public async Task<ProviderJob> ResumeJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        ReadJob(await SendAsync("POST", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/resume", null, cancellationToken).ConfigureAwait(false));

    internal static string JobBody(JobRequest request, string? trainingType)
    {
        var method = new JsonObject();
        string type = request.Method switch
        {
            FineTuningMethod.Dpo => "dpo",
            FineTuningMethod.Reinforcement => "reinforcement",
            _ => "supervised",
        };
        var hyper = new JsonObject();
        Hyperparameters h = request.Hyperparameters ?? new Hyperparameters();
        Set(hyper, "n_epochs", h.Epochs);
        Set(hyper, "batch_size", h.BatchSize);
        Set(hyper, "learning_rate_multiplier", h.LearningRateMultiplier);
        if (request.Method == FineTuningMethod.Dpo) Set(hyper, "beta", h.Beta);
        if (request.Method == FineTuningMethod.Reinforcement)
        {
            Set(hyper, "compute_multiplier", h.ComputeMultiplier);
            Set(hyper, "eval_interval", h.EvalInterval);
            Set(hyper, "eval_samples", h.EvalSamples);
            if (h.ReasoningEffort is not null) hyper["reasoning_effort"] = h.ReasoningEffort;
        }

        var detail = new JsonObject { ["hyperparameters"] = hyper };
        if (request.Method == FineTuningMethod.Reinforcement)
        {
            detail["grader"] = request.Grader is { } grader
                ? JsonNode.Parse(grader.GetRawText())
                : throw new ArgumentException("A reinforcement job needs a grader.", nameof(request));
        }

        method["type"] = type;
        method[type] = detail;
        var body = new JsonObject
        {
            ["model"] = request.Model,
            ["training_file"] = request.TrainingFileId,
            ["method"] = method,
            ["metadata"] = new JsonObject { ["run_id"] = request.RunId },
        };
        if (request.ValidationFileId is not null) body["validation_file"] = request.ValidationFileId;
        if (request.Suffix is not null) body["suffix"] = request.Suffix;
        if (request.Seed is not null) body["seed"] = request.Seed;
        if (trainingType is not null) body["trainingType"] = trainingType;
        return body.ToJsonString();
    }

    private static void Set(JsonObject hyper, string name, int? value) => hyper[name] = value is { } v ? JsonValue.Create(v) : "auto";

    private static void Set(JsonObject hyper, string name, double? value) => hyper[name] = value is { } v ? JsonValue.Create(v) : "auto";

    private async Task<JsonElement> SendAsync(string method, string path, string? json, CancellationToken cancellationToken, bool retry = true)
    {
        BinaryData content = await SendRawAsync(method, path, cancellationToken, json, retry).ConfigureAwait(false);
        using JsonDocument document = JsonDocument.Parse(content);
        return document.RootElement.Clone();
    }

    private async Task<BinaryData> SendRawAsync(string method, string path, CancellationToken cancellationToken, string? json = null, bool retry = true, (BinaryData Body, string ContentType)? content = null)
    {
        using PipelineMessage message = _pipeline.CreateMessage();
        message.Apply(new RequestOptions { CancellationToken = cancellationToken });
        message.ResponseClassifier = retry ? PipelineMessageClassifier.Create([200]) : NoRetry.Instance;
        PipelineRequest request = message.Request;
        request.Method = method;
        request.Uri = new Uri(_endpoint, path);
        request.Headers.Set("Accept", "application/json");
        if (json is not null)
        {
            request.Headers.Set("Content-Type", "application/json");
            request.Content = BinaryContent.Create(BinaryData.FromString(json));
        }
        else if (content is { } raw)
        {
            request.Headers.Set("Content-Type", raw.ContentType);
            request.Content = BinaryContent.Create(raw.Body);
        }

        await _pipeline.SendAsync(message).ConfigureAwait(false);
        PipelineResponse response = message.Response!;
        if (response.IsError)
        {
            throw ToProviderException(response);
        }

        return response.Content;
    }

    private ProviderException ToProviderException(PipelineResponse response)
    {
        string? code = null, param = null, message = response.ReasonPhrase;
        try
        {
            using JsonDocument document = JsonDocument.Parse(response.Content);
            if (document.RootElement.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.Object)
            {
                code = error.TryGetProperty("code", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                param = error.TryGetProperty("param", out JsonElement p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
                message = error.TryGetProperty("message", out JsonElement m) ? m.GetString() ?? message : message;
            }
        }
        catch (JsonException)
        {
            message = $"{response.ReasonPhrase}: {Truncate(response.Content.ToString())}";
        }

        if (response.Status is 401 or 403)
        {
            string role = _options.Kind == ProviderKind.AzureOpenAI && _options.Auth == AzureAuth.EntraId
                ? " The identity needs the role 'Cognitive Services OpenAI Contributor' on the Azure OpenAI resource."
                : " Check the key in FineTuning:Provider:ApiKey.";
            message = $"{message} (authenticated with {_credentialDescription}).{role}";
            LogRefused(response.Status, message);
        }

        return response.Status is >= 400 and < 500 and not (408 or 409 or 429)
            ? new ProviderRejectedException(response.Status, code, message ?? "", param)
            : new ProviderException(response.Status, code, message ?? "", param);
    }

    private static string Truncate(string text) => text.Length > 300 ? text[..300] + "…" : text;

    private static ProviderFile ReadFile(JsonElement f) => new(
        f.GetProperty("id").GetString()!,
        f.TryGetProperty("filename", out JsonElement name) ? name.GetString() ?? "" : "",
        f.TryGetProperty("bytes", out JsonElement bytes) && bytes.ValueKind == JsonValueKind.Number ? bytes.GetInt64() : 0,
        f.TryGetProperty("status", out JsonElement status) ? status.GetString() ?? "uploaded" : "uploaded",
        f.TryGetProperty("status_details", out JsonElement details) && details.ValueKind == JsonValueKind.String ? details.GetString() : null);

    internal static ProviderJob ReadJob(JsonElement j)
    {
        static DateTimeOffset? Time(JsonElement e, string name) =>
            e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? DateTimeOffset.FromUnixTimeSeconds(v.GetInt64()) : null;
        static string? Text(JsonElement e, string name) =>
            e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        ProviderError? error = j.TryGetProperty("error", out JsonElement err) && err.ValueKind == JsonValueKind.Object
            && (Text(err, "code") ?? Text(err, "message")) is not null
            ? new ProviderError(Text(err, "code"), Text(err, "message"), Text(err, "param"))
            : null;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (j.TryGetProperty("metadata", out JsonElement meta) && meta.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in meta.EnumerateObject())
            {
                metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
        }

        return new ProviderJob(
            j.GetProperty("id").GetString()!,
            Text(j, "status") ?? "unknown",
            Text(j, "model") ?? "",
            Text(j, "fine_tuned_model"),
            j.TryGetProperty("trained_tokens", out JsonElement tokens) && tokens.ValueKind == JsonValueKind.Number ? tokens.GetInt64() : null,
            Time(j, "created_at") ?? DateTimeOffset.UnixEpoch,
            Time(j, "finished_at"),
            Time(j, "estimated_finish"),
            error,
            metadata);
    }

    /// <summary>Classifies 200 as success and never asks the pipeline to retry (for calls that are not idempotent).</summary>
    private sealed class NoRetry : PipelineMessageClassifier
    {
        public static NoRetry Instance { get; } = new();

        public override bool TryClassify(PipelineMessage message, out bool isError)
        {
            isError = message.Response?.Status != 200;
            return true;
        }

        public override bool TryClassify(PipelineMessage message, Exception? exception, out bool isRetriable)
        {
            isRetriable = false;
            return true;
        }
    }

    private static Uri WithSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
