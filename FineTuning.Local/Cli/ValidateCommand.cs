using System.CommandLine;
using FineTuning.Core.Datasets;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune validate FILE</c>: is this dataset fit to fine-tune on, and what exactly must be fixed.</summary>
internal static class ValidateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var options = new DatasetOptions();
        var command = new Command(
            "validate",
            "Check a dataset line by line: format, roles, tool calls, tokens, duplicates, topics. Exit code 0 fit, 1 not fit, 2 usage or "
                + "I/O error."
        );
        options.AddTo(command);
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
                        if (result.GetValue(options.Json))
                        {
                            ReportJson.Write(stdout, report);
                        }
                        else
                        {
                            ReportRenderer.RenderValidation(stdout, report, validation);
                        }

                        return report.Fit ? FinetuneCli.ExitOk : FinetuneCli.ExitNotFit;
                    })));
        return command;
    }
}
