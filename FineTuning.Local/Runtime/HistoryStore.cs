using System.Globalization;
using Microsoft.Data.Sqlite;

namespace FineTuning.Local.Runtime;

/// <summary>What happened to an orchestration, in the order it happened; replay feeds it back to the orchestrator.</summary>
public enum HistoryKind
{
    ExecutionStarted,
    TaskScheduled,
    SubOrchestrationScheduled,
    TaskCompleted,
    TaskFailed,
    TimerCreated,
    TimerFired,
    EventRaised,
}

/// <summary>One history event. <see cref="TaskId"/> numbers the tasks and timers an orchestrator schedules, in order.</summary>
public sealed record HistoryEvent(
    HistoryKind Kind,
    DateTime Timestamp,
    int TaskId = -1,
    string? Name = null,
    string? Payload = null,
    DateTime? FireAt = null
)
{
    /// <summary>
    /// The <see cref="TaskId"/> of an event a ContinueAsNew carried into the next execution (recorded before that
    /// execution ran).
    /// </summary>
    public const int CarriedOver = -2;

    public bool IsCarriedOver => Kind == HistoryKind.EventRaised && TaskId == CarriedOver;
}

/// <summary>The state of an orchestration instance.</summary>
public enum InstanceStatus
{
    Running,
    Completed,
    Failed,
}

public sealed record InstanceState(
    string InstanceId,
    string Name,
    InstanceStatus Status,
    string Input,
    string? Output,
    string? CustomStatus,
    string? Failure,
    DateTime CreatedAt,
    DateTime UpdatedAt
);

/// <summary>An external event raised for an instance, waiting to be moved into its history.</summary>
public sealed record PendingEvent(long Id, string InstanceId, string Name, string? Payload, DateTime RaisedAt);

/// <summary>
/// The embedded runtime's durable state in one SQLite file: instances, their histories (append only), and an inbox of
/// raised events that any process may write (<c>finetune cancel</c> while a run is followed elsewhere, or while
/// nothing runs), moved into a history in the same transaction that deletes it.
/// </summary>
public sealed class HistoryStore
{
    private readonly Storage.SqliteFile _file;

    public HistoryStore(string path) =>
        _file = new Storage.SqliteFile(
            path,
            """
            CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, input TEXT NOT NULL,
                output TEXT, custom_status TEXT, failure TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS history (instance_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, task_id INTEGER NOT NULL,
                name TEXT, payload TEXT, fire_at TEXT, timestamp TEXT NOT NULL, PRIMARY KEY (instance_id, seq));
            CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, name TEXT NOT NULL,
                payload TEXT, raised_at TEXT NOT NULL);
            """
        );

    /// <summary>Creates an instance with its ExecutionStarted event; false when one with this id exists (running or ended).</summary>
    public bool TryCreate(string instanceId, string name, string input, DateTime now)
    {
        using SqliteConnection connection = _file.Open();
        using SqliteTransaction transaction = connection.BeginTransaction();
        if (Scalar(connection, transaction, "SELECT 1 FROM instances WHERE id = $id", ("$id", instanceId)) is not null)
        {
            return false;
        }

        Run(
            connection,
            transaction,
            "INSERT INTO instances (id, name, status, input, created_at, updated_at) VALUES ($id, $name, $status, $input, $now, $now)",
            ("$id", instanceId),
            ("$name", name),
            ("$status", nameof(InstanceStatus.Running)),
            ("$input", input),
            ("$now", Format(now))
        );
        Insert(connection, transaction, instanceId, 0, new HistoryEvent(HistoryKind.ExecutionStarted, now, Name: name, Payload: input));
        transaction.Commit();
        return true;
    }

    /// <summary>Starts an instance's history again with a new input (ContinueAsNew), carrying events it had not yet taken.</summary>
    public void Restart(string instanceId, string input, IReadOnlyList<(string Name, string? Payload)> carried, DateTime now)
    {
        using SqliteConnection connection = _file.Open();
        using SqliteTransaction transaction = connection.BeginTransaction();
        string name = (string)Scalar(connection, transaction, "SELECT name FROM instances WHERE id = $id", ("$id", instanceId))!;
        Run(connection, transaction, "DELETE FROM history WHERE instance_id = $id", ("$id", instanceId));
        Run(
            connection,
            transaction,
            "UPDATE instances SET input = $input, updated_at = $now WHERE id = $id",
            ("$id", instanceId),
            ("$input", input),
            ("$now", Format(now))
        );
        Insert(connection, transaction, instanceId, 0, new HistoryEvent(HistoryKind.ExecutionStarted, now, Name: name, Payload: input));
        for (int i = 0; i < carried.Count; i++)
        {
            Insert(
                connection,
                transaction,
                instanceId,
                i + 1,
                new HistoryEvent(HistoryKind.EventRaised, now, HistoryEvent.CarriedOver, carried[i].Name, carried[i].Payload)
            );
        }

        transaction.Commit();
    }

    /// <summary>Appends an event at position <paramref name="seq"/>; a second writer of the same position fails (primary key).</summary>
    public void Append(string instanceId, int seq, HistoryEvent e)
    {
        using SqliteConnection connection = _file.Open();
        Insert(connection, null, instanceId, seq, e);
    }

    /// <summary>Moves a raised event from the inbox into the history, once.</summary>
    public bool MoveFromInbox(string instanceId, int seq, PendingEvent pending, HistoryEvent e)
    {
        using SqliteConnection connection = _file.Open();
        using SqliteTransaction transaction = connection.BeginTransaction();
        if (Run(connection, transaction, "DELETE FROM inbox WHERE id = $id", ("$id", pending.Id)) == 0)
        {
            return false;
        }

        Insert(connection, transaction, instanceId, seq, e);
        transaction.Commit();
        return true;
    }

    public IReadOnlyList<HistoryEvent> LoadHistory(string instanceId)
    {
        using SqliteConnection connection = _file.Open();
        using SqliteCommand command = Command(
            connection,
            null,
            "SELECT kind, timestamp, task_id, name, payload, fire_at FROM history WHERE instance_id = $id ORDER BY seq",
            ("$id", instanceId)
        );
        using SqliteDataReader reader = command.ExecuteReader();
        var events = new List<HistoryEvent>();
        while (reader.Read())
        {
            events.Add(
                new HistoryEvent(
                    Enum.Parse<HistoryKind>(reader.GetString(0)),
                    Parse(reader.GetString(1)),
                    reader.GetInt32(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : Parse(reader.GetString(5))
                )
            );
        }

        return events;
    }

    public void Finish(string instanceId, InstanceStatus status, string? output, string? failure, DateTime now)
    {
        using SqliteConnection connection = _file.Open();
        Run(
            connection,
            null,
            "UPDATE instances SET status = $status, output = $output, failure = $failure, updated_at = $now WHERE id = $id",
            ("$id", instanceId),
            ("$status", status.ToString()),
            ("$output", output),
            ("$failure", failure),
            ("$now", Format(now))
        );
    }

    public void SetCustomStatus(string instanceId, string? customStatus, DateTime now)
    {
        using SqliteConnection connection = _file.Open();
        Run(
            connection,
            null,
            "UPDATE instances SET custom_status = $custom, updated_at = $now WHERE id = $id",
            ("$id", instanceId),
            ("$custom", customStatus),
            ("$now", Format(now))
        );
    }

    public InstanceState? Get(string instanceId) => Instances("WHERE id = $id", ("$id", instanceId)).SingleOrDefault();

    /// <summary>Every instance the history holds, running or ended, oldest first.</summary>
    public IReadOnlyList<InstanceState> All() => Instances("ORDER BY created_at, id");

    public IReadOnlyList<InstanceState> Running() =>
        Instances("WHERE status = $status ORDER BY created_at, id", ("$status", nameof(InstanceStatus.Running)));

    /// <summary>
    /// Raises an event for an instance; it reaches the orchestration when a runtime owning the data directory next
    /// looks.
    /// </summary>
    public long Raise(string instanceId, string name, string? payload, DateTime now)
    {
        using SqliteConnection connection = _file.Open();
        return (long)
            Scalar(
                connection,
                null,
                "INSERT INTO inbox (instance_id, name, payload, raised_at) VALUES ($id, $name, $payload, $now) RETURNING id",
                ("$id", instanceId),
                ("$name", name),
                ("$payload", payload),
                ("$now", Format(now))
            )!;
    }

    public IReadOnlyList<PendingEvent> Inbox()
    {
        using SqliteConnection connection = _file.Open();
        using SqliteCommand command = Command(connection, null, "SELECT id, instance_id, name, payload, raised_at FROM inbox ORDER BY id");
        using SqliteDataReader reader = command.ExecuteReader();
        var events = new List<PendingEvent>();
        while (reader.Read())
        {
            events.Add(
                new PendingEvent(
                    reader.GetInt64(0),
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    Parse(reader.GetString(4))
                )
            );
        }

        return events;
    }

    /// <summary>Drops an inbox event whose instance has ended or never existed (Durable drops those too).</summary>
    public void Discard(long pendingId)
    {
        using SqliteConnection connection = _file.Open();
        Run(connection, null, "DELETE FROM inbox WHERE id = $id", ("$id", pendingId));
    }

    private List<InstanceState> Instances(string where, params (string Name, object? Value)[] parameters)
    {
        using SqliteConnection connection = _file.Open();
        using SqliteCommand command = Command(
            connection,
            null,
            "SELECT id, name, status, input, output, custom_status, failure, created_at, updated_at FROM instances " + where,
            parameters
        );
        using SqliteDataReader reader = command.ExecuteReader();
        var instances = new List<InstanceState>();
        while (reader.Read())
        {
            instances.Add(
                new InstanceState(
                    reader.GetString(0),
                    reader.GetString(1),
                    Enum.Parse<InstanceStatus>(reader.GetString(2)),
                    reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6),
                    Parse(reader.GetString(7)),
                    Parse(reader.GetString(8))
                )
            );
        }

        return instances;
    }

    private static void Insert(SqliteConnection connection, SqliteTransaction? transaction, string instanceId, int seq, HistoryEvent e) =>
        Run(
            connection,
            transaction,
            "INSERT INTO history (instance_id, seq, kind, task_id, name, payload, fire_at, timestamp) VALUES ($id, $seq, $kind, $task, "
                + "$name, $payload, $fire, $at)",
            ("$id", instanceId),
            ("$seq", seq),
            ("$kind", e.Kind.ToString()),
            ("$task", e.TaskId),
            ("$name", e.Name),
            ("$payload", e.Payload),
            ("$fire", e.FireAt is { } fire ? Format(fire) : null),
            ("$at", Format(e.Timestamp))
        );

    private static int Run(
        SqliteConnection connection,
        SqliteTransaction? transaction,
        string sql,
        params (string Name, object? Value)[] parameters
    )
    {
        using SqliteCommand command = Command(connection, transaction, sql, parameters);
        return command.ExecuteNonQuery();
    }

    private static object? Scalar(
        SqliteConnection connection,
        SqliteTransaction? transaction,
        string sql,
        params (string Name, object? Value)[] parameters
    )
    {
        using SqliteCommand command = Command(connection, transaction, sql, parameters);
        return command.ExecuteScalar();
    }

    private static SqliteCommand Command(
        SqliteConnection connection,
        SqliteTransaction? transaction,
        string sql,
        params (string Name, object? Value)[] parameters
    )
    {
        SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach ((string name, object? value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static string Format(DateTime value) => value.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static DateTime Parse(string value) =>
        DateTime.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
}
