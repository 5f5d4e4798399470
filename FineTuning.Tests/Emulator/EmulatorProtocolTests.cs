using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FineTuning.Emulator;

namespace FineTuning.Tests.Emulator;

/// <summary>
/// The emulator's answers have the shapes of the real API: the keys and value kinds of examples written for this
/// project from the OpenAI API reference (Recorded/*.json).
/// </summary>
public sealed class EmulatorProtocolTests : IAsyncLifetime, IDisposable
{
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero));
    private readonly FaultPlan _faults = new();
    private EmulatorServer _emulator = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(
            new EmulatorOptions
            {
                Time = _clock,
                Speed = 1,
                Faults = _faults,
            }
        );
        _http = new HttpClient { BaseAddress = _emulator.OpenAIEndpoint };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "any-key");
    }

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    public void Dispose() => _http.Dispose();

    private static JsonElement Recorded(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Emulator", "Recorded", name))).RootElement.Clone();

    private static void AssertSameShape(JsonElement expected, JsonElement actual, string path = "$")
    {
        Assert.True(expected.ValueKind == JsonValueKind.Object && actual.ValueKind == JsonValueKind.Object, path);
        string[] want = [.. expected.EnumerateObject().Select(p => p.Name).Order()];
        string[] got = [.. actual.EnumerateObject().Select(p => p.Name).Order()];
        Assert.True(want.SequenceEqual(got), $"{path}: expected keys {string.Join(",", want)}; got {string.Join(",", got)}");
        foreach (JsonProperty p in expected.EnumerateObject())
        {
            JsonElement a = actual.GetProperty(p.Name);
            if (p.Value.ValueKind is JsonValueKind.Null || a.ValueKind is JsonValueKind.Null)
                continue;
            Assert.True(Kind(p.Value) == Kind(a), $"{path}.{p.Name}: expected {p.Value.ValueKind}, got {a.ValueKind}");
            if (
                p.Value.ValueKind == JsonValueKind.Object
                && p.Name is not ("data" or "metrics" or "metadata" or "hyperparameters" or "method" or "errors")
            )
            {
                AssertSameShape(p.Value, a, $"{path}.{p.Name}");
            }
        }
    }

    private static JsonValueKind Kind(JsonElement e) => e.ValueKind == JsonValueKind.False ? JsonValueKind.True : e.ValueKind;

    private async Task<JsonElement> Send(HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using HttpResponseMessage response = await _http.SendAsync(request);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private async Task<JsonElement> Upload(string content)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(content), "file", "train.jsonl" },
            { new StringContent("fine-tune"), "purpose" },
        };
        return await Send(HttpMethod.Post, "files", form);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task FilesJobsEventsCheckpointsAndErrors_HaveTheShapesOfTheApi()
    {
        JsonElement file = await Upload(Rows.Jsonl(Rows.ManyChats(12)));
        AssertSameShape(Recorded("file.json"), file);
        AssertSameShape(Recorded("list.json"), await Send(HttpMethod.Get, "files"));

        JsonElement job = await Send(
            HttpMethod.Post,
            "fine_tuning/jobs",
            Json(
                $$$"""{"model":"gpt-4o-mini-2024-07-18","training_file":"{{{file.GetProperty("id").GetString()}}}","metadata":{"run_id":"run-1"}}"""
            )
        );
        AssertSameShape(Recorded("job.json"), job);
        _clock.Advance(TimeSpan.FromHours(2));
        string id = job.GetProperty("id").GetString()!;
        AssertSameShape(Recorded("job.json"), await Send(HttpMethod.Get, $"fine_tuning/jobs/{id}"));

        JsonElement events = await Send(HttpMethod.Get, $"fine_tuning/jobs/{id}/events?limit=3");
        AssertSameShape(Recorded("list.json"), events);
        Assert.True(events.GetProperty("has_more").GetBoolean());
        AssertSameShape(
            Recorded("event.json"),
            events.GetProperty("data").EnumerateArray().First(e => e.GetProperty("type").GetString() == "metrics")
        );

        JsonElement checkpoints = await Send(HttpMethod.Get, $"fine_tuning/jobs/{id}/checkpoints");
        AssertSameShape(Recorded("checkpoint.json"), checkpoints.GetProperty("data")[0]);

        AssertSameShape(
            Recorded("error.json"),
            await Send(HttpMethod.Post, "fine_tuning/jobs", Json("""{"model":"m","training_file":"file-x"}"""))
        );
    }

    [Fact]
    public async Task UploadsAndGraderRun_HaveTheShapesOfTheApi()
    {
        string content = Rows.Jsonl(Rows.ManyChats(12));
        JsonElement upload = await Send(
            HttpMethod.Post,
            "uploads",
            Json(
                $$"""{"filename":"train.jsonl","purpose":"fine-tune","bytes":{{Encoding.UTF8.GetByteCount(content)}},"mime_type":"application/jsonl"}"""
            )
        );
        string uploadId = upload.GetProperty("id").GetString()!;
        using var part = new MultipartFormDataContent { { new StringContent(content), "data", "part" } };
        string partId = (await Send(HttpMethod.Post, $"uploads/{uploadId}/parts", part)).GetProperty("id").GetString()!;
        JsonElement completed = await Send(HttpMethod.Post, $"uploads/{uploadId}/complete", Json($$"""{"part_ids":["{{partId}}"]}"""));
        AssertSameShape(Recorded("upload.json"), completed);

        JsonElement run = await Send(
            HttpMethod.Post,
            "fine_tuning/alpha/graders/run",
            Json(
                """{"grader":{"type":"string_check","name":"g","input":"{{sample.output_text}}","reference":"{{item.a}}","operation":"eq"},"model_sample":"x","item":{"a":"x"}}"""
            )
        );
        AssertSameShape(Recorded("grader-run.json"), run);
    }

    [Fact]
    public async Task JobFaults_FailWhileRunningOrStallInQueue()
    {
        string fileId = (await Upload(Rows.Jsonl(Rows.ManyChats(12)))).GetProperty("id").GetString()!;
        _faults.Add(JobFault.Fail);
        string failing = (await Send(HttpMethod.Post, "fine_tuning/jobs", Json($$"""{"model":"m","training_file":"{{fileId}}"}""")))
            .GetProperty("id")
            .GetString()!;
        _faults.Add(JobFault.StallInQueue);
        string stalling = (await Send(HttpMethod.Post, "fine_tuning/jobs", Json($$"""{"model":"m","training_file":"{{fileId}}"}""")))
            .GetProperty("id")
            .GetString()!;
        _clock.Advance(TimeSpan.FromDays(1));

        JsonElement failed = await Send(HttpMethod.Get, $"fine_tuning/jobs/{failing}");
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Equal("server_error", failed.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("queued", (await Send(HttpMethod.Get, $"fine_tuning/jobs/{stalling}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task ReinforcementJob_ReportsRisingReward()
    {
        string fileId = (await Upload(Rows.Jsonl(Enumerable.Range(0, 12).Select(i => Rows.Rft($"q{i}", $"{i}")))))
            .GetProperty("id")
            .GetString()!;
        string body =
            """{"model":"o4-mini-2025-04-16","training_file":"FILE","method":{"type":"reinforcement","reinforcement":{"grader":{"type":"string_check","name":"g","input":"{{sample.output_text}}","reference":"{{item.reference_answer}}","operation":"eq"}}}}""".Replace(
                "FILE",
                fileId,
                StringComparison.Ordinal
            );
        string id = (await Send(HttpMethod.Post, "fine_tuning/jobs", Json(body))).GetProperty("id").GetString()!;
        _clock.Advance(TimeSpan.FromHours(2));

        using HttpResponseMessage csv = await _http.GetAsync($"files/{id}-results.csv/content");
        var rows = FineTuning.Core.Providers.ResultsCsv.Parse(await csv.Content.ReadAsStringAsync());

        Assert.Equal("succeeded", (await Send(HttpMethod.Get, $"fine_tuning/jobs/{id}")).GetProperty("status").GetString());
        Assert.True(rows[^1].TrainReward > rows[0].TrainReward);
        Assert.True(rows[^1].ValidReward > rows[0].ValidReward);
    }

    [Fact]
    public async Task Reinforcement_WithoutGrader_IsRejectedWithTheParam()
    {
        JsonElement error = await Send(
            HttpMethod.Post,
            "fine_tuning/jobs",
            Json("""{"model":"o4-mini","training_file":"file-x","method":{"type":"reinforcement","reinforcement":{}}}""")
        );

        Assert.Equal("training_file", error.GetProperty("error").GetProperty("param").GetString());
    }
}
