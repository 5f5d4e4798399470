using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FineTuning.Core.Datasets;

namespace FineTuning.Emulator;

/// <summary>Files and jobs held in memory; a job's status is derived from the clock, so it moves without a background loop.</summary>
internal sealed class EmulatorState(EmulatorOptions options)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, StoredFile> _files = new(StringComparer.Ordinal);
    private readonly List<StoredJob> _jobs = [];
    private readonly DateTimeOffset _epoch = options.Time.GetUtcNow();
    private int _sequence;

    public sealed record StoredFile(string Id, string FileName, string Purpose, byte[] Content, DateTimeOffset CreatedAt);

    public sealed class StoredJob
    {
        public required string Id { get; init; }

        public required JsonObject Request { get; init; }

        public required DateTimeOffset CreatedAt { get; init; }

        public required string Method { get; init; }

        public string? InvalidFileError { get; init; }

        public long TrainedTokens { get; init; }

        public JobFault? Fault { get; init; }

        public DateTimeOffset? CancelledAt { get; set; }

        public DateTimeOffset? PausedAt { get; set; }

        public TimeSpan PausedFor { get; set; }
    }

    /// <summary>Simulated now: the real clock since start, scaled by the speed.</summary>
    public DateTimeOffset Now => _epoch + ((options.Time.GetUtcNow() - _epoch) * options.Speed);

    public StoredFile AddFile(string fileName, string purpose, byte[] content)
    {
        lock (_gate)
        {
            var file = new StoredFile($"file-{NextId()}", fileName, purpose, content, Now);
            _files[file.Id] = file;
            return file;
        }
    }

    public sealed class StoredUpload
    {
        public required string Id { get; init; }

        public required string FileName { get; init; }

        public required string Purpose { get; init; }

        public required long Bytes { get; init; }

        public Dictionary<string, byte[]> Parts { get; } = new(StringComparer.Ordinal);

        public string Status { get; set; } = "pending";

        public StoredFile? File { get; set; }
    }

    private readonly Dictionary<string, StoredUpload> _uploads = new(StringComparer.Ordinal);

    public StoredUpload AddUpload(string fileName, string purpose, long bytes)
    {
        lock (_gate)
        {
            var upload = new StoredUpload { Id = $"upload_{NextId()}", FileName = fileName, Purpose = purpose, Bytes = bytes };
            _uploads[upload.Id] = upload;
            return upload;
        }
    }

    public StoredUpload? GetUpload(string id)
    {
        lock (_gate)
        {
            return _uploads.GetValueOrDefault(id);
        }
    }

    public string AddPart(StoredUpload upload, byte[] data)
    {
        lock (_gate)
        {
            string id = $"part_{NextId()}";
            upload.Parts[id] = data;
            return id;
        }
    }

    public StoredFile? GetFile(string id)
    {
        lock (_gate)
        {
            return _files.GetValueOrDefault(id);
        }
    }

    public IReadOnlyList<StoredFile> Files()
    {
        lock (_gate)
        {
            return [.. _files.Values.OrderBy(f => f.CreatedAt)];
        }
    }

    public StoredJob AddJob(JsonObject request, string method, StoredFile training)
    {
        // The provider checks the training file server-side: run the product's own validator on it.
        var validator = new DatasetValidator(new ValidationOptions { Method = FineTuningMethods.TryParse(method, out FineTuningMethod m) ? m : FineTuningMethod.Auto });
        DatasetReport report = validator.Finish([validator.ValidateShard(new MemoryStream(training.Content))], training.FileName);
        string? error = report.Fit && report.ErrorRows == 0 ? null
            : $"The job failed due to an invalid training file. {report.Verdict} {string.Join(" ", report.Findings.Where(f => f.Severity == Severity.Error).Take(3))}".Trim();
        lock (_gate)
        {
            var job = new StoredJob
            {
                Id = $"ftjob-{NextId()}",
                Request = request,
                CreatedAt = Now,
                Method = method,
                InvalidFileError = error,
                TrainedTokens = report.Tokens.BillableTokensPerEpoch * 3,
                Fault = options.Faults.TakeJobFault(),
            };
            _jobs.Add(job);
            return job;
        }
    }

    public StoredJob? GetJob(string id)
    {
        lock (_gate)
        {
            return _jobs.Find(j => j.Id == id);
        }
    }

    public IReadOnlyList<StoredJob> Jobs()
    {
        lock (_gate)
        {
            return [.. _jobs];
        }
    }

    public void Cancel(StoredJob job)
    {
        lock (_gate)
        {
            if (!IsFinished(Status(job)))
            {
                job.CancelledAt = Now;
            }
        }
    }

    public bool Pause(StoredJob job)
    {
        lock (_gate)
        {
            if (Status(job) != "running") return false;
            job.PausedAt = Now;
            return true;
        }
    }

    public bool Resume(StoredJob job)
    {
        lock (_gate)
        {
            if (job.PausedAt is not { } paused || job.CancelledAt is not null) return false;
            job.PausedFor += Now - paused;
            job.PausedAt = null;
            return true;
        }
    }

    public static bool IsFinished(string status) => status is "succeeded" or "failed" or "cancelled";

    public string Status(StoredJob job) => StatusAt(job, job.CancelledAt ?? Now, out _);

    /// <summary>The job's status at a simulated instant, and the training step reached.</summary>
    public string StatusAt(StoredJob job, DateTimeOffset at, out int step)
    {
        double t = (at - job.CreatedAt - job.PausedFor - (job.PausedAt is { } p && at > p ? at - p : TimeSpan.Zero)).TotalSeconds;
        step = 0;
        if (job.CancelledAt is { } cancelled && at >= cancelled)
        {
            StatusAt(new StoredJob { Id = job.Id, Request = job.Request, CreatedAt = job.CreatedAt, Method = job.Method, InvalidFileError = job.InvalidFileError }, cancelled, out step);
            return "cancelled";
        }

        if (job.PausedAt is not null && job.CancelledAt is null)
        {
            StatusAt(new StoredJob { Id = job.Id, Request = job.Request, CreatedAt = job.CreatedAt + job.PausedFor, Method = job.Method }, job.PausedAt.Value, out step);
            return "paused";
        }

        if (t < options.ValidatingSeconds) return "validating_files";
        if (job.InvalidFileError is not null) return "failed";
        t -= options.ValidatingSeconds;
        if (t < options.QueuedSeconds || job.Fault == JobFault.StallInQueue) return "queued";
        t -= options.QueuedSeconds;
        step = Math.Min(options.Steps, (int)(t / options.SecondsPerStep));
        if (job.Fault == JobFault.Fail && step >= options.Steps / 2)
        {
            step = options.Steps / 2;
            return "failed";
        }

        return step < options.Steps ? "running" : "succeeded";
    }

    public DateTimeOffset FinishTime(StoredJob job) =>
        (job.CreatedAt + job.PausedFor).AddSeconds(options.ValidatingSeconds + (job.InvalidFileError is null ? options.QueuedSeconds + (options.Steps * options.SecondsPerStep) : 0));

    public DateTimeOffset StepTime(StoredJob job, int step) =>
        (job.CreatedAt + job.PausedFor).AddSeconds(options.ValidatingSeconds + options.QueuedSeconds + (step * options.SecondsPerStep));

    public int Steps => options.Steps;

    /// <summary>Deterministic synthetic metrics: loss falls and token accuracy rises (reward rises for reinforcement).</summary>
    public static (double TrainLoss, double ValidLoss, double Accuracy) Metrics(int step, int steps)
    {
        double x = (double)step / Math.Max(1, steps);
        double loss = 2.0 * Math.Exp(-2.2 * x) + 0.15;
        return (Math.Round(loss, 4), Math.Round(loss * 1.08 + 0.02, 4), Math.Round(0.45 + (0.5 * (1 - Math.Exp(-2.5 * x))), 4));
    }

    public string ResultsCsv(StoredJob job)
    {
        bool reinforcement = job.Method == "reinforcement";
        var csv = new StringBuilder(reinforcement
            ? "step,train_reward_mean,valid_reward_mean\n"
            : "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n");
        for (int s = 1; s <= options.Steps; s++)
        {
            (double train, double valid, double accuracy) = Metrics(s, options.Steps);
            if (reinforcement)
            {
                csv.Append(CultureInfo.InvariantCulture, $"{s},{Reward(s, options.Steps)},{Math.Round(Reward(s, options.Steps) - 0.03, 4)}\n");
            }
            else
            {
                csv.Append(CultureInfo.InvariantCulture, $"{s},{train},{accuracy},{valid},{accuracy - 0.02}\n");
            }
        }

        return csv.ToString();
    }

    /// <summary>Deterministic synthetic reward for reinforcement jobs: rises from 0.3 towards 0.8.</summary>
    public static double Reward(int step, int steps) => Math.Round(0.3 + (0.5 * (1 - Math.Exp(-2.0 * step / Math.Max(1, steps)))), 4);

    private string NextId() => $"emu{Interlocked.Increment(ref _sequence):D6}";
}
