using System.Text.Json;
using FineTuning.Core.Datasets;

namespace FineTuning.Core.Providers;

/// <summary>A file the provider holds; <see cref="Status"/> is <c>uploaded</c>, <c>processed</c> or <c>error</c>.</summary>
public sealed record ProviderFile(string Id, string FileName, long Bytes, string Status, string? StatusDetails);

/// <summary>An error the provider reported for a job, with its own code, message and parameter.</summary>
public sealed record ProviderError(string? Code, string? Message, string? Param);

/// <summary>
/// A fine-tuning job as the provider reports it. <see cref="Status"/> is carried through as the provider spells it
/// (validating_files, queued, running, succeeded, failed, cancelled, and anything new such as paused), never mapped.
/// </summary>
public sealed record ProviderJob(
    string Id,
    string Status,
    string Model,
    string? FineTunedModel,
    long? TrainedTokens,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? EstimatedFinish,
    ProviderError? Error,
    IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>True only for the statuses that end a job; unknown statuses are not finished.</summary>
    public bool IsFinished => JobStatuses.IsFinal(Status);
}

/// <summary>The job statuses the product acts on; others pass through untouched.</summary>
public static class JobStatuses
{
    public const string ValidatingFiles = "validating_files";
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Paused = "paused";

    /// <summary>True for the statuses that end a job (succeeded, failed, cancelled); unknown ones are not final.</summary>
    public static bool IsFinal(string? status) => status is Succeeded or Failed or Cancelled;
}

/// <summary>One entry of a job's event log.</summary>
public sealed record ProviderEvent(string Id, DateTimeOffset CreatedAt, string Level, string Message, string? Type, JsonElement? Data);

/// <summary>A saved checkpoint of a job with its metrics (train_loss, valid_loss, valid_mean_token_accuracy, ...).</summary>
public sealed record ProviderCheckpoint(string Id, int Step, string Model, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, double> Metrics);

/// <summary>One row of a job's results file: the step and every metric column by name.</summary>
public sealed record ResultRow(int Step, IReadOnlyDictionary<string, double> Values)
{
    public double? TrainLoss => Get("train_loss");

    public double? TrainAccuracy => Get("train_accuracy", "train_mean_token_accuracy");

    public double? ValidLoss => Get("valid_loss", "validation_loss");

    /// <summary>The providers spell this column two ways; both are read.</summary>
    public double? ValidAccuracy => Get("valid_mean_token_accuracy", "validation_mean_token_accuracy");

    public double? TrainReward => Get("train_reward_mean", "train_reward");

    public double? ValidReward => Get("valid_reward_mean", "validation_reward_mean", "valid_reward");

    private double? Get(params string[] names)
    {
        foreach (string name in names)
        {
            if (Values.TryGetValue(name, out double v) && !double.IsNaN(v)) return v;
        }

        return null;
    }
}

/// <summary>Reads a results CSV (<c>step,train_loss,...</c>); empty cells become missing values, not zeros.</summary>
public static class ResultsCsv
{
    public static IReadOnlyList<ResultRow> Parse(string csv)
    {
        string[] lines = csv.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0) return [];
        string[] header = lines[0].Split(',').Select(h => h.Trim()).ToArray();
        int stepColumn = Array.IndexOf(header, "step");
        var rows = new List<ResultRow>();
        foreach (string line in lines.Skip(1))
        {
            string[] cells = line.Split(',');
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            for (int i = 0; i < Math.Min(cells.Length, header.Length); i++)
            {
                if (double.TryParse(cells[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v))
                {
                    values[header[i]] = v;
                }
            }

            int step = stepColumn >= 0 && values.TryGetValue("step", out double s) ? (int)s : rows.Count + 1;
            rows.Add(new ResultRow(step, values));
        }

        return rows;
    }
}

/// <summary>What to train: the method's hyperparameters are optional (null means the provider's <c>auto</c>).</summary>
public sealed record JobRequest(
    string RunId,
    string Model,
    string TrainingFileId,
    string? ValidationFileId,
    FineTuningMethod Method,
    string? Suffix = null,
    long? Seed = null,
    Hyperparameters? Hyperparameters = null,
    JsonElement? Grader = null);

/// <summary>Method hyperparameters; null values are sent as <c>auto</c> or left out.</summary>
public sealed record Hyperparameters(
    int? Epochs = null,
    int? BatchSize = null,
    double? LearningRateMultiplier = null,
    double? Beta = null,
    double? ComputeMultiplier = null,
    int? EvalInterval = null,
    int? EvalSamples = null,
    string? ReasoningEffort = null);

/// <summary>A provider call failed with a client error; the provider's code, message and parameter are kept.</summary>
public class ProviderException(int status, string? code, string message, string? param = null)
    : Exception($"{status} {code}: {message}{(param is null ? "" : $" (param: {param})")}")
{
    public int Status { get; } = status;

    public string? Code { get; } = code;

    public string? Param { get; } = param;
}

/// <summary>The service refused the request (a 4xx other than 408, 409 and 429): asking again will not help, so the workflow does not retry it.</summary>
public sealed class ProviderRejectedException(int status, string? code, string message, string? param = null) : ProviderException(status, code, message, param);

/// <summary>
/// The workflow's only view of a fine-tuning service (Azure OpenAI, OpenAI, or the local emulator).
/// Every call is safe to repeat: <see cref="FindJobByRunIdAsync"/> makes job submission exactly-once.
/// </summary>
public interface IFineTuningProvider
{
    Task<ProviderFile> UploadFileAsync(string fileName, Stream content, CancellationToken cancellationToken = default);

    Task<ProviderFile> GetFileAsync(string fileId, CancellationToken cancellationToken = default);

    Task<ProviderJob> CreateJobAsync(JobRequest request, CancellationToken cancellationToken = default);

    /// <summary>The job tagged <c>metadata.run_id == runId</c>, if one exists.</summary>
    Task<ProviderJob?> FindJobByRunIdAsync(string runId, CancellationToken cancellationToken = default);

    Task<ProviderJob> GetJobAsync(string jobId, CancellationToken cancellationToken = default);

    Task<ProviderJob> CancelJobAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>All events of a job, oldest first (every page).</summary>
    Task<IReadOnlyList<ProviderEvent>> GetEventsAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>The job's latest events, newest first (one request, however long the job has run).</summary>
    Task<IReadOnlyList<ProviderEvent>> GetRecentEventsAsync(string jobId, int limit, CancellationToken cancellationToken = default);

    /// <summary>The job's checkpoints with their metrics, by step.</summary>
    Task<IReadOnlyList<ProviderCheckpoint>> GetCheckpointsAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>The rows of the job's results file; empty until the job has one.</summary>
    Task<IReadOnlyList<ResultRow>> GetResultsAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>Asks the service whether a grader is valid; the problems it names, or none.</summary>
    Task<IReadOnlyList<string>> ValidateGraderAsync(JsonElement grader, CancellationToken cancellationToken = default);

    /// <summary>Runs a grader on one model sample and one dataset item.</summary>
    Task<Graders.GraderRunResult> RunGraderAsync(JsonElement grader, string modelSample, JsonElement item, CancellationToken cancellationToken = default);

    Task<ProviderJob> PauseJobAsync(string jobId, CancellationToken cancellationToken = default);

    Task<ProviderJob> ResumeJobAsync(string jobId, CancellationToken cancellationToken = default);
}
