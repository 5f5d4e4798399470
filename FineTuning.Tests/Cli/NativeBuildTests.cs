using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using FineTuning.Tests.Datasets;

namespace FineTuning.Tests.Cli;

/// <summary>
/// <c>finetune</c> as users install it: published natively compiled (README, "Install the finetune command"), with no
/// reflection and no JIT. Published once for these tests (about two minutes), then held to the managed build's output.
/// </summary>
public sealed class NativeFinetune : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "finetune-native-" + Guid.NewGuid().ToString("N"));

    public NativeFinetune()
    {
        Executable = Path.Combine(_dir, "finetune");
        // Checked once, up front: without the toolchain the publish runs for minutes before it fails.
        if (ToolchainProblem(Environment.GetEnvironmentVariable("PATH")) is { } missing)
        {
            Failure = missing;
            return;
        }

        var publish = new ProcessStartInfo(
            "dotnet",
            ["publish", Repo.File("FineTuning.Local"), "-c", "Release", "-r", RuntimeInformation.RuntimeIdentifier, "-o", _dir, "-nologo"]
        )
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process process = Process.Start(publish)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
        }

        if (process.ExitCode != 0 || !File.Exists(Executable))
        {
            string log = string.Join(
                '\n',
                (output.Result + errors.Result)
                    .Split('\n')
                    .Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase))
                    .Distinct()
                    .Take(10)
            );
            Failure =
                $"dotnet publish -r {RuntimeInformation.RuntimeIdentifier} failed (exit {process.ExitCode}); the native build needs clang "
                + $"(apt-get install clang).\n{log}";
        }
    }

    public string Executable { get; }

    /// <summary>What the native build lacks on this machine with this <c>PATH</c> (on Linux: clang), or null.</summary>
    internal static string? ToolchainProblem(string? path) =>
        OperatingSystem.IsLinux()
        && !(path ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(folder => File.Exists(Path.Combine(folder, "clang")))
            ? "The native build needs clang, which is not installed here: apt-get install clang (the README's prerequisites)."
            : null;

    public string? Failure { get; }

    public (int Code, string Out, string Err) Run(string workingDirectory, params string[] args)
    {
        using Process process = Start(workingDirectory, args);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"finetune {string.Join(' ', args)} did not finish");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public Process Start(string workingDirectory, params string[] args)
    {
        Assert.True(Failure is null, Failure);
        var start = new ProcessStartInfo(Executable, args)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        return Process.Start(start)!;
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }
}

public partial class NativeBuildTests(NativeFinetune native) : IClassFixture<NativeFinetune>
{
    public static TheoryData<string> Datasets()
    {
        var data = new TheoryData<string>();
        foreach (
            string file in Directory
                .GetFiles(Path.Combine(AppContext.BaseDirectory, "Datasets", "real"), "*.jsonl")
                .Concat(Directory.GetFiles(Repo.File("samples"), "*.jsonl"))
                .Order(StringComparer.Ordinal)
        )
        {
            data.Add(file);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Datasets))]
    public void ValidateAndEstimate_WriteWhatTheManagedBuildWrites(string file)
    {
        string grader = Path.ChangeExtension(file, ".grader.json");
        string[] graderArgs = File.Exists(grader) ? ["--grader", grader] : [];
        foreach (
            string[] command in new[]
            {
                new[] { "validate", file, "--json" },
                ["estimate", file, "--model", "gpt-4.1-mini", "--json"],
                ["validate", file],
            }
        )
        {
            string[] args = [.. command, .. graderArgs];

            var (code, stdout, stderr) = native.Run(Path.GetTempPath(), args);
            var managed = CliRunner.Run(args);

            Assert.Equal((managed.Code, managed.Out, managed.Err), (code, stdout, stderr));
        }
    }

    [Fact]
    public void Split_WritesTheSameFilesAsTheManagedBuild()
    {
        using var dir = new TempDir();
        string sample = Repo.File("samples/support-chat.jsonl");

        var (code, stdout, _) = native.Run(
            dir.Path,
            "split",
            sample,
            "--out",
            Path.Combine(dir.Path, "native"),
            "--json",
            "--tokenizer",
            "o200k"
        );
        var managed = CliRunner.Run("split", sample, "--out", Path.Combine(dir.Path, "managed"), "--json", "--tokenizer", "o200k");

        Assert.Equal(0, code);
        Assert.Equal(managed.Out.Replace("managed", "native", StringComparison.Ordinal), stdout);
        foreach (string name in new[] { "train.jsonl", "valid.jsonl", "split-report.json" })
        {
            Assert.Equal(
                File.ReadAllBytes(Path.Combine(dir.Path, "managed", name)),
                File.ReadAllBytes(Path.Combine(dir.Path, "native", name))
            );
        }
    }

    [Fact]
    public void Run_TakesTheSampleToARegisteredModel()
    {
        using var dir = new TempDir();

        var (code, stdout, stderr) = native.Run(dir.Path, "run", Repo.File("samples/support-chat.jsonl"));
        string runId = Regex.Match(stdout, "finetune approve (run-[0-9a-f]+)").Groups[1].Value;
        var (approvedCode, approved, approvedErr) = native.Run(dir.Path, "approve", runId, "--by", "ci");
        var (listed, models, _) = native.Run(dir.Path, "models", "--json");

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("promotion policy: passed", stdout, StringComparison.Ordinal);
        Assert.True(approvedCode == 0, approved + approvedErr);
        Assert.Contains("Succeeded: registered ft:", approved, StringComparison.Ordinal);
        Assert.Equal(0, listed);
        Assert.Equal(
            "support-chat.jsonl",
            Path.GetFileName(JsonDocument.Parse(models).RootElement[0].GetProperty("datasetBlob").GetString())
        );
    }

    [Fact]
    public async Task Serve_AnswersTheApi()
    {
        using var dir = new TempDir();
        using Process server = native.Start(dir.Path, "serve", "--port", "0", "--no-drop");
        try
        {
            string? line;
            Match listening;
            do
            {
                line = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
                listening = Listening().Match(line ?? "");
            } while (line is not null && !listening.Success);

            Assert.True(listening.Success, "serve did not say where it listens");
            using var http = new HttpClient { BaseAddress = new Uri(listening.Groups[1].Value) };

            // A request of just a dataset: every other field takes its default (only the missing blob is wrong).
            HttpResponseMessage started = await http.PostAsJsonAsync("/api/runs", new { datasetBlob = "datasets/none.jsonl" });
            JsonElement problem = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(HttpStatusCode.BadRequest, started.StatusCode);
            Assert.Equal(["datasetBlob"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name));

            using var body = new StringContent(File.ReadAllText(Repo.File("samples/support-chat.jsonl")));
            HttpResponseMessage validated = await http.PostAsync("/api/validate", body);
            Assert.Equal(HttpStatusCode.OK, validated.StatusCode);
            Assert.True(JsonDocument.Parse(await validated.Content.ReadAsStringAsync()).RootElement.GetProperty("fit").GetBoolean());

            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/runs/none")).StatusCode);
            Assert.Equal(
                "3.1.1",
                JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json")).RootElement.GetProperty("openapi").GetString()
            );

            // The dashboard is in the native binary too: its page (with its policy) and its script.
            HttpResponseMessage page = await http.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Contains("<title>FineTuning</title>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Contains("function renderRun", await http.GetStringAsync("/dashboard/app.js"), StringComparison.Ordinal);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
        }
    }

    [GeneratedRegex(@"listening on (http://[^/\s]+/)")]
    private static partial Regex Listening();
}

/// <summary>The native tests on a machine without the toolchain: one sentence at once, not minutes of a publish that cannot work.</summary>
public class NativeToolchainTests
{
    [Fact]
    public void WithoutClang_TheNativeTestsFailAtOnceSayingWhatToInstall()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // clang is what the native build needs on Linux; other systems use their own toolchains
        }

        string? problem = NativeFinetune.ToolchainProblem("/nonexistent-bin");

        Assert.Equal(
            "The native build needs clang, which is not installed here: apt-get install clang (the README's prerequisites).",
            problem
        );
        Assert.Null(NativeFinetune.ToolchainProblem(Environment.GetEnvironmentVariable("PATH")));
    }
}
