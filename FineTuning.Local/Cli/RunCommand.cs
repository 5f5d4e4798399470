using System.CommandLine;
using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Emulator;
using FineTuning.Local.Hosting;
using FineTuning.Local.Storage;
using FineTuning.OpenAI;
using Microsoft.Extensions.Logging;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune run FILE</c>: the whole workflow on this machine, followed to the end.</summary>
internal static class RunCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The JSONL dataset; it is copied into <data>/blobs/datasets/." };
        var data = new Option<DirectoryInfo>("--data")
        {
            Description = "Data directory: blobs, the runs and models database, the emulator's state.",
            DefaultValueFactory = _ => new DirectoryInfo(".finetuning"),
        };
        var method = new Option<string>("--method")
        {
            Description = "auto, supervised, dpo or reinforcement.",
            DefaultValueFactory = _ => "auto",
        };
        var model = new Option<string?>("--model") { Description = "Base model (default per method from the model catalogue)." };
        var allowUnknown = new Option<bool>("--allow-unknown-model")
        {
            Description = "Train a model the catalogue does not know (its limits and price are then unknown).",
        };
        var suffix = new Option<string?>("--suffix") { Description = "Suffix of the fine-tuned model's name." };
        var grader = new Option<FileInfo?>("--grader") { Description = "Grader JSON (required for reinforcement)." };
        var evalGrader = new Option<FileInfo?>("--eval-grader")
        {
            Description =
                "Grader JSON that scores the evaluation's answers of a supervised or DPO run instead of the judge: a string_check "
                + "or text_similarity against {{ item.reference }} (the row's reference answer).",
        };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (default: the provider's auto)." };
        var ratio = new Option<double>("--train-ratio")
        {
            Description = "Share of each stratum for training.",
            DefaultValueFactory = _ => 0.9,
        };
        var stratify = new Option<string>("--stratify-by")
        {
            Description = "Field to stratify the split by.",
            DefaultValueFactory = _ => "topic",
        };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the split.", DefaultValueFactory = _ => 42UL };
        var budget = new Option<decimal?>("--budget")
        {
            Description = "Most the job may cost in USD: a run whose estimate is higher, or has none, stops before uploading anything.",
        };
        var poll = new Option<double>("--poll-seconds")
        {
            Description = "First interval between job status checks (it backs off to 10 minutes); default 30, or 1 with the emulator.",
        };
        var deadline = new Option<double>("--deadline-hours")
        {
            Description = "Cancel the job and fail the run after this long.",
            DefaultValueFactory = _ => 48,
        };
        var testRatio = new Option<double>("--test-ratio")
        {
            Description =
                "Share of each topic held out as the run's test set (runs/{id}/split/test.jsonl, never uploaded, evaluated "
                + "after training); default 0.1, or none with --no-eval.",
            DefaultValueFactory = _ => 0.0,
        };
        var validationFile = new Option<FileInfo>("--validation")
        {
            Description =
                "Your own validation file, uploaded as given (the dataset then all trains); a row that is also an example of the "
                + "dataset fails the run before anything is uploaded, both lines named.",
        };
        var testFile = new Option<FileInfo>("--test")
        {
            Description =
                "Your own test file for the evaluation (the dataset then holds none out): validated on its own; a row that is also an "
                + "example of the dataset fails the run before anything is uploaded, both lines named.",
        };
        var noEval = new Option<bool>("--no-eval")
        {
            Description =
                "Do not evaluate the fine-tuned model against its base on held-out rows (the model is then registered as a "
                + "candidate without a promotion decision).",
        };
        var maxEvalRows = new Option<int>("--max-eval-rows")
        {
            Description = "Most held-out rows to evaluate (a stratified, seeded sample when there are more).",
            DefaultValueFactory = _ => 200,
        };
        var judge = new Option<string?>("--judge")
        {
            Description = "The judge model (default: FineTuning__Evaluation__JudgeModel, gpt-4.1).",
        };
        var approval = new Option<string>("--approval")
        {
            Description = "manual: a model that passes the promotion policy waits for 'finetune approve'; auto: it is promoted at once.",
            DefaultValueFactory = _ => "manual",
        };
        approval.AcceptOnlyFromAmong("manual", "auto");
        var name = new Option<string?>("--name")
        {
            Description = "Registry name to version the model under (default: suffix, or base model).",
        };
        var noPiiCheck = new Option<bool>("--no-pii-check")
        {
            Description = "Do not look for personal or secret data (e-mail addresses, phone numbers, payment cards, IBANs, API keys).",
        };
        var nearDuplicates = new Option<bool>("--near-duplicates")
        {
            Description = "Also report rows whose words are mostly an earlier row's (near_duplicate pairs by MinHash; slower).",
        };
        var command = new Command(
            "run",
            "Run the workflow on a dataset: validate in shards, split, upload, submit the job once, follow it, collect results, register "
                + "the model. Without a configured provider (FineTuning__Provider__*), jobs run on the built-in emulator. Exit 0 when a "
                + "model is registered, 1 when the run fails or is cancelled, 2 on usage errors."
        );
        command.Arguments.Add(file);
        foreach (
            Option option in new Option[]
            {
                data,
                method,
                model,
                allowUnknown,
                suffix,
                grader,
                evalGrader,
                epochs,
                ratio,
                stratify,
                seed,
                poll,
                deadline,
                budget,
                testRatio,
                validationFile,
                testFile,
                noEval,
                maxEvalRows,
                judge,
                approval,
                name,
                noPiiCheck,
                nearDuplicates,
            }
        )
            command.Options.Add(option);
        command.SetAction(
            async (result, cancellationToken) =>
            {
                FileInfo dataset = result.GetValue(file)!;
                FileInfo? userValidation = result.GetValue(validationFile);
                FileInfo? userTest = result.GetValue(testFile);
                try
                {
                    // The checks validation makes: a directory, a missing or unreadable file, a pipe or device.
                    DatasetValidator.OpenRead(dataset.FullName).Dispose();
                    if (userValidation is not null)
                        DatasetValidator.OpenRead(userValidation.FullName).Dispose();
                    if (userTest is not null)
                        DatasetValidator.OpenRead(userTest.FullName).Dispose();
                }
                catch (DatasetFileException ex)
                {
                    await stderr.WriteLineAsync($"error: {ex.Message}");
                    return FinetuneCli.ExitUsage;
                }

                string root = result.GetValue(data)!.FullName;
                (JsonElement? graderJson, string? graderProblem) = await ReadJsonAsync(result.GetValue(grader), cancellationToken);
                (JsonElement? evalGraderJson, string? evalGraderProblem) = await ReadJsonAsync(
                    result.GetValue(evalGrader),
                    cancellationToken
                );
                if ((graderProblem ?? evalGraderProblem) is { } unreadable)
                {
                    await stderr.WriteLineAsync($"error: {unreadable}");
                    return FinetuneCli.ExitUsage;
                }

                // Numbers at the edge get a sentence, not an overflow: TimeSpan takes at most about 29,000 years.
                double hours = result.GetValue(deadline);
                double? pollSeconds = result.GetValue(poll) is double given and not 0 ? given : null;
                if (!(hours is > 0 and <= 24 * 30))
                {
                    await stderr.WriteLineAsync($"error: --deadline-hours: {hours} is not between 0 and 720 (30 days); the default is 48");
                    return FinetuneCli.ExitUsage;
                }

                if (pollSeconds is { } seconds && !(seconds is >= 1 and <= 3600))
                {
                    await stderr.WriteLineAsync($"error: --poll-seconds: {seconds} is not between 1 and 3600 (an hour)");
                    return FinetuneCli.ExitUsage;
                }

                string blobName = "datasets/" + SafeName(dataset.Name);
                // A validation or test file's blob is named by its content too, so a changed file is a new run, not the old one's.
                UserFile? validationUpload = await UserFile.ForAsync(userValidation, cancellationToken);
                UserFile? testUpload = await UserFile.ForAsync(userTest, cancellationToken);
                var request = new RunRequest
                {
                    DatasetBlob = blobName,
                    Method = result.GetValue(method) ?? "auto",
                    BaseModel = result.GetValue(model),
                    AllowUnknownModel = result.GetValue(allowUnknown),
                    Suffix = result.GetValue(suffix),
                    Grader = graderJson,
                    EvalGrader = evalGraderJson,
                    Hyperparameters = result.GetValue(epochs) is int e ? new Hyperparameters(Epochs: e) : null,
                    TrainRatio = result.GetValue(ratio),
                    BudgetUsd = result.GetValue(budget),
                    StratifyBy = result.GetValue(stratify) ?? "topic",
                    SplitSeed = result.GetValue(seed),
                    PollInterval = pollSeconds is { } p ? TimeSpan.FromSeconds(p) : RunRequest.DefaultPollInterval,
                    Deadline = TimeSpan.FromHours(hours),
                    PiiCheck = !result.GetValue(noPiiCheck),
                    NearDuplicates = result.GetValue(nearDuplicates),
                    ValidationBlob = validationUpload?.Blob,
                    TestBlob = testUpload?.Blob,
                    TestRatio = result.GetValue(testRatio),
                    Evaluate = !result.GetValue(noEval),
                    MaxEvalRows = result.GetValue(maxEvalRows),
                    JudgeModel = result.GetValue(judge),
                    Approval = result.GetValue(approval) ?? "manual",
                    Name = result.GetValue(name),
                };
                IReadOnlyDictionary<string, string[]> problems = request.Problems();
                if (problems.Count > 0)
                {
                    foreach ((string field, string[] messages) in problems)
                        await stderr.WriteLineAsync($"error: {field}: {string.Join("; ", messages)}");
                    return FinetuneCli.ExitUsage;
                }

                using ILoggerFactory logging = ConsoleLines.Factory(stdout);
                ILogger log = logging.CreateLogger("FineTuning.Run");
                if (await HostStart.TryStartAsync(root, log, stderr, cancellationToken) is not { } host)
                {
                    return FinetuneCli.ExitUsage;
                }

                await using LocalRunHost owned = host;

                // The run id follows the blob's ETag: copy the dataset only when its content changed, so the same file is the same run.
                string sha256 = await FileHash.Sha256Async(dataset.FullName, cancellationToken);

                BlobProperties stored = await StoreAsync(host, dataset, blobName, sha256, cancellationToken);
                foreach (UserFile upload in new[] { validationUpload, testUpload }.OfType<UserFile>())
                {
                    await StoreAsync(host, upload.File, upload.Blob, upload.Sha256, cancellationToken);
                }

                string? last = null;
                string? following = null;
                host.StatusChanged += (id, progress) =>
                {
                    if (following is not null && (id == following || id == JobMonitor.InstanceIdFor(following)) && progress is not null)
                    {
                        string line = progress.Describe();
                        if (line != last)
                        {
                            last = line;
                            Logs.RunProgress(log, line);
                        }
                    }
                };
                HashSet<string> resumed = [.. host.Runtime.Store.Running().Select(i => i.InstanceId)];
                (string? runId, IReadOnlyDictionary<string, string[]> startProblems) = await host.StartRunAsync(request, cancellationToken);
                bool wasRunning = runId is not null && resumed.Contains(runId);
                following = runId;
                if (runId is null)
                {
                    foreach ((string field, string[] messages) in startProblems)
                        await stderr.WriteLineAsync($"error: {field}: {string.Join("; ", messages)}");
                    return FinetuneCli.ExitUsage;
                }

                if (host.Outcome(runId) is not { } running)
                {
                    RunRow? done = await ((IRunStore)host.Tables).GetAsync(runId, cancellationToken);
                    await stdout.WriteLineAsync($"Run {runId} already registered {done?.ModelId} for this dataset and these options.");
                    return FinetuneCli.ExitOk;
                }

                string resumedAt = wasRunning
                    ? $"; resumed at {(await ((IRunStore)host.Tables).GetAsync(runId, cancellationToken))?.Stage ?? "the start"}"
                    : "";
                await stdout.WriteLineAsync($"Run {runId}: {dataset.Name} ({stored.Size / 1024.0:N0} KiB), data in {root}{resumedAt}");
                RunOutcome? outcome;
                try
                {
                    outcome = await RunFollow.WaitAsync(host, runId, running, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Ctrl+C stops following, not the run: its history is saved and it resumes where it was.
                    await stderr.WriteLineAsync(
                        $"Stopped following run {runId}; it resumes where it was the next time 'finetune run' or 'finetune serve' starts "
                            + $"with --data {root}. "
                            + $"To cancel it: finetune cancel {runId} --data {root}"
                    );
                    return FinetuneCli.ExitInterrupted;
                }

                return await RunFollow.ReportAsync(host, runId, outcome, root, stdout, cancellationToken);
            }
        );
        return command;
    }

    /// <summary>
    /// Copies <paramref name="file"/> to <paramref name="blob"/> unless the blob already holds that content (its SHA-256),
    /// marked as the run command's so the folder drop does not start a run for it.
    /// </summary>
    private static async Task<BlobProperties> StoreAsync(
        LocalRunHost host,
        FileInfo file,
        string blob,
        string sha256,
        CancellationToken cancellationToken
    )
    {
        BlobProperties? stored = await host.Blobs.GetPropertiesAsync(blob, cancellationToken);
        if (stored is not null && stored.Metadata.GetValueOrDefault("sha256") == sha256)
        {
            return stored;
        }

        return await host.Blobs.WriteAsync(
            blob,
            async (s, ct) =>
            {
                await using FileStream source = file.OpenRead();
                await source.CopyToAsync(s, ct);
            },
            new Dictionary<string, string> { ["sha256"] = sha256, [DatasetApi.SourceMetadata] = DatasetApi.RunCommandSource },
            cancellationToken
        );
    }

    /// <summary>A validation or test file of the user's, with the blob it is stored as (its name and the start of its SHA-256).</summary>
    private sealed record UserFile(FileInfo File, string Sha256, string Blob)
    {
        public static async Task<UserFile?> ForAsync(FileInfo? file, CancellationToken cancellationToken)
        {
            if (file is null)
                return null;
            string sha256 = await FileHash.Sha256Async(file.FullName, cancellationToken);
            return new UserFile(file, sha256, $"datasets/{Path.GetFileNameWithoutExtension(SafeName(file.Name))}.{sha256[..12]}.jsonl");
        }
    }

    /// <summary>A JSON file an option names (a grader), or a sentence naming the file and what is wrong with it.</summary>
    private static async Task<(JsonElement? Json, string? Problem)> ReadJsonAsync(FileInfo? file, CancellationToken cancellationToken)
    {
        if (file is null)
            return (null, null);
        if (!file.Exists)
            return (null, $"{file.FullName}: does not exist");
        try
        {
            using JsonDocument doc = JsonDocument.Parse(await File.ReadAllTextAsync(file.FullName, cancellationToken));
            return (doc.RootElement.Clone(), null);
        }
        catch (JsonException ex)
        {
            return (
                null,
                $"{file.FullName}: line {(ex.LineNumber ?? 0) + 1}: not JSON ({ex.Message.Split('.')[0]}); a grader is one JSON object"
            );
        }
    }

    private static string SafeName(string name) =>
        new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')]);
}
