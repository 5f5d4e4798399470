using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Datasets;

namespace FineTuning.Emulator;

/// <summary>
/// Files and jobs. File contents are streamed to disk as they arrive, never held in memory (a 250 MiB dataset's files
/// would otherwise be: the service takes 512 MB in one request): under <see cref="EmulatorOptions.StateDirectory"/>, with
/// a snapshot of the rest that a restarted emulator reloads, or else in a scratch folder removed on dispose. A job's
/// status is derived from the clock, so it moves without a background loop, and time that passes while the emulator is
/// down counts, as it would at a real service.
/// </summary>
internal sealed class EmulatorState : IDisposable
{
    private readonly object _gate = new();
    private readonly EmulatorOptions _options;
    private readonly Dictionary<string, StoredFile> _files = new(StringComparer.Ordinal);
    private readonly List<StoredJob> _jobs = [];
    private readonly DateTimeOffset _epoch;
    private int _sequence;

    private readonly string _contents;
    private readonly bool _scratch;

    public EmulatorOptions Options => _options;

    public EmulatorState(EmulatorOptions options)
    {
        _options = options;
        _epoch = _options.Time.GetUtcNow();
        _scratch = options.StateDirectory is null;
        _contents = options.StateDirectory is { } stateDir
            ? Path.Combine(stateDir, "files")
            : Path.Combine(Path.GetTempPath(), $"finetuning-emulator-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_contents);
        if (_options.StateDirectory is { } dir && File.Exists(Path.Combine(dir, "state.json")))
        {
            Snapshot snapshot = JsonSerializer.Deserialize(
                File.ReadAllText(Path.Combine(dir, "state.json")),
                EmulatorJsonContext.Default.Snapshot
            ) ?? throw new InvalidDataException($"{Path.Combine(dir, "state.json")} is empty.");
            _epoch = snapshot.Epoch;
            _sequence = snapshot.Sequence;
            foreach (SnapshotFile f in snapshot.Files)
            {
                _files[f.Id] = new StoredFile(f.Id, f.FileName, f.Purpose, new FileInfo(ContentPath(f.Id)).Length, f.CreatedAt);
            }

            _jobs.AddRange(
                snapshot.Jobs.Select(j => new StoredJob
                {
                    Id = j.Id,
                    Request = (JsonObject)JsonNode.Parse(j.Request)!,
                    CreatedAt = j.CreatedAt,
                    Method = j.Method,
                    InvalidFileError = j.InvalidFileError,
                    TrainedTokens = j.TrainedTokens,
                    Fault = j.Fault,
                    CancelledAt = j.CancelledAt,
                    PausedAt = j.PausedAt,
                    PausedFor = j.PausedFor,
                    Epochs = j.Epochs,
                })
            );
            foreach (Deployment d in snapshot.Deployments ?? [])
            {
                Deployments[d.Key] = d;
            }
        }
    }

    internal sealed record SnapshotFile(string Id, string FileName, string Purpose, DateTimeOffset CreatedAt);

    internal sealed record SnapshotJob(
        string Id,
        string Request,
        DateTimeOffset CreatedAt,
        string Method,
        string? InvalidFileError,
        long TrainedTokens,
        JobFault? Fault,
        DateTimeOffset? CancelledAt,
        DateTimeOffset? PausedAt,
        TimeSpan PausedFor,
        int Epochs = 3
    );

    internal sealed record Snapshot(
        DateTimeOffset Epoch,
        int Sequence,
        List<SnapshotFile> Files,
        List<SnapshotJob> Jobs,
        List<Deployment>? Deployments = null
    );

    /// <summary>Writes the snapshot (under the lock, atomically); file contents were written when they arrived.</summary>
    private void Save()
    {
        if (_options.StateDirectory is not { } dir)
        {
            return;
        }

        var snapshot = new Snapshot(
            _epoch,
            _sequence,
            [.. _files.Values.Select(f => new SnapshotFile(f.Id, f.FileName, f.Purpose, f.CreatedAt))],
            [
                .. _jobs.Select(j => new SnapshotJob(
                    j.Id,
                    j.Request.ToJsonString(),
                    j.CreatedAt,
                    j.Method,
                    j.InvalidFileError,
                    j.TrainedTokens,
                    j.Fault,
                    j.CancelledAt,
                    j.PausedAt,
                    j.PausedFor,
                    j.Epochs
                )),
            ],
            [.. Deployments.Values]
        );
        AtomicFile.WriteAllText(Path.Combine(dir, "state.json"), JsonSerializer.Serialize(snapshot, EmulatorJsonContext.Default.Snapshot));
    }

    public sealed record StoredFile(string Id, string FileName, string Purpose, long Bytes, DateTimeOffset CreatedAt);

    /// <summary>The folder of the contents.</summary>
    public string ContentDirectory => _contents;

    /// <summary>Where a file's (or an upload part's) content lies.</summary>
    public string ContentPath(string id) => Path.Combine(_contents, id);

    /// <summary>A file's content, read from disk.</summary>
    public FileStream OpenContent(StoredFile file) =>
        new(ContentPath(file.Id), FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);

    /// <summary>
    /// Streams <paramref name="content"/> to a new file under <paramref name="id"/>; complete or absent, never half-written.
    /// </summary>
    private async Task<long> WriteContentAsync(string id, Func<Stream, Task> content)
    {
        string path = ContentPath(id);
        string temp = path + ".tmp";
        long bytes;
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
        {
            await content(stream).ConfigureAwait(false);
            bytes = stream.Length;
        }

        File.Move(temp, path, overwrite: true);
        return bytes;
    }

    public void Dispose()
    {
        if (_scratch)
        {
            try
            {
                Directory.Delete(_contents, recursive: true);
            }
            catch (IOException) { }
        }
    }

    public sealed class StoredJob
    {
        public required string Id { get; init; }

        public required JsonObject Request { get; init; }

        public required DateTimeOffset CreatedAt { get; init; }

        public required string Method { get; init; }

        public string? InvalidFileError { get; init; }

        public long TrainedTokens { get; init; }

        /// <summary>The epochs the job trains: as asked, or chosen by the documented default rule when asked <c>auto</c>.</summary>
        public int Epochs { get; init; } = 3;

        public JobFault? Fault { get; init; }

        public DateTimeOffset? CancelledAt { get; set; }

        public DateTimeOffset? PausedAt { get; set; }

        public TimeSpan PausedFor { get; set; }
    }

    /// <summary>
    /// A simulated moment on the host's clock: when it will happen for the people watching (the emulator's clock runs
    /// <see cref="EmulatorOptions.Speed"/> times faster, so its own "finish at" would lie far ahead of a job that ends soon).
    /// </summary>
    public DateTimeOffset OnHostClock(DateTimeOffset simulated) => _options.Time.GetUtcNow() + ((simulated - Now) / _options.Speed);

    /// <summary>The emulated account's deployments, by <c>{account}/{name}</c>; kept in the snapshot with the jobs.</summary>
    internal ConcurrentDictionary<string, Deployment> Deployments { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Writes the deployments' change to the snapshot (a restarted emulator still serves them).</summary>
    internal void DeploymentsChanged()
    {
        lock (_gate)
        {
            Save();
        }
    }

    /// <summary>How often each model (as the request names it) was asked each conversation (its messages as sent).</summary>
    internal ConcurrentDictionary<(string Model, string Messages), int> Answers { get; } = new();

    /// <summary>The model a chat request's <c>model</c> names: a deployment's model (as Azure OpenAI resolves it), or itself.</summary>
    public string ResolveModel(string model) =>
        Deployments.Values.FirstOrDefault(d => string.Equals(d.Name, model, StringComparison.OrdinalIgnoreCase))?.Model ?? model;

    /// <summary>Simulated now: the real clock since start, scaled by the speed.</summary>
    public DateTimeOffset Now => _epoch + ((_options.Time.GetUtcNow() - _epoch) * _options.Speed);

    /// <summary>Adds a file whose content <paramref name="content"/> writes, streamed to disk.</summary>
    public async Task<StoredFile> AddFileAsync(string fileName, string purpose, Func<Stream, Task> content)
    {
        string id;
        lock (_gate)
        {
            id = $"file-{NextId()}";
        }

        long bytes = await WriteContentAsync(id, content).ConfigureAwait(false);
        lock (_gate)
        {
            var file = new StoredFile(id, fileName, purpose, bytes, Now);
            _files[file.Id] = file;
            Save();
            return file;
        }
    }

    public sealed class StoredUpload
    {
        public required string Id { get; init; }

        public required string FileName { get; init; }

        public required string Purpose { get; init; }

        public required long Bytes { get; init; }

        /// <summary>The parts received, by id, with their sizes (contents on disk under their ids).</summary>
        public Dictionary<string, long> Parts { get; } = new(StringComparer.Ordinal);

        public string Status { get; set; } = "pending";

        public StoredFile? File { get; set; }
    }

    private readonly Dictionary<string, StoredUpload> _uploads = new(StringComparer.Ordinal);

    public StoredUpload AddUpload(string fileName, string purpose, long bytes)
    {
        lock (_gate)
        {
            var upload = new StoredUpload
            {
                Id = $"upload_{NextId()}",
                FileName = fileName,
                Purpose = purpose,
                Bytes = bytes,
            };
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

    public async Task<string> AddPartAsync(StoredUpload upload, Func<Stream, Task> data)
    {
        string id;
        lock (_gate)
        {
            id = $"part_{NextId()}";
        }

        long bytes = await WriteContentAsync(id, data).ConfigureAwait(false);
        lock (_gate)
        {
            upload.Parts[id] = bytes;
        }

        return id;
    }

    /// <summary>Joins an upload's parts, in the order given, into a new file; the parts are removed.</summary>
    public async Task<StoredFile> CompleteAsync(StoredUpload upload, IReadOnlyList<string> partIds)
    {
        StoredFile file = await AddFileAsync(upload.FileName, upload.Purpose, async target =>
            {
                foreach (string part in partIds)
                {
                    await using FileStream source = File.OpenRead(ContentPath(part));
                    await source.CopyToAsync(target).ConfigureAwait(false);
                }
            })
            .ConfigureAwait(false);
        foreach (string part in partIds.Distinct())
            File.Delete(ContentPath(part));
        return file;
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
        var validator = new DatasetValidator(
            new ValidationOptions { Method = FineTuningMethods.TryParse(method, out FineTuningMethod m) ? m : FineTuningMethod.Auto }
        );
        DatasetReport report;
        using (FileStream content = OpenContent(training))
        {
            report = validator.Finish([validator.ValidateShard(content)], training.FileName);
        }
        string? error =
            report.Fit && report.ErrorRows == 0
                ? null
                : $"The job failed due to an invalid training file. {report.Verdict} "
                    + $"{string.Join(" ", report.Findings.Where(f => f.Severity == Severity.Error).Take(3))}".Trim();
        lock (_gate)
        {
            var job = new StoredJob
            {
                Id = $"ftjob-{NextId()}",
                Request = request,
                CreatedAt = Now,
                Method = method,
                InvalidFileError = error,
                Epochs = RequestedEpochs(request, method) ?? FineTuning.Core.Estimation.CostEstimator.DefaultEpochs(report.Examples),
                TrainedTokens =
                    report.Tokens.BillableTokensPerEpoch
                    * (RequestedEpochs(request, method) ?? FineTuning.Core.Estimation.CostEstimator.DefaultEpochs(report.Examples)),
                Fault = _options.Faults.TakeJobFault(),
            };
            _jobs.Add(job);
            Save();
            return job;
        }
    }

    /// <summary>The <c>n_epochs</c> a job request asks for (method hyperparameters, else top-level), or null for auto.</summary>
    public static int? RequestedEpochs(JsonObject request, string method) =>
        (request["method"]?[method]?["hyperparameters"]?["n_epochs"] ?? request["hyperparameters"]?["n_epochs"]) is JsonValue v
        && v.TryGetValue(out int epochs)
            ? epochs
            : null;

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
                Save();
            }
        }
    }

    public bool Pause(StoredJob job)
    {
        lock (_gate)
        {
            if (Status(job) != "running")
                return false;
            job.PausedAt = Now;
            Save();
            return true;
        }
    }

    public bool Resume(StoredJob job)
    {
        lock (_gate)
        {
            if (job.PausedAt is not { } paused || job.CancelledAt is not null)
                return false;
            job.PausedFor += Now - paused;
            job.PausedAt = null;
            Save();
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
            StatusAt(
                new StoredJob
                {
                    Id = job.Id,
                    Request = job.Request,
                    CreatedAt = job.CreatedAt,
                    Method = job.Method,
                    InvalidFileError = job.InvalidFileError,
                },
                cancelled,
                out step
            );
            return "cancelled";
        }

        if (job.PausedAt is not null && job.CancelledAt is null)
        {
            StatusAt(
                new StoredJob
                {
                    Id = job.Id,
                    Request = job.Request,
                    CreatedAt = job.CreatedAt + job.PausedFor,
                    Method = job.Method,
                },
                job.PausedAt.Value,
                out step
            );
            return "paused";
        }

        if (t < _options.ValidatingSeconds)
            return "validating_files";
        if (job.InvalidFileError is not null)
            return "failed";
        t -= _options.ValidatingSeconds;
        if (t < _options.QueuedSeconds || job.Fault == JobFault.StallInQueue)
            return "queued";
        t -= _options.QueuedSeconds;
        step = Math.Min(_options.Steps, (int)(t / _options.SecondsPerStep));
        if (job.Fault == JobFault.Fail && step >= _options.Steps / 2)
        {
            step = _options.Steps / 2;
            return "failed";
        }

        return step < _options.Steps ? "running" : "succeeded";
    }

    public DateTimeOffset FinishTime(StoredJob job) =>
        (job.CreatedAt + job.PausedFor).AddSeconds(
            _options.ValidatingSeconds
                + (job.InvalidFileError is null ? _options.QueuedSeconds + (_options.Steps * _options.SecondsPerStep) : 0)
        );

    public DateTimeOffset StepTime(StoredJob job, int step) =>
        (job.CreatedAt + job.PausedFor).AddSeconds(_options.ValidatingSeconds + _options.QueuedSeconds + (step * _options.SecondsPerStep));

    public int Steps => _options.Steps;

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
        var csv = new StringBuilder(
            reinforcement
                ? "step,train_reward_mean,valid_reward_mean\n"
                : "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
        );
        for (int s = 1; s <= _options.Steps; s++)
        {
            (double train, double valid, double accuracy) = Metrics(s, _options.Steps);
            if (reinforcement)
            {
                csv.Append(
                    CultureInfo.InvariantCulture,
                    $"{s},{Reward(s, _options.Steps)},{Math.Round(Reward(s, _options.Steps) - 0.03, 4)}\n"
                );
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
