using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Splitting;

namespace FineTuning.Tests.Splitting;

public class StratifiedSplitterTests
{
    private static SplitResult Split(
        TempDir dir,
        string content,
        SplitOptions? options = null,
        ValidationOptions? validation = null,
        string outName = "out"
    )
    {
        string path = dir.Write($"{outName}.jsonl", content);
        return new StratifiedSplitter(validation ?? new ValidationOptions(), options ?? new SplitOptions()).Split(path, dir.File(outName));
    }

    private static string[] Lines(string path) => File.ReadAllLines(path);

    private static string TopicOf(string row) =>
        JsonDocument.Parse(row).RootElement.TryGetProperty("topic", out JsonElement t) ? t.GetString()! : "";

    [Fact]
    public void Split_IsStratifiedAndProportionalPerTopic()
    {
        using var dir = new TempDir();
        string content = Rows.Jsonl(Rows.ManyChats(300, i => i % 3 == 0 ? "billing"
                : i % 3 == 1 ? "shipping"
                : "returns"));

        SplitReport report = Split(dir, content).Split!;

        Assert.Equal(270, report.TrainRows);
        Assert.Equal(30, report.ValidationRows);
        Assert.All(report.Strata, s => Assert.Equal(10, s.Validation));
        Assert.All(report.Strata, s => Assert.Equal("proportional", s.Rule));
    }

    [Fact]
    public void ATestShare_IsHeldOutPerTopic_AsWritten_AndOverlapsNothing()
    {
        using var dir = new TempDir();
        string content = Rows.Jsonl(Rows.ManyChats(300, i => i % 3 == 0 ? "billing"
                : i % 3 == 1 ? "shipping"
                : "returns"));

        SplitReport report = Split(dir, content, new SplitOptions { TestRatio = 0.1 }).Split!;

        // Each topic of 100: 10 to the test set, then 90 split 9 to 1 (81 train, 9 validation).
        Assert.Equal((243, 27, 30), (report.TrainRows, report.ValidationRows, report.TestRows));
        Assert.All(report.Strata, s => Assert.Equal((81, 9, 10), (s.Train, s.Validation, s.Test)));
        Assert.Equal("test.jsonl", report.TestFile);
        Assert.Equal((0, 0, 0), (report.Leaks.TrainValidationOverlap, report.Leaks.TrainTestOverlap, report.Leaks.ValidationTestOverlap));
        string[] test = Lines(dir.File("out/test.jsonl"));
        // As written in the source: the topic stays (the evaluation reports by it); training rows lose it.
        Assert.All(test, row => Assert.Contains(row, content.Split('\n')));
        Assert.Equal(10, test.Count(r => TopicOf(r) == "billing"));
        Assert.DoesNotContain(Lines(dir.File("out/train.jsonl")), r => r.Contains("\"topic\"", StringComparison.Ordinal));
        HashSet<string> held = [.. test.Select(r => JsonDocument.Parse(r).RootElement.GetProperty("messages").GetRawText())];
        Assert.DoesNotContain(Lines(dir.File("out/train.jsonl")).Concat(Lines(dir.File("out/valid.jsonl"))), r =>
            held.Contains(JsonDocument.Parse(r).RootElement.GetProperty("messages").GetRawText())
        );
        Assert.True(SplitManifest.IsComplete(dir.File("out")));
        Assert.Contains("test.jsonl", File.ReadAllText(dir.File("out/" + SplitManifest.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutATestShare_NoTestFileIsLeft_FromAnEarlierSplit()
    {
        using var dir = new TempDir();
        string content = Rows.Jsonl(Rows.ManyChats(100, i => $"t{i % 2}"));
        Split(dir, content, new SplitOptions { TestRatio = 0.2 });
        Assert.True(File.Exists(dir.File("out/test.jsonl")));

        SplitReport report = Split(dir, content).Split!;

        Assert.False(File.Exists(dir.File("out/test.jsonl")));
        Assert.Null(report.TestFile);
        Assert.Equal(100, report.TrainRows + report.ValidationRows);
        Assert.True(SplitManifest.IsComplete(dir.File("out")));
    }

    [Fact]
    public void AValidationFileOfTheUsers_IsUsedAsGiven_AndTheDatasetAllTrains()
    {
        using var dir = new TempDir();
        string data = dir.Write("data.jsonl", Rows.Jsonl(Rows.ManyChats(60, i => $"t{i % 3}")));
        string mine = dir.Write(
            "mine.jsonl",
            Rows.Jsonl(
                Enumerable
                    .Range(0, 8)
                    .Select(i => Rows.Chat($"held-out question {i}?", $"answer {i}.", topic: "t0", extra: ", \"metadata\": {\"id\": 1}"))
            )
        );

        SplitResult result = new StratifiedSplitter(new ValidationOptions(), new SplitOptions { ValidationFile = mine }).Split(
            data,
            dir.File("out")
        );

        SplitReport report = result.Split!;
        Assert.Equal((60, 8), (report.TrainRows, report.ValidationRows));
        Assert.True(result.ValidationFileReport!.Fit);
        string[] valid = Lines(dir.File("out/valid.jsonl"));
        Assert.All(valid, r => Assert.Contains("held-out question", r, StringComparison.Ordinal));
        Assert.All(valid, r => Assert.DoesNotContain("metadata", r, StringComparison.Ordinal)); // projected like training rows
        Assert.Contains(report.Notes, n => n.Contains("mine.jsonl as given", StringComparison.Ordinal));
        Assert.True(SplitManifest.IsComplete(dir.File("out")));
    }

    [Fact]
    public void AValidationFile_ThatSharesAnExampleWithTheDataset_StopsTheSplit_NamingBothLines()
    {
        using var dir = new TempDir();
        string[] rows = [.. Rows.ManyChats(30, i => "t")];
        string data = dir.Write("data.jsonl", Rows.Jsonl(rows));
        // Line 2 of the validation file is dataset line 5, written compactly with an id: the same example.
        string same = JsonSerializerCompact(rows[4]);
        string mine = dir.Write("mine.jsonl", Rows.Jsonl([Rows.Chat("something else?", "yes."), same]));

        SplitResult result = new StratifiedSplitter(new ValidationOptions(), new SplitOptions { ValidationFile = mine }).Split(
            data,
            dir.File("out")
        );

        Assert.Null(result.Split);
        Assert.Equal("mine.jsonl line 2 is the same example as data.jsonl line 5", Assert.Single(result.Overlaps));
        Assert.False(File.Exists(dir.File("out/train.jsonl")));
    }

    [Fact]
    public void ATestFileOfTheUsers_IsWrittenAsGiven_AndTheDatasetHoldsNoneOut()
    {
        using var dir = new TempDir();
        string data = dir.Write("data.jsonl", Rows.Jsonl(Rows.ManyChats(60, i => $"t{i % 3}")));
        string mine = dir.Write(
            "mine.jsonl",
            Rows.Jsonl(Enumerable.Range(0, 7).Select(i => Rows.Chat($"exam question {i}?", $"answer {i}.", topic: "t1")))
        );

        SplitResult result = new StratifiedSplitter(new ValidationOptions(), new SplitOptions { TestFile = mine }).Split(
            data,
            dir.File("out")
        );

        SplitReport report = result.Split!;
        Assert.Equal(7, report.TestRows);
        Assert.Equal(60, report.TrainRows + report.ValidationRows);
        string[] test = Lines(dir.File("out/test.jsonl"));
        Assert.All(test, r => Assert.Contains("\"topic\": \"t1\"", r, StringComparison.Ordinal)); // as written: the topic stays
        Assert.StartsWith("{\"messages\"", test[0], StringComparison.Ordinal);
        Assert.Contains(report.Notes, n => n.Contains("mine.jsonl as given", StringComparison.Ordinal));
        Assert.True(SplitManifest.IsComplete(dir.File("out")));
    }

    [Fact]
    public void ATestFile_ThatSharesAnExampleWithTheDataset_StopsTheSplit_NamingBothLines()
    {
        using var dir = new TempDir();
        string[] rows = [.. Rows.ManyChats(30, i => "t")];
        string data = dir.Write("data.jsonl", Rows.Jsonl(rows));
        string mine = dir.Write("mine.jsonl", Rows.Jsonl([Rows.Chat("a new question?", "yes."), JsonSerializerCompact(rows[9])]));

        SplitResult result = new StratifiedSplitter(new ValidationOptions(), new SplitOptions { TestFile = mine }).Split(
            data,
            dir.File("out")
        );

        Assert.Null(result.Split);
        Assert.Equal("mine.jsonl line 2 is the same example as data.jsonl line 10", Assert.Single(result.Overlaps));
        Assert.Equal("give a test file or a test ratio, not both", new SplitOptions { TestFile = mine, TestRatio = 0.1 }.Problem());
    }

    private static string JsonSerializerCompact(string row) =>
        JsonSerializer
            .Serialize(JsonDocument.Parse(row).RootElement)
            .Replace("}]}", "}],\"metadata\":{\"id\":\"dup\"}}", StringComparison.Ordinal);

    [Theory]
    [InlineData(0.9, 0.0, 10)]
    [InlineData(0.9, 0.1, 12)] // 1 / (0.1 × 0.9) = 11.1: the rest must still give validation a row
    [InlineData(0.8, 0.5, 10)] // 1 / (0.2 × 0.5)
    [InlineData(1.0, 0.25, 4)]
    public void TheSmallestStratumSplitInProportion_LeavesEveryShareARow(double train, double test, int expected) =>
        Assert.Equal(expected, StratifiedSplitter.MinStratumSize(train, test));

    [Fact]
    public void Split_DoesNotDependOnRowOrder_OutputsAreByteIdentical()
    {
        using var dir = new TempDir();
        string[] rows = Rows.ManyChats(200, i => $"t{i % 4}").ToArray();
        string[] shuffled = rows.OrderBy(r => r.GetHashCode(StringComparison.Ordinal)).ToArray();
        Assert.NotEqual(rows, shuffled);

        Split(dir, Rows.Jsonl(rows), outName: "a");
        Split(dir, Rows.Jsonl(shuffled), outName: "b");

        Assert.Equal(File.ReadAllBytes(dir.File("a/train.jsonl")), File.ReadAllBytes(dir.File("b/train.jsonl")));
        Assert.Equal(File.ReadAllBytes(dir.File("a/valid.jsonl")), File.ReadAllBytes(dir.File("b/valid.jsonl")));
    }

    [Fact]
    public void Split_InManyShardsOnTwoThreads_EqualsOnePass()
    {
        using var dir = new TempDir();
        var rows = Rows.ManyChats(600, i => $"t{i % 7}").ToList();
        rows.Insert(300, rows[10]); // a repeat in a later shard
        rows.Insert(200, "{\"messages\": [}");
        string path = dir.Write("d.jsonl", Rows.Jsonl(rows));
        var validation = new ValidationOptions { MaxErrorRate = 0.01 };

        SplitReport one = new StratifiedSplitter(validation, new SplitOptions()).Split(path, dir.File("one"), parallelism: 1).Split!;
        SplitReport many = new StratifiedSplitter(validation, new SplitOptions()) { ShardBytes = 4096 }
            .Split(path, dir.File("many"), parallelism: 2)
            .Split!;

        // Five writers: both files are written in several runs, joined in order.
        new StratifiedSplitter(validation, new SplitOptions { TrainRatio = 0.5 }).Split(path, dir.File("half-one"), parallelism: 1);
        new StratifiedSplitter(validation, new SplitOptions { TrainRatio = 0.5 }).Split(path, dir.File("half-five"), parallelism: 5);

        Assert.Equal(File.ReadAllBytes(dir.File("one/train.jsonl")), File.ReadAllBytes(dir.File("many/train.jsonl")));
        Assert.Equal(File.ReadAllBytes(dir.File("one/valid.jsonl")), File.ReadAllBytes(dir.File("many/valid.jsonl")));
        Assert.Equal(File.ReadAllBytes(dir.File("half-one/train.jsonl")), File.ReadAllBytes(dir.File("half-five/train.jsonl")));
        Assert.Equal(File.ReadAllBytes(dir.File("half-one/valid.jsonl")), File.ReadAllBytes(dir.File("half-five/valid.jsonl")));
        Assert.Equal(
            ["split-manifest.json", "split-report.json", "train.jsonl", "valid.jsonl"],
            Directory.GetFiles(dir.File("half-five")).Select(Path.GetFileName).Order()
        );
        Assert.Equal(1, many.ExcludedDuplicates);
        Assert.Equal(1, many.ExcludedInvalid);
        Assert.Equal(ReportSerializer.Serialize(one.Strata), ReportSerializer.Serialize(many.Strata));
    }

    [Fact]
    public void Split_DifferentSeeds_GiveDifferentValidationSets()
    {
        using var dir = new TempDir();
        string content = Rows.Jsonl(Rows.ManyChats(200));

        Split(dir, content, new SplitOptions { Seed = 1 }, outName: "a");
        Split(dir, content, new SplitOptions { Seed = 2 }, outName: "b");

        Assert.NotEqual(Lines(dir.File("a/valid.jsonl")).Order(), Lines(dir.File("b/valid.jsonl")).Order());
    }

    [Fact]
    public void Split_NoRowInBothFiles_AndInvalidAndDuplicateRowsLeftOut()
    {
        using var dir = new TempDir();
        var rows = Rows.ManyChats(50).ToList();
        rows.Add(rows[3]); // duplicate
        rows.Add("{\"messages\": [}"); // invalid
        rows.Add(Rows.Chat("skip me", "no", extra: ", \"metadata\": {\"valid\": false}"));

        SplitResult result = Split(dir, Rows.Jsonl(rows), validation: new ValidationOptions { MaxErrorRate = 0.05 });

        SplitReport report = result.Split!;
        string[] train = Lines(dir.File("out/train.jsonl"));
        string[] valid = Lines(dir.File("out/valid.jsonl"));
        Assert.Empty(train.Intersect(valid));
        Assert.Equal(50, train.Length + valid.Length);
        Assert.Equal(1, report.ExcludedDuplicates);
        Assert.Equal(1, report.ExcludedInvalid);
        Assert.Equal(1, report.ExcludedByMetadata);
        Assert.DoesNotContain(train.Concat(valid), l => l.Contains("skip me", StringComparison.Ordinal));
    }

    [Fact]
    public void Split_GeneratedRowsStayOutOfValidationUnlessAsked()
    {
        using var dir = new TempDir();
        string content = Rows.Jsonl(
            Enumerable
                .Range(0, 100)
                .Select(i => Rows.Chat($"q{i}", $"a{i}", topic: "t", extra: i % 2 == 0 ? ", \"metadata\": {\"generated\": true}" : ""))
        );

        Split(dir, content, outName: "a");
        Split(dir, content, new SplitOptions { IncludeGeneratedInValidation = true }, outName: "b");

        string[] validA = Lines(dir.File("a/valid.jsonl"));
        Assert.Equal(5, validA.Length); // 10% of the 50 real rows
        Assert.DoesNotContain(validA, l =>
            l.Contains("generated", StringComparison.Ordinal) || l.Contains("q0\"", StringComparison.Ordinal)
        );
        Assert.Equal(10, Lines(dir.File("b/valid.jsonl")).Length);
    }

    [Fact]
    public void Split_SmallStrataArePooledAndReported()
    {
        using var dir = new TempDir();
        // 100 rows of "big", and 12 topics with 2 rows each (too small to split at 0.9).
        var rows = Rows.ManyChats(100, _ => "big")
            .Concat(Enumerable.Range(0, 24).Select(i => Rows.Chat($"small {i}", "a", topic: $"small{i / 2}")));

        SplitReport report = Split(dir, Rows.Jsonl(rows)).Split!;

        Assert.Equal(10, report.Strata.Single(s => s.Name == "big").Validation);
        StratumSplit[] small = report.Strata.Where(s => s.Name.StartsWith("small", StringComparison.Ordinal)).ToArray();
        Assert.Equal(12, small.Length);
        Assert.All(small, s => Assert.Equal("pooled", s.Rule));
        Assert.Equal(2, small.Sum(s => s.Validation)); // round(24 × 0.1)
        Assert.Contains(report.Notes, n => n.Contains("pooled", StringComparison.Ordinal));
    }

    [Fact]
    public void Split_StratifiesByDottedPath()
    {
        using var dir = new TempDir();
        string content = Rows.Jsonl(
            Enumerable
                .Range(0, 100)
                .Select(i => Rows.Chat($"q{i}", "a", extra: $", \"metadata\": {{\"topic\": \"{(i < 80 ? "x" : "y")}\"}}"))
        );

        SplitReport report = Split(dir, content, new SplitOptions { StratifyBy = "metadata.topic" }).Split!;

        Assert.Equal(8, report.Strata.Single(s => s.Name == "x").Validation);
        Assert.Equal(2, report.Strata.Single(s => s.Name == "y").Validation);
    }

    [Fact]
    public void Split_SupervisedKeepsOnlyProviderKeys_ReinforcementKeepsAll()
    {
        using var dir = new TempDir();
        Split(dir, Rows.Jsonl(Rows.ManyChats(20, _ => "t")), outName: "sft");
        Split(dir, Rows.Jsonl(Enumerable.Range(0, 20).Select(i => Rows.Rft($"q{i}", $"{i}"))), outName: "rft");

        Assert.All(Lines(dir.File("sft/train.jsonl")), l =>
            Assert.Equal(["messages"], JsonDocument.Parse(l).RootElement.EnumerateObject().Select(p => p.Name))
        );
        Assert.All(Lines(dir.File("rft/train.jsonl")), l => Assert.Contains("reference_answer", l, StringComparison.Ordinal));
        SplitReport sft = ReportSerializer.Deserialize<SplitReport>(File.ReadAllText(dir.File("sft/split-report.json")))!;
        Assert.Equal(["topic"], sft.DroppedKeys);
    }

    [Theory]
    [InlineData(
        "{\"topic\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}], "
            + "\"metadata\": {\"x\": [1, {\"y\": \"}\"}]}}"
    )]
    [InlineData(
        "{ \"messages\" : [{\"role\":\"user\",\"content\":\"q\\\"}\"},{\"role\":\"assistant\",\"content\":\"a\"}] , \"tools\":[] "
            + ",\"n\":1.50e3 }"
    )]
    [InlineData(
        "{\"top\\u0069c\": \"escaped name\", \"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", "
            + "\"content\": \"a\"}]}"
    )]
    [InlineData(
        "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}], "
            + "\"parallel_tool_calls\": false}"
    )]
    public void Projection_FromTheMembersValidationFound_EqualsReadingTheRowAgain(string row)
    {
        var validator = new DatasetValidator(new ValidationOptions { MinExamples = 1 });
        var projector = new RowProjector(FineTuningMethod.Supervised);
        var fromMembers = new System.Buffers.ArrayBufferWriter<byte>();
        var reread = new System.Buffers.ArrayBufferWriter<byte>();
        var droppedFromMembers = new SortedSet<string>(StringComparer.Ordinal);
        var droppedReread = new SortedSet<string>(StringComparer.Ordinal);
        int rows = 0;
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(row + "\n"));

        validator.ValidateShard(stream, onValidRow: (in ValidRow valid, LineInfo _, ReadOnlySpan<byte> bytes) =>
        {
            rows++;
            projector.Write(bytes, RowProjector.Members(valid.TopLevel), fromMembers, droppedFromMembers);
            projector.Write(bytes, reread, droppedReread);
        });

        Assert.Equal(1, rows);
        Assert.Equal(System.Text.Encoding.UTF8.GetString(reread.WrittenSpan), System.Text.Encoding.UTF8.GetString(fromMembers.WrittenSpan));
        Assert.Equal(droppedReread, droppedFromMembers);
        Assert.Contains("\"messages\"", System.Text.Encoding.UTF8.GetString(fromMembers.WrittenSpan), StringComparison.Ordinal);
        using JsonDocument _ = JsonDocument.Parse(fromMembers.WrittenMemory);
    }

    [Fact]
    public void Split_ReinforcementValidationIsCappedAtOneThousandRows()
    {
        using var dir = new TempDir();
        string content = Rows.Jsonl(Enumerable.Range(0, 12_000).Select(i => Rows.Rft($"q{i}", $"{i}")));

        SplitReport report = Split(dir, content).Split!;

        Assert.Equal(1000, report.ValidationRows);
        Assert.Equal(11_000, report.TrainRows);
        Assert.Equal(200, report.MovedToTrainByValidationLimit);
    }

    [Fact]
    public void Split_OutputIsUtf8LfWithoutBomOrTempFiles()
    {
        using var dir = new TempDir();
        Split(dir, "\uFEFF" + Rows.Jsonl(Rows.ManyChats(30)).Replace("\n", "\r\n", StringComparison.Ordinal));

        byte[] train = File.ReadAllBytes(dir.File("out/train.jsonl"));
        Assert.False(train.AsSpan().StartsWith(new byte[] { 0xEF, 0xBB, 0xBF }));
        Assert.DoesNotContain((byte)'\r', train);
        Assert.Equal(
            ["split-manifest.json", "split-report.json", "train.jsonl", "valid.jsonl"],
            Directory.GetFiles(dir.File("out")).Select(Path.GetFileName).Order()
        );
    }

    [Fact]
    public void Split_UnfitDataset_WritesNothing()
    {
        using var dir = new TempDir();

        SplitResult result = Split(dir, Rows.Jsonl(Rows.ManyChats(3)));

        Assert.Null(result.Split);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void Split_DpoKeepsOnlyDpoKeys()
    {
        using var dir = new TempDir();
        string content = Rows.Jsonl(Enumerable.Range(0, 20).Select(i => Rows.Dpo($"q{i}", "good", "bad")[..^1] + ", \"topic\": \"t\"}"));

        SplitReport report = Split(dir, content).Split!;

        Assert.Equal("dpo", report.Method);
        Assert.All(Lines(dir.File("out/train.jsonl")), l =>
            Assert.Equal(
                ["input", "preferred_output", "non_preferred_output"],
                JsonDocument.Parse(l).RootElement.EnumerateObject().Select(p => p.Name)
            )
        );
    }
}
