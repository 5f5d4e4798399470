using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Graders;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FineTuning.Emulator;

/// <summary>
/// A local server that speaks the OpenAI fine-tuning REST protocol (files and jobs, with events, checkpoints and a
/// results file) under <c>/v1/</c> and, as Azure OpenAI serves it, under <c>/openai/v1/</c>. Binds 127.0.0.1 only.
/// </summary>
public sealed class EmulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly EmulatorState _state;

    private EmulatorServer(WebApplication app, EmulatorState state, Uri root, string contentDirectory)
    {
        _app = app;
        _state = state;
        Root = root;
        ContentDirectory = contentDirectory;
    }

    /// <summary>
    /// Where uploaded file contents are kept, one file per id: under the state directory, or a scratch folder removed
    /// when the emulator is disposed.
    /// </summary>
    public string ContentDirectory { get; }

    /// <summary>The server's root, e.g. <c>http://127.0.0.1:5123/</c>.</summary>
    public Uri Root { get; }

    /// <summary>The OpenAI-style base URL (<c>/v1/</c>).</summary>
    public Uri OpenAIEndpoint => new(Root, "v1/");

    /// <summary>The emulated Azure Resource Manager (deployments of an Azure OpenAI account), <c>/arm/</c>.</summary>
    public Uri ArmEndpoint => new(Root, "arm/");

    /// <summary>The Azure OpenAI-style base URL (<c>/openai/v1/</c>).</summary>
    public Uri AzureEndpoint => new(Root, "openai/v1/");

    /// <summary>
    /// How many times each model was asked: one entry per (model as named in the request, messages as sent), the count
    /// of chat completions answered for it. What a test reads to prove that no held-out row was asked twice.
    /// </summary>
    public IReadOnlyDictionary<(string Model, string Messages), int> AnswerCounts() => _state.Answers.ToDictionary();

    /// <summary>The largest request body: a 512 MB file and its multipart envelope.</summary>
    public const long MaxRequestBytes = 512_000_000 + (1 << 20);

    public static async Task<EmulatorServer> StartAsync(
        EmulatorOptions options,
        int port = 0,
        CancellationToken cancellationToken = default
    )
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        // The service takes a file of up to 512 MB in one request (larger ones through the Uploads API); the web
        // server's defaults (30,000,000 bytes a request, 128 MiB a form) refused anything over 30 MB.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = MaxRequestBytes);
        builder.Services.Configure<FormOptions>(form => form.MultipartBodyLengthLimit = MaxRequestBytes);
        builder.Services.AddSingleton(_ => new EmulatorState(options));
        WebApplication app = builder.Build();
        var state = app.Services.GetRequiredService<EmulatorState>();
        app.Use(
            async (context, next) =>
            {
                if (!Authorized(context.Request, options.ApiKey))
                {
                    await Error(
                            context.Response,
                            401,
                            "invalid_api_key",
                            "Incorrect API key provided: send it as 'Authorization: Bearer KEY' or 'api-key: KEY'.",
                            null
                        )
                        .ConfigureAwait(false);
                    return;
                }

                if (options.Faults.Take(context.Request.Method, context.Request.Path.Value ?? "") is not { } fault)
                {
                    await next(context).ConfigureAwait(false);
                    return;
                }

                if (fault.Delay is { } delay)
                {
                    await Task.Delay(delay, context.RequestAborted).ConfigureAwait(false);
                }

                if (fault.Status is int status)
                {
                    if (fault.RetryAfterSeconds > 0)
                    {
                        context.Response.Headers.RetryAfter = fault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                    }

                    await Error(
                            context.Response,
                            status,
                            status == 429 ? "rate_limit_exceeded" : "server_error",
                            $"Injected fault: {status}.",
                            null
                        )
                        .ConfigureAwait(false);
                    return;
                }

                if (fault.DropResponse)
                {
                    // Do the work, then lose the answer: the client sees a broken connection.
                    Stream body = context.Response.Body;
                    context.Response.Body = new MemoryStream();
                    await next(context).ConfigureAwait(false);
                    context.Abort();
                    context.Response.Body = body;
                    return;
                }

                await next(context).ConfigureAwait(false);
            }
        );
        Map(app.MapGroup("/v1"), state);
        Map(app.MapGroup("/openai/v1"), state);
        EmulatedDeployments.Map(app.MapGroup("/arm"), state);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EmulatorServer(app, state, new Uri(address.TrimEnd('/') + "/"), state.ContentDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// What the service reports its model graders read and wrote: per model a score_model or label_model names, the
    /// sample and the item (a token in 4 characters) read, a short verdict written, for each such grader.
    /// </summary>
    private static JsonObject ModelGraderUsage(JsonElement grader, string sample, JsonElement item)
    {
        long read = Math.Max(1, (sample.Length + (item.ValueKind == JsonValueKind.Undefined ? 0 : item.GetRawText().Length)) / 4);
        const long Wrote = 5;
        return new JsonObject([
            .. GraderRunner
                .Graders(grader)
                .Where(g => GraderRunner.Types(g).First() is "score_model" or "label_model")
                .Select(g => g.TryGetProperty("model", out JsonElement model) ? model.GetString() : null)
                .OfType<string>()
                .GroupBy(model => model)
                .Select(m =>
                    KeyValuePair.Create<string, JsonNode?>(
                        m.Key,
                        new JsonObject
                        {
                            ["prompt_tokens"] = m.Count() * read,
                            ["completion_tokens"] = m.Count() * Wrote,
                            ["total_tokens"] = m.Count() * (read + Wrote),
                        }
                    )
                ),
        ]);
    }

    private static bool Authorized(HttpRequest request, string? key)
    {
        string? given = request.Headers["api-key"].FirstOrDefault();
        string? authorization = request.Headers.Authorization.FirstOrDefault();
        if (given is null && authorization?.StartsWith("Bearer ", StringComparison.Ordinal) == true)
        {
            given = authorization["Bearer ".Length..].Trim();
        }

        return !string.IsNullOrEmpty(given) && (key is null || string.Equals(given, key, StringComparison.Ordinal));
    }

    private static void Map(RouteGroupBuilder api, EmulatorState state)
    {
        api.MapPost("/chat/completions", async (HttpRequest request) =>
        {
            using JsonDocument body = await JsonDocument.ParseAsync(request.Body).ConfigureAwait(false);
            JsonElement root = body.RootElement;
            if (
                !root.TryGetProperty("model", out JsonElement model)
                || model.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("messages", out JsonElement messages)
                || messages.ValueKind != JsonValueKind.Array
                || messages.GetArrayLength() == 0
            )
            {
                return ErrorResult(
                    400,
                    "invalid_request_error",
                    "'model' (a string) and 'messages' (a non-empty array) are required.",
                    "messages"
                );
            }

            string topic = Uri.UnescapeDataString(request.Headers[EvaluationPrompts.TopicHeader].FirstOrDefault() ?? "(none)");
            string? expected = request.Headers[EvaluationPrompts.ExpectedHeader].FirstOrDefault() is { } given
                ? Uri.UnescapeDataString(given)
                : null;
            state.Answers.AddOrUpdate((model.GetString()!, messages.GetRawText()), 1, (_, n) => n + 1);
            string reply = EmulatedChat.Reply(state.Options.Skill, state.ResolveModel(model.GetString()!), messages, topic, expected);
            if (state.Options.AnswerDelay > TimeSpan.Zero)
            {
                await Task.Delay(state.Options.AnswerDelay, request.HttpContext.RequestAborted).ConfigureAwait(false);
            }

            int promptTokens = Math.Max(1, messages.GetRawText().Length / 4);
            int completionTokens = Math.Max(1, reply.Length / 4);
            return Json(
                new JsonObject
                {
                    ["id"] = $"chatcmpl-emu{Guid.NewGuid():N}"[..24],
                    ["object"] = "chat.completion",
                    ["created"] = state.Options.Time.GetUtcNow().ToUnixTimeSeconds(),
                    ["model"] = model.GetString(),
                    ["choices"] = new JsonArray(
                        new JsonObject
                        {
                            ["index"] = 0,
                            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = reply },
                            ["finish_reason"] = "stop",
                        }
                    ),
                    ["usage"] = new JsonObject
                    {
                        ["prompt_tokens"] = promptTokens,
                        ["completion_tokens"] = completionTokens,
                        ["total_tokens"] = promptTokens + completionTokens,
                    },
                }
            );
        });
        api.MapPost("/files", async (HttpRequest request) =>
        {
            if (!request.HasFormContentType)
            {
                return ErrorResult(
                    400,
                    "invalid_request_error",
                    "Upload the file as multipart/form-data with 'file' and 'purpose'.",
                    "file"
                );
            }

            IFormCollection form = await request.ReadFormAsync().ConfigureAwait(false);
            IFormFile? file = form.Files.GetFile("file");
            if (file is null)
            {
                return ErrorResult(400, "invalid_request_error", "'file' is required.", "file");
            }

            EmulatorState.StoredFile stored = await state
                .AddFileAsync(file.FileName, form["purpose"].FirstOrDefault() ?? "fine-tune", target => file.CopyToAsync(target))
                .ConfigureAwait(false);
            return Json(FileJson(stored, state));
        });
        api.MapGet("/files", (HttpRequest request) => Page(state.Files().Select(f => FileJson(f, state)).ToList(), request));
        api.MapGet("/files/{id}", (string id) => state.GetFile(id) is { } f ? Json(FileJson(f, state)) : NotFound("file", id));
        api.MapGet("/files/{id}/content", (string id) =>
        {
            if (state.GetFile(id) is { } f)
                return Results.Stream(state.OpenContent(f), "application/octet-stream");
            // Results files are made when asked for: "{jobId}-results.csv".
            if (
                id.EndsWith("-results.csv", StringComparison.Ordinal)
                && state.GetJob(id[..^"-results.csv".Length]) is { } job
                && state.Status(job) == "succeeded"
            )
            {
                return Results.Text(state.ResultsCsv(job), "text/csv");
            }

            return NotFound("file", id);
        });

        api.MapPost("/uploads", async (HttpRequest request) =>
        {
            JsonObject? body = await JsonNode.ParseAsync(request.Body).ConfigureAwait(false) as JsonObject;
            string? fileName = (string?)body?["filename"];
            long? bytes = (long?)body?["bytes"];
            if (string.IsNullOrEmpty(fileName) || bytes is null or < 0)
            {
                return ErrorResult(
                    400,
                    "invalid_request_error",
                    "An upload needs 'filename', 'purpose', 'bytes' and 'mime_type'.",
                    "bytes"
                );
            }

            if (bytes > 8L << 30)
            {
                return ErrorResult(400, "invalid_request_error", "Uploads take files up to 8 GB.", "bytes");
            }

            return Json(UploadJson(state.AddUpload(fileName, (string?)body!["purpose"] ?? "fine-tune", bytes.Value), state));
        });
        api.MapPost("/uploads/{id}/parts", async (string id, HttpRequest request) =>
        {
            if (state.GetUpload(id) is not { } upload)
                return NotFound("upload", id);
            if (upload.Status != "pending")
                return ErrorResult(400, "invalid_request_error", $"Upload {id} is {upload.Status}.", "upload_id");
            IFormCollection form = await request.ReadFormAsync().ConfigureAwait(false);
            if (form.Files.GetFile("data") is not { } data)
                return ErrorResult(400, "invalid_request_error", "'data' is required.", "data");
            if (data.Length > 64L << 20)
                return ErrorResult(400, "invalid_request_error", "A part holds at most 64 MB.", "data");
            string partId = await state.AddPartAsync(upload, target => data.CopyToAsync(target)).ConfigureAwait(false);
            return Json(
                new JsonObject
                {
                    ["object"] = "upload.part",
                    ["id"] = partId,
                    ["upload_id"] = id,
                    ["created_at"] = state.Now.ToUnixTimeSeconds(),
                }
            );
        });
        api.MapPost("/uploads/{id}/complete", async (string id, HttpRequest request) =>
        {
            if (state.GetUpload(id) is not { } upload)
                return NotFound("upload", id);
            JsonObject? body = await JsonNode.ParseAsync(request.Body).ConfigureAwait(false) as JsonObject;
            string[] partIds = body?["part_ids"] is JsonArray ids ? [.. ids.Select(n => (string?)n ?? "")] : [];
            if (partIds.Length == 0 || partIds.Any(p => !upload.Parts.ContainsKey(p)))
            {
                return ErrorResult(400, "invalid_request_error", "'part_ids' must list this upload's parts in order.", "part_ids");
            }

            long total = partIds.Sum(p => upload.Parts[p]);
            if (total != upload.Bytes)
            {
                return ErrorResult(400, "invalid_request_error", $"The parts hold {total} bytes; the upload said {upload.Bytes}.", "bytes");
            }

            upload.File = await state.CompleteAsync(upload, partIds).ConfigureAwait(false);
            upload.Status = "completed";
            return Json(UploadJson(upload, state));
        });

        api.MapPost("/fine_tuning/jobs", async (HttpRequest request) =>
        {
            JsonObject? body = await JsonNode.ParseAsync(request.Body).ConfigureAwait(false) as JsonObject;
            if (body is null)
            {
                return ErrorResult(400, "invalid_request_error", "The body must be a JSON object.", null);
            }

            string? model = (string?)body["model"];
            string? trainingId = (string?)body["training_file"];
            if (string.IsNullOrEmpty(model))
                return ErrorResult(400, "invalid_request_error", "'model' is required.", "model");
            if (string.IsNullOrEmpty(trainingId) || state.GetFile(trainingId) is not { } training)
            {
                return ErrorResult(400, "invalid_request_error", $"Invalid file id '{trainingId}' for training_file.", "training_file");
            }

            string? validationId = (string?)body["validation_file"];
            if (validationId is not null && state.GetFile(validationId) is null)
            {
                return ErrorResult(
                    400,
                    "invalid_request_error",
                    $"Invalid file id '{validationId}' for validation_file.",
                    "validation_file"
                );
            }

            string method = (string?)body["method"]?["type"] ?? "supervised";
            if (method == "reinforcement" && body["method"]?["reinforcement"]?["grader"] is null)
            {
                return ErrorResult(
                    400,
                    "invalid_request_error",
                    "A reinforcement job needs method.reinforcement.grader.",
                    "method.reinforcement.grader"
                );
            }

            EmulatorState.StoredJob job = state.AddJob(body, method, training);
            return Json(JobJson(job, state));
        });
        api.MapGet("/fine_tuning/jobs", (HttpRequest request) =>
        {
            IEnumerable<EmulatorState.StoredJob> jobs = state.Jobs().Reverse(); // newest first, as the API lists them
            foreach ((string key, Microsoft.Extensions.Primitives.StringValues value) in request.Query)
            {
                if (key.StartsWith("metadata[", StringComparison.Ordinal) && key.EndsWith(']'))
                {
                    string name = key[9..^1];
                    jobs = jobs.Where(j => (string?)j.Request["metadata"]?[name] == value.ToString());
                }
            }

            return Page(jobs.Select(j => JobJson(j, state)).ToList(), request);
        });
        api.MapGet("/fine_tuning/jobs/{id}", (string id) => state.GetJob(id) is { } j ? Json(JobJson(j, state)) : NotFound("job", id));
        api.MapPost("/fine_tuning/jobs/{id}/cancel", (string id) =>
        {
            if (state.GetJob(id) is not { } job)
                return NotFound("job", id);
            string status = state.Status(job);
            if (EmulatorState.IsFinished(status))
            {
                return ErrorResult(
                    400,
                    "invalid_request_error",
                    $"Job {id} has already {status}; it cannot be cancelled.",
                    "fine_tuning_job_id"
                );
            }

            state.Cancel(job);
            return Json(JobJson(job, state));
        });
        api.MapPost("/fine_tuning/jobs/{id}/pause", (string id) => state.GetJob(id) is not { } job ? NotFound("job", id)
            : state.Pause(job) ? Json(JobJson(job, state))
            : ErrorResult(
                400,
                "invalid_request_error",
                $"Job {id} is {state.Status(job)}; only a running job can be paused.",
                "fine_tuning_job_id"
            ));
        api.MapPost("/fine_tuning/jobs/{id}/resume", (string id) => state.GetJob(id) is not { } job ? NotFound("job", id)
            : state.Resume(job) ? Json(JobJson(job, state))
            : ErrorResult(
                400,
                "invalid_request_error",
                $"Job {id} is {state.Status(job)}; only a paused job can be resumed.",
                "fine_tuning_job_id"
            ));
        api.MapPost("/fine_tuning/alpha/graders/validate", async (HttpRequest request) =>
        {
            using JsonDocument body = await JsonDocument.ParseAsync(request.Body).ConfigureAwait(false);
            if (!body.RootElement.TryGetProperty("grader", out JsonElement grader))
            {
                return ErrorResult(400, "invalid_request_error", "'grader' is required.", "grader");
            }

            GraderSpec spec = GraderSpec.Parse("grader", Encoding.UTF8.GetBytes(grader.GetRawText()));
            return spec.IsValid
                ? Json(new JsonObject { ["grader"] = JsonNode.Parse(grader.GetRawText()) })
                : ErrorResult(400, "invalid_request_error", spec.Findings[0].Message, spec.Findings[0].Path);
        });
        api.MapPost("/fine_tuning/alpha/graders/run", async (HttpRequest request) =>
        {
            using JsonDocument body = await JsonDocument.ParseAsync(request.Body).ConfigureAwait(false);
            JsonElement root = body.RootElement;
            if (
                !root.TryGetProperty("grader", out JsonElement grader)
                || !root.TryGetProperty("model_sample", out JsonElement sample)
                || sample.ValueKind != JsonValueKind.String
            )
            {
                return ErrorResult(400, "invalid_request_error", "'grader' and 'model_sample' (a string) are required.", "model_sample");
            }

            GraderSpec spec = GraderSpec.Parse("grader", Encoding.UTF8.GetBytes(grader.GetRawText()));
            if (!spec.IsValid)
            {
                return ErrorResult(400, "invalid_request_error", spec.Findings[0].Message, spec.Findings[0].Path);
            }

            JsonElement item = root.TryGetProperty("item", out JsonElement i) ? i : default;
            GraderRunResult result = GraderRunner.Run(spec.Root, sample.GetString()!, item);
            var errors = new JsonObject { ["other_error"] = result.Errors.Count > 0 };
            if (result.Errors.Count > 0)
                errors["message"] = string.Join("; ", result.Errors);
            return Json(
                new JsonObject
                {
                    ["reward"] = result.Reward,
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = spec.Root.GetProperty("name").GetString(),
                        ["type"] = spec.Type,
                        ["errors"] = errors,
                        ["execution_time"] = 0.0,
                    },
                    ["sub_rewards"] = new JsonObject([
                        .. result.SubRewards.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))),
                    ]),
                    ["model_grader_token_usage_per_model"] = ModelGraderUsage(spec.Root, sample.GetString()!, item),
                }
            );
        });
        api.MapGet("/fine_tuning/jobs/{id}/events", (string id, HttpRequest request) =>
            state.GetJob(id) is { } j ? Page(Events(j, state), request) : NotFound("job", id)
        );
        api.MapGet("/fine_tuning/jobs/{id}/checkpoints", (string id, HttpRequest request) =>
            state.GetJob(id) is { } j ? Page(Checkpoints(j, state), request) : NotFound("job", id)
        );
    }

    private static IResult Page(List<JsonObject> items, HttpRequest request)
    {
        string? after = request.Query["after"].FirstOrDefault();
        int limit = int.TryParse(request.Query["limit"].FirstOrDefault(), CultureInfo.InvariantCulture, out int l)
            ? Math.Clamp(l, 1, 100)
            : 20;
        int start = after is null ? 0 : items.FindIndex(i => (string?)i["id"] == after) + 1;
        List<JsonObject> page = items.Skip(Math.Max(0, start)).Take(limit).ToList();
        return Json(
            new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray([.. page]),
                ["has_more"] = start + page.Count < items.Count,
            }
        );
    }

    private static JsonObject UploadJson(EmulatorState.StoredUpload u, EmulatorState state) =>
        new()
        {
            ["object"] = "upload",
            ["id"] = u.Id,
            ["filename"] = u.FileName,
            ["purpose"] = u.Purpose,
            ["bytes"] = u.Bytes,
            ["status"] = u.Status,
            ["created_at"] = state.Now.ToUnixTimeSeconds(),
            ["file"] = u.File is null ? null : FileJson(u.File, state),
        };

    private static JsonObject FileJson(EmulatorState.StoredFile f, EmulatorState state) =>
        new()
        {
            ["object"] = "file",
            ["id"] = f.Id,
            ["bytes"] = f.Bytes,
            ["created_at"] = f.CreatedAt.ToUnixTimeSeconds(),
            ["filename"] = f.FileName,
            ["purpose"] = f.Purpose,
            ["status"] = (state.Now - f.CreatedAt).TotalSeconds < 5 ? "uploaded" : "processed",
            ["status_details"] = null,
        };

    private static JsonObject JobJson(EmulatorState.StoredJob job, EmulatorState state)
    {
        string status = state.Status(job);
        JsonObject request = job.Request;
        string model = (string)request["model"]!;
        bool succeeded = status == "succeeded";
        return new JsonObject
        {
            ["object"] = "fine_tuning.job",
            ["id"] = job.Id,
            ["model"] = model,
            ["created_at"] = job.CreatedAt.ToUnixTimeSeconds(),
            ["finished_at"] = EmulatorState.IsFinished(status) ? (job.CancelledAt ?? state.FinishTime(job)).ToUnixTimeSeconds() : null,
            ["fine_tuned_model"] = succeeded ? $"ft:{model}:emulator:{(string?)request["suffix"] ?? ""}:{job.Id[6..]}" : null,
            ["organization_id"] = "org-emulator",
            ["result_files"] = succeeded ? new JsonArray($"{job.Id}-results.csv") : new JsonArray(),
            ["status"] = status,
            ["training_file"] = request["training_file"]?.DeepClone(),
            ["validation_file"] = request["validation_file"]?.DeepClone(),
            ["hyperparameters"] = Resolved(job, status, legacy: true),
            ["trained_tokens"] = succeeded ? job.TrainedTokens : null,
            ["error"] =
                status != "failed" ? null
                : job.InvalidFileError is not null
                    ? new JsonObject
                    {
                        ["code"] = "invalid_training_file",
                        ["message"] = job.InvalidFileError,
                        ["param"] = "training_file",
                    }
                : new JsonObject
                {
                    ["code"] = "server_error",
                    ["message"] = "The job failed due to an internal error (injected).",
                    ["param"] = null,
                },
            ["user_provided_suffix"] = request["suffix"]?.DeepClone(),
            ["seed"] = request["seed"]?.DeepClone() ?? 42,
            // An estimate people read: on the host's clock, as a real service's is (a finished job has none).
            ["estimated_finish"] = EmulatorState.IsFinished(status) ? null : state.OnHostClock(state.FinishTime(job)).ToUnixTimeSeconds(),
            ["integrations"] = new JsonArray(),
            ["metadata"] = request["metadata"]?.DeepClone(),
            ["method"] = MethodJson(job, status),
        };
    }

    /// <summary>
    /// The job's hyperparameters as the service reports them: as asked while the files are checked and the job waits,
    /// then with every <c>auto</c> replaced by the value chosen (epochs by the documented default rule for the dataset's
    /// size; the emulator's batch size 1, learning-rate multiplier 1, beta 0.1, compute multiplier 1).
    /// </summary>
    private static JsonObject Resolved(EmulatorState.StoredJob job, string status, bool legacy)
    {
        var asked =
            (job.Request["method"]?[job.Method]?["hyperparameters"] ?? job.Request["hyperparameters"])?.DeepClone() as JsonObject
            ?? new JsonObject();
        JsonObject defaults = job.Method switch
        {
            "dpo" => new()
            {
                ["n_epochs"] = "auto",
                ["batch_size"] = "auto",
                ["learning_rate_multiplier"] = "auto",
                ["beta"] = "auto",
            },
            "reinforcement" => new()
            {
                ["n_epochs"] = "auto",
                ["batch_size"] = "auto",
                ["learning_rate_multiplier"] = "auto",
                ["compute_multiplier"] = "auto",
            },
            _ => new()
            {
                ["n_epochs"] = "auto",
                ["batch_size"] = "auto",
                ["learning_rate_multiplier"] = "auto",
            },
        };
        foreach ((string name, JsonNode? value) in defaults)
        {
            if (!asked.ContainsKey(name) && (!legacy || name is "n_epochs" or "batch_size" or "learning_rate_multiplier"))
                asked[name] = value?.DeepClone();
        }

        bool started = job.InvalidFileError is null && status is not ("validating_files" or "queued");
        if (started)
        {
            foreach (string name in asked.Select(p => p.Key).ToList())
            {
                if (asked[name] is JsonValue v && v.TryGetValue(out string? text) && text == "auto")
                {
                    asked[name] = name switch
                    {
                        "n_epochs" => job.Epochs,
                        "batch_size" => 1,
                        "learning_rate_multiplier" => 1.0,
                        "beta" => 0.1,
                        "compute_multiplier" => 1.0,
                        _ => asked[name]?.DeepClone(),
                    };
                }
            }
        }

        return asked;
    }

    private static JsonObject MethodJson(EmulatorState.StoredJob job, string status)
    {
        var method = job.Request["method"]?.DeepClone() as JsonObject ?? new JsonObject { ["type"] = job.Method };
        var settings = method[job.Method] as JsonObject ?? new JsonObject();
        settings["hyperparameters"] = Resolved(job, status, legacy: false);
        method[job.Method] = settings;
        return method;
    }

    private static List<JsonObject> Events(EmulatorState.StoredJob job, EmulatorState state)
    {
        string status = state.Status(job);
        state.StatusAt(job, job.CancelledAt ?? state.Now, out int step);
        var events = new List<(DateTimeOffset At, string Level, string Message, string Type, JsonObject? Data)>
        {
            (job.CreatedAt, "info", $"Created fine-tuning job: {job.Id}", "message", null),
            (job.CreatedAt, "info", "Validating training file", "message", null),
        };
        if (status is not "validating_files")
        {
            if (job.InvalidFileError is not null)
            {
                events.Add((state.FinishTime(job), "error", job.InvalidFileError, "message", null));
            }
            else if (status != "cancelled" || step > 0 || state.StatusAt(job, job.CancelledAt!.Value, out _) != "cancelled")
            {
                events.Add((state.StepTime(job, 0), "info", "Fine-tuning job started", "message", null));
            }
        }

        for (int s = 1; s <= step; s++)
        {
            (double train, double valid, double accuracy) = EmulatorState.Metrics(s, state.Steps);
            events.Add(
                job.Method == "reinforcement"
                    ? (
                        state.StepTime(job, s),
                        "info",
                        $"Step {s}/{state.Steps}: train reward={EmulatorState.Reward(s, state.Steps)}",
                        "metrics",
                        new JsonObject
                        {
                            ["step"] = s,
                            ["train_reward_mean"] = EmulatorState.Reward(s, state.Steps),
                            ["total_steps"] = state.Steps,
                        }
                    )
                    : (
                        state.StepTime(job, s),
                        "info",
                        $"Step {s}/{state.Steps}: training loss={train}",
                        "metrics",
                        new JsonObject
                        {
                            ["step"] = s,
                            ["train_loss"] = train,
                            ["valid_loss"] = valid,
                            ["train_mean_token_accuracy"] = accuracy,
                            ["total_steps"] = state.Steps,
                        }
                    )
            );
        }

        if (status == "succeeded")
            events.Add((state.FinishTime(job), "info", "The job has successfully completed", "message", null));
        if (status == "failed" && job.InvalidFileError is null)
            events.Add((state.StepTime(job, step), "error", "The job failed due to an internal error (injected).", "message", null));
        if (status == "cancelled")
            events.Add((job.CancelledAt!.Value, "info", "The job was cancelled", "message", null));

        // The API lists events newest first.
        return events
            .Select(
                (e, i) =>
                    new JsonObject
                    {
                        ["object"] = "fine_tuning.job.event",
                        ["id"] = $"ftevent-{job.Id[6..]}-{i:D4}",
                        ["created_at"] = e.At.ToUnixTimeSeconds(),
                        ["level"] = e.Level,
                        ["message"] = e.Message,
                        ["type"] = e.Type,
                        ["data"] = e.Data,
                    }
            )
            .Reverse()
            .ToList();
    }

    private static List<JsonObject> Checkpoints(EmulatorState.StoredJob job, EmulatorState state)
    {
        state.StatusAt(job, job.CancelledAt ?? state.Now, out int step);
        string model = (string)job.Request["model"]!;
        return Enumerable
            .Range(1, step)
            .Where(s => s % Math.Max(1, state.Steps / 3) == 0 || s == state.Steps)
            .Reverse()
            .Select(s =>
            {
                (double train, double valid, double accuracy) = EmulatorState.Metrics(s, state.Steps);
                return new JsonObject
                {
                    ["object"] = "fine_tuning.job.checkpoint",
                    ["id"] = $"ftckpt-{job.Id[6..]}-{s}",
                    ["created_at"] = state.StepTime(job, s).ToUnixTimeSeconds(),
                    ["fine_tuned_model_checkpoint"] = $"ft:{model}:emulator::{job.Id[6..]}:ckpt-step-{s}",
                    ["fine_tuning_job_id"] = job.Id,
                    ["step_number"] = s,
                    ["metrics"] = new JsonObject
                    {
                        ["step"] = s,
                        ["train_loss"] = train,
                        ["train_mean_token_accuracy"] = accuracy,
                        ["valid_loss"] = valid,
                        ["valid_mean_token_accuracy"] = accuracy - 0.02,
                    },
                };
            })
            .ToList();
    }

    /// <summary>A JSON answer; its contract is known at build time, as a natively compiled host needs.</summary>
    private static IResult Json(JsonNode body, int? status = null) =>
        Results.Json(body, EmulatorJsonContext.Default.JsonNode, statusCode: status);

    private static IResult NotFound(string what, string id) =>
        ErrorResult(404, "not_found", $"No {what} with id '{id}'.", what == "job" ? "fine_tuning_job_id" : "file_id");

    private static IResult ErrorResult(int status, string code, string message, string? param) =>
        Json(ErrorBody(code, message, param), status);

    private static JsonObject ErrorBody(string code, string message, string? param) =>
        new()
        {
            ["error"] = new JsonObject
            {
                ["message"] = message,
                ["type"] = "invalid_request_error",
                ["param"] = param,
                ["code"] = code,
            },
        };

    private static Task Error(HttpResponse response, int status, string code, string message, string? param)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        return response.WriteAsync(ErrorBody(code, message, param).ToJsonString(), Encoding.UTF8);
    }
}
