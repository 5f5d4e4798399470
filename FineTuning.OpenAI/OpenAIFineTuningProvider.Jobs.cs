using System.ClientModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using OpenAI.FineTuning;

namespace FineTuning.OpenAI;

public sealed partial class OpenAIFineTuningProvider
{
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
                return ReadJob(
                    typed
                        ? await CreateTypedAsync(request, cancellationToken).ConfigureAwait(false)
                        : await SendAsync("POST", "fine_tuning/jobs", body, cancellationToken, retry: false).ConfigureAwait(false)
                );
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
    internal bool CanCreateTyped(JobRequest request) =>
        _options.TrainingType is null
        && request.Seed is null or (>= int.MinValue and <= int.MaxValue)
        && request.Method switch
        {
            FineTuningMethod.Supervised => true,
            FineTuningMethod.Dpo => request.Hyperparameters?.Beta is not double beta
                || (beta is >= 1 and <= int.MaxValue && beta == Math.Floor(beta)),
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
            TrainingMethod =
                request.Method == FineTuningMethod.Dpo
                    ? FineTuningTrainingMethod.CreateDirectPreferenceOptimization(
                        batchSize,
                        epochs,
                        learningRate,
                        h.Beta is double beta ? (int)beta : null
                    )
                    : FineTuningTrainingMethod.CreateSupervised(batchSize, epochs, learningRate),
        };
        options.Metadata["run_id"] = request.RunId;
        try
        {
            FineTuningJob job = await _create
                .FineTuneAsync(request.Model, request.TrainingFileId, waitUntilCompleted: false, options, cancellationToken)
                .ConfigureAwait(false);
            using JsonDocument document = JsonDocument.Parse(job.GetRawResponse().Content);
            return document.RootElement.Clone();
        }
        catch (ClientResultException ex) when (ex.GetRawResponse() is { } response)
        {
            throw ToProviderException(response);
        }
    }

    private static bool IsTransient(Exception ex) =>
        ex switch
        {
            ProviderBusyException => false, // asked for longer than a call waits: the run waits on a durable timer
            ProviderException p => p.Status is 408 or 409 or 429 or >= 500,
            ClientResultException c => c.Status == 0 || c.Status is 408 or 429 or >= 500,
            HttpRequestException or IOException => true,
            _ => false,
        };

    public async Task<ProviderJob?> FindJobByRunIdAsync(string runId, CancellationToken cancellationToken = default)
    {
        // The metadata filter answers in one call where the service supports it; every job is checked either way,
        // so a service that ignores the filter still gives the right answer.
        await foreach (
            JsonElement job in ListAsync($"fine_tuning/jobs?metadata[run_id]={Uri.EscapeDataString(runId)}", cancellationToken)
                .ConfigureAwait(false)
        )
        {
            if (
                job.TryGetProperty("metadata", out JsonElement metadata)
                && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("run_id", out JsonElement id)
                && id.GetString() == runId
            )
            {
                return ReadJob(job);
            }
        }

        return null;
    }

    public async Task<ProviderJob> GetJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        ReadJob(await SendAsync("GET", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}", null, cancellationToken).ConfigureAwait(false));

    public async Task<ProviderJob> CancelJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        ReadJob(
            await SendAsync("POST", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/cancel", null, cancellationToken).ConfigureAwait(false)
        );

    public async Task<ProviderJob> PauseJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        ReadJob(
            await SendAsync("POST", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/pause", null, cancellationToken).ConfigureAwait(false)
        );

    public async Task<ProviderJob> ResumeJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        ReadJob(
            await SendAsync("POST", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/resume", null, cancellationToken).ConfigureAwait(false)
        );

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
        if (request.Method == FineTuningMethod.Dpo)
            Set(hyper, "beta", h.Beta);
        if (request.Method == FineTuningMethod.Reinforcement)
        {
            Set(hyper, "compute_multiplier", h.ComputeMultiplier);
            Set(hyper, "eval_interval", h.EvalInterval);
            Set(hyper, "eval_samples", h.EvalSamples);
            if (h.ReasoningEffort is not null)
                hyper["reasoning_effort"] = h.ReasoningEffort;
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
        if (request.ValidationFileId is not null)
            body["validation_file"] = request.ValidationFileId;
        if (request.Suffix is not null)
            body["suffix"] = request.Suffix;
        if (request.Seed is not null)
            body["seed"] = request.Seed;
        if (trainingType is not null)
            body["trainingType"] = trainingType;
        return body.ToJsonString();
    }

    private static void Set(JsonObject hyper, string name, int? value) => hyper[name] = value is { } v ? JsonValue.Create(v) : "auto";

    private static void Set(JsonObject hyper, string name, double? value) => hyper[name] = value is { } v ? JsonValue.Create(v) : "auto";

    internal static ProviderJob ReadJob(JsonElement j)
    {
        static DateTimeOffset? Time(JsonElement e, string name) =>
            e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number
                ? DateTimeOffset.FromUnixTimeSeconds(v.GetInt64())
                : null;
        static string? Text(JsonElement e, string name) =>
            e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        ProviderError? error =
            j.TryGetProperty("error", out JsonElement err)
            && err.ValueKind == JsonValueKind.Object
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
            j.TryGetProperty("trained_tokens", out JsonElement tokens) && tokens.ValueKind == JsonValueKind.Number
                ? tokens.GetInt64()
                : null,
            Time(j, "created_at") ?? DateTimeOffset.UnixEpoch,
            Time(j, "finished_at"),
            Time(j, "estimated_finish"),
            error,
            metadata
        )
        {
            Used = ReadHyperparameters(j),
        };
    }

    /// <summary>
    /// The hyperparameters a job reports: <c>method.{type}.hyperparameters</c>, where jobs created with a method keep
    /// them, else the legacy top-level <c>hyperparameters</c>; <c>auto</c> (not yet chosen) reads as null.
    /// </summary>
    internal static Hyperparameters? ReadHyperparameters(JsonElement job)
    {
        JsonElement h = default;
        if (
            job.TryGetProperty("method", out JsonElement method)
            && method.ValueKind == JsonValueKind.Object
            && method.TryGetProperty("type", out JsonElement type)
            && type.ValueKind == JsonValueKind.String
            && method.TryGetProperty(type.GetString()!, out JsonElement settings)
            && settings.ValueKind == JsonValueKind.Object
            && settings.TryGetProperty("hyperparameters", out JsonElement fromMethod)
            && fromMethod.ValueKind == JsonValueKind.Object
        )
        {
            h = fromMethod;
        }
        else if (job.TryGetProperty("hyperparameters", out JsonElement topLevel) && topLevel.ValueKind == JsonValueKind.Object)
        {
            h = topLevel;
        }
        else
        {
            return null;
        }

        static double? Number(JsonElement e, string name) =>
            e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        var used = new Hyperparameters(
            (int?)Number(h, "n_epochs"),
            (int?)Number(h, "batch_size"),
            Number(h, "learning_rate_multiplier"),
            Number(h, "beta"),
            Number(h, "compute_multiplier"),
            (int?)Number(h, "eval_interval"),
            (int?)Number(h, "eval_samples"),
            h.TryGetProperty("reasoning_effort", out JsonElement effort) && effort.ValueKind == JsonValueKind.String
                ? effort.GetString()
                : null
        );
        return used == new Hyperparameters() ? null : used;
    }
}
