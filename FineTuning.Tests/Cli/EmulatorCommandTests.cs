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
        var stdout = new StringWriter();
        using var stop = new CancellationTokenSource();
        Task<int> run = FinetuneCli.RunAsync(["emulator", "--port", "0", "--api-key", "local-key", "--speed", "100"], TextWriter.Synchronized(stdout), TextWriter.Null, stop.Token);

        Match url = Match.Empty;
        for (int i = 0; i < 200 && !url.Success; i++)
        {
            await Task.Delay(25);
            url = Url().Match(stdout.ToString());
        }

        Assert.True(url.Success, stdout.ToString());
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

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/v1/")]
    private static partial Regex Url();
}
