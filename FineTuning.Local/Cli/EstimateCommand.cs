using System.CommandLine;
using FineTuning.Core.Api;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Estimation;
using FineTuning.Core.Workflow;
using Spectre.Console;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune estimate FILE --model NAME</c>: epochs, billed tokens and cost of a job on this dataset.</summary>
internal static class EstimateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var options = new DatasetOptions();
        var epochs = new Option<int?>("--epochs")
        {
            Description = "Epochs to price (default: the provider's rule: about 3 passes, 1 to 25 epochs, 100 to 25,000 examples seen).",
        };
        epochs.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is int e && e is < 1 or > 50)
                r.AddError("--epochs must be between 1 and 50.");
        });
        var ratio = new Option<double>("--train-ratio")
        {
            Description = "Share of the examples a run trains on and is billed for (its split; the validation file is not billed).",
            DefaultValueFactory = _ => FineTuning.Core.Datasets.ValidationOptions.DefaultTrainRatio,
        };
        ratio.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is not (> 0 and <= 1))
                r.AddError("--train-ratio must be above 0 and at most 1.");
        });
        var command = new Command(
            "estimate",
            "Estimate a job: default epochs, billed tokens (capped per example at the model's limit) and cost from the price table. Token "
                + "counts are estimates."
        );
        options.AddTo(command);
        command.Options.Add(epochs);
        command.Options.Add(ratio);
        command.SetAction((result, cancellationToken) => Task.FromResult(CliErrors.Guard(stderr, () =>
                    {
                        FileInfo file = result.GetValue(options.File)!;
                        ValidationOptions validation = options.Build(result);
                        DatasetReport report = DatasetRunner.Validate(
                            file.FullName,
                            validation,
                            result.GetValue(options.Threads),
                            showProgress: true,
                            stderr,
                            cancellationToken
                        );
                        CostEstimate estimate = CostEstimator.Estimate(
                            report,
                            ModelCatalog.Default,
                            validation.Model,
                            result.GetValue(epochs),
                            result.GetValue(ratio)
                        );
                        if (result.GetValue(options.Json))
                        {
                            ReportJson.Write(stdout, new EstimateAnswer(estimate, report));
                        }
                        else
                        {
                            Render(stdout, estimate, report);
                        }

                        return report.Fit ? FinetuneCli.ExitOk : FinetuneCli.ExitNotFit;
                    })));
        return command;
    }

    private static void Render(TextWriter stdout, CostEstimate e, DatasetReport report)
    {
        IAnsiConsole console = ReportRenderer.ConsoleFor(stdout);
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(e.File)).AddColumn("").AddColumn("");
        table.ShowHeaders = false;
        table.AddRow("Model", Markup.Escape($"{e.Model} ({e.Method})"));
        table.AddRow("Examples", $"{e.Examples:N0} valid, distinct; {e.TrainedExamples:N0} trained and billed ({e.TrainRatio:0.##} split)");
        table.AddRow("Epochs", $"{e.Epochs} ({e.EpochsSource})");
        table.AddRow("Billable tokens / epoch*", $"{e.BillableTokensPerEpoch:N0}");
        table.AddRow("Billed tokens*", $"{e.BilledTokens:N0}");
        if (e.PricePerMillionTokens is decimal p)
            table.AddRow("Price", $"${p:0.00} per 1M training tokens");
        if (e.PricePerHour is decimal h)
            table.AddRow("Price", $"${h:0.00} per training hour");
        table.AddRow("Estimated cost*", e.EstimatedCostUsd is decimal c ? $"${c:N2}" : "-");
        table.AddRow("Duration", Markup.Escape(e.Duration));
        console.Write(table);
        foreach (string note in e.Notes)
        {
            console.MarkupLine($"[grey]* {Markup.Escape(note)}[/]");
        }

        if (!report.Fit)
        {
            console.MarkupLine($"[red]{Markup.Escape(report.Verdict)}[/] Run 'finetune validate' for the findings.");
        }
    }
}
