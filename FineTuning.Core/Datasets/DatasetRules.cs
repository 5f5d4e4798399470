using FineTuning.Core.Catalog;

namespace FineTuning.Core.Datasets;

/// <summary>
/// The rules only the whole dataset can answer, applied to the merged shard reports: the format of the file, counts
/// and limits, the model, upload sizes, system prompts. Each adds its findings through <c>add</c>.
/// </summary>
internal static class DatasetRules
{
    /// <summary>
    /// The method: given, or the format of the earliest row whose format could be told (mixed_formats when rows
    /// disagree).
    /// </summary>
    public static (FineTuningMethod Method, bool Detected) Method(ShardReport merged, ValidationOptions options, Action<Finding> add)
    {
        bool detected = options.Method == FineTuningMethod.Auto;
        FineTuningMethod method = options.Method;
        if (detected)
        {
            KeyValuePair<string, FormatTally>? first = merged.Formats.Count == 0 ? null : merged.Formats.MinBy(f => f.Value.FirstLine);
            method = first is { } f && FineTuningMethods.TryParse(f.Key, out FineTuningMethod m) ? m : FineTuningMethod.Supervised;
            if (merged.Formats.Count > 1)
            {
                string parts = string.Join(
                    ", ",
                    merged
                        .Formats.OrderBy(f => f.Value.FirstLine)
                        .Select(f => $"{f.Value.Count:N0} {f.Key} (first at line {f.Value.FirstLine})")
                );
                add(
                    FindingCodes.Create(
                        FindingCodes.MixedFormats,
                        0,
                        "",
                        $"rows are written for different methods: {parts}; keep one format per file or pass --method"
                    )
                );
            }
        }

        return (method, detected);
    }

    /// <summary>Rows and examples against the limits: empty_file, too_few_examples, too_many_examples, error_rate_exceeded.</summary>
    public static void Counts(ShardReport merged, ValidationOptions options, FineTuningMethod method, long examples, Action<Finding> add)
    {
        if (merged.Rows == 0)
        {
            add(
                FindingCodes.Create(
                    FindingCodes.EmptyFile,
                    0,
                    "",
                    merged.Bytes == 0 ? "the file is empty (0 bytes)" : "the file holds no rows, only blank lines"
                )
            );
        }
        else if (examples < options.MinExamples)
        {
            add(
                FindingCodes.Create(
                    FindingCodes.TooFewExamples,
                    0,
                    "",
                    $"{examples:N0} valid distinct example{(examples == 1 ? "" : "s")}; at least {options.MinExamples:N0} are needed"
                )
            );
        }
        else if (
            !options.IsValidationFile
            && ValidationOptions.TrainedExamples(examples, options.TrainRatio) is var train
            && train < options.MinExamples
        )
        {
            add(
                FindingCodes.Create(
                    FindingCodes.FewTrainingExamples,
                    0,
                    "",
                    $"a run's split ({options.TrainRatio:0.##} for training) would train on about {train:N0} of the "
                        + $"{examples:N0} examples, under the minimum of {options.MinExamples:N0}; add examples or raise the training ratio"
                )
            );
        }

        if (method == FineTuningMethod.Reinforcement)
        {
            int max = options.IsValidationFile
                ? ValidationOptions.MaxReinforcementValidationRows
                : ValidationOptions.MaxReinforcementTrainingRows;
            if (examples > max)
            {
                add(
                    FindingCodes.Create(
                        FindingCodes.TooManyExamples,
                        0,
                        "",
                        $"{examples:N0} examples; reinforcement "
                            + $"{(options.IsValidationFile ? "validation" : "training")} files take at most {max:N0}"
                    )
                );
            }
        }

        if (merged.Rows > 0 && merged.ErrorRows > options.MaxErrorRate * merged.Rows)
        {
            add(
                FindingCodes.Create(
                    FindingCodes.ErrorRateExceeded,
                    0,
                    "",
                    $"{merged.ErrorRows:N0} of {merged.Rows:N0} rows ({100.0 * merged.ErrorRows / merged.Rows:0.##}%) have errors; at "
                        + $"most {options.MaxErrorRate * 100:0.##}% allowed"
                )
            );
        }
    }

    /// <summary>
    /// The model's rules: known, takes the method, still takes jobs (unknown_model, method_not_supported,
    /// model_retired, model_retiring).
    /// </summary>
    /// <summary>Rows with images for a model that cannot be fine-tuned on images (the catalogue's <c>vision</c>).</summary>
    public static void Images(ShardReport merged, ModelFacts? model, Action<Finding> add)
    {
        if (merged.RowsWithImages > 0 && model is { Vision: false })
        {
            add(
                FindingCodes.Create(
                    FindingCodes.ImagesNotSupported,
                    merged.FirstImageLine,
                    "",
                    $"{merged.RowsWithImages:N0} rows hold images (first at line {merged.FirstImageLine}), and {model.Name} is not "
                        + "fine-tuned on images"
                )
            );
        }
    }

    public static void Model(ValidationOptions options, ModelFacts? model, FineTuningMethod method, Action<Finding> add)
    {
        if (model is null)
        {
            add(
                FindingCodes.Create(
                    FindingCodes.UnknownModel,
                    0,
                    "",
                    $"{options.Catalog.NotCatalogued(options.Model ?? "")}; its token limit and price are unknown"
                )
            );
            return;
        }

        if (!model.Supports(method))
        {
            add(
                FindingCodes.Create(
                    FindingCodes.MethodNotSupported,
                    0,
                    "",
                    $"{model.Name} cannot be fine-tuned with {method.ToWireName()} (it supports {string.Join(", ", model.Methods)})"
                )
            );
        }
        else if (model.AzureMethods is { } onAzure && !onAzure.Contains(method.ToWireName(), StringComparer.OrdinalIgnoreCase))
        {
            add(
                FindingCodes.Create(
                    FindingCodes.MethodNotOnAzure,
                    0,
                    "",
                    $"{model.Name} is fine-tuned with {method.ToWireName()} on OpenAI only; Azure OpenAI trains it with "
                        + $"{string.Join(", ", onAzure)}"
                )
            );
        }

        if (model.AcceptsJobsUntil is { } until)
        {
            DateOnly today = options.Today;
            if (today > until)
            {
                add(
                    FindingCodes.Create(
                        FindingCodes.ModelRetired,
                        0,
                        "",
                        $"{model.Name} stopped accepting fine-tuning jobs after {until:yyyy-MM-dd}"
                    )
                );
            }
            else if (today.AddDays(90) > until)
            {
                add(
                    FindingCodes.Create(
                        FindingCodes.ModelRetiring,
                        0,
                        "",
                        $"{model.Name} accepts fine-tuning jobs only until {until:yyyy-MM-dd}"
                    )
                );
            }
        }
    }

    /// <summary>The file's size against the upload limits: file_too_large, file_over_upload_limit.</summary>
    public static void UploadLimits(ShardReport merged, Action<Finding> add)
    {
        if (merged.Bytes > ValidationOptions.MaxUploadBytes)
        {
            add(
                FindingCodes.Create(
                    FindingCodes.FileTooLarge,
                    0,
                    "",
                    $"{merged.Bytes / 1e9:0.0} GB; the Uploads API takes files up to 8 GB"
                )
            );
        }
        else if (merged.Bytes > ValidationOptions.SingleUploadLimitBytes)
        {
            add(
                FindingCodes.Create(
                    FindingCodes.FileOverUploadLimit,
                    0,
                    "",
                    $"{merged.Bytes / 1048576.0:N0} MiB is over the 512 MB single-request limit; it is uploaded through the Uploads API "
                        + "in 64 MB parts"
                )
            );
        }
    }

    /// <summary>
    /// How many different system prompts there are (estimated past the sketch's size); many_system_prompts when too
    /// many.
    /// </summary>
    public static long SystemPrompts(ShardReport merged, Action<Finding> add)
    {
        long distinctPrompts =
            merged.SystemPrompts.Count < ShardReport.SystemPromptSketchSize
                ? merged.SystemPrompts.Count
                : EstimateDistinct(merged.SystemPrompts);
        if (distinctPrompts > 10 && distinctPrompts > 0.1 * Math.Max(1, merged.ValidRows))
        {
            add(
                FindingCodes.Create(
                    FindingCodes.ManySystemPrompts,
                    0,
                    "",
                    $"{distinctPrompts:N0} different system prompts across {merged.RowsWithSystemPrompt:N0} examples; train with the "
                        + "prompt you will use in production"
                )
            );
        }

        return distinctPrompts;
    }

    // k-minimum-values estimate: with the k smallest of n uniform 64-bit hashes, n ≈ (k - 1) / (max / 2^64).
    private static long EstimateDistinct(SortedSet<ulong> sketch) => (long)((sketch.Count - 1) / (sketch.Max / 18446744073709551616.0));

    /// <summary>
    /// topic_imbalance when there are two topics or more and the largest holds over 10 times the rows of the smallest, or
    /// a topic holds under 1% of the rows (rows without a topic count as the topic <c>(none)</c>).
    /// </summary>
    public static void TopicBalance(ShardReport merged, Action<Finding> add)
    {
        if (merged.Topics.Count < 2)
        {
            return;
        }

        long total = merged.Topics.Values.Sum();
        // Ties are broken by name: the topics' order depends on how the shards were cut, and the report must not.
        (string largest, long most) = merged.Topics.OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).First();
        (string smallest, long least) = merged.Topics.OrderBy(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).First();
        string[] tiny =
        [
            .. merged
                .Topics.Where(t => t.Value * 100 < total)
                .OrderBy(t => t.Value)
                .ThenBy(t => t.Key, StringComparer.Ordinal)
                .Select(t => Share(t.Key, t.Value, total)),
        ];
        if (most <= 10 * least && tiny.Length == 0)
        {
            return;
        }

        string ratio =
            most > 10 * least
                ? $"the largest topic {Share(largest, most, total)} holds {(double)most / least:0.#} times the rows of the smallest "
                    + $"{Share(smallest, least, total)}"
                : "";
        string under =
            tiny.Length == 0
                ? ""
                : $"{tiny.Length:N0} topic{(tiny.Length == 1 ? "" : "s")} under 1% of the rows: {string.Join(", ", tiny.Take(5))}"
                    + (tiny.Length > 5 ? ", ..." : "");
        add(FindingCodes.Create(FindingCodes.TopicImbalance, 0, "", string.Join("; ", new[] { ratio, under }.Where(p => p.Length > 0))));
    }

    private static string Share(string topic, long rows, long total) => $"'{topic}' ({rows:N0} rows, {100.0 * rows / total:0.#}%)";
}
