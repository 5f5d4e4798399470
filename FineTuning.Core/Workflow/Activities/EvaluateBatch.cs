using System.Text;
using System.Text.Json;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>
/// Evaluates one batch of the plan's rows with <see cref="HeldOutEvaluator"/>: each row's answers and grades go to
/// <c>runs/{runId}/evaluation/answers/{row id}.json</c>, and a row already there is not asked again (a batch run again
/// after a crash sends nothing twice).
/// </summary>
public sealed class EvaluateBatch(IFineTuningProvider provider, IBlobStore blobs) : IWorkflowActivity<EvaluateBatchInput, BatchEvaluated>
{
    public async Task<BatchEvaluated> RunAsync(EvaluateBatchInput input, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<(long Line, string Json)> rows = await ReadRowsAsync(
                blobs,
                input.RowsBlob,
                input.Batch.First,
                input.Batch.Count,
                cancellationToken
            )
            .ConfigureAwait(false);
        IReadOnlyList<EvaluatedRow> evaluated = await new HeldOutEvaluator(provider, blobs)
            .EvaluateAsync(
                rows,
                input.TopicField,
                input.Models,
                AnswersPrefix(input.RunId),
                input.Concurrency,
                input.Grader,
                input.GraderOnReference,
                cancellationToken
            )
            .ConfigureAwait(false);
        return new BatchEvaluated(evaluated.Count, rows.Count - evaluated.Count);
    }

    /// <summary>Where a run's per-row results are kept.</summary>
    public static string AnswersPrefix(string runId) => $"runs/{runId}/evaluation/answers/";

    /// <summary>
    /// Rows <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> of a plan's rows blob (all:
    /// count -1).
    /// </summary>
    public static async Task<IReadOnlyList<(long Line, string Json)>> ReadRowsAsync(
        IBlobStore blobs,
        string rowsBlob,
        int first,
        int count,
        CancellationToken cancellationToken
    )
    {
        var rows = new List<(long, string)>();
        await using Stream stream = await blobs.OpenReadAsync(rowsBlob, cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        int index = 0;
        while ((count < 0 || rows.Count < count) && await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            if (index++ < first || string.IsNullOrWhiteSpace(text))
                continue;
            using JsonDocument entry = JsonDocument.Parse(text);
            rows.Add((entry.RootElement.GetProperty("line").GetInt64(), entry.RootElement.GetProperty("row").GetRawText()));
        }

        return rows;
    }
}
