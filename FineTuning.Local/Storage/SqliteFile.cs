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

    /// <summary>
    /// Null when <paramref name="path"/> is missing or a sound SQLite database (SQLite's <c>quick_check</c>); else what is
    /// wrong with it, in SQLite's words.
    /// </summary>
    public static string? Damage(string path)
    {
        if (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            return null;
        }

        try
        {
            using var connection = new SqliteConnection(
                new SqliteConnectionStringBuilder
                {
                    DataSource = path,
                    Mode = SqliteOpenMode.ReadOnly,
                    Pooling = false,
                }.ToString()
            );
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "PRAGMA quick_check";
            using SqliteDataReader reader = command.ExecuteReader();
            var problems = new List<string>();
            while (reader.Read())
                problems.Add(reader.GetString(0));
            return problems is ["ok"] ? null : string.Join("; ", problems.Take(3));
        }
        catch (SqliteException ex)
        {
            return ex.Message.Replace("SQLite Error ", "", StringComparison.Ordinal);
        }
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
