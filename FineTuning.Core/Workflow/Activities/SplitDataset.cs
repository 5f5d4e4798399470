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
        // The splitter reads its file twice (validate, then write in key order): work on a local copy.
        string work = Path.Combine(Path.GetTempPath(), $"finetuning-split-{input.RunId}-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            string local = Path.Combine(work, "dataset.jsonl");
            await using (Stream source = await blobs.OpenReadAsync(input.DatasetBlob, cancellationToken).ConfigureAwait(false))
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
            foreach (string name in new[] { "train.jsonl", "valid.jsonl", "split-report.json" })
            {
                string path = Path.Combine(work, "out", name);
                await blobs
                    .WriteAsync(
                        prefix + name,
                        async (s, ct) =>
                        {
                            await using FileStream file = File.OpenRead(path);
                            await file.CopyToAsync(s, ct).ConfigureAwait(false);
                        },
                        cancellationToken: cancellationToken
                    )
                    .ConfigureAwait(false);
            }

            return new SplitSummary(
                prefix + "train.jsonl",
                prefix + "valid.jsonl",
                report.TrainRows,
                report.ValidationRows,
                report.Strata.ToDictionary(s => s.Name, s => s.Train),
                prefix + "split-report.json"
            );
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
