using System.CommandLine;
using FineTuning.Core.Datasets;
using FineTuning.Core.Splitting;
using Spectre.Console;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune split FILE --out DIR</c>: a deterministic, stratified train/validation split.</summary>
internal static class SplitCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var options = new DatasetOptions();
        var outDir = new Option<DirectoryInfo>("--out")
        {
            Description = "Folder for train.jsonl, valid.jsonl and split-report.json (created if missing; files are replaced atomically).",
            Required = true,
        };
        var ratio = new Option<double>("--train-ratio")
        {
            Description = "Share of each stratum that goes to training (above 0, at most 1).",
            DefaultValueFactory = _ => 0.9,
        };
        var testRatio = new Option<double>("--test-ratio")
        {
            Description =
                "Share of each stratum held out as test.jsonl for evaluation (at least 0, below 1; 0 writes none), taken before "
                + "--train-ratio splits the rest.",
            DefaultValueFactory = _ => 0.0,
        };
        var validationFile = new Option<FileInfo>("--validation")
        {
            Description =
                "Your own validation file: validated on its own and written as valid.jsonl as given (the dataset is then not split "
                + "for validation); a row that is also an example of the dataset stops the split, both lines named.",
        };
        var testFile = new Option<FileInfo>("--test")
        {
            Description =
                "Your own test file for evaluation: validated on its own and written as test.jsonl as given (the dataset then holds "
                + "none out); a row that is also an example of the dataset stops the split, both lines named.",
        };
        var stratify = new Option<string>("--stratify-by")
        {
            Description = "Field to stratify by (a dotted path such as metadata.topic works; \"\" for none).",
            DefaultValueFactory = _ => "topic",
        };
        var seed = new Option<ulong>("--seed")
        {
            Description = "Seed of the assignment: the same seed and rows give the same files, in any input order.",
            DefaultValueFactory = _ => 42UL,
        };
        var includeGenerated = new Option<bool>("--include-generated-in-validation")
        {
            Description = "Let rows with metadata.generated == true into the validation file (by default they train only).",
        };
        ratio.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (double.IsNaN(v) || v <= 0 || v > 1)
                r.AddError("--train-ratio must be above 0 and at most 1 (for example 0.9).");
        });
        testRatio.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (double.IsNaN(v) || v < 0 || v >= 1)
                r.AddError("--test-ratio must be at least 0 and below 1 (for example 0.1).");
        });
        var command = new Command(
            "split",
            "Validate, then split into train.jsonl and valid.jsonl: seeded, stratified, without invalid or duplicate rows, with only the "
                + "keys the provider accepts."
        );
        options.AddTo(command, isSplit: true);
        command.Options.Add(outDir);
        command.Options.Add(ratio);
        command.Options.Add(testRatio);
        command.Options.Add(validationFile);
        command.Options.Add(testFile);
        command.Options.Add(stratify);
        command.Options.Add(seed);
        command.Options.Add(includeGenerated);
        command.SetAction((result, cancellationToken) => Task.FromResult(CliErrors.Guard(stderr, () =>
                    {
                        FileInfo file = result.GetValue(options.File)!;
                        ValidationOptions validation = options.Build(result, topicField: result.GetValue(stratify) ?? "");
                        var split = new SplitOptions
                        {
                            TrainRatio = result.GetValue(ratio),
                            TestRatio = result.GetValue(testRatio),
                            ValidationFile = result.GetValue(validationFile) is { } v ? CheckedFile(v) : null,
                            TestFile = result.GetValue(testFile) is { } t ? CheckedFile(t) : null,
                            StratifyBy = result.GetValue(stratify) ?? "",
                            Seed = result.GetValue(seed),
                            IncludeGeneratedInValidation = result.GetValue(includeGenerated),
                        };
                        if (split.Problem() is { } problem)
                        {
                            stderr.WriteLine($"error: {problem}");
                            return FinetuneCli.ExitUsage;
                        }

                        var splitter = new StratifiedSplitter(validation, split);
                        string dir = result.GetValue(outDir)!.FullName;
                        SplitResult outcome = DatasetRunner.WithProgress(file.FullName, stderr, p =>
                            splitter.Split(file.FullName, dir, p, cancellationToken)
                        );
                        if (result.GetValue(options.Json))
                        {
                            ReportJson.Write(stdout, new SplitAnswer(outcome.Split, outcome.Validation));
                        }
                        else if (outcome.Split is null)
                        {
                            ReportRenderer.RenderValidation(stdout, outcome.Validation, validation);
                            if (outcome.ValidationFileReport is { } userReport)
                                ReportRenderer.RenderValidation(stdout, userReport, validation with { IsValidationFile = true });
                            if (outcome.TestFileReport is { } testReport)
                                ReportRenderer.RenderValidation(stdout, testReport, validation with { IsValidationFile = true });
                            foreach (string overlap in outcome.Overlaps)
                                stdout.WriteLine($"error: {overlap}");
                            stdout.WriteLine(
                                outcome.Overlaps.Count > 0
                                    ? $"Nothing was written: {outcome.Overlaps.Count:N0} rows of your file are examples the dataset trains "
                                        + "on; remove them from one file."
                                    : "Nothing was written: the dataset, the validation file or the test file is not fit."
                            );
                        }
                        else
                        {
                            Render(stdout, outcome.Split, dir);
                        }

                        return outcome.Split is null ? FinetuneCli.ExitNotFit : FinetuneCli.ExitOk;
                    })));
        return command;
    }

    /// <summary>The path of a validation file that can be read, or a <see cref="DatasetFileException"/> saying why not.</summary>
    private static string CheckedFile(FileInfo file)
    {
        DatasetValidator.OpenRead(file.FullName).Dispose();
        return file.FullName;
    }

    private static void Render(TextWriter stdout, SplitReport s, string dir)
    {
        IAnsiConsole console = ReportRenderer.ConsoleFor(stdout);
        var table = new Table()
            .Border(TableBorder.Rounded)
            .Title(
                Markup.Escape(
                    $"{s.Source}: {s.Method}, seed {s.Seed}, ratio {s.TrainRatio}, stratified by "
                        + $"{(s.StratifyBy.Length == 0 ? "nothing" : s.StratifyBy)}"
                )
            )
            .AddColumn("Stratum")
            .AddColumn(new TableColumn("Rows").RightAligned())
            .AddColumn(new TableColumn("Train").RightAligned())
            .AddColumn(new TableColumn("Validation").RightAligned())
            .AddColumn(new TableColumn("Test").RightAligned())
            .AddColumn(new TableColumn("Generated").RightAligned())
            .AddColumn("Rule");
        foreach (StratumSplit stratum in s.Strata.Take(40))
        {
            table.AddRow(
                Markup.Escape(stratum.Name),
                $"{stratum.Rows:N0}",
                $"{stratum.Train:N0}",
                $"{stratum.Validation:N0}",
                $"{stratum.Test:N0}",
                $"{stratum.Generated:N0}",
                stratum.Rule
            );
        }

        if (s.Strata.Count > 40)
            table.AddRow($"… {s.Strata.Count - 40:N0} more in split-report.json", "", "", "", "", "", "");
        table.AddRow(
            "[bold]total[/]",
            $"{s.TrainRows + s.ValidationRows + s.TestRows:N0}",
            $"{s.TrainRows:N0}",
            $"{s.ValidationRows:N0}",
            $"{s.TestRows:N0}",
            "",
            ""
        );
        console.Write(table);
        console.WriteLine(
            $"Left out: {s.ExcludedInvalid:N0} with errors, {s.ExcludedDuplicates:N0} duplicates, {s.ExcludedByMetadata:N0} marked "
                + "metadata.valid = false."
        );
        console.WriteLine(
            $"Leak check: {s.Leaks.TrainValidationOverlap:N0} validation examples also in training"
                + (s.TestFile is null ? "" : $", {s.Leaks.TrainTestOverlap + s.Leaks.ValidationTestOverlap:N0} test examples in either")
                + $", compared by {s.Leaks.ComparedBy}."
        );
        if (s.DroppedKeys.Count > 0)
            console.WriteLine($"Keys the provider does not accept for {s.Method}, dropped: {string.Join(", ", s.DroppedKeys)}.");
        foreach (string note in s.Notes)
            console.WriteLine(note);
        console.WriteLine(
            $"Wrote {Path.Combine(dir, s.TrainFile)} ({s.TrainBytes / 1048576.0:N2} MiB), {Path.Combine(dir, s.ValidationFile)} "
                + $"({s.ValidationBytes / 1048576.0:N2} MiB)"
                + (
                    s.TestFile is null
                        ? ""
                        : $", {Path.Combine(dir, s.TestFile)} ({s.TestBytes / 1048576.0:N2} MiB, as written: for evaluation)"
                )
                + " and split-report.json."
        );
    }
}
