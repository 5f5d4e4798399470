using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Graders;
using FineTuning.Core.Serialization;

namespace FineTuning.Core.Evaluation;

/// <summary>
/// What a held-out row asks the models, in each format the product trains: a supervised row's messages up to its last
/// assistant turn (the reference); a DPO row's input messages (the reference: its preferred output); a reinforcement
/// row's messages as they are (the reference: what its grader compares with, when a string check or a text similarity
/// says, which the emulator is also given as the right answer).
/// </summary>
internal sealed record HeldOutRow(JsonElement Prompt, string? Reference, string LastUser, string Topic, string? Expected)
{
    public static HeldOutRow? Read(JsonElement row, string topicField, JsonElement? grader)
    {
        string topic = Topics.Read(row, topicField);
        if (grader is { } g && Messages(row, "messages") is { } all)
        {
            string? reference = GraderReference(g, row);
            return new HeldOutRow(Array(all), reference, LastUserText(all), topic, reference);
        }

        if (Messages(row, "messages") is { } turns)
        {
            int last = System.Array.FindLastIndex(turns, t => Role(t) == "assistant");
            return last < 1 ? null : new HeldOutRow(Array(turns[..last]), Text(turns[last]), LastUserText(turns[..last]), topic, null);
        }

        if (
            row.TryGetProperty("input", out JsonElement input)
            && input.ValueKind == JsonValueKind.Object
            && Messages(input, "messages") is { Length: > 0 } prompt
            && Messages(row, "preferred_output") is { Length: > 0 } preferred
        )
        {
            return new HeldOutRow(Array(prompt), Text(preferred[^1]), LastUserText(prompt), topic, null);
        }

        return null;
    }

    /// <summary>
    /// What a grader compares an answer with, rendered for the row: a string check's or text similarity's reference, or
    /// the item's values a model grader's prompt shows it (what it judges the answer against).
    /// </summary>
    internal static string? GraderReference(JsonElement grader, JsonElement item)
    {
        string type = grader.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "";
        if (type is "string_check" or "text_similarity" && grader.TryGetProperty("reference", out JsonElement reference))
        {
            return GraderRunner.Render(reference.GetString() ?? "", "", item);
        }

        if (
            type is "score_model" or "label_model"
            && grader.TryGetProperty("input", out JsonElement prompt)
            && GraderRunner.RenderItemOnly(prompt, item).Trim() is { Length: > 0 } shown
        )
        {
            return shown;
        }

        if (type == "multi" && grader.TryGetProperty("graders", out JsonElement subs) && subs.ValueKind == JsonValueKind.Object)
        {
            return subs.EnumerateObject().Select(s => GraderReference(s.Value, item)).FirstOrDefault(r => r is not null);
        }

        return null;
    }

    private static JsonElement[]? Messages(JsonElement row, string name) =>
        row.TryGetProperty(name, out JsonElement messages) && messages.ValueKind == JsonValueKind.Array
            ? [.. messages.EnumerateArray().Where(m => m.ValueKind == JsonValueKind.Object)]
            : null;

    private static JsonElement Array(JsonElement[] messages) =>
        JsonSerializer.SerializeToElement(messages, ReportSerializer.TypeInfo<JsonElement[]>());

    private static string? Role(JsonElement message) =>
        message.TryGetProperty("role", out JsonElement role) && role.ValueKind == JsonValueKind.String ? role.GetString() : null;

    private static string LastUserText(JsonElement[] messages) => messages.Where(m => Role(m) == "user").Select(Text).LastOrDefault() ?? "";

    private static string Text(JsonElement message) =>
        !message.TryGetProperty("content", out JsonElement content) ? ""
        : content.ValueKind == JsonValueKind.String ? content.GetString()!
        : content.ValueKind == JsonValueKind.Array
            ? string.Concat(
                content
                    .EnumerateArray()
                    .Where(p =>
                        p.ValueKind == JsonValueKind.Object
                        && p.TryGetProperty("text", out JsonElement x)
                        && x.ValueKind == JsonValueKind.String
                    )
                    .Select(p => p.GetProperty("text").GetString())
            )
        : "";
}
