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

            var splitter = new StratifiedSplitter(
                input.Settings.ToOptions(catalog),
                new SplitOptions
                {
                    TrainRatio = input.TrainRatio,
                    StratifyBy = input.StratifyBy,
                    Seed = input.Seed,
                    IncludeGeneratedInValidation = input.IncludeGeneratedInValidation,
                }
            );
            SplitReport report = splitter.Split(local, Path.Combine(work, "out"), cancellationToken: cancellationToken).Split
                ?? throw new InvalidOperationException($"{input.DatasetBlob} is not fit to split; validation should have stopped the run.");
            string prefix = $"runs/{input.RunId}/split/";
            var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string name in new[] { "train.jsonl", "valid.jsonl", "split-report.json" })
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
                hashes
            );
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The run's scratch folder for the split (in the system's temporary folder).</summary>
    public static string ScratchFor(string runId) => Path.Combine(Path.GetTempPath(), $"finetuning-split-{runId}");
}
