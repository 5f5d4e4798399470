using Microsoft.Playwright;

namespace FineTuning.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, driven by Playwright) against a <c>finetune serve</c> process on
/// the built-in emulator: upload, report, launch, watch, approve; dataset content shown as text; the API key asked
/// once. Every wait is on the page's state, never a sleep.
/// </summary>
public sealed class DashboardTests : IAsyncLifetime, IDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    private readonly TempDir _dir = new();
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private readonly System.Collections.Concurrent.ConcurrentBag<string> _scriptErrors = [];

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

    /// <summary>A real <c>finetune serve</c> process on the built-in emulator, 1000 times faster than real time.</summary>
    private Task<ServeProcess> ServeAsync(string? apiKey = null, double speed = 1000) =>
        ServeProcess.StartAsync(_dir.File("data"), speed, apiKey);

    /// <summary>A page whose script errors fail the test (<see cref="AssertNoScriptErrors"/>).</summary>
    private async Task<IPage> NewPageAsync(int width = 1280, int height = 900)
    {
        IPage page = await _browser.NewPageAsync(
            new()
            {
                ViewportSize = new() { Width = width, Height = height },
            }
        );
        page.PageError += (_, error) => _scriptErrors.Add(error);
        page.Console += (_, message) =>
        {
            // (The browser asks for /favicon.ico on its own, and a 401 is the page finding that it needs the key.)
            if (
                message.Type == "error"
                && !message.Location.Contains("/favicon.ico", StringComparison.Ordinal)
                && !message.Text.Contains("401", StringComparison.Ordinal)
            )
                _scriptErrors.Add($"{message.Text} ({message.Location})");
        };
        return page;
    }

    private void AssertNoScriptErrors() => Assert.True(_scriptErrors.IsEmpty, string.Join("\n", _scriptErrors));

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

    private async Task WaitForStatusAsync(IPage page, string status)
    {
        AssertNoScriptErrors();
        try
        {
            await Assertions.Expect(page.Locator("#run-status")).ToHaveAttributeAsync("data-status", status, new() { Timeout = 90_000 });
        }
        catch (PlaywrightException ex)
        {
            // What the page said (a launch refused, a run that failed) is the useful part of the failure.
            string said = await page.Locator("#notice").InnerTextAsync() + " / " + await page.Locator("#run-status").InnerTextAsync();
            throw new Xunit.Sdk.XunitException($"the run did not reach {status}: {said}\n{ex.Message}");
        }

        AssertNoScriptErrors();
    }

    [Fact]
    public async Task ANewcomer_UploadsTheDataset_SeesItsReport_Launches_WatchesIt_ApprovesTheModel_AndCancelsASecondRun()
    {
        // At 25 times real time the job trains for about 8 s: long enough to watch, short enough for a test.
        await using ServeProcess serve = await ServeAsync(speed: 25);
        IPage page = await NewPageAsync();
        IResponse? first = await page.GotoAsync(serve.Root.ToString());
        // The product's own sample: 180 support conversations over billing, shipping and returns (5 of them repeats).
        string file = Repo.File("samples/support-chat.jsonl");

        // Nothing to launch before a dataset is uploaded and checked (the options form is hidden, not just empty).
        await Assertions.Expect(page.Locator("#launch-form")).ToBeHiddenAsync();
        // Dropped on the upload form (a drop event carrying the file, as a browser sends it): picked and checked at once.
        await page.EvaluateAsync(
            """
            text => {
              const data = new DataTransfer();
              data.items.add(new File([text], "support-chat.jsonl", { type: "application/jsonl" }));
              const drop = new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true });
              document.querySelector("#upload-form").dispatchEvent(drop);
            }
            """,
            await File.ReadAllTextAsync(file)
        );
        await Assertions.Expect(page.Locator("#report")).ToContainTextAsync("Fit: 175 supervised examples", new() { Timeout = 30_000 });
        // Its repeats, with their lines and what to do about them.
        await Assertions.Expect(page.Locator("#report")).ToContainTextAsync("duplicate (warning)");
        await Assertions.Expect(page.Locator("#report")).ToContainTextAsync("Fix: Remove the repeat");
        // Uploading started nothing (the folder drop leaves uploads alone): the runs table is still empty.
        Assert.Equal(0, await page.Locator("#runs tbody tr").CountAsync());
        await page.FillAsync("#opt-suffix", "support");
        await page.FillAsync("#opt-epochs", "2");
        await page.ClickAsync("#launch");
        await Assertions.Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(1);

        // While the job trains: the progress bars part-way, on the run page and in the runs table, and the epoch (of 2) in
        // both, all from one refresh of the page.
        await page.WaitForFunctionAsync(
            """
            () => {
              const middle = p => p && p.max > 1 && p.value > 0 && p.value < p.max;
              const row = document.querySelector('#runs tbody tr');
              return middle(document.querySelector('#run-progress')) && middle(row && row.querySelector('progress'))
                && document.querySelector('#run-status').textContent.includes(' of 2') && row.textContent.includes(', epoch ');
            }
            """,
            null,
            new() { Timeout = 90_000, PollingInterval = 100 }
        );
        await Assertions.Expect(page.Locator("#timeline li[data-stage=Monitor]")).ToBeVisibleAsync();
        await WaitForStatusAsync(page, "awaitingApproval");

        // What the run learned, stage by stage: the validation and its histogram, the split per topic, the evaluation.
        await Assertions.Expect(page.Locator("#timeline li")).ToHaveCountAsync(10); // PlanShards to AwaitApproval
        Assert.True(await page.Locator("#run-validation rect.histogram").CountAsync() >= 1);
        await Assertions.Expect(page.Locator("#split-table")).ToContainTextAsync("shipping");
        await Assertions.Expect(page.Locator("#evaluation-table")).ToContainTextAsync("billing");
        await Assertions.Expect(page.Locator("#run-evaluation")).ToContainTextAsync("Promotion policy: passed.");
        Assert.True(await page.Locator("#run-evaluation .sample").CountAsync() >= 1);
        await page.FillAsync("#decision-note", "better on every topic");
        await page.ClickAsync("#approve");
        await WaitForStatusAsync(page, "succeeded");

        // The training curves: train and validation loss drawn per step.
        await Assertions.Expect(page.Locator("#run-results polyline[data-series=train]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#run-results polyline[data-series=validation]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#run-results")).ToContainTextAsync("Training: improved significantly");
        await Assertions.Expect(page.Locator("#timeline li[data-stage=Deploy]")).ToBeVisibleAsync();
        await ScreenshotAsync(page.Locator("#run"), "dashboard-run.png");

        // The registry: the model is production, version 1, approved with the note, with its lineage linked to reports.
        ILocator model = page.Locator("#models tbody tr").First;
        await Assertions.Expect(model).ToContainTextAsync("production");
        await Assertions.Expect(model).ToContainTextAsync("support v1");
        await Assertions.Expect(model).ToContainTextAsync(":support:");
        await Assertions.Expect(model.Locator("a[data-report=validation]")).ToContainTextAsync("dataset datasets/support-chat.jsonl");
        Assert.Equal(4, await model.Locator("a[data-report]").CountAsync()); // validation, split, results, evaluation
        using (var http = new HttpClient { BaseAddress = serve.Root })
        {
            string models = await http.GetStringAsync(new Uri("api/models", UriKind.Relative));
            Assert.Contains("better on every topic", models, StringComparison.Ordinal);
        }
        await model.Locator("button[data-action=archive]").ClickAsync();
        await Assertions.Expect(page.Locator("#models tbody tr").First).ToContainTextAsync("archived");

        // The same options again are the same run (runs are named by their dataset and options), and the page says so.
        await page.ClickAsync("#launch");
        await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync("change an option");
        // A second run of the same upload with another suffix, cancelled from the page while it runs.
        await page.FillAsync("#opt-suffix", "support-b");
        await page.ClickAsync("#launch");
        await Assertions.Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#cancel")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await page.ClickAsync("#cancel");
        await WaitForStatusAsync(page, "cancelled");

        Assert.Contains("script-src 'self'", first!.Headers["content-security-policy"], StringComparison.Ordinal);
        // Readable on a phone: at 390 px the page does not scroll sideways (wide tables scroll in their own box).
        await page.SetViewportSizeAsync(390, 844);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"));
    }

    /// <summary>
    /// A picture of part of the page, kept with the test's files; with <c>FINETUNING_SCREENSHOTS</c> set (to a folder), also
    /// written there (the README's picture of the run page is made this way).
    /// </summary>
    private async Task ScreenshotAsync(ILocator part, string name)
    {
        byte[] png = await part.ScreenshotAsync(new() { Path = _dir.File(name) });
        Assert.True(png.Length > 10_000, $"the screenshot {name} is {png.Length} bytes");
        if (Environment.GetEnvironmentVariable("FINETUNING_SCREENSHOTS") is { Length: > 0 } folder)
            await File.WriteAllBytesAsync(Path.Combine(folder, name), png);
    }

    [Fact]
    public async Task DatasetContentThatLooksLikeMarkup_IsShownAsText_AndRunsNothing()
    {
        await using ServeProcess serve = await ServeAsync();
        {
            IPage page = await NewPageAsync();
            bool dialog = false;
            page.Dialog += (_, d) =>
            {
                dialog = true;
                _ = d.DismissAsync();
            };
            await page.GotoAsync(serve.Root.ToString());
            const string Script = "<script>document.title='pwned'</script>";
            const string Image = "\"><img src=x onerror=\"document.title='pwned'\">";
            string rows = Dataset(i => i % 2 == 0 ? Script : Image);
            // The first row twice: a finding, shown with what to do about it.
            string file = _dir.Write("tricky.jsonl", rows + rows[..(rows.IndexOf('\n', StringComparison.Ordinal) + 1)]);

            await UploadAndLaunchAsync(page, file, auto: true);
            await Assertions.Expect(page.Locator("#report")).ToContainTextAsync("duplicate (warning)");
            await Assertions.Expect(page.Locator("#report")).ToContainTextAsync("Fix: Remove the repeat");
            await WaitForStatusAsync(page, "succeeded");
            await Assertions.Expect(page.Locator("#evaluation-table")).ToContainTextAsync(Script);
            await Assertions.Expect(page.Locator("#split-table")).ToContainTextAsync(Script);

            Assert.Contains(Image, await page.Locator("#evaluation-table").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(0, await page.Locator("#run img, #run script, #models img").CountAsync());
            Assert.Equal("FineTuning", await page.TitleAsync());
            Assert.False(dialog);
        }
    }

    [Fact]
    public async Task BeyondLoopback_ThePageAsksForTheKeyOnce_AndWithoutItNothingLoads()
    {
        await using ServeProcess serve = await ServeAsync(apiKey: "dashboard-key");
        {
            IPage page = await NewPageAsync();
            await page.GotoAsync(serve.Root.ToString());

            await Assertions.Expect(page.Locator("#key")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync("API key");
            await page.FillAsync("#key-input", "dashboard-key");
            await page.ClickAsync("#key-form button");

            await Assertions.Expect(page.Locator("#key")).ToBeHiddenAsync();
            await page.ReloadAsync();
            await Assertions.Expect(page.Locator("#notice")).Not.ToContainTextAsync("API key", new() { Timeout = 5_000 });
            await Assertions.Expect(page.Locator("#key")).ToBeHiddenAsync();
        }
    }
}
