using System.Diagnostics;
using FineTuning.Core.Evaluation;
using FineTuning.Emulator;
using FineTuning.Local.Storage;
using FineTuning.OpenAI;

namespace FineTuning.Benchmarks;

/// <summary>
/// Held-out evaluation against the emulator with a realistic latency per answer: <c>rows</c> rows, <c>concurrency</c>
/// at once. Each row is two answers at once, then four judge calls at once, so the ideal is
/// rows / concurrency × 2 × latency; the figure printed is the time taken over that ideal.
/// </summary>
public static class EvaluationBench
{
    public static async Task<int> RunAsync(int rows, int concurrency, TimeSpan latency)
    {
        string work = Path.Combine(Path.GetTempPath(), "finetune-bench-evaluate-" + Environment.ProcessId);
        try
        {
            await using EmulatorServer emulator = await EmulatorServer.StartAsync(new EmulatorOptions { AnswerDelay = latency });
            OpenAIFineTuningProvider provider = OpenAIFineTuningProvider.Create(
                new ProviderOptions
                {
                    Kind = ProviderKind.Emulator,
                    Endpoint = emulator.OpenAIEndpoint,
                    ApiKey = "bench",
                }
            );
            var evaluator = new HeldOutEvaluator(provider, new FileSystemBlobStore(work));
            List<(long, string)> heldOut =
            [
                .. Enumerable
                    .Range(0, rows)
                    .Select(i =>
                        (
                            (long)i + 1,
                            $$"""{"messages":[{"role":"user","content":"Question {{i}}?"},"""
                                + $$"""{"role":"assistant","content":"Answer {{i}}."}],"topic":"t{{i % 4}}"}"""
                        )
                    ),
            ];
            var models = new EvaluationModels("gpt-4.1-mini", "ft:gpt-4.1-mini:emulator::bench", "gpt-4.1");
            double ideal = Math.Ceiling(rows / (double)concurrency) * 2 * latency.TotalSeconds;

            // 1. The evaluator alone: every row in one call, at most `concurrency` in flight.
            var clock = Stopwatch.StartNew();
            IReadOnlyList<EvaluatedRow> evaluated = await evaluator.EvaluateAsync(heldOut, "topic", models, "rows/", concurrency);
            TimeSpan took = clock.Elapsed;
            EvaluationSummary summary = EvaluationStatistics.Compute(evaluated, new PromotionPolicy());
            Console.WriteLine(
                $"evaluate (evaluator alone): {evaluated.Count:N0} rows, {concurrency} at once, "
                    + $"{latency.TotalMilliseconds:N0} ms an answer: "
                    + $"{took.TotalSeconds:N1} s (ideal {ideal:N1} s, {took.TotalSeconds / ideal:N2}x); {6 * rows:N0} calls; "
                    + $"base {summary.Overall.BaseScore:N2} -> fine-tuned {summary.Overall.FineTunedScore:N2}"
            );

            // 2. The run's evaluation stage: plan, a batch per activity (one after another, as the orchestrator calls them),
            // report; new rows (another fine-tuned model), so nothing is answered from the first pass.
            var blobs = new FileSystemBlobStore(work);
            await blobs.WriteAsync("runs/bench/split/test.jsonl", (s, ct) =>
                s.WriteAsync(System.Text.Encoding.UTF8.GetBytes(string.Concat(heldOut.Select(r => r.Item2 + "\n"))), ct).AsTask()
            );
            var options = new EvaluationOptions { Concurrency = concurrency };
            clock.Restart();
            EvaluationPlan plan = await new Core.Workflow.Activities.PlanEvaluation(blobs, options).RunAsync(
                new EvaluationInput(
                    "bench",
                    "runs/bench/split/test.jsonl",
                    "topic",
                    "gpt-4.1-mini",
                    "ft:gpt-4.1-mini:emulator::stage",
                    "gpt-4.1",
                    rows,
                    42,
                    new PromotionPolicy()
                )
            );
            var batch = new Core.Workflow.Activities.EvaluateBatch(provider, blobs);
            foreach (EvaluationBatch b in plan.Batches)
                await batch.RunAsync(new EvaluateBatchInput("bench", plan.RowsBlob, b, "topic", plan.Models, plan.Concurrency));
            EvaluationDigest digest = await new Core.Workflow.Activities.ReportEvaluation(
                blobs,
                Core.Catalog.ModelCatalog.Default
            ).RunAsync(new ReportEvaluationInput("bench", plan.RowsBlob, plan.HeldOutRows, plan.Models, new PromotionPolicy()));
            TimeSpan stage = clock.Elapsed;
            Console.WriteLine(
                $"evaluate (the run's stage): {digest.Rows:N0} rows in {plan.Batches.Count} batches of {options.BatchRows}: "
                    + $"{stage.TotalSeconds:N1} s (ideal {ideal:N1} s, {stage.TotalSeconds / ideal:N2}x); the run's history holds "
                    + $"{plan.Batches.Count + 2} activities for it (plan, {plan.Batches.Count} batches, report), not {rows:N0}; "
                    + $"cost ${digest.CostUsd:0.00}; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:N0} MiB"
            );
            return 0;
        }
        finally
        {
            if (Directory.Exists(work))
                Directory.Delete(work, recursive: true);
        }
    }
}
