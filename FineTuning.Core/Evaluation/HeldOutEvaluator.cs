using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Datasets;
using FineTuning.Core.Graders;
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
        JsonElement? grader = null,
        bool graderOnReference = false,
        CancellationToken cancellationToken = default
    )
    {
        var results = new EvaluatedRow?[rows.Count];
        await Parallel
            .ForEachAsync(
                Enumerable.Range(0, rows.Count),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = cancellationToken },
                async (i, ct) =>
                    results[i] = await RowAsync(rows[i].Line, rows[i].Json, topicField, models, resultPrefix, grader, graderOnReference, ct)
                        .ConfigureAwait(false)
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
        JsonElement? grader,
        bool graderOnReference,
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

        using JsonDocument document = JsonDocument.Parse(json);
        if (HeldOutRow.Read(document.RootElement, topicField, graderOnReference ? null : grader) is not { } row)
        {
            return null; // nothing to compare answers with: no assistant turn, no preferred output, no grader
        }

        // An evaluation grader compares each answer with the row's reference, which the row gives it as item.reference
        // (and the emulator is given as the right answer).
        JsonElement item = document.RootElement;
        if (graderOnReference)
        {
            row = row with { Expected = row.Reference };
            item = WithReference(document.RootElement, row.Reference);
        }

        Task<ChatAnswer> baseCall = provider.CompleteChatAsync(models.BaseModel, row.Prompt, row.Topic, row.Expected, cancellationToken);
        Task<ChatAnswer> tunedCall = provider.CompleteChatAsync(
            models.FineTunedModel,
            row.Prompt,
            row.Topic,
            row.Expected,
            cancellationToken
        );
        ChatAnswer baseAnswer = await baseCall.ConfigureAwait(false);
        ChatAnswer tunedAnswer = await tunedCall.ConfigureAwait(false);
        EvaluatedRow result = grader is { } g
            ? await GradedAsync(id, line, row, g, item, baseAnswer, tunedAnswer, cancellationToken).ConfigureAwait(false)
            : await JudgedAsync(id, line, row, models, baseAnswer, tunedAnswer, cancellationToken).ConfigureAwait(false);
        await blobs
            .WriteAsync(
                blob,
                (s, ct) => JsonSerializer.SerializeAsync(s, result, ReportSerializer.TypeInfo<EvaluatedRow>(), ct),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        return result;
    }

    /// <summary>The row with <c>reference</c> set to its reference answer, as an evaluation grader's <c>item</c>.</summary>
    private static JsonElement WithReference(JsonElement row, string? reference)
    {
        JsonObject item = JsonNode.Parse(row.GetRawText())!.AsObject();
        item["reference"] = reference;
        using JsonDocument document = JsonDocument.Parse(item.ToJsonString());
        return document.RootElement.Clone();
    }

    /// <summary>
    /// A reinforcement row (or one with an evaluation grader): each answer scored by the grader; the higher reward wins the
    /// pair (equal: a tie). String checks and text similarity are computed here, exactly and at no cost; a grader with a
    /// model or python grader in it is run by the provider (<c>/fine_tuning/alpha/graders/run</c>), as it grades in
    /// training, and its models' tokens are counted with the judge's.
    /// </summary>
    private async Task<EvaluatedRow> GradedAsync(
        string id,
        long line,
        HeldOutRow row,
        JsonElement grader,
        JsonElement item,
        ChatAnswer baseAnswer,
        ChatAnswer tunedAnswer,
        CancellationToken cancellationToken
    )
    {
        GraderRunResult[] graded = GraderRunner.IsExact(grader)
            ? [GraderRunner.Run(grader, baseAnswer.Text, item), GraderRunner.Run(grader, tunedAnswer.Text, item)]
            : await Task.WhenAll(
                    provider.RunGraderAsync(grader, baseAnswer.Text, item, cancellationToken),
                    provider.RunGraderAsync(grader, tunedAnswer.Text, item, cancellationToken)
                )
                .ConfigureAwait(false);
        double baseReward = graded[0].Reward;
        double tunedReward = graded[1].Reward;
        return new EvaluatedRow(
            id,
            line,
            row.Topic,
            row.LastUser,
            row.Reference,
            baseAnswer.Text,
            baseReward,
            tunedAnswer.Text,
            tunedReward,
            tunedReward > baseReward ? Preference.FineTuned
                : baseReward > tunedReward ? Preference.Base
                : Preference.Tie
        )
        {
            Usage = new EvaluationUsage(
                baseAnswer.PromptTokens,
                baseAnswer.CompletionTokens,
                tunedAnswer.PromptTokens,
                tunedAnswer.CompletionTokens,
                graded.Sum(g => g.ModelInputTokens),
                graded.Sum(g => g.ModelOutputTokens)
            ),
        };
    }

    /// <summary>A supervised or DPO row: the judge scores each answer against the reference and compares them in both orders.</summary>
    private async Task<EvaluatedRow> JudgedAsync(
        string id,
        long line,
        HeldOutRow row,
        EvaluationModels models,
        ChatAnswer baseAnswer,
        ChatAnswer tunedAnswer,
        CancellationToken cancellationToken
    )
    {
        string prompt = row.LastUser;
        string reference = row.Reference ?? "";
        ChatAnswer[] judged = await Task.WhenAll(
                JudgeAsync(
                    EvaluationPrompts.ScoreRubric,
                    EvaluationPrompts.ScoreRequest(prompt, reference, baseAnswer.Text),
                    models,
                    cancellationToken
                ),
                JudgeAsync(
                    EvaluationPrompts.ScoreRubric,
                    EvaluationPrompts.ScoreRequest(prompt, reference, tunedAnswer.Text),
                    models,
                    cancellationToken
                ),
                JudgeAsync(
                    EvaluationPrompts.PairwiseRubric,
                    EvaluationPrompts.PairwiseRequest(prompt, reference, tunedAnswer.Text, baseAnswer.Text),
                    models,
                    cancellationToken
                ),
                JudgeAsync(
                    EvaluationPrompts.PairwiseRubric,
                    EvaluationPrompts.PairwiseRequest(prompt, reference, baseAnswer.Text, tunedAnswer.Text),
                    models,
                    cancellationToken
                )
            )
            .ConfigureAwait(false);
        return new EvaluatedRow(
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
}
