using System.Text;
using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>
/// Chooses the held-out rows to evaluate: all of them, or at most <see cref="EvaluationInput.MaxRows"/> drawn per topic in
/// proportion (largest remainders), each topic's rows ranked by a seeded hash of their content, so the same file and
/// seed give the same sample. Writes them to <c>runs/{runId}/evaluation/rows.jsonl</c> and cuts them into batches.
/// </summary>
public sealed class PlanEvaluation(IBlobStore blobs, EvaluationOptions? options = null) : IWorkflowActivity<EvaluationInput, EvaluationPlan>
{
    private readonly EvaluationOptions _options = options ?? new EvaluationOptions();

    public async Task<EvaluationPlan> RunAsync(EvaluationInput input, CancellationToken cancellationToken = default)
    {
        var rows = new List<(long Line, string Json, string Topic, ulong Rank)>();
        await using (Stream test = await blobs.OpenReadAsync(input.TestBlob, cancellationToken).ConfigureAwait(false))
        {
            using var reader = new StreamReader(test, Encoding.UTF8);
            long line = 0;
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
            {
                line++;
                if (string.IsNullOrWhiteSpace(text))
                    continue;
                using JsonDocument row = JsonDocument.Parse(text);
                string id = HeldOutEvaluator.RowId(text);
                rows.Add((line, text, Topics.Read(row.RootElement, input.TopicField), Rank(id, input.Seed)));
            }
        }

        var chosen = Sample(rows, input.MaxRows);
        string rowsBlob = $"runs/{input.RunId}/evaluation/rows.jsonl";
        await blobs
            .WriteAsync(
                rowsBlob,
                async (s, ct) =>
                {
                    await using var writer = new StreamWriter(s, new UTF8Encoding(false), leaveOpen: true);
                    foreach ((long line, string json, _, _) in chosen)
                    {
                        // The row as written, so its identity (the hash of its text's canonical form) is the same when read back.
                        await writer.WriteLineAsync($"{{\"line\":{line},\"row\":{json.Trim()}}}").ConfigureAwait(false);
                    }
                },
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        int size = Math.Max(1, _options.BatchRows);
        EvaluationBatch[] batches =
        [
            .. Enumerable
                .Range(0, (chosen.Count + size - 1) / size)
                .Select(i => new EvaluationBatch(i, i * size, Math.Min(size, chosen.Count - (i * size)))),
        ];
        var models = new EvaluationModels(
            _options.BaseDeployment ?? input.BaseModel,
            input.FineTunedModel,
            input.JudgeModel ?? _options.JudgeModel
        );
        return new EvaluationPlan(rowsBlob, chosen.Count, rows.Count, batches, models, _options.Concurrency);
    }

    /// <summary>At most <paramref name="max"/> rows, each topic's share in proportion, the rest by rank; in file order.</summary>
    internal static List<(long Line, string Json, string Topic, ulong Rank)> Sample(
        List<(long Line, string Json, string Topic, ulong Rank)> rows,
        int max
    )
    {
        if (rows.Count <= max)
            return rows;
        var topics = rows.GroupBy(r => r.Topic, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToArray();
        var quotas = topics.Select(g => (double)g.Count() * max / rows.Count).ToArray();
        int[] take = [.. quotas.Select(q => (int)Math.Floor(q))];
        int left = max - take.Sum();
        foreach (int i in Enumerable.Range(0, topics.Length).OrderByDescending(i => quotas[i] - take[i]).ThenBy(i => i).Take(left))
            take[i]++;
        return [.. topics.SelectMany((g, i) => g.OrderBy(r => r.Rank).ThenBy(r => r.Line).Take(take[i])).OrderBy(r => r.Line)];
    }

    private static ulong Rank(string rowId, ulong seed) =>
        System.IO.Hashing.XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(rowId), unchecked((long)seed));
}
