namespace FineTuning.Core.Workflow;

/// <summary>
/// The external events a run answers (cancel from its first stage on; pause and resume while its job runs), each a
/// durable wait that the run races with its work. Disposing stops the waits still armed (on the orchestration's thread,
/// with <c>Cancel()</c>, so a replay sees the same order).
/// </summary>
internal sealed class RunSignals : IDisposable
{
    private readonly IOrchestrationContext _context;
    private readonly CancellationTokenSource _stop = new();

    public RunSignals(IOrchestrationContext context)
    {
        _context = context;
        Cancel = context.WaitForExternalEvent<bool>(FineTuningOrchestrator.CancelEvent, _stop.Token);
    }

    public Task<bool> Cancel { get; }

    /// <summary>True once a cancel has arrived.</summary>
    public bool CancelRequested => Cancel.IsCompletedSuccessfully;

    public void ThrowIfCancelled()
    {
        if (CancelRequested)
        {
            throw new RunCancelledException();
        }
    }

    /// <summary>A wait for the next <paramref name="name"/> event (pause or resume), stopped with the others.</summary>
    public Task<bool> Next(string name) => Next<bool>(name);

    /// <summary>A wait for the next <paramref name="name"/> event with its payload (approve, reject), stopped with the others.</summary>
    public Task<T> Next<T>(string name) => _context.WaitForExternalEvent<T>(name, _stop.Token);

    /// <summary>
    /// A durable timer raced with the cancel event: throws <see cref="RunCancelledException"/> when the cancel comes
    /// first.
    /// </summary>
    public async Task DelayAsync(TimeSpan delay)
    {
        using var timer = new CancellationTokenSource();
        Task fired = _context.CreateTimer(_context.CurrentUtcDateTime + delay, timer.Token);
        if (await Task.WhenAny(fired, Cancel) != fired)
        {
            timer.Cancel();
            throw new RunCancelledException();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}

/// <summary>A cancel arrived: the run stops where it is (and cancels its job, if it has one).</summary>
internal sealed class RunCancelledException() : Exception("The run was cancelled on request.");
