using FineTuning.Core.Providers;
using FineTuning.Core.Workflow.Activities;

namespace FineTuning.Core.Workflow;

/// <summary>Where the job monitor is: carried from one execution to the next when it continues as new.</summary>
public sealed record MonitorInput(RunRow Row, JobSnapshot Job, DateTime Deadline, TimeSpan Interval, int Polls = 0);

/// <summary>How the job ended, or that the deadline came first (the job was then cancelled).</summary>
public sealed record MonitorResult(JobSnapshot Job, bool TimedOut);

/// <summary>
/// Follows a submitted job to its end as a child orchestration of the run: polls with durable timers as
/// <see cref="Polling"/> says, keeps the run row's job status current, and cancels the job at the deadline. The
/// deadline clock stops while the job is paused (to within one poll: paused time counts from the poll that saw it).
/// Every <see cref="Polling.PollsPerExecution"/> polls it continues as new, so its history stays bounded however long
/// the job runs.
/// </summary>
public static class JobMonitor
{
    public const string Name = "MonitorJob";

    /// <summary>The monitor's instance id: one per run, so a replayed run finds the monitor it started.</summary>
    public static string InstanceIdFor(string runId) => runId + "-monitor";

    public static async Task<MonitorResult> RunAsync(IOrchestrationContext context, MonitorInput input)
    {
        JobSnapshot job = input.Job;
        RunRow row = input.Row;
        TimeSpan interval = input.Interval;
        DateTime deadline = input.Deadline;
        for (int poll = 0; !job.IsFinished; poll++)
        {
            if (poll == Polling.PollsPerExecution)
            {
                context.ContinueAsNew(
                    input with
                    {
                        Row = row,
                        Job = job,
                        Interval = interval,
                        Deadline = deadline,
                        Polls = input.Polls + poll,
                    }
                );
                return null!; // The result of an execution that continues as new is not used.
            }

            DateTime now = context.CurrentUtcDateTime;
            if (now >= deadline && job.Status != JobStatuses.Paused)
            {
                JobSnapshot cancelled = await context.CallActivityAsync<JobSnapshot>(nameof(CancelJob), job.JobId, Retries.Transient);
                return new MonitorResult(cancelled, TimedOut: true);
            }

            await context.CreateTimer(
                now + interval < deadline || job.Status == JobStatuses.Paused ? now + interval : deadline,
                CancellationToken.None
            );
            bool wasPaused = job.Status == JobStatuses.Paused;
            JobSnapshot polled = await context.CallActivityAsync<JobSnapshot>(nameof(GetJob), job.JobId, Retries.Transient);
            if (polled.ProviderBusyFor is { } busyFor)
            {
                // The provider asked for more time than a call waits through: wait on a durable timer (never past the
                // deadline), and say so in the run's status; the job is as it was.
                DateTime until = context.CurrentUtcDateTime + busyFor < deadline ? context.CurrentUtcDateTime + busyFor : deadline;
                context.SetCustomStatus(
                    new RunProgress(RunStages.Monitor, job.Status, job.Progress?.Step, job.Progress?.TotalSteps)
                    {
                        Waiting = $"the provider asked to be called again at {until:yyyy-MM-dd HH:mm:ss} UTC ({polled.ProviderBusyReason})",
                    }
                );
                await context.CreateTimer(until, CancellationToken.None);
                continue;
            }

            job = polled;
            if (wasPaused)
            {
                deadline += context.CurrentUtcDateTime - now; // paused time does not count towards the deadline
            }

            context.SetCustomStatus(
                new RunProgress(
                    RunStages.Monitor,
                    job.Status,
                    job.Progress?.Step,
                    job.Progress?.TotalSteps,
                    job.Progress?.Value,
                    job.EstimatedFinish,
                    job.Progress?.Metric
                )
                {
                    Epochs = job.Hyperparameters?.Epochs,
                }
            );
            // The run writes the row that ends it: the monitor only the changes before (after a cancel, its row would
            // say "running" over the run's "cancelled").
            if (job.Status != row.JobStatus)
            {
                context.Log(new JobStatusChanged(row.RunId, job.JobId, job.Status, job.Progress?.Step, job.Progress?.TotalSteps));
                if (!job.IsFinished)
                {
                    row = row with { JobStatus = job.Status, UpdatedAt = context.CurrentUtcDateTime };
                    await context.CallActivityAsync<bool>(nameof(UpdateRun), row, Retries.Transient);
                }
            }

            interval = Polling.NextJobPoll(interval, job.Status);
        }

        return new MonitorResult(job, TimedOut: false);
    }
}
