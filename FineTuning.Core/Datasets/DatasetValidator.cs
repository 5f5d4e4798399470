using System.Runtime.CompilerServices;
using FineTuning.Core.Sharding;

namespace FineTuning.Core.Datasets;

/// <summary>Receives each valid row with its bytes (valid only during the call).</summary>
public delegate void ValidRowHandler(in ValidRow row, LineInfo line, ReadOnlySpan<byte> bytes);

/// <summary>
/// Validates JSONL in one streaming pass: line framing (BOM, CRLF, blank lines, over-long and cut-off lines) here,
/// each row by <see cref="RowValidator"/>. A whole file, a stream, or one shard of a file.
/// </summary>
public sealed class DatasetValidator(ValidationOptions options)
{
    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    public ValidationOptions Options { get; } = options;

    /// <summary>Validates a run of whole lines (a file, or a shard whose first line is <paramref name="firstLineNumber"/>).</summary>
    /// <remarks>
    /// Called once per file or shard and then loops for its whole length: compiled fully optimised at once, never left
    /// as its precompiled (ReadyToRun) form, which cannot inline the reader's members across assemblies.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ShardReport ValidateShard(
        Stream stream,
        long firstLineNumber = 1,
        bool isFileStart = true,
        long startOffset = 0,
        IProgress<long>? progress = null,
        ValidRowHandler? onValidRow = null,
        CancellationToken cancellationToken = default
    )
    {
        ShardReport report = ShardReport.Empty(Options);
        var rows = new RowValidator(Options);
        using var reader = new JsonlLineReader(stream, firstLineNumber, Options.MaxLineBytes, startOffset: startOffset);
        const long progressEvery = 8 << 20;
        long nextProgress = progressEvery;
        while (reader.TryReadLine(out ReadOnlySpan<byte> line, out LineInfo info))
        {
            report.Lines++;
            report.Bytes += info.Length + (info.HasNewline ? 1 : 0);
            if (info.TooLong)
            {
                report.Rows++;
                report.ErrorRows++;
                report.AddFinding(
                    FindingCodes.Create(
                        FindingCodes.LineTooLong,
                        info.Number,
                        "",
                        info.ReadingStopped
                            ? $"no line break in the first {JsonlLineReader.GiveUpBytes / 1073741824.0:N0} GiB of this line; reading "
                                + "stopped here (is this a JSON Lines file, or a device or endless stream?)"
                            : $"{info.Length / 1048576.0:N1} MiB on one line, over the {Options.MaxLineBytes / 1048576.0:N0} MiB limit; "
                                + "no model takes an example that long"
                    ),
                    Options.MaxFindingsPerCode
                );
                continue;
            }

            if (isFileStart && info.Number == firstLineNumber && line.StartsWith(Bom))
            {
                report.AddFinding(
                    FindingCodes.Create(
                        FindingCodes.Bom,
                        info.Number,
                        "",
                        "the file starts with a byte-order mark (EF BB BF); it is ignored"
                    ),
                    Options.MaxFindingsPerCode
                );
                line = line[3..];
            }

            if (info.HadCarriageReturn)
            {
                report.AddFinding(
                    FindingCodes.Create(FindingCodes.Crlf, info.Number, "", "the line ends with CRLF"),
                    Options.MaxFindingsPerCode
                );
            }

            if (line.Trim(" \t\r"u8).IsEmpty)
            {
                report.AddFinding(FindingCodes.Create(FindingCodes.EmptyLine, info.Number, "", "blank line"), Options.MaxFindingsPerCode);
                continue;
            }

            ValidRow? valid = rows.Validate(line, info.Number, isUnterminatedLastLine: !info.HasNewline, report);
            if (valid is { } row && onValidRow is not null)
            {
                onValidRow(in row, info, line);
            }

            if (progress is not null && reader.Position >= nextProgress)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress.Report(reader.Position);
                nextProgress = reader.Position + progressEvery;
            }
        }

        progress?.Report(reader.Position);
        return report;
    }

    /// <summary>Validates a whole file on the calling thread.</summary>
    public DatasetReport ValidateFile(
        string path,
        IProgress<long>? progress = null,
        ValidRowHandler? onValidRow = null,
        CancellationToken cancellationToken = default
    )
    {
        using FileStream stream = OpenRead(path);
        ShardReport report = ValidateShard(stream, progress: progress, onValidRow: onValidRow, cancellationToken: cancellationToken);
        return DatasetReport.From(report, Path.GetFileName(path), Options, GraderFindings());
    }

    /// <summary>
    /// Validates a file as shards on up to <paramref name="parallelism"/> threads and merges the shard reports; the
    /// result equals <see cref="ValidateFile"/>.
    /// </summary>
    public DatasetReport ValidateFileInShards(
        string path,
        int parallelism,
        long shardBytes = ShardPlanner.DefaultShardBytes,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default
    ) => ValidateFileInShards(path, parallelism, shardBytes, progress, rowsOf: null, cancellationToken);

    /// <summary>
    /// As above; <paramref name="rowsOf"/> gives each shard its own handler of valid rows (called on that shard's
    /// thread).
    /// </summary>
    public DatasetReport ValidateFileInShards(
        string path,
        int parallelism,
        long shardBytes,
        IProgress<long>? progress,
        Func<Shard, ValidRowHandler>? rowsOf,
        CancellationToken cancellationToken = default
    )
    {
        IReadOnlyList<Shard> shards = ShardPlanner.PlanFile(path, shardBytes);
        // Each shard's report is merged as soon as it is done (merging is order-free), so no more than one per thread is held.
        ShardReport merged = ShardReport.Empty(Options);
        long done = 0;
        var perShard = progress is null ? null : new SynchronousProgress(delta => progress.Report(Interlocked.Add(ref done, delta)));
        Parallel.For(
            0,
            shards.Count,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken },
            i =>
            {
                Shard shard = shards[i];
                using FileStream stream = OpenRead(path);
                stream.Position = shard.Offset;
                using var slice = new BoundedStream(stream, shard.Length);
                long last = 0;
                var shardProgress = perShard is null
                    ? null
                    : new SynchronousProgress(pos =>
                    {
                        perShard.Report(pos - shard.Offset - last);
                        last = pos - shard.Offset;
                    });
                ShardReport report = ValidateShard(
                    slice,
                    shard.FirstLine,
                    shard.Offset == 0,
                    shard.Offset,
                    shardProgress,
                    rowsOf?.Invoke(shard),
                    cancellationToken
                );
                lock (merged)
                {
                    merged.MergeFrom(report, Options.MaxFindingsPerCode);
                }

                report.ReleaseTables();
            }
        );
        return Finish(merged, Path.GetFileName(path));
    }

    /// <summary>Turns the report of every line of a dataset (shard reports merged) into the dataset's report.</summary>
    public DatasetReport Finish(ShardReport merged, string fileName) => DatasetReport.From(merged, fileName, Options, GraderFindings());

    /// <summary>Turns merged shard reports into the dataset's report.</summary>
    public DatasetReport Finish(IEnumerable<ShardReport> shards, string fileName) =>
        DatasetReport.From(
            ShardReport.Merge(shards, Options.MaxFindingsPerCode, Options.MaxRowsInMemory),
            fileName,
            Options,
            GraderFindings()
        );

    private IEnumerable<Finding> GraderFindings() => Options.Grader?.Findings ?? [];

    /// <summary>Opens a dataset for sequential reading, with errors that say what is wrong with the path.</summary>
    public static FileStream OpenRead(string path)
    {
        if (Directory.Exists(path))
        {
            throw new DatasetFileException(path, "is a directory, not a file; give the path of a .jsonl file");
        }

        if (!File.Exists(path))
        {
            throw new DatasetFileException(path, "does not exist");
        }

        if (new FileInfo(path).Length == 0)
        {
            // Pipes and devices have no length, and opening a pipe waits for a writer: never open what might be one.
            throw new DatasetFileException(
                path,
                "is empty, or is a pipe or device rather than a file; a dataset is a .jsonl file with one example per line (save "
                    + "piped data to a file first)"
            );
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (UnauthorizedAccessException)
        {
            throw new DatasetFileException(path, "cannot be read (permission denied)");
        }
        catch (IOException ex)
        {
            throw new DatasetFileException(path, $"cannot be read: {ex.Message}");
        }

        if (!stream.CanSeek)
        {
            // A pipe or socket: it can be read once, and validation reads a dataset in shards (and the split twice).
            stream.Dispose();
            throw new DatasetFileException(
                path,
                "is a pipe or a stream, not a file; save it to a file first (for example: cat ... > data.jsonl)"
            );
        }

        return stream;
    }

    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}

/// <summary>A dataset path that cannot be read; the message names the file and what to do.</summary>
public sealed class DatasetFileException(string path, string problem) : IOException($"{path}: {problem}")
{
    public string FilePath { get; } = path;
}
