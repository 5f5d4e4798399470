using Microsoft.Data.Sqlite;

namespace FineTuning.Local.Storage;

/// <summary>
/// One SQLite database file of the data directory, as the local stores use it: pooled connections, WAL (readers go on
/// while one process writes), synchronous NORMAL (a killed process loses nothing committed, without an fsync per commit).
/// </summary>
internal sealed class SqliteFile
{
    private readonly string _connectionString;

    /// <summary>Opens (creating) the file and its schema.</summary>
    public SqliteFile(string path, string schema)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using SqliteConnection connection = Open();
        Execute(connection, "PRAGMA journal_mode = WAL;\n" + schema);
    }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, "PRAGMA synchronous = NORMAL");
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
