using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Datasets;
using FineTuning.Core.Hashing;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Evaluation;

/// <summary>What to evaluate a batch of held-out rows with.</summary>
public sealed record EvaluationModels(string BaseModel, string FineTunedModel, string JudgeModel);

/// <summary>
/// Evaluates held-out rows (lines of a split's <c>test.jsonl</c>, as written in the source): the base and the
/// fine-tuned model each answer the row's messages up to its last assistant turn, the judge scores each answer against
/// that turn (the reference) with <see cref="EvaluationPrompts.ScoreRubric"/> and compares the two in both orders.
/// Each row's result is kept at <c>{prefix}{row id}.json</c> before the next is needed, and a row with a result is
/// never asked again: an activity run again after a crash sends nothing twice. At most <c>concurrency</c> rows are in
/// flight; the provider's pipeline honours 429 and <c>Retry-After</c>.
/// </summary>
public sealed class HeldOutEvaluator(IFineTuningProvider provider, IBlobStore blobs)
{
    public async Task<IReadOnlyList<EvaluatedRow>> EvaluateAsync(
        IReadOnlyList<(long Line, string Json)> rows,
        string topicField,
        EvaluationModels models,
        string resultPrefix,
        int concurrency,
        CancellationToken cancellationToken = default
    )
    {
        var results = new EvaluatedRow?[rows.Count];
        await Parallel
            .ForEachAsync(
                Enumerable.Range(0, rows.Count),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = cancellationToken },
                async (i, ct) =>
                    results[i] = await RowAsync(rows[i].Line, rows[i].Json, topicField, models, resultPrefix, ct).ConfigureAwait(false)
            )
            .ConfigureAwait(false);
        return [.. results.OfType<EvaluatedRow>()];
    }

    /// <summary>The identity of a held-out row: the canonical hash of the line (whitespace and member order ignored).</summary>
    public static string RowId(string json)
    {
        UInt128 hash = CanonicalJson.Hash(Encoding.UTF8.GetBytes(json));
        return new ContentHash((ulong)(hash >> 64), (ulong)hash).ToString();
    }

    private async Task<EvaluatedRow?> RowAsync(
        long line,
        string json,
        string topicField,
        EvaluationModels models,
        string prefix,
        CancellationToken cancellationToken
    )
    {
        string id = RowId(json);
        string blob = $"{prefix}{id}.json";
        if (await blobs.GetPropertiesAsync(blob, cancellationToken).ConfigureAwait(false) is not null)
        {
            await using Stream kept = await blobs.OpenReadAsync(blob, cancellationToken).ConfigureAwait(false);
            return await JsonSerializer
                .DeserializeAsync(kept, ReportSerializer.TypeInfo<EvaluatedRow>(), cancellationToken)
                .ConfigureAwait(false);
        }

        if (Split(json, topicField) is not { } row)
        {
            return null; // no assistant turn to compare with: nothing to evaluate
        }

        Task<ChatAnswer> baseCall = provider.CompleteChatAsync(models.BaseModel, row.Prompt, row.Topic, cancellationToken);
        Task<ChatAnswer> tunedCall = provider.CompleteChatAsync(models.FineTunedModel, row.Prompt, row.Topic, cancellationToken);
        string prompt = row.LastUser;
        ChatAnswer baseAnswer = await baseCall.ConfigureAwait(false);
        ChatAnswer tunedAnswer = await tunedCall.ConfigureAwait(false);
        ChatAnswer[] judged = await Task.WhenAll(
                JudgeAsync(
                    EvaluationPrompts.ScoreRubric,
                    EvaluationPrompts.ScoreRequest(prompt, row.Reference, baseAnswer.Text),
                    models,
                    cancellationToken
                ),
                JudgeAsync(
                    EvaluationPrompts.ScoreRubric,
                    EvaluationPrompts.ScoreRequest(prompt, row.Reference, tunedAnswer.Text),
                    models,
                    cancellationToken
                ),
                JudgeAsync(
                    EvaluationPrompts.PairwiseRubric,
                    EvaluationPrompts.PairwiseRequest(prompt, row.Reference, tunedAnswer.Text, baseAnswer.Text),
                    models,
                    cancellationToken
                ),
                JudgeAsync(
                    EvaluationPrompts.PairwiseRubric,
                    EvaluationPrompts.PairwiseRequest(prompt, row.Reference, baseAnswer.Text, tunedAnswer.Text),
                    models,
                    cancellationToken
                )
            )
            .ConfigureAwait(false);
        var result = new EvaluatedRow(
            id,
            line,
            row.Topic,
            prompt,
            row.Reference,
            baseAnswer.Text,
            EvaluationPrompts.ReadScore(judged[0].Text) ?? 0,
            tunedAnswer.Text,
            EvaluationPrompts.ReadScore(judged[1].Text) ?? 0,
            EvaluationPrompts.Combine(EvaluationPrompts.ReadVerdict(judged[2].Text), EvaluationPrompts.ReadVerdict(judged[3].Text))
        )
        {
            Usage = new EvaluationUsage(
                baseAnswer.PromptTokens,
                baseAnswer.CompletionTokens,
                tunedAnswer.PromptTokens,
                tunedAnswer.CompletionTokens,
                judged.Sum(j => (long)j.PromptTokens),
                judged.Sum(j => (long)j.CompletionTokens)
            ),
        };
        await blobs
            .WriteAsync(
                blob,
                (s, ct) => JsonSerializer.SerializeAsync(s, result, ReportSerializer.TypeInfo<EvaluatedRow>(), ct),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        return result;
    }

    private async Task<ChatAnswer> JudgeAsync(string rubric, string request, EvaluationModels models, CancellationToken cancellationToken)
    {
        JsonElement messages = JsonSerializer.SerializeToElement(
            new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = rubric },
                new JsonObject { ["role"] = "user", ["content"] = request }
            ),
            ReportSerializer.TypeInfo<JsonNode>()
        );
        return await provider.CompleteChatAsync(models.JudgeModel, messages, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A row's prompt (its messages before the last assistant turn), that turn's text, the last user text and its topic.</summary>
    private static (JsonElement Prompt, string Reference, string LastUser, string Topic)? Split(string json, string topicField)
    {
        using JsonDocument row = JsonDocument.Parse(json);
        if (!row.RootElement.TryGetProperty("messages", out JsonElement messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        JsonElement[] turns = [.. messages.EnumerateArray()];
        int last = Array.FindLastIndex(turns, t => t.TryGetProperty("role", out JsonElement r) && r.GetString() == "assistant");
        if (last < 1)
        {
            return null;
        }

        JsonElement[] prompt = turns[..last];
        string lastUser = prompt.Where(t => t.GetProperty("role").GetString() == "user").Select(Text).LastOrDefault() ?? "";
        return (
            JsonSerializer.SerializeToElement(prompt, ReportSerializer.TypeInfo<JsonElement[]>()),
            Text(turns[last]),
            lastUser,
            Topics.Read(row.RootElement, topicField)
        );
    }

    private static string Text(JsonElement message) =>
        !message.TryGetProperty("content", out JsonElement content) ? ""
        : content.ValueKind == JsonValueKind.String ? content.GetString()!
        : content.ValueKind == JsonValueKind.Array
            ? string.Concat(
                content.EnumerateArray().Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString())
            )
        : "";
}
