using System.Security.Cryptography;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Splitting;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Splits the dataset into <c>runs/{runId}/split/train.jsonl</c> and <c>valid.jsonl</c> with the split report.</summary>
public sealed class SplitDataset(IBlobStore blobs, ModelCatalog catalog) : IWorkflowActivity<SplitInput, SplitSummary>
{
    public async Task<SplitSummary> RunAsync(SplitInput input, CancellationToken cancellationToken = default)
    {
        // The splitter reads its file twice (validate, then write in key order): work on a local copy, in scratch space
        // named by run, so an attempt killed midway leaves nothing that the next attempt does not remove first.
        string work = ScratchFor(input.RunId);
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }

        Directory.CreateDirectory(work);
        try
        {
            string local = Path.Combine(work, "dataset.jsonl");
            // Pinned to the content validation saw: a dataset replaced since fails here (BlobChangedException), never trains.
            await using (
                Stream source = input.DatasetETag is { } etag
                    ? await blobs
                        .OpenReadRangeAsync(input.DatasetBlob, 0, input.DatasetBytes, etag, cancellationToken)
                        .ConfigureAwait(false)
                    : await blobs.OpenReadAsync(input.DatasetBlob, cancellationToken).ConfigureAwait(false)
            )
            await using (FileStream target = File.Create(local))
            {
                await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            }

            string? userValidation = await CopyAsync(input.ValidationFileBlob, Path.Combine(work, "validation.jsonl"), cancellationToken)
                .ConfigureAwait(false);
            string? userTest = await CopyAsync(input.TestFileBlob, Path.Combine(work, UserTestFile), cancellationToken)
                .ConfigureAwait(false);

            var splitter = new StratifiedSplitter(
                input.Settings.ToOptions(catalog),
                new SplitOptions
                {
                    TrainRatio = input.TrainRatio,
                    StratifyBy = input.StratifyBy,
                    Seed = input.Seed,
                    IncludeGeneratedInValidation = input.IncludeGeneratedInValidation,
                    ValidationFile = userValidation,
                    TestRatio = input.TestRatio,
                    TestFile = userTest,
                }
            );
            SplitResult result = splitter.Split(local, Path.Combine(work, "out"), cancellationToken: cancellationToken);
            if (result.Split is null && UserFileProblem(input, result) is { } problem)
            {
                return new SplitSummary("", "", 0, 0, new Dictionary<string, long>(), "", Problem: problem);
            }

            SplitReport report = result.Split
                ?? throw new InvalidOperationException($"{input.DatasetBlob} is not fit to split; validation should have stopped the run.");
            string prefix = $"runs/{input.RunId}/split/";
            var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
            string[] written = report.TestFile is null
                ? ["train.jsonl", "valid.jsonl", "split-report.json"]
                : ["train.jsonl", "valid.jsonl", "test.jsonl", "split-report.json"];
            foreach (string name in written)
            {
                string path = Path.Combine(work, "out", name);
                string? hash = null;
                await blobs
                    .WriteAsync(
                        prefix + name,
                        async (s, ct) =>
                        {
                            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                            await using FileStream file = File.OpenRead(path);
                            byte[] buffer = new byte[1 << 20];
                            for (int read; (read = await file.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0; )
                            {
                                sha.AppendData(buffer, 0, read);
                                await s.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                            }

                            hash = Convert.ToHexStringLower(sha.GetHashAndReset());
                        },
                        cancellationToken: cancellationToken
                    )
                    .ConfigureAwait(false);
                if (name.EndsWith(".jsonl", StringComparison.Ordinal))
                {
                    hashes[name] = hash!;
                }
            }

            return new SplitSummary(
                prefix + "train.jsonl",
                prefix + "valid.jsonl",
                report.TrainRows,
                report.ValidationRows,
                report.Strata.ToDictionary(s => s.Name, s => s.Train),
                prefix + "split-report.json",
                hashes,
                TestBlob: report.TestFile is null ? null : prefix + "test.jsonl",
                TestRows: report.TestRows
            );
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Copies a file of the user's to <paramref name="path"/> in the scratch folder; null when there is none.</summary>
    private async Task<string?> CopyAsync(string? blob, string path, CancellationToken cancellationToken)
    {
        if (blob is null)
            return null;
        await using Stream source = await blobs.OpenReadAsync(blob, cancellationToken).ConfigureAwait(false);
        await using FileStream target = File.Create(path);
        await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
        return path;
    }

    /// <summary>Why the user's validation or test file cannot be used (not fit, or rows the dataset has), or null.</summary>
    private static string? UserFileProblem(SplitInput input, SplitResult result)
    {
        string Named(string text) =>
            text.Replace("validation.jsonl", input.ValidationFileBlob, StringComparison.Ordinal)
                .Replace(UserTestFile, input.TestFileBlob, StringComparison.Ordinal)
                .Replace("dataset.jsonl", input.DatasetBlob, StringComparison.Ordinal);
        if (result.Overlaps.Count > 0)
        {
            string file = result.Overlaps[0].StartsWith(UserTestFile, StringComparison.Ordinal)
                ? $"{input.TestFileBlob} (the test file)"
                : $"{input.ValidationFileBlob}";
            string examples = result.Overlaps.Count == 1 ? "an example" : $"{result.Overlaps.Count:N0} examples";
            return $"{file} shares {examples} with the dataset, which trains on them: remove them from one file.\n  "
                + string.Join("\n  ", result.Overlaps.Take(10).Select(Named));
        }

        foreach (
            (DatasetReport? report, string? blob) in new[]
            {
                (result.ValidationFileReport, input.ValidationFileBlob),
                (result.TestFileReport, input.TestFileBlob),
            }
        )
        {
            if (report is { Fit: false })
                return string.Join("\n  ", [$"{blob}: {report.Verdict}", .. report.Findings.Take(10).Select(f => f.ToString())]);
        }

        return null;
    }

    /// <summary>The name of the local copy of a user's test file (its lines are named by it until the blob's name replaces it).</summary>
    private const string UserTestFile = "user-test.jsonl";

    /// <summary>The run's scratch folder for the split (in the system's temporary folder).</summary>
    public static string ScratchFor(string runId) => Path.Combine(Path.GetTempPath(), $"finetuning-split-{runId}");
}
