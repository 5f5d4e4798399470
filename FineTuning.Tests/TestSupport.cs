using System.Text;
using FineTuning.Core.Datasets;

namespace FineTuning.Tests;

/// <summary>A folder under the system temp directory, deleted with the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "finetuning-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string content) => Write(name, Encoding.UTF8.GetBytes(content));

    public string Write(string name, byte[] content)
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException) { }
    }
}

/// <summary>Rows and datasets written for the tests.</summary>
public static class Rows
{
    public static string Chat(
        string user = "What is 2 + 2?",
        string assistant = "4.",
        string? system = "You are terse.",
        string? topic = null,
        string extra = ""
    )
    {
        var sb = new StringBuilder("{\"messages\": [");
        if (system is not null)
            sb.Append($"{{\"role\": \"system\", \"content\": {Q(system)}}}, ");
        sb.Append($"{{\"role\": \"user\", \"content\": {Q(user)}}}, {{\"role\": \"assistant\", \"content\": {Q(assistant)}}}]");
        if (topic is not null)
            sb.Append($", \"topic\": {Q(topic)}");
        sb.Append(extra);
        sb.Append('}');
        return sb.ToString();
    }

    public static string Dpo(string user, string preferred, string nonPreferred) =>
        $"{{\"input\": {{\"messages\": [{{\"role\": \"user\", \"content\": {Q(user)}}}]}}, \"preferred_output\": [{{\"role\": "
        + $"\"assistant\", \"content\": {Q(preferred)}}}], \"non_preferred_output\": [{{\"role\": \"assistant\", \"content\": "
        + $"{Q(nonPreferred)}}}]}}";

    public static string Rft(string user, string answer) =>
        $"{{\"messages\": [{{\"role\": \"user\", \"content\": {Q(user)}}}], \"reference_answer\": {Q(answer)}}}";

    /// <summary>n distinct valid chat rows.</summary>
    public static IEnumerable<string> ManyChats(int n, Func<int, string?>? topic = null) =>
        Enumerable.Range(0, n).Select(i => Chat($"Question {i}?", $"Answer {i}.", topic: topic?.Invoke(i)));

    public static string Jsonl(IEnumerable<string> rows) => string.Concat(rows.Select(r => r + "\n"));

    public static string Q(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    public static DatasetReport Validate(string content, ValidationOptions? options = null)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        return Validate(stream, options);
    }

    public static DatasetReport Validate(byte[] content, ValidationOptions? options = null)
    {
        using var stream = new MemoryStream(content);
        return Validate(stream, options);
    }

    private static DatasetReport Validate(Stream stream, ValidationOptions? options)
    {
        options ??= new ValidationOptions();
        var validator = new DatasetValidator(options);
        return validator.Finish([validator.ValidateShard(stream)], "test.jsonl");
    }
}

/// <summary>A clock the tests move by hand; its timers fire, in due order, when it is moved past their due time.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
            return _now;
    }

    /// <summary>The due time of the earliest armed timer.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_gate)
                return _timers.Count == 0 ? null : _timers.Min(t => t.Due);
        }
    }

    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_gate)
            target = _now + by;
        while (true)
        {
            ManualTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.Due <= target).OrderBy(t => t.Due).FirstOrDefault();
                if (next is null)
                {
                    _now = target;
                    return;
                }

                _timers.Remove(next);
                if (next.Due > _now)
                    _now = next.Due;
            }

            next.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualTimeProvider clock, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public DateTimeOffset Due { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                clock._timers.Remove(this);
                _period = period;
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    Due = clock._now + dueTime;
                    clock._timers.Add(this);
                }
            }

            return true;
        }

        public void Fire()
        {
            if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
                Change(_period, _period);
            callback(state);
        }

        public void Dispose()
        {
            lock (clock._gate)
                clock._timers.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>The repository the tests were built from.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string File(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "FineTuning.sln")))
                return dir.FullName;
        }

        throw new DirectoryNotFoundException("FineTuning.sln not found above the test output folder.");
    }
}

/// <summary>The product's provider, pointed at a running emulator.</summary>
public static class Emulated
{
    public static FineTuning.OpenAI.OpenAIFineTuningProvider Provider(FineTuning.Emulator.EmulatorServer emulator, string key) =>
        FineTuning.OpenAI.OpenAIFineTuningProvider.Create(
            new FineTuning.OpenAI.ProviderOptions
            {
                Kind = FineTuning.OpenAI.ProviderKind.Emulator,
                Endpoint = emulator.OpenAIEndpoint,
                ApiKey = key,
            }
        );
}

/// <summary>An emulated Azure OpenAI account's deployments, listed as Resource Manager lists them.</summary>
internal static class EmulatedAccount
{
    public static async Task<System.Text.Json.JsonElement[]> DeploymentsAsync(
        FineTuning.Emulator.EmulatorServer emulator,
        string account,
        string key
    )
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(
            HttpMethod.Get,
            new Uri(emulator.ArmEndpoint, $"{account.TrimStart('/')}/deployments?api-version=2024-10-01")
        );
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using HttpResponseMessage response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("value").EnumerateArray().Select(d => d.Clone())];
    }
}
