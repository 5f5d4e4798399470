using FineTuning.Local.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Playwright;

namespace FineTuning.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, driven by Playwright) against <c>finetune serve</c>'s composition
/// on the built-in emulator: upload, report, launch, watch, approve; dataset content shown as text; the API key asked
/// once. Every wait is on the page's state, never a sleep.
/// </summary>
public sealed class DashboardTests : IAsyncLifetime, IDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    private readonly TempDir _dir = new();
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install chromium (the dashboard's tests drive it).");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    public void Dispose() => _dir.Dispose();

    /// <summary><c>finetune serve</c> as the command composes it, on a fast emulator, with the folder drop on.</summary>
    private async Task<(IHost App, Uri Root)> ServeAsync(string? apiKey = null)
    {
        IConfiguration settings = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["FineTuning:Emulator:Speed"] = "2000" })
            .Build();
        IHost app = LocalServer.Build(
            new ServeOptions(_dir.File("data"), "127.0.0.1", 0, apiKey, FolderDrop: true),
            TextWriter.Null,
            settings
        );
        await app.StartAsync();
        return (app, app.Services.GetRequiredService<LocalServer>().Api!.Root);
    }

    private static string Dataset(Func<int, string> topic) => Rows.Jsonl(Rows.ManyChats(300, i => topic(i)));

    private static async Task UploadAndLaunchAsync(IPage page, string file, bool auto)
    {
        await page.SetInputFilesAsync("#file", file);
        await page.ClickAsync("#upload");
        await Assertions.Expect(page.Locator("#launch-form")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        if (auto)
            await page.CheckAsync("#auto");
        await page.ClickAsync("#launch");
    }

    private static Task WaitForStatusAsync(IPage page, string status) =>
        Assertions.Expect(page.Locator("#run-status")).ToHaveAttributeAsync("data-status", status, new() { Timeout = 90_000 });

    [Fact]
    public async Task ANewcomer_UploadsTheDataset_SeesItsReport_Launches_WatchesIt_AndApprovesTheModel()
    {
        (IHost app, Uri root) = await ServeAsync();
        try
        {
            IPage page = await _browser.NewPageAsync();
            IResponse? first = await page.GotoAsync(root.ToString());
            string file = _dir.Write(
                "support.jsonl",
                Dataset(i =>
                    i % 3 == 0 ? "billing"
                    : i % 3 == 1 ? "shipping"
                    : "returns"
                )
            );

            await page.SetInputFilesAsync("#file", file);
            await page.ClickAsync("#upload");
            await Assertions.Expect(page.Locator("#report")).ToContainTextAsync("Fit: 300 supervised examples", new() { Timeout = 30_000 });
            // Uploading started nothing (the folder drop leaves uploads alone): the runs table is still empty.
            Assert.Equal(0, await page.Locator("#runs tbody tr").CountAsync());
            await page.FillAsync("#opt-suffix", "support");
            await page.FillAsync("#opt-epochs", "2");
            await page.ClickAsync("#launch");
            await Assertions.Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(1);
            await WaitForStatusAsync(page, "awaitingApproval");

            await Assertions.Expect(page.Locator("#evaluation-table")).ToContainTextAsync("billing");
            await Assertions.Expect(page.Locator("#evaluation")).ToContainTextAsync("Promotion policy: passed.");
            await page.ClickAsync("#approve");
            await WaitForStatusAsync(page, "succeeded");

            // The training curves: train and validation loss drawn per step.
            await Assertions.Expect(page.Locator("#curves polyline[data-series=train]")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#curves polyline[data-series=validation]")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#curves")).ToContainTextAsync("Training: improved significantly");

            // The registry: the model is production, version 1, with its lineage; archived from the page.
            ILocator model = page.Locator("#models tbody tr").First;
            await Assertions.Expect(model).ToContainTextAsync("production");
            // The options went with the run: its suffix names the model and the registry entry.
            await Assertions.Expect(model).ToContainTextAsync("support v1");
            await Assertions.Expect(model).ToContainTextAsync(":support:");
            await Assertions.Expect(model).ToContainTextAsync("dataset datasets/support.jsonl");
            await model.Locator("button[data-action=archive]").ClickAsync();
            await Assertions.Expect(page.Locator("#models tbody tr").First).ToContainTextAsync("archived");

            Assert.Contains("script-src 'self'", first!.Headers["content-security-policy"], StringComparison.Ordinal);

            // Readable on a phone: at 390 px the page does not scroll sideways (wide tables scroll in their own box).
            await page.SetViewportSizeAsync(390, 844);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"));
            Assert.Equal(1.0, await page.Locator("#run-progress").EvaluateAsync<double>("p => p.value / p.max"));
        }
        finally
        {
            await app.StopAsync();
            app.Dispose();
        }
    }

    [Fact]
    public async Task DatasetContentThatLooksLikeMarkup_IsShownAsText_AndRunsNothing()
    {
        (IHost app, Uri root) = await ServeAsync();
        try
        {
            IPage page = await _browser.NewPageAsync();
            bool dialog = false;
            page.Dialog += (_, d) =>
            {
                dialog = true;
                _ = d.DismissAsync();
            };
            await page.GotoAsync(root.ToString());
            const string Script = "<script>document.title='pwned'</script>";
            const string Image = "\"><img src=x onerror=\"document.title='pwned'\">";
            string file = _dir.Write("tricky.jsonl", Dataset(i => i % 2 == 0 ? Script : Image));

            await UploadAndLaunchAsync(page, file, auto: true);
            await WaitForStatusAsync(page, "succeeded");
            await Assertions.Expect(page.Locator("#evaluation-table")).ToContainTextAsync(Script);

            Assert.Contains(Image, await page.Locator("#evaluation-table").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(0, await page.Locator("#evaluation img, #evaluation script").CountAsync());
            Assert.Equal("FineTuning", await page.TitleAsync());
            Assert.False(dialog);
        }
        finally
        {
            await app.StopAsync();
            app.Dispose();
        }
    }

    [Fact]
    public async Task BeyondLoopback_ThePageAsksForTheKeyOnce_AndWithoutItNothingLoads()
    {
        (IHost app, Uri root) = await ServeAsync(apiKey: "dashboard-key");
        try
        {
            IPage page = await _browser.NewPageAsync();
            await page.GotoAsync(root.ToString());

            await Assertions.Expect(page.Locator("#key")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync("API key");
            await page.FillAsync("#key-input", "dashboard-key");
            await page.ClickAsync("#key-form button");

            await Assertions.Expect(page.Locator("#key")).ToBeHiddenAsync();
            await page.ReloadAsync();
            await Assertions.Expect(page.Locator("#notice")).Not.ToContainTextAsync("API key", new() { Timeout = 5_000 });
            await Assertions.Expect(page.Locator("#key")).ToBeHiddenAsync();
        }
        finally
        {
            await app.StopAsync();
            app.Dispose();
        }
    }
}
