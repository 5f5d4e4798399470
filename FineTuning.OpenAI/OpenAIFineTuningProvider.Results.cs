using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Providers;

namespace FineTuning.OpenAI;

public sealed partial class OpenAIFineTuningProvider
{
    public async Task<IReadOnlyList<ProviderEvent>> GetEventsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var events = new List<ProviderEvent>();
        await foreach (
            JsonElement e in ListAsync($"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/events", cancellationToken).ConfigureAwait(false)
        )
        {
            events.Add(ReadEvent(e));
        }

        events.Reverse(); // the API lists newest first
        return events;
    }

    public async Task<IReadOnlyList<ProviderEvent>> GetRecentEventsAsync(
        string jobId,
        int limit,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        JsonElement page = await SendAsync(
                "GET",
                $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/events?limit={Math.Min(limit, 100)}",
                null,
                cancellationToken
            )
            .ConfigureAwait(false);
        return [.. page.GetProperty("data").EnumerateArray().Select(ReadEvent)];
    }

    private static ProviderEvent ReadEvent(JsonElement e) =>
        new(
            e.GetProperty("id").GetString()!,
            DateTimeOffset.FromUnixTimeSeconds(e.GetProperty("created_at").GetInt64()),
            e.TryGetProperty("level", out JsonElement level) ? level.GetString() ?? "info" : "info",
            e.TryGetProperty("message", out JsonElement message) ? message.GetString() ?? "" : "",
            e.TryGetProperty("type", out JsonElement type) ? type.GetString() : null,
            e.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Object ? data.Clone() : null
        );

    public async Task<IReadOnlyList<ProviderCheckpoint>> GetCheckpointsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var checkpoints = new List<ProviderCheckpoint>();
        await foreach (
            JsonElement c in ListAsync($"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}/checkpoints", cancellationToken)
                .ConfigureAwait(false)
        )
        {
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            if (c.TryGetProperty("metrics", out JsonElement m) && m.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in m.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.Number)
                        metrics[p.Name] = p.Value.GetDouble();
                }
            }

            checkpoints.Add(
                new ProviderCheckpoint(
                    c.GetProperty("id").GetString()!,
                    c.TryGetProperty("step_number", out JsonElement step) ? step.GetInt32() : 0,
                    c.TryGetProperty("fine_tuned_model_checkpoint", out JsonElement model) ? model.GetString() ?? "" : "",
                    DateTimeOffset.FromUnixTimeSeconds(c.GetProperty("created_at").GetInt64()),
                    metrics
                )
            );
        }

        return [.. checkpoints.OrderBy(c => c.Step)];
    }

    /// <summary>Every item of a paged list (<c>data</c>, <c>has_more</c>, <c>after</c>), 100 at a time.</summary>
    private async IAsyncEnumerable<JsonElement> ListAsync(
        string path,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        string? after = null;
        while (true)
        {
            string page =
                $"{path}{(path.Contains('?', StringComparison.Ordinal) ? '&' : '?')}limit=100"
                + (after is null ? "" : $"&after={Uri.EscapeDataString(after)}");
            JsonElement list = await SendAsync("GET", page, null, cancellationToken).ConfigureAwait(false);
            foreach (JsonElement item in list.GetProperty("data").EnumerateArray())
            {
                after = item.GetProperty("id").GetString();
                yield return item;
            }

            if (after is null || !list.TryGetProperty("has_more", out JsonElement more) || !more.GetBoolean())
            {
                yield break;
            }
        }
    }

    public async Task<IReadOnlyList<ResultRow>> GetResultsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        JsonElement job = await SendAsync("GET", $"fine_tuning/jobs/{Uri.EscapeDataString(jobId)}", null, cancellationToken)
            .ConfigureAwait(false);
        if (
            !job.TryGetProperty("result_files", out JsonElement files)
            || files.ValueKind != JsonValueKind.Array
            || files.GetArrayLength() == 0
        )
        {
            return [];
        }

        string fileId = files[0].GetString()!;
        BinaryData content = await SendRawAsync("GET", $"files/{Uri.EscapeDataString(fileId)}/content", cancellationToken)
            .ConfigureAwait(false);
        string csv = content.ToString();
        // Azure returns the results file base64-encoded; OpenAI returns the CSV itself.
        if (!csv.Contains(',', StringComparison.Ordinal))
        {
            try
            {
                csv = Encoding.UTF8.GetString(Convert.FromBase64String(csv.Trim()));
            }
            catch (FormatException) { }
        }

        return ResultsCsv.Parse(csv);
    }
}
