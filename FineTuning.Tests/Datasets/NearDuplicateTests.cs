using FineTuning.Core.Datasets;

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
    private static string Dataset() =>
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
}
