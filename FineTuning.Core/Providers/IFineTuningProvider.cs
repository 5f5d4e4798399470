using System.Text.Json;

namespace FineTuning.Core.Providers;

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
    Task<Graders.GraderRunResult> RunGraderAsync(
        JsonElement grader,
        string modelSample,
        JsonElement item,
        CancellationToken cancellationToken = default
    );

    /// <summary>
    /// Asks <paramref name="model"/> (a deployment name on Azure) to answer <paramref name="messages"/> (a JSON array of
    /// chat messages, passed as written), naming the row's <paramref name="topic"/> in a header services ignore, and,
    /// to the emulator only, the <paramref name="expected"/> answer (what a grader compares with), so its models can be
    /// right in the grader's terms.
    /// </summary>
    Task<ChatAnswer> CompleteChatAsync(
        string model,
        JsonElement messages,
        string? topic = null,
        string? expected = null,
        CancellationToken cancellationToken = default
    );

    Task<ProviderJob> PauseJobAsync(string jobId, CancellationToken cancellationToken = default);

    Task<ProviderJob> ResumeJobAsync(string jobId, CancellationToken cancellationToken = default);
}
