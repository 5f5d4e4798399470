using System.Text.Json;
using FineTuning.Local.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FineTuning.Tests.Runtime;

/// <summary><c>finetune serve</c> as a generic host: settings validated at start, parts started in order, said through the log.</summary>
public sealed class LocalServerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private ServeOptions Serve(string address = "127.0.0.1") => new(_dir.File("data"), address, 0, ApiKey: null, FolderDrop: true);

    [Fact]
    public async Task Serve_StartsTheApiOverTheDataDirectory_SaysWhereThroughTheLog_AndFreesItOnStop()
    {
        var output = new StringWriter();
        using IHost app = LocalServer.Build(Serve(), output, Settings());

        await app.StartAsync();
        LocalApi api = app.Services.GetRequiredService<LocalServer>().Api!;
        using var http = new HttpClient { BaseAddress = api.Root };
        using JsonDocument runs = JsonDocument.Parse(await http.GetStringAsync(new Uri("api/runs", UriKind.Relative)));
        Assert.True(LocalRunHost.IsOwned(_dir.File("data")));
        await app.StopAsync();

        Assert.Equal(JsonValueKind.Array, runs.RootElement.ValueKind);
        Assert.False(LocalRunHost.IsOwned(_dir.File("data")));
        string said = output.ToString();
        Assert.Contains("jobs run on the built-in emulator, 100x faster", said, StringComparison.Ordinal);
        Assert.Contains($"listening on {api.Root}api/runs", said, StringComparison.Ordinal);
        Assert.Contains("drop .jsonl files into", said, StringComparison.Ordinal);
        Assert.DoesNotContain("Application started", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithBadSettings_DoesNotStart_NamesEveryOne_AndLeavesTheDataDirectoryFree()
    {
        using IHost app = LocalServer.Build(
            Serve(),
            TextWriter.Null,
            Settings(("FineTuning:Emulator:Speed", "0"), ("FineTuning:Runtime:MaxConcurrentActivities", "0"))
        );

        Exception refused = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());

        string problems = LocalComposition.Problems(refused)!;
        Assert.Contains("FineTuning__Emulator__Speed must be", problems, StringComparison.Ordinal);
        Assert.Contains("FineTuning__Runtime__MaxConcurrentActivities must be at least 1", problems, StringComparison.Ordinal);
        Assert.False(LocalRunHost.IsOwned(_dir.File("data")));
    }

    [Fact]
    public async Task Serve_OnAnOpenAddressWithoutAKey_DoesNotStart_AndLeavesTheDataDirectoryFree()
    {
        using IHost app = LocalServer.Build(Serve("0.0.0.0"), TextWriter.Null, Settings());

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => app.StartAsync());

        Assert.Contains("pass --api-key", refused.Message, StringComparison.Ordinal);
        Assert.False(LocalRunHost.IsOwned(_dir.File("data")));
    }
}
