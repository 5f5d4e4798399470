using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;

namespace FineTuning.OpenAI;

public sealed partial class OpenAIFineTuningProvider
{
    /// <summary>
    /// Chat completions as protocol JSON on the same pipeline (retries, Retry-After, auth): a row's messages go as
    /// written (content parts, tool calls and all), which typed SDK messages would have to rebuild. Temperature 0, so
    /// an answer asked again after a crash is as near the same as the service makes it.
    /// </summary>
    public async Task<ChatAnswer> CompleteChatAsync(
        string model,
        JsonElement messages,
        string? topic = null,
        string? expected = null,
        CancellationToken cancellationToken = default
    )
    {
        var headers = new Dictionary<string, string>();
        if (topic is not null)
            headers[EvaluationPrompts.TopicHeader] = Uri.EscapeDataString(topic);
        if (expected is not null && _options.Kind == ProviderKind.Emulator)
            headers[EvaluationPrompts.ExpectedHeader] = Uri.EscapeDataString(expected);
        string body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = JsonNode.Parse(messages.GetRawText()),
            ["temperature"] = 0,
        }.ToJsonString();
        BinaryData raw = await SendRawAsync(
                "POST",
                "chat/completions",
                cancellationToken,
                body,
                headers: headers.Count == 0 ? null : headers
            )
            .ConfigureAwait(false);
        using JsonDocument answer = JsonDocument.Parse(raw);
        JsonElement root = answer.RootElement;
        string text =
            root.TryGetProperty("choices", out JsonElement choices)
            && choices.ValueKind == JsonValueKind.Array
            && choices.GetArrayLength() > 0
            && choices[0].TryGetProperty("message", out JsonElement message)
            && message.TryGetProperty("content", out JsonElement content)
            && content.ValueKind == JsonValueKind.String
                ? content.GetString()!
                : "";
        int Tokens(string name) =>
            root.TryGetProperty("usage", out JsonElement usage) && usage.TryGetProperty(name, out JsonElement n) && n.TryGetInt32(out int v)
                ? v
                : 0;
        return new ChatAnswer(text, Tokens("prompt_tokens"), Tokens("completion_tokens"));
    }
}
