namespace FineTuning.Emulator;

/// <summary>How the emulator behaves: its key, its clock, and how long simulated jobs take.</summary>
public sealed record EmulatorOptions
{
    /// <summary>The key clients must send (Bearer or api-key); null accepts any non-empty key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The clock jobs advance on; tests pass a manual one.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Simulated seconds per real second (the emulator's clock runs this much faster than <see cref="Time"/>).</summary>
    public double Speed { get; init; } = 10;

    /// <summary>Simulated seconds in validating_files, then in queued.</summary>
    public double ValidatingSeconds { get; init; } = 30;

    public double QueuedSeconds { get; init; } = 30;

    /// <summary>Training steps of a job, and simulated seconds per step.</summary>
    public int Steps { get; init; } = 10;

    public double SecondsPerStep { get; init; } = 20;

    /// <summary>
    /// Folder for a snapshot of files and jobs that survives restarts (null: memory only; uploads in progress are never
    /// kept).
    /// </summary>
    public string? StateDirectory { get; init; }

    /// <summary>Faults to inject into the next matching requests.</summary>
    public FaultPlan Faults { get; init; } = new();
}
