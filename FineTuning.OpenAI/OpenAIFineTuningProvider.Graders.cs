using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Providers;
using OpenAI.FineTuning;

namespace FineTuning.OpenAI;

public sealed partial class OpenAIFineTuningProvider
{
    public async Task<IReadOnlyList<string>> ValidateGraderAsync(JsonElement grader, CancellationToken cancellationToken = default)
    {
        string body = new JsonObject { ["grader"] = JsonNode.Parse(grader.GetRawText()) }.ToJsonString();
        try
        {
            await SendAsync("POST", "fine_tuning/alpha/graders/validate", body, cancellationToken).ConfigureAwait(false);
            return [];
        }
        catch (ProviderException ex) when (ex.Status == 400)
        {
            return [ex.Param is null ? ex.Message : $"{ex.Param}: {ex.Message}"];
        }
    }

    public async Task<FineTuning.Core.Graders.GraderRunResult> RunGraderAsync(
        JsonElement grader,
        string modelSample,
        JsonElement item,
        CancellationToken cancellationToken = default
    )
    {
        string body = new JsonObject
        {
            ["grader"] = JsonNode.Parse(grader.GetRawText()),
            ["model_sample"] = modelSample,
            ["item"] = JsonNode.Parse(item.GetRawText()),
        }.ToJsonString();
        JsonElement result = await SendAsync("POST", "fine_tuning/alpha/graders/run", body, cancellationToken).ConfigureAwait(false);
        var subs = new Dictionary<string, double>(StringComparer.Ordinal);
        if (result.TryGetProperty("sub_rewards", out JsonElement sub) && sub.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in sub.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Number)
                    subs[p.Name] = p.Value.GetDouble();
            }
        }

        var errors = new List<string>();
        if (
            result.TryGetProperty("metadata", out JsonElement meta)
            && meta.TryGetProperty("errors", out JsonElement errs)
            && errs.ValueKind == JsonValueKind.Object
        )
        {
            foreach (JsonProperty p in errs.EnumerateObject())
            {
                if (
                    p.Value.ValueKind == JsonValueKind.True
                    || (p.Value.ValueKind == JsonValueKind.String && p.Value.GetString()!.Length > 0)
                )
                {
                    errors.Add(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Name);
                }
            }
        }

        // The model graders' tokens, per model (each an object of token counts, named as the chat APIs name them).
        long input = 0,
            output = 0;
        if (result.TryGetProperty("model_grader_token_usage_per_model", out JsonElement usage) && usage.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty model in usage.EnumerateObject().Where(m => m.Value.ValueKind == JsonValueKind.Object))
            {
                input += Count(model.Value, "prompt_tokens") ?? Count(model.Value, "input_tokens") ?? 0;
                output += Count(model.Value, "completion_tokens") ?? Count(model.Value, "output_tokens") ?? 0;
            }
        }

        return new FineTuning.Core.Graders.GraderRunResult(result.GetProperty("reward").GetDouble(), subs, errors)
        {
            ModelInputTokens = input,
            ModelOutputTokens = output,
        };

        static long? Count(JsonElement counts, string name) =>
            counts.TryGetProperty(name, out JsonElement n) && n.TryGetInt64(out long value) ? value : null;
    }
}
