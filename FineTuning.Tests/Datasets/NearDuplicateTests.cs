using System.Text;
using System.Text.Json;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow;
using FineTuning.Core.Workflow.Activities;
using FineTuning.Local.Storage;

namespace FineTuning.Tests.Datasets;

/// <summary>Opt-in fuzzy near-duplicates: rows that differ by a few words, reported in pairs, the same for any cut.</summary>
public class NearDuplicateTests
{
    private const string Answer =
        "To change the billing address open Settings then Billing then Address enter the new street city and postal code "
        + "and press Save the next invoice is sent to the new address and earlier invoices keep the old one for your records";

    private const string More = "if the link shows no movement for five working days write to us with the order number and we look into it";

    private static readonly string LongSystem = string.Join(' ', Enumerable.Repeat("You answer questions about the shop politely.", 20));

    /// <summary>
    /// Line 2 is line 1 with one word changed; line 4 is line 3 with two; the others are different questions that share a
    /// long system prompt (which must not make them alike) and short ones (left to the folded-text check).
    /// </summary>
    internal static string Dataset() =>
        Rows.Jsonl([
            Rows.Chat("How do I change my billing address?", Answer, system: LongSystem),
            Rows.Chat(
                "How do I change my billing address?",
                Answer.Replace("press Save", "press Apply", StringComparison.Ordinal),
                system: LongSystem
            ),
            Rows.Chat(
                "Where is my parcel?",
                "Open Orders and pick the order the tracking link shows where the parcel is and when it arrives at your door " + More,
                system: LongSystem
            ),
            Rows.Chat(
                "Where is my parcel?",
                "Open Orders and pick the order the tracking link shows where the parcel is and when it should arrive at your door " + More,
                system: LongSystem
            ),
            .. Enumerable
                .Range(0, 30)
                .Select(i =>
                    Rows.Chat(
                        $"Question number {i} about item {i * 7}?",
                        $"Answer {i}: the item {i * 7} costs {i + 3} euros and ships in {i % 5 + 1} days.",
                        system: LongSystem
                    )
                ),
        ]);

    private static List<Finding> NearDuplicates(DatasetReport report) =>
        [.. report.Findings.Where(f => f.Code == FindingCodes.NearDuplicate)];

    [Fact]
    public void RowsThatDifferByAFewWords_AreReportedInPairs_OnlyWhenAskedFor()
    {
        using var dir = new TempDir();
        string file = dir.Write("d.jsonl", Dataset());

        DatasetReport fuzzy = new DatasetValidator(new ValidationOptions { FuzzyNearDuplicates = true }).ValidateFile(file);
        DatasetReport plain = new DatasetValidator(new ValidationOptions()).ValidateFile(file);

        List<Finding> found = NearDuplicates(fuzzy);
        Assert.Equal([2L, 4L], found.Select(f => f.Line));
        Assert.Contains("the same as line 1", found[0].Message, StringComparison.Ordinal);
        Assert.Contains("the same as line 3", found[1].Message, StringComparison.Ordinal);
        Assert.Equal(Severity.Warning, found[0].Severity);
        Assert.Empty(NearDuplicates(plain));
        Assert.Equal(fuzzy.Examples, plain.Examples); // reported, never dropped: the user decides
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AnyCutOfTheFile_GivesTheSamePairs(int threads)
    {
        using var dir = new TempDir();
        string file = dir.Write("d.jsonl", Dataset());
        var validator = new DatasetValidator(new ValidationOptions { FuzzyNearDuplicates = true });
        IEnumerable<string> Pairs(DatasetReport r) => NearDuplicates(r).Select(f => $"{f.Line}: {f.Message}");

        List<string> whole = [.. Pairs(validator.ValidateFile(file))];
        foreach (long shardBytes in new long[] { 700, 2_000, 5_000 })
        {
            Assert.Equal(whole, Pairs(validator.ValidateFileInShards(file, threads, shardBytes)));
        }
    }

    /// <summary>
    /// A run's validation: each shard validated by its own activity (in Azure, perhaps on another host), its signatures
    /// written beside its report, and the pairs found when MergeValidation reads them all, the same as in one process.
    /// </summary>
    [Theory]
    [InlineData(700)]
    [InlineData(2_000)]
    public async Task ARunsShardActivities_FindThePairsAtTheMerge(long shardBytes)
    {
        using var dir = new TempDir();
        var blobs = new FileSystemBlobStore(dir.File("blobs"));
        await blobs.WriteAsync("datasets/d.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(Dataset()), ct).AsTask());

        async Task<DatasetReport> Validate(bool nearDuplicates)
        {
            string runId = $"run-{nearDuplicates}-{shardBytes}";
            ValidationSettings settings = ValidationSettings.From(
                new RunRequest { DatasetBlob = "datasets/d.jsonl", NearDuplicates = nearDuplicates }
            );
            ShardPlan plan = await new PlanShards(blobs).RunAsync(new PlanShardsInput(runId, "datasets/d.jsonl", shardBytes));
            Assert.True(plan.Shards.Count > 2, $"{plan.Shards.Count} shards");
            var reports = new List<string>();
            foreach (ShardRef shard in plan.Shards)
            {
                reports.Add(
                    (
                        await new ValidateShard(blobs, ModelCatalog.Default).RunAsync(new ValidateShardInput(runId, shard, settings))
                    ).ReportBlob
                );
            }

            ValidationSummary summary = await new MergeValidation(blobs, ModelCatalog.Default).RunAsync(
                new MergeValidationInput(runId, "datasets/d.jsonl", settings, reports)
            );
            await using Stream stream = await blobs.OpenReadAsync(summary.ReportBlob);
            return (await JsonSerializer.DeserializeAsync(stream, ReportSerializer.TypeInfo<DatasetReport>()))!;
        }

        DatasetReport fuzzy = await Validate(nearDuplicates: true);
        Assert.Equal(
            NearDuplicates(
                    new DatasetValidator(new ValidationOptions { FuzzyNearDuplicates = true }).ValidateFile(
                        dir.Write("whole.jsonl", Dataset())
                    )
                )
                .Select(f => $"{f.Line}: {f.Message}"),
            NearDuplicates(fuzzy).Select(f => $"{f.Line}: {f.Message}")
        );
        Assert.Equal([2L, 4L], NearDuplicates(fuzzy).Select(f => f.Line));
        Assert.Empty(NearDuplicates(await Validate(nearDuplicates: false)));
        Assert.Null(await blobs.GetPropertiesAsync($"runs/run-False-{shardBytes}/shards/00000.sketches.bin"));
    }

    [Fact]
    public async Task SignaturesCutShort_FailTheMergeNamingTheBlob()
    {
        var validator = new DatasetValidator(new ValidationOptions { FuzzyNearDuplicates = true });
        MinHashSketches sketches = validator.ValidateShard(new MemoryStream(Encoding.UTF8.GetBytes(Dataset())), 1, true).Sketches!;
        using var written = new MemoryStream();
        await sketches.WriteToAsync(written);
        using var cut = new MemoryStream(written.ToArray()[..^10]);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            MinHashSketches.ReadFromAsync(cut, "runs/r/shards/00001.sketches.bin")
        );

        Assert.Contains("runs/r/shards/00001.sketches.bin", error.Message, StringComparison.Ordinal);
    }
}
