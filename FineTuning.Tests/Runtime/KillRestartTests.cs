using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using FineTuning.Local.Storage;

namespace FineTuning.Tests.Runtime;

/// <summary>
/// The real <c>finetune</c> process is killed (SIGKILL, no clean-up) at each stage of a run and started again: the run
/// completes, the provider saw one job, and no blob is half-written.
/// </summary>
public sealed class KillRestartTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Runs the built <c>finetune</c> with the given arguments; the kill switch set when asked.</summary>
    internal static Task<(int Code, string Out, string Err)> Finetune(string? killAt, params string[] args) => Finetune(killAt, null, args);

    /// <summary>
    /// The built <c>finetune</c> with these arguments, on the built-in emulator whatever this machine configures, unless
    /// <paramref name="settings"/> (environment variables) configure otherwise.
    /// </summary>
    internal static ProcessStartInfo StartInfo(
        string? killAt,
        double? emulatorSpeed,
        string[] args,
        IReadOnlyDictionary<string, string>? settings = null
    )
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "finetune.dll"));
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("FineTuning__", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        if (killAt is not null)
            start.Environment["FineTuning__Diagnostics__KillAt"] = killAt;
        if (emulatorSpeed is { } speed)
            start.Environment["FineTuning__Emulator__Speed"] = speed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach ((string key, string value) in settings ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        return start;
    }

    internal static Task<(int Code, string Out, string Err)> Finetune(string? killAt, double? emulatorSpeed, params string[] args) =>
        Finetune(StartInfo(killAt, emulatorSpeed, args));

    /// <summary>Runs <c>finetune</c> as <paramref name="start"/> says, to its end (at most 2 minutes).</summary>
    internal static async Task<(int Code, string Out, string Err)> Finetune(ProcessStartInfo start)
    {
        string[] args = [.. start.ArgumentList.Skip(1)];
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"finetune {string.Join(' ', args)} did not end in 2 minutes: {await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("after:TaskScheduled:PlanShards")]
    [InlineData("before:TaskCompleted:ValidateShard")]
    [InlineData("after:TaskCompleted:MergeValidation")]
    [InlineData("before:TaskCompleted:SplitDataset")]
    [InlineData("before:TaskCompleted:UploadFile")]
    [InlineData("before:TaskCompleted:SubmitJob")]
    [InlineData("after:TaskCompleted:GetJob")]
    [InlineData("before:TaskCompleted:CollectResults")]
    [InlineData("before:TaskCompleted:RegisterModel")]
    [InlineData("after:TaskCompleted:PlanEvaluation")]
    [InlineData("before:TaskCompleted:EvaluateBatch")]
    [InlineData("before:TaskCompleted:ReportEvaluation")]
    [InlineData("before:TaskCompleted:ChangeModelStage")]
    public async Task KilledAtAStage_TheNextStartCompletesTheRunWithOneJob(string killAt)
    {
        string dataset = _dir.Write("support.jsonl", Rows.Jsonl(Rows.ManyChats(300, i => i % 2 == 0 ? "billing" : "shipping")));
        string data = _dir.File("data");

        var (killedCode, killedOut, killedErr) = await Finetune(killAt, "run", dataset, "--data", data, "--approval", "auto");
        var (code, output, errors) = await Finetune(null, "run", dataset, "--data", data, "--approval", "auto");

        Assert.True(killedCode == 137, $"the first process was not killed (exit {killedCode}): {killedOut}{killedErr}");
        Assert.True(code == 0, $"exit {code}: {output}{errors}");
        Assert.Contains("Resumed 1 unfinished run", output, StringComparison.Ordinal);
        Assert.Contains("Succeeded: registered ft:", output, StringComparison.Ordinal);

        var tables = new SqliteTables(Path.Combine(data, "finetuning.db"));
        RunRow run = Assert.Single(await ((IRunStore)tables).ListAsync());
        Assert.Equal(RunStatus.Succeeded, run.Status);
        ModelRow model = Assert.Single(await ((IModelRegistry)tables).ListAsync());
        Assert.Equal(run.ModelId, model.ModelId);
        Assert.Equal(ModelStages.Production, model.Stage);
        Assert.Equal([ModelStages.Candidate, ModelStages.Production], model.StageHistory.Select(h => h.Stage));

        using JsonDocument emulator = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(data, "emulator", "state.json")));
        string[] jobRuns =
        [
            .. emulator
                .RootElement.GetProperty("Jobs")
                .EnumerateArray()
                .Select(j => JsonNode.Parse(j.GetProperty("Request").GetString()!)!["metadata"]!["run_id"]!.GetValue<string>()),
        ];
        Assert.Equal([run.RunId], jobRuns);

        AssertNoHalfWrittenBlob(Path.Combine(data, "blobs"));
    }

    [Theory]
    [InlineData(RunStages.ValidateShards)]
    [InlineData(RunStages.Split)]
    [InlineData(RunStages.UploadFiles)]
    public async Task KilledFromOutsideWhileAStageWrites_TheNextStartCompletesAndNoBlobIsHalfWritten(string stage)
    {
        // About 24 MB, so that shards, the split and the upload take long enough to be cut in the middle.
        string filler = new('x', 500);
        string dataset = _dir.Write(
            "big.jsonl",
            Rows.Jsonl(
                Rows.ManyChats(40_000, i => i % 3 == 0 ? "a" : "b")
                    .Select(r => r.Replace("Answer", "Answer " + filler, StringComparison.Ordinal))
            )
        );
        string data = _dir.File("data");
        using (Process first = Process.Start(StartInfo(null, null, ["run", dataset, "--data", data, "--no-eval"]))!)
        {
            _ = first.StandardError.ReadToEndAsync();
            // Killed the moment it prints that the stage started (the line is written as the stage begins; polling the
            // runs table could miss a stage shorter than its interval).
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? line;
            while (
                (line = await first.StandardOutput.ReadLineAsync(timeout.Token)) is not null
                && !line.EndsWith($" {stage}", StringComparison.Ordinal)
            ) { }

            first.Kill();
            await first.WaitForExitAsync();
            Assert.True(line is not null, $"the first process ended before {stage}");
        }

        var (code, output, errors) = await Finetune(null, "run", dataset, "--data", data, "--no-eval");

        Assert.True(code == 0, $"exit {code}: {output}{errors}");
        Assert.Contains("Succeeded: registered ft:", output, StringComparison.Ordinal);
        AssertNoHalfWrittenBlob(Path.Combine(data, "blobs"));
    }

    [Fact]
    public async Task Cancel_FromAnotherProcess_CancelsTheJobTheFollowingProcessMonitors()
    {
        string dataset = _dir.Write("support.jsonl", Rows.Jsonl(Rows.ManyChats(40)));
        string data = _dir.File("data");
        Task<(int Code, string Out, string Err)> following = Finetune(null, 2, "run", dataset, "--data", data);
        string runId = await WaitForStage(data, RunStages.Monitor);

        var stdout = new StringWriter();
        int cancelCode = await FineTuning.Local.Cli.FinetuneCli.RunAsync(
            ["cancel", runId, "--data", data],
            stdout,
            TextWriter.Null,
            CancellationToken.None
        );
        var (code, output, errors) = await following;

        Assert.Equal(0, cancelCode);
        Assert.Contains($"Cancel requested for {runId}", stdout.ToString(), StringComparison.Ordinal);
        Assert.True(code == 1, $"exit {code}: {output}{errors}");
        Assert.Contains("Cancelled: Cancelled on request; the provider job was cancelled.", output, StringComparison.Ordinal);
        RunRow run = (await ((IRunStore)new SqliteTables(Path.Combine(data, "finetuning.db"))).GetAsync(runId))!;
        Assert.Equal(("cancelled", RunStatus.Cancelled), (run.JobStatus, run.Status));
        Assert.Equal(
            2,
            await FineTuning.Local.Cli.FinetuneCli.RunAsync(
                ["cancel", runId, "--data", data],
                TextWriter.Null,
                TextWriter.Null,
                CancellationToken.None
            )
        );
    }

    [Fact]
    public async Task Cancel_WhileNoProcessRuns_IsDeliveredWhenTheRunResumes()
    {
        string dataset = _dir.Write("support.jsonl", Rows.Jsonl(Rows.ManyChats(40)));
        string data = _dir.File("data");
        var (killedCode, _, _) = await Finetune("after:TaskCompleted:SubmitJob", 2, "run", dataset, "--data", data);
        string runId = Assert.Single(await ((IRunStore)new SqliteTables(Path.Combine(data, "finetuning.db"))).ListAsync()).RunId;

        var status = new StringWriter();
        await FineTuning.Local.Cli.FinetuneCli.RunAsync(["status", runId, "--data", data], status, TextWriter.Null, CancellationToken.None);
        int cancelCode = await FineTuning.Local.Cli.FinetuneCli.RunAsync(
            ["cancel", runId, "--data", data],
            TextWriter.Null,
            TextWriter.Null,
            CancellationToken.None
        );
        var (code, output, errors) = await Finetune(null, 2, "run", dataset, "--data", data);

        Assert.Contains($"{runId}: Running at SubmitJob", status.ToString(), StringComparison.Ordinal);
        Assert.Contains("no finetune process is running it now", status.ToString(), StringComparison.Ordinal);

        Assert.Equal(137, killedCode);
        Assert.Equal(0, cancelCode);
        Assert.True(code == 1, $"exit {code}: {output}{errors}");
        Assert.Contains("Cancelled: Cancelled on request", output, StringComparison.Ordinal);
    }

    private static async Task<string> WaitForStage(string data, string stage)
    {
        string db = Path.Combine(data, "finetuning.db");
        for (int i = 0; i < 600; i++)
        {
            if (File.Exists(db) && (await ((IRunStore)new SqliteTables(db)).ListAsync()).FirstOrDefault(r => r.Stage == stage) is { } run)
            {
                return run.RunId;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no run reached {stage} in 30 s");
    }

    internal static void AssertNoHalfWrittenBlob(string blobs)
    {
        foreach (string file in Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories))
        {
            string name = Path.GetFileName(file);
            Assert.False(
                name.EndsWith(".tmp", StringComparison.Ordinal) || name.EndsWith(".tmp.meta", StringComparison.Ordinal),
                $"abandoned write left: {file}"
            );
            if (name.EndsWith(".json", StringComparison.Ordinal))
            {
                using JsonDocument _ = JsonDocument.Parse(File.ReadAllBytes(file));
            }
            else if (name.EndsWith(".jsonl", StringComparison.Ordinal))
            {
                byte[] bytes = File.ReadAllBytes(file);
                Assert.True(bytes.Length == 0 || bytes[^1] == (byte)'\n', $"{file} does not end with a whole line");
                foreach (string line in File.ReadLines(file).Where(l => l.Length > 0))
                {
                    using JsonDocument _ = JsonDocument.Parse(line);
                }
            }
        }
    }
}
