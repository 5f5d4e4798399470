using System.Diagnostics;
using System.Text.Json;
using FineTuning.Core.Catalog;
using FineTuning.Core.Workflow;
using FineTuning.Core.Workflow.Activities;
using FineTuning.Emulator;
using FineTuning.Local.Hosting;
using FineTuning.Local.Runtime;
using FineTuning.Local.Storage;
using FineTuning.OpenAI;

namespace FineTuning.Benchmarks;

/// <summary>
/// The workflow on the embedded durable runtime: the validation stage (PlanShards, ValidateShard fanned out, merge)
/// against one <c>finetune validate</c> of the same file; the runtime's cost per activity (chained and fanned out);
/// and the time to replay an instance with about 1,000 history events after a restart.
/// </summary>
public static class WorkflowBench
{
    public static async Task<int> RunAsync(string file)
    {
        string path = Path.GetFullPath(file);
        double mib = new FileInfo(path).Length / 1048576.0;
        string work = Path.Combine(Path.GetTempPath(), "finetune-bench-workflow-" + Environment.ProcessId);
        Directory.CreateDirectory(work);
        try
        {
            SideBySide.WarmCache(path);
            Console.WriteLine($"file: {Path.GetFileName(path)}, {mib:N1} MiB, {Environment.ProcessorCount} cores");
            SideBySide.Measure validate = SideBySide.Best(() =>
                SideBySide.Child("dotnet", Path.Combine(AppContext.BaseDirectory, "finetune.dll"), "validate", path, "--json")
            );
            SideBySide.Report("finetune validate (process, all cores)", mib, validate);

            var validator = new Core.Datasets.DatasetValidator(new Core.Datasets.ValidationOptions());
            validator.ValidateFileInShards(path, Environment.ProcessorCount);
            double inProcess = Enumerable
                .Range(0, 3)
                .Min(_ =>
                {
                    var sw = Stopwatch.StartNew();
                    validator.ValidateFileInShards(path, Environment.ProcessorCount);
                    return sw.Elapsed.TotalSeconds;
                });
            Console.WriteLine($"{"DatasetValidator, 16 MiB shards in process", -36} {inProcess, 7:N2} s {mib / inProcess, 8:N0} MiB/s");

            await using EmulatorServer emulator = await EmulatorServer.StartAsync(new EmulatorOptions());
            var blobs = new FileSystemBlobStore(Path.Combine(work, "blobs"));
            var tables = new SqliteTables(Path.Combine(work, "finetuning.db"));
            var activities = new Dictionary<string, ActivityFunction>(
                LocalWorkflow.Activities(
                    blobs,
                    OpenAIFineTuningProvider.Create(new ProviderOptions { Endpoint = emulator.OpenAIEndpoint, ApiKey = "bench" }),
                    tables,
                    tables,
                    ModelCatalog.Default
                )
            )
            {
                ["Noop"] = (input, _) => Task.FromResult(input),
            };
            await using (Stream source = File.OpenRead(path))
            {
                await blobs.WriteAsync("datasets/bench.jsonl", (target, ct) => source.CopyToAsync(target, ct));
            }

            var orchestrators = new Dictionary<string, OrchestratorFunction>
            {
                ["Validate"] = ValidateStage,
                ["Chain"] = async (context, input) =>
                {
                    for (int i = 0; i < input.GetInt32(); i++)
                        await context.CallActivityAsync<int>("Noop", i);
                    return input;
                },
                ["FanOut"] = async (context, input) =>
                    JsonSerializer.SerializeToElement(
                        (
                            await Task.WhenAll(Enumerable.Range(0, input.GetInt32()).Select(i => context.CallActivityAsync<int>("Noop", i)))
                        ).Length
                    ),
                ["ChainThenWait"] = async (context, input) =>
                {
                    for (int i = 0; i < input.GetInt32(); i++)
                        await context.CallActivityAsync<int>("Noop", i);
                    return JsonSerializer.SerializeToElement(await context.WaitForExternalEvent<int>("go"));
                },
            };

            string history = Path.Combine(work, "durable.db");
            await using (var runtime = new DurableRuntime(new HistoryStore(history), orchestrators, activities))
            {
                runtime.Start();
                for (int attempt = 1; attempt <= 3; attempt++)
                {
                    var sw = Stopwatch.StartNew();
                    runtime.ScheduleNew("Validate", $"validate-{attempt}", "datasets/bench.jsonl");
                    InstanceState state = (await runtime.WaitForCompletionAsync($"validate-{attempt}"))!;
                    double seconds = sw.Elapsed.TotalSeconds;
                    IReadOnlyList<HistoryEvent> events = runtime.Store.LoadHistory($"validate-{attempt}");
                    DateTime planned = events.First(e => e is { Kind: HistoryKind.TaskCompleted, Name: nameof(PlanShards) }).Timestamp;
                    int shards = events.Count(e => e is { Kind: HistoryKind.TaskCompleted, Name: nameof(ValidateShard) });
                    Console.WriteLine(
                        $"workflow validation stage, run {attempt}: {seconds, 6:N2} s {mib / seconds, 6:N0} MiB/s ({shards} shards; "
                            + $"PlanShards {(planned - events[0].Timestamp).TotalSeconds:N2} s, "
                            + $"validate + merge {(events[^1].Timestamp - planned).TotalSeconds:N2} s; {state.Status}); vs finetune "
                            + $"validate {(seconds / validate.Seconds - 1) * 100:+0;-0}%, vs in process "
                            + $"{(seconds / inProcess - 1) * 100:+0;-0}%"
                    );
                }

                const int n = 1000;
                foreach (string name in new[] { "Chain", "FanOut" })
                {
                    runtime.ScheduleNew(name, $"{name}-warm", 50);
                    await runtime.WaitForCompletionAsync($"{name}-warm");
                    var sw = Stopwatch.StartNew();
                    runtime.ScheduleNew(name, name, n);
                    await runtime.WaitForCompletionAsync(name);
                    Console.WriteLine(
                        $"runtime overhead per activity, {name, -6} of {n:N0} no-op activities: {sw.Elapsed.TotalMilliseconds / n:N3} ms "
                            + "(SQLite history, JSON payloads)"
                    );
                }

                runtime.ScheduleNew("ChainThenWait", "replay", 500);
                while (runtime.Store.LoadHistory("replay").Count < 1001)
                    await Task.Delay(10);
                while (!runtime.IsIdle)
                    await Task.Delay(1);
            }

            await using (var restarted = new DurableRuntime(new HistoryStore(history), orchestrators, activities))
            {
                int events = restarted.Store.LoadHistory("replay").Count;
                var sw = Stopwatch.StartNew();
                restarted.Start();
                while (!restarted.IsIdle)
                    Thread.SpinWait(20);
                double ms = sw.Elapsed.TotalMilliseconds;
                restarted.RaiseEvent("replay", "go", 1);
                InstanceState state = (await restarted.WaitForCompletionAsync("replay"))!;
                Console.WriteLine(
                    $"replay after a restart of an instance with {events:N0} history events: {ms:N1} ms (load + re-run the orchestrator; "
                        + $"then it finished: {state.Status})"
                );
            }

            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Stages 1-2 of the workflow, as the orchestrator runs them.</summary>
    private static async Task<JsonElement> ValidateStage(IOrchestrationContext context, JsonElement input)
    {
        string dataset = input.GetString()!;
        ValidationSettings settings = ValidationSettings.From(new RunRequest { DatasetBlob = dataset });
        ShardPlan plan = await context.CallActivityAsync<ShardPlan>(nameof(PlanShards), new PlanShardsInput(context.InstanceId, dataset));
        ShardValidated[] shards = await Task.WhenAll(
            plan.Shards.Select(shard =>
                context.CallActivityAsync<ShardValidated>(
                    nameof(ValidateShard),
                    new ValidateShardInput(context.InstanceId, shard, settings)
                )
            )
        );
        ValidationSummary summary = await context.CallActivityAsync<ValidationSummary>(
            nameof(MergeValidation),
            new MergeValidationInput(context.InstanceId, dataset, settings, [.. shards.Select(s => s.ReportBlob)])
        );
        return JsonSerializer.SerializeToElement(summary.Rows);
    }
}
