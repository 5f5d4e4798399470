using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using FineTuning.Local.Cli;

namespace FineTuning.Tests.Cli;

public partial class EmulatorCommandTests
{
    [Fact]
    public async Task Emulator_ServesTheProtocolWithTheKeyGiven_UntilCancelled()
    {
        using var stop = new CancellationTokenSource();
        (Task<int> run, Match url) = await StartAsync(stop.Token, "--api-key", "local-key", "--speed", "100");

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("api-key", "local-key");
        HttpResponseMessage ok = await http.GetAsync(new Uri(new Uri(url.Value), "files"));
        http.DefaultRequestHeaders.Remove("api-key");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "other-key");
        HttpResponseMessage denied = await http.GetAsync(new Uri(new Uri(url.Value), "files"));
        await stop.CancelAsync();

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Equal(0, await run);
    }

    [Fact]
    public async Task Emulator_InjectsTheFaultsItIsGiven_InOrder()
    {
        using var stop = new CancellationTokenSource();
        (Task<int> run, Match url) = await StartAsync(stop.Token, "--fault", "GET /files 503:1", "--fault", "GET /files slow:0.5");

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("api-key", "any");
        HttpResponseMessage unavailable = await http.GetAsync(new Uri(new Uri(url.Value), "files"));
        var started = DateTime.UtcNow;
        HttpResponseMessage slow = await http.GetAsync(new Uri(new Uri(url.Value), "files"));
        TimeSpan took = DateTime.UtcNow - started;
        HttpResponseMessage ok = await http.GetAsync(new Uri(new Uri(url.Value), "files"));
        await stop.CancelAsync();
        await run;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), unavailable.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);
        Assert.True(took >= TimeSpan.FromSeconds(0.45), $"took {took}");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Theory]
    [InlineData("GET /files")]
    [InlineData("PUT /files 500")]
    [InlineData("GET /files 200")]
    [InlineData("GET /files slow:forever")]
    public async Task Emulator_ABadFault_IsAUsageErrorThatShowsTheSyntax(string spec)
    {
        var stderr = new StringWriter();

        int code = await FinetuneCli.RunAsync(
            ["emulator", "--port", "0", "--fault", spec],
            TextWriter.Null,
            stderr,
            CancellationToken.None
        );

        Assert.Equal(2, code);
        Assert.Contains("'POST /files 429:2'", stderr.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Starts <c>finetune emulator --port 0</c> with <paramref name="options"/> and waits for the URL it prints.</summary>
    private static async Task<(Task<int> Run, Match Url)> StartAsync(CancellationToken stop, params string[] options)
    {
        var stdout = new StringWriter();
        Task<int> run = FinetuneCli.RunAsync(
            ["emulator", "--port", "0", .. options],
            TextWriter.Synchronized(stdout),
            TextWriter.Null,
            stop
        );
        Match url = Match.Empty;
        for (int i = 0; i < 200 && !url.Success; i++)
        {
            await Task.Delay(25);
            url = Url().Match(stdout.ToString());
        }

        Assert.True(url.Success, stdout.ToString());
        return (run, url);
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/v1/")]
    private static partial Regex Url();
}
