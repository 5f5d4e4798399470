using System.Buffers;
using FineTuning.Core.Datasets;
using FineTuning.Core.Hashing;
using FineTuning.Core.Serialization;
using FineTuning.Core.Sharding;
using Microsoft.Win32.SafeHandles;

namespace FineTuning.Core.Splitting;

/// <summary>
/// The outcome of a split: the validation report it rested on, and the split report when files were written; with a
/// validation file of the user's, its own report, and why nothing was written when the two files share examples.
/// </summary>
public sealed record SplitResult(DatasetReport Validation, SplitReport? Split)
{
    public DatasetReport? ValidationFileReport { get; init; }

    /// <summary>The user's test file's own report, when one was given.</summary>
    public DatasetReport? TestFileReport { get; init; }

    /// <summary>Rows of the validation file that are examples of the dataset too, each with both line numbers.</summary>
    public IReadOnlyList<string> Overlaps { get; init; } = [];
}

/// <summary>
/// A deterministic, seeded, stratified train/validation split.
/// <para>
/// Each usable row gets a key from its content hash and the seed. Within a stratum the rows with the smallest keys
/// go to validation, <c>round(n × (1 − ratio))</c> of them, counted over the rows allowed there (generated rows stay in
/// training unless asked). So the assignment depends only on seed and content: not on the order of rows nor on shard
/// boundaries. A stratum with fewer rows than <c>1 / (1 − ratio)</c> (10 at 0.9) cannot be split in proportion; such
/// strata are pooled and the pool is split by the same rule. Reinforcement validation files hold at most 1,000 rows;
/// rows past that (largest keys first) move to training. Both files list rows in key order, a shuffle fixed by the seed.
/// </para>
/// </summary>
public sealed class StratifiedSplitter(ValidationOptions validation, SplitOptions options)
{
    public const string PooledStratum = "(pooled small strata)";

    /// <summary>Size of the shards validated in parallel (tests make it small to cut files into many).</summary>
    internal long ShardBytes { get; init; } = ShardPlanner.DefaultShardBytes;

    /// <summary>
    /// Validates <paramref name="path"/>; if it is fit, writes <c>train.jsonl</c>, <c>valid.jsonl</c> and
    /// <c>split-report.json</c> to <paramref name="outDir"/>.
    /// </summary>
    public SplitResult Split(string path, string outDir, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        Split(path, outDir, Environment.ProcessorCount, progress, cancellationToken);

    /// <summary>As above, validating on up to <paramref name="parallelism"/> threads (the result does not depend on it).</summary>
    public SplitResult Split(
        string path,
        string outDir,
        int parallelism,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default
    )
    {
        if (options.Problem() is { } problem)
        {
            throw new ArgumentException($"Split options: {problem}.");
        }

        // Pass 1: validate in shards on every core, each shard keeping its valid rows in file order.
        (DatasetReport report, List<RowRef> collected) = Collect(path, validation, parallelism, progress, cancellationToken);
        // A validation or test file of the user's: validated on its own (one example is enough; reinforcement's
        // 1,000-row limit applies).
        (DatasetReport? Report, List<RowRef> Rows) CollectUserFile(string? file) =>
            file is null
                ? (null, [])
                : Collect(file, validation with { IsValidationFile = true, MinExamples = 1 }, parallelism, null, cancellationToken);
        (DatasetReport? userReport, List<RowRef> userRows) = CollectUserFile(options.ValidationFile);
        (DatasetReport? testReport, List<RowRef> testFileRows) = CollectUserFile(options.TestFile);

        // Then, in file order: the first occurrence of a row is the one kept.
        var rows = new List<Candidate>(collected.Count);
        var strata = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>();
        var seen = new HashSet<ContentHash>(collected.Count);
        long duplicates = 0,
            byMetadata = 0;
        foreach (RowRef row in collected)
        {
            if (!seen.Add(row.Hash))
            {
                duplicates++;
                continue;
            }

            if (row.ExcludedByMetadata)
            {
                byMetadata++;
                continue;
            }

            if (!strata.TryGetValue(row.Topic, out int stratum))
            {
                strata[row.Topic] = stratum = names.Count;
                names.Add(row.Topic);
            }

            rows.Add(
                new Candidate(
                    row.Offset,
                    row.Length,
                    stratum,
                    row.Hash.KeyFor(options.Seed),
                    row.Hash,
                    row.Generated,
                    row.Members,
                    row.Line
                )
            );
        }

        // The candidates hold what the rest needs: the rows as collected, and the set that found their repeats, go.
        collected.Clear();
        collected.TrimExcess();
        seen.Clear();
        seen.TrimExcess();

        if (!report.Fit || userReport is { Fit: false } || testReport is { Fit: false })
        {
            return new SplitResult(report, null) { ValidationFileReport = userReport, TestFileReport = testReport };
        }

        // A validation file of the user's: its distinct rows, none of them an example the dataset trains on.
        var overlaps = new List<string>();
        List<Candidate> userCandidates = options.ValidationFile is { } given
            ? Distinct(userRows, rows, given, path, options.Seed, overlaps)
            : [];
        if (overlaps.Count > 0)
        {
            return new SplitResult(report, null) { ValidationFileReport = userReport, Overlaps = overlaps };
        }

        // A test file of the user's: its distinct rows, none of them an example the dataset trains or validates on.
        List<Candidate> testCandidates = options.TestFile is { } testGiven
            ? Distinct(testFileRows, rows, testGiven, path, options.Seed, overlaps)
            : [];
        if (overlaps.Count > 0)
        {
            return new SplitResult(report, null)
            {
                ValidationFileReport = userReport,
                TestFileReport = testReport,
                Overlaps = overlaps,
            };
        }

        FineTuningMethod method = FineTuningMethods.TryParse(report.Method, out FineTuningMethod m) ? m : FineTuningMethod.Supervised;
        var assignment = new byte[rows.Count]; // Train, Validation or Test
        List<StratumSplit> strataReport = Assign(rows, names, assignment, out long moved, method);
        bool withTest = options.TestRatio > 0 || options.TestFile is not null;

        Directory.CreateDirectory(outDir);
        SplitManifest.BeginWriting(outDir);
        string trainPath = Path.Combine(outDir, "train.jsonl");
        string validPath = Path.Combine(outDir, "valid.jsonl");
        string testPath = Path.Combine(outDir, "test.jsonl");
        using SafeFileHandle input = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        int[] order = Enumerable.Range(0, rows.Count).ToArray();
        Array.Sort(order, (a, b) => rows[a].Key != rows[b].Key ? rows[a].Key.CompareTo(rows[b].Key) : rows[a].Hash.CompareTo(rows[b].Hash));

        // Pass 2: both files at once, the rows cut into runs of about equal size so every core has a share (the training
        // file holds most of the bytes); each run projected on its own thread, each file joined from its runs in order.
        int[] trainOrder = [.. order.Where(i => assignment[i] == Train)];
        int[] validOrder = [.. order.Where(i => assignment[i] == Validation)];
        int[] testOrder = [.. order.Where(i => assignment[i] == Test)];
        long runBytes = Math.Max(1, rows.Sum(r => (long)r.Length) / Math.Max(1, parallelism));
        var dropped = new SortedSet<string>(StringComparer.Ordinal);
        Task<(long Rows, long Bytes)> validTask = options.ValidationFile is { } userPath
            ? Task.Run(
                () =>
                {
                    using SafeFileHandle userInput = File.OpenHandle(
                        userPath,
                        FileMode.Open,
                        FileAccess.Read,
                        FileShare.Read,
                        FileOptions.RandomAccess
                    );
                    int[] userOrder =
                    [
                        .. Enumerable
                            .Range(0, userCandidates.Count)
                            .OrderBy(i => userCandidates[i].Key)
                            .ThenBy(i => userCandidates[i].Hash),
                    ];
                    return WriteFile(
                        userInput,
                        userPath,
                        userCandidates,
                        userOrder,
                        runBytes,
                        validPath,
                        method,
                        dropped,
                        cancellationToken
                    );
                },
                cancellationToken
            )
            : Task.Run(
                () => WriteFile(input, path, rows, validOrder, runBytes, validPath, method, dropped, cancellationToken),
                cancellationToken
            );
        (long trainRows, long trainBytes) = WriteFile(
            input,
            path,
            rows,
            trainOrder,
            runBytes,
            trainPath,
            method,
            dropped,
            cancellationToken
        );
        (long validRows, long validBytes) = validTask.GetAwaiter().GetResult();
        (long testRows, long testBytes) = (0, 0);
        if (options.TestFile is { } testSource)
        {
            // The user's test file as written (its distinct valid rows, in its own order).
            using SafeFileHandle testInput = File.OpenHandle(
                testSource,
                FileMode.Open,
                FileAccess.Read,
                FileShare.Read,
                FileOptions.RandomAccess
            );
            int[] fileOrder = [.. Enumerable.Range(0, testCandidates.Count)];
            (testRows, testBytes) = WriteFile(
                testInput,
                testSource,
                testCandidates,
                fileOrder,
                runBytes,
                testPath,
                null,
                dropped,
                cancellationToken
            );
        }
        else if (withTest)
        {
            // As written in the source (topic, metadata and all): the evaluation reads them; they are never uploaded.
            (testRows, testBytes) = WriteFile(input, path, rows, testOrder, runBytes, testPath, null, dropped, cancellationToken);
        }
        else
        {
            File.Delete(testPath); // a test file of an earlier split with a test share is not part of this one
        }

        var notes = new List<string>();
        if (options.TestFile is { } usedTest)
            notes.Add($"test.jsonl holds {Path.GetFileName(usedTest)} as given (its distinct valid rows); the dataset held none out.");
        if (options.ValidationFile is { } usedFile)
            notes.Add(
                $"valid.jsonl holds {Path.GetFileName(usedFile)} as given (its distinct valid rows); "
                    + "the dataset was not split for validation."
            );
        else if (validRows == 0)
            notes.Add("The validation file is empty (ratio 1, or too few rows to hold any back).");
        if (moved > 0)
            notes.Add(
                $"{moved:N0} rows moved to training: reinforcement validation files take at most "
                    + $"{ValidationOptions.MaxReinforcementValidationRows:N0} rows."
            );
        if (strataReport.Any(s => s.Rule == "pooled"))
            notes.Add($"Strata smaller than {MinStratumSize(options.TrainRatio)} rows were pooled and split together.");
        if (report.ErrorRows > 0)
            notes.Add($"{report.ErrorRows:N0} rows with errors were left out.");

        var split = new SplitReport
        {
            Source = Path.GetFileName(path),
            Method = method.ToWireName(),
            Seed = options.Seed,
            TrainRatio = options.TrainRatio,
            StratifyBy = options.StratifyBy,
            TrainRows = trainRows,
            ValidationRows = validRows,
            TestRatio = options.TestRatio,
            TestRows = testRows,
            TestBytes = testBytes,
            TestFile = withTest ? "test.jsonl" : null,
            TrainBytes = trainBytes,
            ValidationBytes = validBytes,
            ExcludedInvalid = report.ErrorRows,
            ExcludedDuplicates = duplicates,
            ExcludedByMetadata = byMetadata,
            DroppedKeys = dropped.ToList(),
            MovedToTrainByValidationLimit = moved,
            Strata = strataReport,
            Leaks = CheckLeaks(rows, assignment),
            TrainFile = "train.jsonl",
            ValidationFile = "valid.jsonl",
            Notes = notes,
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, "split-report.json"), ReportSerializer.Serialize(split));
        SplitManifest.Write(outDir, withTest);
        return new SplitResult(report, split) { ValidationFileReport = userReport, TestFileReport = testReport };
    }

    /// <summary>
    /// The distinct rows of a file of the user's that are not examples of the dataset (every one that is goes to
    /// <paramref name="overlaps"/> with both line numbers).
    /// </summary>
    private static List<Candidate> Distinct(
        List<RowRef> fileRows,
        List<Candidate> dataset,
        string file,
        string path,
        ulong seed,
        List<string> overlaps
    )
    {
        Dictionary<ContentHash, long> inDataset = dataset.GroupBy(r => r.Hash).ToDictionary(g => g.Key, g => g.Min(r => r.Line));
        var seen = new HashSet<ContentHash>();
        var kept = new List<Candidate>();
        foreach (RowRef row in fileRows)
        {
            if (row.ExcludedByMetadata || !seen.Add(row.Hash))
                continue;
            if (inDataset.TryGetValue(row.Hash, out long line))
            {
                overlaps.Add($"{Path.GetFileName(file)} line {row.Line} is the same example as {Path.GetFileName(path)} line {line}");
                continue;
            }

            kept.Add(new Candidate(row.Offset, row.Length, 0, row.Hash.KeyFor(seed), row.Hash, row.Generated, row.Members, row.Line));
        }

        return kept;
    }

    /// <summary>Counts the rows of each later file whose example (canonical trained content) is also in an earlier one.</summary>
    private static LeakCheck CheckLeaks(List<Candidate> rows, byte[] assignment)
    {
        HashSet<ContentHash> In(byte part) =>
            [.. Enumerable.Range(0, rows.Count).Where(i => assignment[i] == part).Select(i => rows[i].Hash)];
        HashSet<ContentHash> train = In(Train),
            validation = In(Validation);
        long Overlap(byte part, HashSet<ContentHash> other) =>
            Enumerable.Range(0, rows.Count).LongCount(i => assignment[i] == part && other.Contains(rows[i].Hash));
        return new LeakCheck(
            "canonical trained content (metadata, topic, whitespace and member order ignored)",
            Overlap(Validation, train),
            Overlap(Test, train),
            Overlap(Test, validation)
        );
    }

    private const byte Train = 0,
        Validation = 1,
        Test = 2;

    /// <summary>The smallest stratum split in proportion: one with fewer rows cannot give validation its share.</summary>
    public static int MinStratumSize(double trainRatio) =>
        trainRatio >= 1 ? int.MaxValue : (int)Math.Ceiling(Math.Round(1 / (1 - trainRatio), 9));

    /// <summary>
    /// As above with a test share: the stratum must give the test set a row and what remains must give validation one.
    /// </summary>
    public static int MinStratumSize(double trainRatio, double testRatio) =>
        testRatio <= 0 ? MinStratumSize(trainRatio)
        : trainRatio >= 1 ? (int)Math.Ceiling(Math.Round(1 / testRatio, 9))
        : (int)Math.Ceiling(Math.Round(Math.Max(1 / testRatio, 1 / ((1 - trainRatio) * (1 - testRatio))), 9));

    private List<StratumSplit> Assign(List<Candidate> rows, List<string> names, byte[] toPart, out long moved, FineTuningMethod method)
    {
        int min =
            options.ValidationFile is null ? MinStratumSize(options.TrainRatio, options.TestRatio)
            : options.TestRatio > 0 ? MinStratumSize(1, options.TestRatio)
            : 0; // nothing to hold back: the user's file is the validation set
        var members = new List<int>[names.Count];
        for (int i = 0; i < members.Length; i++)
            members[i] = [];
        for (int i = 0; i < rows.Count; i++)
            members[rows[i].Stratum].Add(i);

        // Assign first (proportional strata, then the pooled small ones, then reinforcement's cap); report after.
        var proportional = new List<int>();
        var pooled = new List<int>();
        foreach (int s in Enumerable.Range(0, names.Count).OrderBy(s => names[s], StringComparer.Ordinal))
        {
            if (Eligible(rows, members[s]) < min)
            {
                pooled.Add(s);
                continue;
            }

            proportional.Add(s);
            AssignGroup(rows, members[s], toPart);
        }

        if (pooled.Count > 0)
        {
            AssignGroup(rows, [.. pooled.SelectMany(s => members[s])], toPart);
        }

        moved = 0;
        if (method == FineTuningMethod.Reinforcement)
        {
            int[] chosen = Enumerable.Range(0, rows.Count).Where(i => toPart[i] == Validation).OrderBy(i => rows[i].Key).ToArray();
            for (int k = ValidationOptions.MaxReinforcementValidationRows; k < chosen.Length; k++)
            {
                toPart[chosen[k]] = Train;
                moved++;
            }
        }

        StratumSplit Report(int s, string rule)
        {
            long valid = members[s].Count(i => toPart[i] == Validation);
            long test = members[s].Count(i => toPart[i] == Test);
            return new StratumSplit(
                names[s],
                members[s].Count,
                members[s].Count - valid - test,
                valid,
                members[s].Count(i => rows[i].Generated),
                rule,
                test
            );
        }

        return [.. proportional.Select(s => Report(s, "proportional")), .. pooled.Select(s => Report(s, "pooled"))];
    }

    private long Eligible(List<Candidate> rows, List<int> members) =>
        options.IncludeGeneratedInValidation ? members.Count : members.Count(i => !rows[i].Generated);

    /// <summary>
    /// Sends the rows with the smallest keys of those allowed, round(n × test ratio), to the test set, and the next,
    /// round(rest × (1 − train ratio)), to validation.
    /// </summary>
    private void AssignGroup(List<Candidate> rows, List<int> members, byte[] toPart)
    {
        int[] eligible = members
            .Where(i => options.IncludeGeneratedInValidation || !rows[i].Generated)
            .OrderBy(i => rows[i].Key)
            .ThenBy(i => rows[i].Hash)
            .ToArray();
        int test = (int)Math.Round(eligible.Length * options.TestRatio, MidpointRounding.AwayFromZero);
        int take = options.ValidationFile is null
            ? (int)Math.Round((eligible.Length - test) * (1 - options.TrainRatio), MidpointRounding.AwayFromZero)
            : 0; // the user's validation file is the validation set
        for (int k = 0; k < test + take; k++)
        {
            toPart[eligible[k]] = k < test ? Test : Validation;
        }
    }

    /// <summary>
    /// Writes <paramref name="members"/> (row indexes, in output order) to <paramref name="path"/> atomically: the first
    /// run of about <paramref name="runBytes"/> on this thread, each later run on its own thread into a temporary part
    /// (unlinked at once, so nothing is left behind), appended in order.
    /// </summary>
    private static (long Rows, long Bytes) WriteFile(
        SafeFileHandle input,
        string source,
        List<Candidate> rows,
        int[] members,
        long runBytes,
        string path,
        FineTuningMethod? method,
        SortedSet<string> dropped,
        CancellationToken cancellationToken
    )
    {
        var runs = new List<ArraySegment<int>>();
        int start = 0;
        long bytes = 0;
        for (int k = 0; k < members.Length; k++)
        {
            bytes += rows[members[k]].Length;
            if (bytes >= runBytes && k + 1 < members.Length)
            {
                runs.Add(new ArraySegment<int>(members, start, k + 1 - start));
                start = k + 1;
                bytes = 0;
            }
        }

        runs.Add(new ArraySegment<int>(members, start, members.Length - start));
        var parts = new List<(FileStream Part, Task<long> Rows, SortedSet<string> Dropped)>();
        try
        {
            foreach (ArraySegment<int> run in runs.Skip(1))
            {
                FileStream part = AtomicFile.OpenScratch(
                    Path.GetDirectoryName(Path.GetFullPath(path))!,
                    $".{Path.GetFileName(path)}.part.",
                    1 << 16
                );
                var partDropped = new SortedSet<string>(StringComparer.Ordinal);
                parts.Add(
                    (
                        part,
                        Task.Run(
                            () =>
                                WriteRows(
                                    input,
                                    source,
                                    rows,
                                    run,
                                    part,
                                    method is { } m ? new RowProjector(m) : null,
                                    partDropped,
                                    cancellationToken
                                ),
                            cancellationToken
                        ),
                        partDropped
                    )
                );
            }

            var firstDropped = new SortedSet<string>(StringComparer.Ordinal);
            (long Rows, long Bytes) written = AtomicFile.Write(path, stream =>
            {
                long count = WriteRows(
                    input,
                    source,
                    rows,
                    runs[0],
                    stream,
                    method is { } m ? new RowProjector(m) : null,
                    firstDropped,
                    cancellationToken
                );
                foreach ((FileStream part, Task<long> partRows, _) in parts)
                {
                    count += partRows.GetAwaiter().GetResult();
                    part.Position = 0;
                    part.CopyTo(stream);
                }

                return (count, stream.Position);
            });
            lock (dropped)
            {
                dropped.UnionWith(firstDropped);
                foreach ((_, _, SortedSet<string> partDropped) in parts)
                    dropped.UnionWith(partDropped);
            }

            return written;
        }
        finally
        {
            foreach ((FileStream part, Task<long> partRows, _) in parts)
            {
                try
                {
                    partRows.Wait(CancellationToken.None);
                }
                catch (AggregateException)
                {
                    // Already reported through the file's own write, or by the first failure.
                }

                part.Dispose();
            }
        }
    }

    /// <summary>
    /// Reads each row of <paramref name="members"/> from the source, projects it and writes it as a line; returns how
    /// many.
    /// </summary>
    private static long WriteRows(
        SafeFileHandle input,
        string source,
        List<Candidate> rows,
        ArraySegment<int> members,
        Stream output,
        RowProjector? projector,
        SortedSet<string> dropped,
        CancellationToken cancellationToken
    )
    {
        long count = 0;
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        byte[] row = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            foreach (int i in members)
            {
                Candidate c = rows[i];
                if (row.Length < c.Length)
                {
                    ArrayPool<byte>.Shared.Return(row);
                    row = ArrayPool<byte>.Shared.Rent(c.Length);
                }

                Span<byte> bytes = row.AsSpan(0, c.Length);
                int read = 0;
                while (read < c.Length)
                {
                    int n = RandomAccess.Read(input, bytes[read..], c.Offset + read);
                    if (n == 0)
                        throw new IOException($"{source}: the file changed while it was being split; split it again");
                    read += n;
                }

                if (projector is null)
                    buffer.Write(bytes); // as written in the source
                else
                    projector.Write(bytes, c.Members, buffer, dropped);
                buffer.Write("\n"u8);
                count++;
                if (buffer.WrittenCount > (1 << 20) - (1 << 12))
                {
                    output.Write(buffer.WrittenSpan);
                    buffer.ResetWrittenCount();
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            output.Write(buffer.WrittenSpan);
            return count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(row);
        }
    }

    /// <summary>Validates <paramref name="path"/> in shards; the report, and its valid rows in file order.</summary>
    private (DatasetReport Report, List<RowRef> Rows) Collect(
        string path,
        ValidationOptions with,
        int parallelism,
        IProgress<long>? progress,
        CancellationToken cancellationToken
    )
    {
        var validator = new DatasetValidator(with with { TopicField = options.StratifyBy });
        var perShard = new List<List<RowRef>>();
        int validators = with.Tokens.ScalesAcrossThreads ? Math.Max(1, parallelism) : 1;
        DatasetReport report = validator.ValidateFileInShards(
            path,
            validators,
            ShardBytes,
            progress,
            shard =>
            {
                var found = new List<RowRef>();
                lock (perShard)
                {
                    while (perShard.Count <= shard.Index)
                        perShard.Add([]);
                    perShard[shard.Index] = found;
                }

                return (in ValidRow row, LineInfo line, ReadOnlySpan<byte> bytes) =>
                    found.Add(
                        new RowRef(
                            line.Offset + line.Length - (line.HadCarriageReturn ? 1 : 0) - bytes.Length,
                            bytes.Length,
                            row.Topic,
                            row.Hash,
                            row.Generated,
                            row.ExcludedByMetadata,
                            RowProjector.Members(row.TopLevel),
                            row.Line
                        )
                    );
            },
            cancellationToken
        );
        // In file order, each shard's list let go as it is copied: the copy is sized once, never two of it in memory at a time.
        var rows = new List<RowRef>(perShard.Sum(r => r.Count));
        for (int i = 0; i < perShard.Count; i++)
        {
            rows.AddRange(perShard[i]);
            perShard[i] = [];
        }

        return (report, rows);
    }

    private readonly record struct RowRef(
        long Offset,
        int Length,
        string Topic,
        ContentHash Hash,
        bool Generated,
        bool ExcludedByMetadata,
        int[]? Members,
        long Line
    );

    private readonly record struct Candidate(
        long Offset,
        int Length,
        int Stratum,
        ulong Key,
        ContentHash Hash,
        bool Generated,
        int[]? Members,
        long Line
    );
}
