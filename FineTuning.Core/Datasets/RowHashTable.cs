using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using FineTuning.Core.Hashing;

namespace FineTuning.Core.Datasets;

/// <summary>Where a distinct valid row first appears, its billable tokens, and the lines that repeat it.</summary>
public readonly record struct RowOccurrence(ContentHash Hash, long FirstLine, int BillableTokens, IReadOnlyList<long>? Repeats);

/// <summary>
/// The valid rows of a shard by content hash: an open-addressing table of flat arrays (about 28 bytes a row and no
/// object per row, where a dictionary of objects took about 72), with the rare repeats kept aside.
/// </summary>
[JsonConverter(typeof(RowHashTableJsonConverter))]
public sealed class RowHashTable
{
    private ulong[] _high = new ulong[1024];
    private ulong[] _low = new ulong[1024];
    private long[] _line = new long[1024]; // 0: empty slot (lines start at 1)
    private int[] _tokens = new int[1024];
    private Dictionary<ContentHash, List<long>>? _repeats;

    public int Count { get; private set; }

    /// <summary>Adds an occurrence of a row; true when no earlier line of this table had the same content.</summary>
    public bool Add(ContentHash hash, long line, int billableTokens)
    {
        if ((Count + 1) * 4 > _line.Length * 3)
        {
            Grow();
        }

        int slot = Find(hash);
        if (_line[slot] == 0)
        {
            _high[slot] = hash.High;
            _low[slot] = hash.Low;
            _line[slot] = line;
            _tokens[slot] = billableTokens;
            Count++;
            return true;
        }

        _repeats ??= [];
        if (!_repeats.TryGetValue(hash, out List<long>? repeats))
        {
            _repeats[hash] = repeats = [];
        }

        if (line < _line[slot])
        {
            // An earlier line than the one held (shards merge in any order): it becomes the first.
            repeats.Add(_line[slot]);
            _line[slot] = line;
            return true;
        }

        repeats.Add(line);
        return false;
    }

    /// <summary>Adds every occurrence of another table.</summary>
    public void MergeFrom(RowHashTable other)
    {
        foreach (RowOccurrence row in other.Rows())
        {
            Add(row.Hash, row.FirstLine, row.BillableTokens);
            foreach (long line in row.Repeats ?? [])
            {
                Add(row.Hash, line, row.BillableTokens);
            }
        }
    }

    /// <summary>Every distinct row, in no particular order.</summary>
    public IEnumerable<RowOccurrence> Rows()
    {
        for (int i = 0; i < _line.Length; i++)
        {
            if (_line[i] != 0)
            {
                var hash = new ContentHash(_high[i], _low[i]);
                yield return new RowOccurrence(hash, _line[i], _tokens[i], _repeats is not null && _repeats.TryGetValue(hash, out List<long>? r) ? r : null);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(ContentHash hash)
    {
        int mask = _line.Length - 1;
        int slot = (int)(hash.Low & (ulong)mask);
        while (_line[slot] != 0 && (_high[slot] != hash.High || _low[slot] != hash.Low))
        {
            slot = (slot + 1) & mask;
        }

        return slot;
    }

    private void Grow()
    {
        ulong[] high = _high, low = _low;
        long[] lines = _line;
        int[] tokens = _tokens;
        int size = lines.Length * 2;
        _high = new ulong[size];
        _low = new ulong[size];
        _line = new long[size];
        _tokens = new int[size];
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i] != 0)
            {
                int slot = Find(new ContentHash(high[i], low[i]));
                _high[slot] = high[i];
                _low[slot] = low[i];
                _line[slot] = lines[i];
                _tokens[slot] = tokens[i];
            }
        }
    }
}

/// <summary>JSON: <c>{"&lt;hash&gt;": {"firstLine": n, "billableTokens": n, "repeats": [..]}}</c>, rows sorted by hash so equal tables write equal text.</summary>
internal sealed class RowHashTableJsonConverter : JsonConverter<RowHashTable>
{
    public override RowHashTable Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var table = new RowHashTable();
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("rowHashes must be an object.");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ContentHash hash = ContentHash.Parse(reader.GetString()!);
            long first = 0;
            int tokens = 0;
            var repeats = new List<long>();
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                switch (name)
                {
                    case "firstLine": first = reader.GetInt64(); break;
                    case "billableTokens": tokens = reader.GetInt32(); break;
                    case "repeats" when reader.TokenType == JsonTokenType.StartArray:
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) repeats.Add(reader.GetInt64());
                        break;
                    default: reader.Skip(); break;
                }
            }

            table.Add(hash, first, tokens);
            foreach (long line in repeats) table.Add(hash, line, tokens);
        }

        return table;
    }

    public override void Write(Utf8JsonWriter writer, RowHashTable value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (RowOccurrence row in value.Rows().OrderBy(r => r.Hash))
        {
            writer.WriteStartObject(row.Hash.ToString());
            writer.WriteNumber("firstLine", row.FirstLine);
            writer.WriteNumber("billableTokens", row.BillableTokens);
            if (row.Repeats is { Count: > 0 } repeats)
            {
                writer.WriteStartArray("repeats");
                foreach (long line in repeats.Order()) writer.WriteNumberValue(line);
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}
