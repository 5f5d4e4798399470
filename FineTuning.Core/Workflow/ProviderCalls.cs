using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow;

/// <summary>How the orchestrators call an activity that calls the provider.</summary>
public static class ProviderCalls
{
    /// <summary>
    /// Calls <paramref name="activity"/> with the transient retry policy; when the provider asks to be called again
    /// later than a call sleeps through (an hour's <c>Retry-After</c>), waits that long on a durable timer, saying in
    /// the run's status what it waits for and until when, and calls again, up to <see cref="Polling.MaxProviderWait"/>
    /// in all. Both hosts give the orchestrator the activity's <see cref="ProviderBusyException"/> as itself.
    /// </summary>
    public static async Task<T> CallProviderAsync<T>(this IOrchestrationContext context, string stage, string activity, object? input)
    {
        DateTime giveUp = context.CurrentUtcDateTime + Polling.MaxProviderWait;
        while (true)
        {
            try
            {
                return await context.CallActivityAsync<T>(activity, input, Retries.Transient);
            }
            catch (ProviderBusyException busy) when (context.CurrentUtcDateTime + busy.RetryAfter <= giveUp)
            {
                DateTime until = context.CurrentUtcDateTime + busy.RetryAfter;
                context.SetCustomStatus(
                    new RunProgress(stage)
                    {
                        Waiting = $"the provider asked to be called again at {until:yyyy-MM-dd HH:mm:ss} UTC ({busy.Message})",
                    }
                );
                await context.CreateTimer(until, CancellationToken.None);
                context.SetCustomStatus(new RunProgress(stage));
            }
        }
    }
}
