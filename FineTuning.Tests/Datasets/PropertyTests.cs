using System.Text;
using FineTuning.Core.Datasets;
using FineTuning.Core.Graders;
using FineTuning.Core.Hashing;
using FineTuning.Core.Serialization;
using FsCheck;
using FsCheck.Fluent;

namespace FineTuning.Tests.Datasets;

/// <summary>Properties over random datasets: shard reports merge into the whole-file report; no input makes the validator throw.</summary>
public class PropertyTests
{
    private static readonly string[] Pool =
    [
        Rows.Chat("Hi", "Hello!", topic: "greetings"),
        Rows.Chat("Bye", "Goodbye!", topic: "greetings"),
        Rows.Chat("2+2?", "4", topic: "math"),
        Rows.Chat("3*3?", "9", system: null, topic: "math"),
        Rows.Chat("Capital of France?", "Paris.", topic: "geo", extra: ", \"metadata\": {\"generated\": true}"),
        Rows.Chat("Largest ocean?", "The Pacific.", topic: "geo", extra: ", \"metadata\": {\"valid\": false}"),
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"bot\", \"content\": \"y\"}]}",
        "{\"messages\": [}",
        "{\"messages\": []}",
        "[1, 2]",
        Rows.Dpo("Which?", "This one.", "That one."),
        Rows.Rft("Solve 1+1", "2"),
        "{\"prompt\": \"a\", \"completion\": \"b\"}",
        Rows.Chat(string.Join(' ', Enumerable.Repeat("word", 5000)), "ok", topic: "long"),
        "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\", \"weight\": 0}]}",
        "",
    ];

    private static readonly ValidationOptions Options = new()
    {
        MaxFindingsPerCode = 3,
        MinExamples = 4,
        Today = new DateOnly(2026, 11, 22),
    };

    private static Gen<(byte[] Bytes, int[] Cuts)> DatasetWithCuts() =>
        from rows in Gen.Choose(0, Pool.Length - 1).Select(i => i).ListOf().Select(l => l.ToArray())
        from endings in Gen.Elements("\n", "\r\n").ArrayOf(rows.Length)
        from lastNewline in Gen.Elements(true, false)
        from cutSeeds in Gen.Choose(0, 1000).ArrayOf()
        select Build(rows, endings, lastNewline, cutSeeds);

    private static (byte[] Bytes, int[] Cuts) Build(int[] rows, string[] endings, bool lastNewline, int[] cutSeeds)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < rows.Length; i++)
        {
            sb.Append(Pool[rows[i]]);
            if (i < rows.Length - 1 || lastNewline)
                sb.Append(endings[i]);
        }

        byte[] bytes = Encoding.UTF8.GetBytes(sb.ToString());
        // Candidate cut points: just after each line break.
        var breaks = new List<int>();
        for (int i = 0; i < bytes.Length; i++)
            if (bytes[i] == '\n' && i + 1 < bytes.Length)
                breaks.Add(i + 1);
        int[] cuts = breaks.Count == 0 ? [] : cutSeeds.Select(s => breaks[s % breaks.Count]).Distinct().Order().ToArray();
        return (bytes, cuts);
    }

    private static string WholeReport(byte[] bytes, ValidationOptions? options = null)
    {
        var validator = new DatasetValidator(options ?? Options);
        using var stream = new MemoryStream(bytes);
        return ReportSerializer.Serialize(validator.Finish([validator.ValidateShard(stream)], "d.jsonl"));
    }

    private static string ShardedReport(byte[] bytes, int[] cuts, int shuffleSeed, ValidationOptions? options = null)
    {
        var validator = new DatasetValidator(options ?? Options);
        var reports = new List<ShardReport>();
        int[] bounds = [0, .. cuts, bytes.Length];
        long line = 1;
        for (int i = 0; i < bounds.Length - 1; i++)
        {
            byte[] shard = bytes[bounds[i]..bounds[i + 1]];
            using var stream = new MemoryStream(shard);
            reports.Add(validator.ValidateShard(stream, line, isFileStart: i == 0));
            line += shard.Count(b => b == '\n');
        }

        // Merge in a random order, and in two random groups first (associativity).
        var random = new Random(shuffleSeed);
        ShardReport[] shuffled = [.. reports.OrderBy(_ => random.Next())];
        int half = shuffled.Length / 2;
        ShardReport left = ShardReport.Merge(shuffled[..half], Options.MaxFindingsPerCode, validator.Options.MaxRowsInMemory);
        ShardReport right = ShardReport.Merge(shuffled[half..], Options.MaxFindingsPerCode, validator.Options.MaxRowsInMemory);
        return ReportSerializer.Serialize(validator.Finish(random.Next(2) == 0 ? [left, right] : [right, left], "d.jsonl"));
    }

    [Fact]
    public void ShardReports_MergedInAnyOrder_EqualTheWholeFileReport()
    {
        Prop.ForAll(Arb.From(DatasetWithCuts()), Arb.From(Gen.Choose(0, int.MaxValue)), (data, seed) =>
            {
                string whole = WholeReport(data.Bytes);
                string sharded = ShardedReport(data.Bytes, data.Cuts, seed);
                return whole == sharded;
            })
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void RowHashesSpilledToDisk_GiveTheSameReportAsInMemory()
    {
        // A table of 1 to 6 rows spills almost at once: occurrences go to the temporary files, shards' tables spill and merge.
        Prop.ForAll(
                Arb.From(DatasetWithCuts()),
                Arb.From(Gen.Choose(0, int.MaxValue)),
                Arb.From(Gen.Choose(1, 6)),
                (data, seed, inMemory) =>
                {
                    ValidationOptions spilling = Options with { MaxRowsInMemory = inMemory };
                    string whole = WholeReport(data.Bytes);
                    return whole == WholeReport(data.Bytes, spilling) && whole == ShardedReport(data.Bytes, data.Cuts, seed, spilling);
                }
            )
            .Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // each occurrence held until the next call (AddSoon): the last one is still held when counted
    public void RowHashTable_SpillsPastItsLimit_CountsAndLeavesNoFilesBehind(bool soon)
    {
        var table = new RowHashTable(maxRowsInMemory: 100);
        for (long line = 1; line <= 1000; line++)
        {
            // 700 distinct rows, the last 300 lines repeat rows 1..300 (every line's tokens: its row's number).
            long row = line <= 700 ? line : line - 700;
            var hash = new FineTuning.Core.Hashing.ContentHash((ulong)row * 0x9E3779B97F4A7C15, (ulong)row);
            if (soon)
                table.AddSoon(hash, line, (int)row);
            else
                table.Add(hash, line, (int)row);
        }

        Assert.True(table.Spilled);
        Assert.Equal(700, table.Count);
        RowOccurrence[] rows = [.. table.Rows().OrderBy(r => r.FirstLine)];
        Assert.Equal(Enumerable.Range(1, 700).Select(i => (long)i), rows.Select(r => r.FirstLine));
        Assert.All(rows, r => Assert.Equal(r.FirstLine, r.BillableTokens));
        Assert.Equal(Enumerable.Range(701, 300).Select(i => (long)i), rows.SelectMany(r => r.Repeats ?? []).Order());
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), "finetune-rows-*"));
    }

    [Fact]
    public void RowHashTable_AddedSoon_IsCountedAndListedAsSoonAsItIsRead()
    {
        static ContentHash Row(long row) => new((ulong)row * 0x9E3779B97F4A7C15, (ulong)row);
        var table = new RowHashTable();
        table.AddSoon(Row(1), 7, 3);
        Assert.Equal(1, table.Count); // held until now, put in its slot by the read
        table.AddSoon(Row(1), 2, 3); // an earlier line of the same row: it becomes the first
        table.AddSoon(Row(2), 9, 4);
        RowOccurrence[] rows = [.. table.Rows().OrderBy(r => r.FirstLine)];
        Assert.Equal([2L, 9L], rows.Select(r => r.FirstLine));
        Assert.Equal([7L], rows[0].Repeats!);
        Assert.False(table.Spilled);

        var merged = new RowHashTable();
        merged.AddSoon(Row(3), 1, 1);
        merged.MergeFrom(table);
        Assert.Equal(3, merged.Count);
        merged.AddSoon(Row(4), 5, 1);
        merged.Release(); // let go: what it held goes too
        Assert.Equal(0, merged.Count);
    }

    [Fact]
    public async Task RowHashTable_LargeTables_StartEmpty_WhateverTheirMemoryHeldBefore()
    {
        // Tables past the pooled size take arrays whose memory the runtime may hand out again without clearing it (the
        // table clears it itself): tables of 40,000 rows (65,536 slots) made one after the other, each left to the collector.
        // A table whose slots hold what was there before probes forever: that is a failure here, not a hang.
        var rounds = Task.Run(() =>
        {
            for (int round = 0; round < 4; round++)
            {
                LeaveJunk();
                var table = new RowHashTable();
                for (long line = 1; line <= 40_000; line++)
                {
                    table.Add(new ContentHash((ulong)(line + round) * 0x9E3779B97F4A7C15, (ulong)(line * 7 + round)), line, 1);
                }

                Assert.Equal(40_000, table.Count);
                Assert.All(table.Rows(), r => Assert.Null(r.Repeats));
            }
        });
        await rounds.WaitAsync(TimeSpan.FromSeconds(30)); // a TimeoutException when the tables do not fill

        // Memory the size of the largest table's slots (2 MiB), all ones, let go: the next large array may be given it.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static void LeaveJunk()
        {
            for (int size = 1 << 20; size <= 2 << 20; size <<= 1)
            {
                byte[] junk = GC.AllocateUninitializedArray<byte>(size);
                junk.AsSpan().Fill(0xFF);
            }

            GC.Collect();
        }
    }

    [Fact]
    public void RowHashTable_ReleasedArrays_CarryNothingIntoTheNextTable()
    {
        // A shard's table gives its slots back to a pool once merged; the next shard's table may get the same arrays.
        static ContentHash Row(long row) => new((ulong)row * 0x9E3779B97F4A7C15, (ulong)row);
        for (int round = 0; round < 3; round++)
        {
            var first = new RowHashTable();
            for (long line = 1; line <= 5000; line++)
            {
                first.Add(Row(line), line, 1); // grown from 1,024 slots to 8,192, each array given back as it grows
            }

            first.Release();
            var next = new RowHashTable();
            for (long line = 1; line <= 3000; line++)
            {
                next.Add(Row(line + 2000), line, 2);
            }

            Assert.Equal(3000, next.Count);
            Assert.All(next.Rows(), r => Assert.Null(r.Repeats));
            Assert.Equal(Enumerable.Range(1, 3000).Select(i => (long)i), next.Rows().Select(r => r.FirstLine).Order());
        }
    }

    [Fact]
    public void ShardedFileValidation_EqualsOnePass()
    {
        using var dir = new TempDir();
        string[] pool = Pool.Where(p => p.Length > 0).ToArray();
        var random = new Random(11);
        string path = dir.Write(
            "d.jsonl",
            Rows.Jsonl(
                Enumerable
                    .Range(0, 3000)
                    .Select(i => i % 7 == 0 ? pool[random.Next(pool.Length)] : Rows.Chat($"q{i}", $"a{i}", topic: $"t{i % 5}"))
            )
        );
        var validator = new DatasetValidator(Options);

        string onePass = ReportSerializer.Serialize(validator.ValidateFile(path));
        string sharded = ReportSerializer.Serialize(validator.ValidateFileInShards(path, parallelism: 2, shardBytes: 16 * 1024));
        var spilling = new DatasetValidator(Options with { MaxRowsInMemory = 50 });

        Assert.Equal(onePass, sharded);
        Assert.Equal(onePass, ReportSerializer.Serialize(spilling.ValidateFile(path)));
        Assert.Equal(onePass, ReportSerializer.Serialize(spilling.ValidateFileInShards(path, parallelism: 2, shardBytes: 16 * 1024)));
    }

    private static readonly byte[] Specials = "{}[]\":,\\ \n\r\t0123456789eE+-.truefalsnl"u8.ToArray();

    private static Gen<byte[]> MutatedRow() =>
        from row in Gen.Elements(Pool.Where(p => p.Length > 0).ToArray())
        from edits in Gen.Choose(0, 1_000_000).Three().ListOf()
        select Mutate(Encoding.UTF8.GetBytes(row), edits);

    private static byte[] Mutate(byte[] row, IEnumerable<(int, int, int)> edits)
    {
        var bytes = row.ToList();
        foreach ((int a, int b, int c) in edits)
        {
            if (bytes.Count == 0)
                break;
            int at = a % bytes.Count;
            switch (b % 5)
            {
                case 0:
                    bytes.RemoveRange(at, Math.Min(c % 8 + 1, bytes.Count - at));
                    break;
                case 1:
                    bytes.Insert(at, Specials[c % Specials.Length]);
                    break;
                case 2:
                    bytes[at] = (byte)(c % 256);
                    break;
                case 3:
                    bytes.InsertRange(at, bytes.GetRange(c % bytes.Count, Math.Min(6, bytes.Count - c % bytes.Count)));
                    break;
                default:
                    (bytes[at], bytes[c % bytes.Count]) = (bytes[c % bytes.Count], bytes[at]);
                    break;
            }
        }

        return [.. bytes.Where(x => x != '\n')];
    }

    [Fact]
    public void MutatedRows_NeverThrowAndAlwaysReportTheirLine()
    {
        GraderSpec grader = GraderSpec.Parse(
            "g.json",
            """{"type":"string_check","name":"g","input":"{{ item.reference_answer }}","reference":"{{ sample.output_text }}","operation":"eq"}"""u8
        );
        Prop.ForAll(
                Arb.From(MutatedRow()),
                Arb.From(
                    Gen.Elements(FineTuningMethod.Auto, FineTuningMethod.Supervised, FineTuningMethod.Dpo, FineTuningMethod.Reinforcement)
                ),
                (row, method) =>
                {
                    var options = new ValidationOptions { Method = method, Grader = grader };
                    byte[] first = Encoding.UTF8.GetBytes(Rows.Chat("first", "row") + "\n");
                    long firstValid = Rows.Validate(first, options).ValidRows; // the first row may not fit the method
                    DatasetReport report = Rows.Validate([.. first, .. row, (byte)'\n'], options);
                    bool blank = Encoding.UTF8.GetString(row).Trim(' ', '\t', '\r').Length == 0 && Utf8IsValid(row);
                    bool rowValid = report.ValidRows - firstValid == 1 || blank;
                    bool reportsLine =
                        report.Findings.Any(f => f.Line == 2 && f.Severity == Severity.Error)
                        || (
                            report.Counts.Any(c =>
                                FindingCodes.Get(c.Key).Scope == FindingScope.Line && FindingCodes.Get(c.Key).Severity == Severity.Error
                            ) && report.Findings.Any(f => f.Line == 2)
                        );
                    bool linesInRange = report.Findings.All(f => f.Line is >= 0 and <= 2);
                    return linesInRange && (rowValid || reportsLine);
                }
            )
            .QuickCheckThrowOnFailure();
    }

    private static bool Utf8IsValid(byte[] bytes) => System.Text.Unicode.Utf8.IsValid(bytes);

    [Fact]
    public void LineReader_GivesTheSameLinesWhateverItsBufferSize()
    {
        Prop.ForAll(Arb.From(DatasetWithCuts()), Arb.From(Gen.Choose(1, 300)), (data, bufferSize) =>
            {
                return Read(data.Bytes, 1 << 20).SequenceEqual(Read(data.Bytes, bufferSize));
            })
            .QuickCheckThrowOnFailure();
    }

    private static List<string> Read(byte[] bytes, int bufferSize)
    {
        var lines = new List<string>();
        using var reader = new JsonlLineReader(new MemoryStream(bytes), bufferSize: bufferSize);
        while (reader.TryReadLine(out ReadOnlySpan<byte> line, out LineInfo info))
        {
            lines.Add($"{info.Number}@{info.Offset}+{info.Length}:{info.HasNewline}:{info.HadCarriageReturn}:{Convert.ToHexString(line)}");
        }

        return lines;
    }
}

/// <summary>Shard reports cross process boundaries (durable activities) as JSON: they must survive the trip.</summary>
public class ShardReportSerializationTests
{
    [Fact]
    public void ShardReport_RoundTripsThroughJson_AndMergesToTheSameReport()
    {
        var options = new ValidationOptions { Today = new DateOnly(2026, 11, 22) };
        var validator = new DatasetValidator(options);
        string content = Rows.Jsonl(
            Rows.ManyChats(30, i => $"t{i % 3}")
                .Concat([Rows.Chat("Question 4?", "Answer 4."), "{\"messages\": [}", Rows.Chat("x", "y", system: null)])
        );
        ShardReport report = validator.ValidateShard(new MemoryStream(Encoding.UTF8.GetBytes(content)));

        string json = ReportSerializer.Serialize(report);
        ShardReport back = ReportSerializer.Deserialize<ShardReport>(json)!;

        Assert.Equal(json, ReportSerializer.Serialize(back));
        Assert.Equal(
            ReportSerializer.Serialize(validator.Finish([report], "d.jsonl")),
            ReportSerializer.Serialize(validator.Finish([back], "d.jsonl"))
        );
        Assert.Contains("\"rowHashes\"", json, StringComparison.Ordinal);
    }
}

/// <summary>The dataset rules read merged counts in whatever order the shards left them: ties must not show it.</summary>
public sealed class TopicBalanceOrderTests
{
    [Fact]
    public void TopicImbalance_SaysTheSameWhicheverOrderTiedTopicsArrivedIn()
    {
        static string Imbalance(params (string Topic, long Rows)[] topics)
        {
            var merged = new ShardReport { Rows = 1, Bytes = 1 };
            foreach ((string topic, long rows) in topics)
                merged.Topics[topic] = rows;
            return DatasetReport
                .From(merged, "d.jsonl", new ValidationOptions())
                .Findings.Single(f => f.Code == FindingCodes.TopicImbalance)
                .Message;
        }

        Assert.Equal(Imbalance(("a", 1), ("b", 1), ("c", 1), ("z", 300)), Imbalance(("z", 300), ("c", 1), ("b", 1), ("a", 1)));
    }
}
