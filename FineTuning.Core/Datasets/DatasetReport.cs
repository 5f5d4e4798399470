using FineTuning.Core.Catalog;

namespace FineTuning.Core.Datasets;

/// <summary>Rows of one format in a dataset.</summary>
public sealed record FormatCount(long Rows, long FirstLine);

/// <summary>
/// Token statistics over valid rows. All counts are estimates (see <see cref="TokenEstimator"/>). Billable tokens
/// count each distinct example once, capped at the model's limit per example: what one epoch bills.
/// </summary>
public sealed record TokenStatistics(
    string TokenEstimator,
    string Note,
    Summary? MessagesPerExample,
    Summary? TokensPerExample,
    Summary? AssistantTokensPerExample,
    long BillableTokensPerEpoch,
    IReadOnlyList<HistogramBin>? TokensHistogram = null
);

/// <summary>
/// The verdict on a dataset: counts, statistics, every finding code with its count and first occurrences, and whether
/// the dataset is fit to fine-tune on. Built from a merged <see cref="ShardReport"/> by <see cref="From"/>.
/// </summary>
public sealed record DatasetReport
{
    public required string File { get; init; }

    public required long Bytes { get; init; }

    public required long Lines { get; init; }

    public required long Rows { get; init; }

    public required long ValidRows { get; init; }

    public required long ErrorRows { get; init; }

    /// <summary>Valid rows that are not repeats of an earlier row: the examples a job would train on.</summary>
    public required long Examples { get; init; }

    public required long Duplicates { get; init; }

    /// <summary>
    /// Matches of possible personal or secret data, per kind (email, phone, payment_card, iban, secret); empty when none
    /// or unchecked.
    /// </summary>
    public Dictionary<string, long> SensitiveData { get; init; } = [];

    public required long ExcludedByMetadata { get; init; }

    public required long Generated { get; init; }

    /// <summary>The method the dataset is validated for (given, or detected from the first valid rows).</summary>
    public required string Method { get; init; }

    public required bool MethodDetected { get; init; }

    public required IReadOnlyDictionary<string, FormatCount> Formats { get; init; }

    public required string Model { get; init; }

    /// <summary>For a fine-tuned model trained further (<c>ft:...</c>): the base model whose limits and prices apply.</summary>
    public string? ModelFactsFrom { get; init; }

    public int? MaxTokensPerExample { get; init; }

    public required TokenStatistics Tokens { get; init; }

    public required string TopicField { get; init; }

    public required IReadOnlyDictionary<string, long> Topics { get; init; }

    /// <summary>Distinct system prompts (exact up to 1,024, estimated beyond).</summary>
    public required long DistinctSystemPrompts { get; init; }

    /// <summary>Findings per code (all of them counted).</summary>
    public required IReadOnlyDictionary<string, long> Counts { get; init; }

    /// <summary>The first findings of each code, in line order.</summary>
    public required IReadOnlyList<Finding> Findings { get; init; }

    /// <summary>What to do about each code found (the README's code table, for a reader of the JSON).</summary>
    public IReadOnlyDictionary<string, string> Remedies { get; init; } = new Dictionary<string, string>();

    public required long Errors { get; init; }

    public required long Warnings { get; init; }

    public required bool Fit { get; init; }

    /// <summary>One sentence a person reads first.</summary>
    public required string Verdict { get; init; }

    /// <summary>
    /// Tallies the repeats of <paramref name="table"/> under <paramref name="code"/>: the count, and the earliest lines
    /// (a heap whose top is the latest kept, however many rows repeat), leaving out the lines in <paramref name="except"/>
    /// (sorted), and shows each occurrence to <paramref name="visit"/>. Only now, with every shard merged, is it known
    /// which line of a repeated row came first. Returns the lines counted, sorted.
    /// </summary>
    private static List<long> Repeats(
        Dictionary<string, CodeTally> codes,
        RowHashTable table,
        string code,
        int keep,
        List<long>? except,
        Func<long, string> message,
        Action<RowOccurrence>? visit = null
    )
    {
        var counted = new List<long>();
        var earliest = new PriorityQueue<(long Line, long First), long>(Comparer<long>.Create((x, y) => y.CompareTo(x)));
        foreach (RowOccurrence occurrence in table.Rows())
        {
            visit?.Invoke(occurrence);
            foreach (long line in occurrence.Repeats ?? [])
            {
                if (except is not null && except.BinarySearch(line) >= 0)
                {
                    continue;
                }

                counted.Add(line);
                if (earliest.Count < keep)
                {
                    earliest.Enqueue((line, occurrence.FirstLine), line);
                }
                else if (keep > 0 && line < earliest.Peek().Line)
                {
                    earliest.EnqueueDequeue((line, occurrence.FirstLine), line);
                }
            }
        }

        counted.Sort();
        if (counted.Count > 0)
        {
            codes[code] = new CodeTally
            {
                Count = counted.Count,
                Samples =
                [
                    .. earliest
                        .UnorderedItems.Select(r => r.Element)
                        .OrderBy(r => r.Line)
                        .Select(r => FindingCodes.Create(code, r.Line, "", message(r.First))),
                ],
            };
        }

        return counted;
    }

    /// <summary>
    /// Builds the report of a merged shard report: duplicates, then the dataset-level rules (<see cref="DatasetRules"/>).
    /// Pure: the same inputs give the same report.
    /// </summary>
    public static DatasetReport From(ShardReport merged, string file, ValidationOptions options, IEnumerable<Finding>? extraFindings = null)
    {
        int keep = options.MaxFindingsPerCode;
        var codes = new Dictionary<string, CodeTally>(StringComparer.Ordinal);
        foreach ((string code, CodeTally tally) in merged.Codes)
        {
            codes[code] = new CodeTally { Count = tally.Count, Samples = tally.Samples.ToList() };
        }

        void Add(Finding f)
        {
            if (!codes.TryGetValue(f.Code, out CodeTally? tally))
            {
                codes[f.Code] = tally = new CodeTally();
            }

            tally.Add(f, keep);
        }

        foreach (Finding f in extraFindings ?? [])
        {
            Add(f);
        }

        // Duplicates, with the billable tokens in the same read of the row table (it may have spilled to temporary files).
        long billable = 0;
        List<long> exactRepeats = Repeats(
            codes,
            merged.RowHashes,
            FindingCodes.Duplicate,
            keep,
            null,
            first => $"same as line {first}; left out of the split",
            occurrence => billable += occurrence.BillableTokens
        );
        long duplicates = exactRepeats.Count;
        // Near-duplicates: repeats of the folded text that are not repeats of the example itself.
        List<long> foldedRepeats = Repeats(codes, merged.TextHashes, FindingCodes.NearDuplicate, keep, exactRepeats, first =>
            $"reads as line {first} does once case, whitespace and punctuation are ignored"
        );
        if (merged.Sketches is { } sketches) // kept only when fuzzy near-duplicates are asked for
        {
            // Rows that differ by a few words: the pairs, both lines named; rows already reported as repeats are left out.
            foreach ((long line, long earlier, double similarity) in sketches.Pairs(new HashSet<long>([.. exactRepeats, .. foldedRepeats])))
            {
                Add(
                    FindingCodes.Create(
                        FindingCodes.NearDuplicate,
                        line,
                        "",
                        $"about {Math.Round(similarity * 100)}% the same as line {earlier} (MinHash of word 3-grams; reported from "
                            + $"{MinHashSketches.Threshold * 100}%); keep one of the two, or make them differ"
                    )
                );
            }
        }

        (FineTuningMethod method, bool detected) = DatasetRules.Method(merged, options, Add);

        long examples = merged.RowHashes.Count;
        DatasetRules.Counts(merged, options, method, examples, Add);

        ModelFacts? model = options.Catalog.Find(options.Model, method);
        // A fine-tuned model (continuous fine-tuning) is trained as named; the catalogue gives its base's facts.
        bool continued = options.Model?.Trim().StartsWith("ft:", StringComparison.Ordinal) == true;
        string modelName = continued ? options.Model!.Trim() : model?.Name ?? options.Model!;
        DatasetRules.Model(options, model, method, Add);
        DatasetRules.Images(merged, model, Add);
        DatasetRules.UploadLimits(merged, Add);
        long distinctPrompts = DatasetRules.SystemPrompts(merged, Add);
        DatasetRules.TopicBalance(merged, Add);

        long errors = 0,
            warnings = 0;
        foreach ((string code, CodeTally tally) in codes)
        {
            if (FindingCodes.Get(code).Severity == Severity.Error)
                errors += tally.Count;
            else
                warnings += tally.Count;
        }

        bool fit = !codes.Keys.Any(c =>
            FindingCodes.Get(c).Scope == FindingScope.Dataset && FindingCodes.Get(c).Severity == Severity.Error
        );
        ModelFacts? limits = model;
        return new DatasetReport
        {
            File = file,
            Bytes = merged.Bytes,
            Lines = merged.Lines,
            Rows = merged.Rows,
            ValidRows = merged.ValidRows,
            ErrorRows = merged.ErrorRows,
            Examples = examples,
            Duplicates = duplicates,
            SensitiveData = merged.SensitiveData.OrderBy(k => k.Key, StringComparer.Ordinal).ToDictionary(),
            ExcludedByMetadata = merged.ExcludedByMetadata,
            Generated = merged.Generated,
            Method = method.ToWireName(),
            MethodDetected = detected,
            Formats = merged
                .Formats.OrderBy(f => f.Value.FirstLine)
                .ToDictionary(f => f.Key, f => new FormatCount(f.Value.Count, f.Value.FirstLine)),
            Model = modelName,
            ModelFactsFrom = continued ? model?.Name : null,
            MaxTokensPerExample = limits?.MaxTokensPerExample,
            Tokens = new TokenStatistics(
                options.Tokens.Name,
                $"Token counts are estimates: {options.Tokens.Accounting}.",
                merged.MessagesPerExample.Summarize(),
                merged.TokensPerExample.Summarize(),
                merged.AssistantTokensPerExample.Summarize(),
                billable,
                merged.TokensPerExample.Histogram()
            ),
            TopicField = options.TopicField,
            Topics = merged
                .Topics.OrderByDescending(t => t.Value)
                .ThenBy(t => t.Key, StringComparer.Ordinal)
                .ToDictionary(t => t.Key, t => t.Value),
            DistinctSystemPrompts = distinctPrompts,
            Counts = codes
                .OrderBy(c => FindingCodes.Get(c.Key).Severity == Severity.Error ? 0 : 1)
                .ThenBy(c => c.Key, StringComparer.Ordinal)
                .ToDictionary(c => c.Key, c => c.Value.Count),
            Findings = codes.Values.SelectMany(c => c.Samples).Order(Comparer<Finding>.Create(Finding.Compare)).ToList(),
            Remedies = codes.Keys.Order(StringComparer.Ordinal).ToDictionary(c => c, c => FindingCodes.Get(c).Remedy),
            Errors = errors,
            Warnings = warnings,
            Fit = fit,
            Verdict = VerdictFor(fit, examples, method, merged, codes),
        };
    }

    private static string VerdictFor(
        bool fit,
        long examples,
        FineTuningMethod method,
        ShardReport merged,
        Dictionary<string, CodeTally> codes
    )
    {
        string datasetErrors = string.Join(
            ", ",
            codes.Keys.Where(c => FindingCodes.Get(c).Scope == FindingScope.Dataset && FindingCodes.Get(c).Severity == Severity.Error)
        );
        return fit
            ? merged.ErrorRows == 0
                ? $"Fit: {examples:N0} {method.ToWireName()} examples."
                : $"Fit: {examples:N0} {method.ToWireName()} examples; {merged.ErrorRows:N0} rows with errors will be left out."
            : $"Not fit ({datasetErrors}): fix what the findings with these codes say.";
    }
}
