using System.CommandLine;
using System.CommandLine.Parsing;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Graders;
using FineTuning.Core.Tokens;
using FineTuning.Local.Tokens;

namespace FineTuning.Local.Cli;

/// <summary>The options every dataset command shares, and how they become <see cref="ValidationOptions"/>.</summary>
internal sealed class DatasetOptions
{
    public Argument<FileInfo> File { get; } = new("FILE") { Description = "The JSONL dataset (one JSON object per line)." };

    public Option<string> Method { get; } =
        new("--method")
        {
            Description = "Format the rows are written for: auto (detect per row), supervised, dpo or reinforcement.",
            DefaultValueFactory = _ => "auto",
        };

    public Option<string?> Model { get; } =
        new("--model")
        {
            Description =
                "Base model whose token limit, methods and prices apply (default per method from the model catalogue, "
                + "FineTuning.Core/Catalog/models.json: gpt-4.1-mini-2025-04-14 for supervised and dpo, o4-mini-2025-04-16 for "
                + "reinforcement).",
        };

    public Option<FileInfo?> Grader { get; } =
        new("--grader")
        {
            Description = "Grader JSON for reinforcement: its shape is checked and every {{ item.X }} it uses must exist in every row.",
        };

    public Option<int> MaxErrors { get; } =
        new("--max-errors")
        {
            Description = "How many findings of each code to list with their lines (all are counted; the first 5 by default).",
            DefaultValueFactory = _ => 5,
        };

    public Option<int> MinExamples { get; } =
        new("--min-examples") { Description = "Fewest valid, distinct examples for the dataset to be fit.", DefaultValueFactory = _ => 10 };

    public Option<double> MaxErrorRate { get; } =
        new("--max-error-rate")
        {
            Description = "Share of rows (0 to 1) that may have errors and still be fit; such rows are left out of a split.",
            DefaultValueFactory = _ => 0.0,
        };

    public Option<string> TopicField { get; } =
        new("--topic-field")
        {
            Description = "Field that names a row's topic, for the topic histogram (a dotted path such as metadata.topic works).",
            DefaultValueFactory = _ => "topic",
        };

    public Option<int> Threads { get; } =
        new("--threads")
        {
            Description = "Threads for validating large files in shards (default: the number of cores; 1 reads the file in one pass).",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };

    public Option<int> MaxLineMib { get; } =
        new("--max-line-mib")
        {
            Description = "Longest line read, in MiB; longer lines are reported as too long without being held in memory.",
            DefaultValueFactory = _ => ValidationOptions.DefaultMaxLineBytes / (1024 * 1024),
        };

    public Option<string> Tokenizer { get; } =
        new("--tokenizer")
        {
            Description =
                "How texts are counted: approx (a fast approximation of the o200k encoder, within a few percent on whole datasets) or "
                + "o200k (exact o200k_base counts, the encoder of the gpt-4o, gpt-4.1 and o-series models; about 35 MiB/s on one thread, "
                + "which it keeps to). Both add the cookbook's per-message accounting.",
            DefaultValueFactory = _ => "approx",
        };

    public Option<bool> NearDuplicates { get; } =
        new("--near-duplicates")
        {
            Description =
                "Also report rows that differ from an earlier row by a few words (near_duplicate, with both lines; MinHash of word "
                + "3-grams, 80% alike or more). Slower, and about 600 bytes of memory a row.",
        };

    public Option<bool> NoPiiCheck { get; } =
        new("--no-pii-check")
        {
            Description =
                "Do not look for personal or secret data (e-mail addresses, phone numbers, payment cards, IBANs, API keys: possible_pii).",
        };

    public Option<bool> Json { get; } =
        new("--json") { Description = "Print one machine-readable JSON report to stdout instead of tables." };

    public void AddTo(Command command, bool isSplit = false)
    {
        command.Arguments.Add(File);
        command.Options.Add(Method);
        command.Options.Add(Model);
        command.Options.Add(Grader);
        command.Options.Add(MaxErrors);
        command.Options.Add(MinExamples);
        command.Options.Add(MaxErrorRate);
        if (!isSplit)
        {
            // split stratifies by --stratify-by and reads the file in one pass.
            command.Options.Add(TopicField);
            command.Options.Add(Threads);
        }

        command.Options.Add(MaxLineMib);
        command.Options.Add(Tokenizer);
        command.Options.Add(NoPiiCheck);
        command.Options.Add(NearDuplicates);
        command.Options.Add(Json);
        Tokenizer.AcceptOnlyFromAmong("approx", "o200k");
        Method.Validators.Add(r =>
        {
            if (!FineTuningMethods.TryParse(r.GetValueOrDefault<string>(), out _))
                r.AddError($"--method: \"{r.GetValueOrDefault<string>()}\" is not a method (auto, supervised, dpo, reinforcement).");
        });
        MaxErrors.Validators.Add(r => Positive(r, "--max-errors", allowZero: true));
        MinExamples.Validators.Add(r => Positive(r, "--min-examples", allowZero: true));
        Threads.Validators.Add(r => Positive(r, "--threads", allowZero: false));
        MaxLineMib.Validators.Add(r => Positive(r, "--max-line-mib", allowZero: false));
        MaxErrorRate.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (v is < 0 or > 1 || double.IsNaN(v))
                r.AddError("--max-error-rate must be between 0 and 1.");
        });
    }

    private static void Positive(OptionResult r, string name, bool allowZero)
    {
        int v = r.GetValueOrDefault<int>();
        if (v < 0 || (!allowZero && v == 0))
            r.AddError($"{name} must be {(allowZero ? "0 or more" : "at least 1")}.");
    }

    /// <summary>Builds validation options; a grader file that cannot be read throws <see cref="DatasetFileException"/>.</summary>
    public ValidationOptions Build(ParseResult result, string? topicField = null)
    {
        FineTuningMethod method = FineTuningMethods.TryParse(result.GetValue(Method), out FineTuningMethod parsed)
            ? parsed
            : FineTuningMethod.Auto;
        GraderSpec? grader = null;
        if (result.GetValue(Grader) is { } graderFile)
        {
            if (!graderFile.Exists)
            {
                throw new DatasetFileException(
                    graderFile.FullName,
                    Directory.Exists(graderFile.FullName) ? "is a directory, not a grader file" : "does not exist"
                );
            }

            grader = GraderSpec.Load(graderFile.FullName);
        }

        return new ValidationOptions
        {
            Method = method,
            Model = result.GetValue(Model),
            Grader = grader,
            MaxFindingsPerCode = result.GetValue(MaxErrors),
            MinExamples = result.GetValue(MinExamples),
            MaxErrorRate = result.GetValue(MaxErrorRate),
            TopicField = topicField ?? result.GetValue(TopicField) ?? "topic",
            MaxLineBytes = (int)Math.Min(int.MaxValue - 1L, result.GetValue(MaxLineMib) * 1024L * 1024L),
            Catalog = ModelCatalog.Default,
            Tokens = result.GetValue(Tokenizer) == "o200k" ? TiktokenTokenEstimator.O200kBase : ApproximateTokenEstimator.Instance,
            CheckSensitiveData = !result.GetValue(NoPiiCheck),
            FuzzyNearDuplicates = result.GetValue(NearDuplicates),
        };
    }
}
