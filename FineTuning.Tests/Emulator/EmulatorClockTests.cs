using System.Text;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Emulator;
using FineTuning.OpenAI;

namespace FineTuning.Tests.Emulator;

/// <summary>The emulator runs jobs faster than real time, but the estimates people read are on the host's clock.</summary>
public sealed class EmulatorClockTests
{
    [Fact]
    public async Task AJobsEstimatedFinish_IsWhenItWillEndOnTheHostsClock_AndAFinishedJobHasNone()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));
        await using EmulatorServer emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Time = clock, Speed = 10 });
        IFineTuningProvider provider = OpenAIFineTuningProvider.Create(
            new ProviderOptions { Endpoint = emulator.OpenAIEndpoint, ApiKey = "k" }
        );
        ProviderFile file = await provider.UploadFileAsync(
            "train.jsonl",
            new MemoryStream(Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(12))))
        );
        ProviderJob job = await provider.CreateJobAsync(
            new JobRequest("run-clock", "gpt-4.1-mini-2025-04-14", file.Id, null, FineTuningMethod.Supervised)
        );

        clock.Advance(TimeSpan.FromSeconds(8)); // 80 emulated seconds: past the file check (40) and the queue (30)
        ProviderJob running = await provider.GetJobAsync(job.Id);
        TimeSpan left = running.EstimatedFinish!.Value - clock.GetUtcNow();
        clock.Advance(left - TimeSpan.FromSeconds(2));
        ProviderJob almost = await provider.GetJobAsync(job.Id);
        clock.Advance(TimeSpan.FromSeconds(3));
        ProviderJob done = await provider.GetJobAsync(job.Id);

        // The job ends when its estimate said, on the host's clock (not ten times later, as the emulated clock would say).
        Assert.Equal(JobStatuses.Running, running.Status);
        Assert.True(left > TimeSpan.FromSeconds(3), $"{left}");
        Assert.Equal(JobStatuses.Running, almost.Status);
        Assert.Equal(JobStatuses.Succeeded, done.Status);
        Assert.Null(done.EstimatedFinish);
    }
}
