using System.Text;
using System.Text.Json;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Graders;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>What the grader dry run checks: the run's grader, on the first rows of its dataset.</summary>
public sealed record CheckGraderInput(string DatasetBlob, JsonElement Grader, int Rows = 3);

/// <summary>What the provider said of the grader, and the rewards it gave the sample rows (null problem: fit to train with).</summary>
public sealed record GraderChecked(string? Problem, IReadOnlyList<double> Rewards);

/// <summary>
/// The grader dry run a reinforcement run makes before it uploads anything, as the provider's guide recommends: the
/// provider validates the grader (<c>/fine_tuning/alpha/graders/validate</c>), then runs it (<c>/run</c>) on the first
/// rows of the dataset, each with the answer the grader expects when it says one (a string check's or text
/// similarity's reference), else an empty answer. A grader the provider refuses, or one that errs on a row, stops
/// the run before it costs anything.
/// </summary>
public sealed class CheckGrader(IFineTuningProvider provider, IBlobStore blobs) : IWorkflowActivity<CheckGraderInput, GraderChecked>
{
    public async Task<GraderChecked> RunAsync(CheckGraderInput input, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> refused = await provider.ValidateGraderAsync(input.Grader, cancellationToken).ConfigureAwait(false);
        if (refused.Count > 0)
            return new GraderChecked($"The provider refused the grader: {string.Join("; ", refused)}", []);

        var rewards = new List<double>();
        await using Stream dataset = await blobs.OpenReadAsync(input.DatasetBlob, cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(dataset, Encoding.UTF8);
        long line = 0;
        while (rewards.Count < input.Rows && await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            JsonDocument row;
            try
            {
                row = JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                continue; // validation has reported it; the dry run wants rows the job will train on
            }

            using (row)
            {
                if (row.RootElement.ValueKind != JsonValueKind.Object)
                    continue;
                string sample = HeldOutRow.GraderReference(input.Grader, row.RootElement) ?? "";
                GraderRunResult result = await provider
                    .RunGraderAsync(input.Grader, sample, row.RootElement, cancellationToken)
                    .ConfigureAwait(false);
                if (result.Errors.Count > 0)
                {
                    return new GraderChecked(
                        $"The grader fails on line {line} of {input.DatasetBlob}: {string.Join("; ", result.Errors)}",
                        rewards
                    );
                }

                rewards.Add(result.Reward);
            }
        }

        return new GraderChecked(null, rewards);
    }
}
