using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using System.Text.Json.Serialization;
using FineTuning.Core.Hashing;

namespace FineTuning.Core.Datasets;

/// <summary>Where a distinct valid row first appears, its billable tokens, and the lines that repeat it.</summary>
public readonly record struct RowOccurrence(ContentHash Hash, long FirstLine, int BillableTokens, IReadOnlyList<long>? Repeats);

/// <summary>
/// The valid rows of a shard or a file by content hash: an open-addressing table of flat arrays (about 28 bytes a row
/// and no object per row), with the rare repeats kept aside. Past <see cref="MaxRowsInMemory"/> rows (repeats count
/// too) the table spills: every occurrence goes, 28 bytes each, to one of 64 temporary files chosen by hash, and each
/// file is read back into a small table when the rows are enumerated. So memory stays bounded whatever the file's size, and the answer is
/// the same as in memory (occurrences of one row always land in the same file). The files are unlinked as soon as they
/// are opened, so nothing is left behind even if the process is killed.
/// </summary>
[JsonConverter(typeof(RowHashTableJsonConverter))]
public sealed class RowHashTable
{
    /// <summary>
    /// 3/4 of 2^18 slots: the table stays within 8 MiB (12 MiB while growing), about a 370 MiB file of typical chat rows,
    /// before it spills.
    /// </summary>
    public const int DefaultMaxRowsInMemory = 196_608;

    private const int InitialSize = 1024;

    // Slot arrays up to this many (1 MiB, a 16 MiB shard's) are taken from a pool and given back when the table grows or
    // is let go: each shard of a file fills its own tables, and arrays allocated and dropped for every shard cost the GC
    // and the kernel (two threads spent 15% of their time growing tables). Larger ones are allocated.
    private const int PooledSlots = 32768;

    // One array of 32-byte slots: a probe reads one cache line (four arrays took four, and the table outgrows the cache).
    private Slot[] _slots = NewSlots(InitialSize);
    private Slot _pending; // an occurrence AddSoon holds (Line 0: none)
    private Dictionary<ContentHash, List<long>>? _repeats;
    private int _count;
    private int _repeatCount;
    private SpillFiles? _spill;
    private long _spilledCount = -1; // distinct rows once spilled, -1 until counted since the last add

    public RowHashTable(int maxRowsInMemory = DefaultMaxRowsInMemory)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRowsInMemory, 1);
        MaxRowsInMemory = maxRowsInMemory;
    }

    /// <summary>Occurrences (distinct rows and their repeats) held in memory before the table spills to temporary files.</summary>
    public int MaxRowsInMemory { get; }

    /// <summary>Whether the table has spilled to temporary files.</summary>
    public bool Spilled
    {
        get
        {
            Flush();
            return _spill is not null;
        }
    }

    /// <summary>Distinct rows (once spilled, counting reads the temporary files back, unless an enumeration just did).</summary>
    public long Count
    {
        get
        {
            Flush();
            if (_spill is null)
            {
                return _count;
            }

            if (_spilledCount < 0)
            {
                foreach (RowOccurrence _ in Rows()) { }
            }

            return _spilledCount;
        }
    }

    /// <summary>Adds an occurrence of a row (shards may add their lines in any order: the lowest line is the first).</summary>
    public void Add(ContentHash hash, long line, int billableTokens)
    {
        Flush();
        AddNow(hash, line, billableTokens);
    }

    /// <summary>
    /// Adds an occurrence as <see cref="Add"/> does, but puts it in its slot on the table's next call: meanwhile the slot
    /// is fetched into the cache while the caller reads its next row. A large shard's table outgrows the cache, and a
    /// new row's slot is a miss.
    /// </summary>
    public void AddSoon(ContentHash hash, long line, int billableTokens)
    {
        Flush();
        if (Sse.IsSupported && _spill is null)
        {
            Prefetch(ref _slots[(int)(hash.Low & (ulong)(_slots.Length - 1))]);
        }

        _pending = new Slot(hash.High, hash.Low, line, billableTokens);
    }

    private static unsafe void Prefetch(ref Slot slot) => Sse.Prefetch0(Unsafe.AsPointer(ref slot));

    /// <summary>Puts the occurrence <see cref="AddSoon"/> holds in its slot.</summary>
    private void Flush()
    {
        if (_pending.Line != 0)
        {
            Slot pending = _pending;
            _pending = default;
            AddNow(new ContentHash(pending.High, pending.Low), pending.Line, pending.Tokens);
        }
    }

    private void AddNow(ContentHash hash, long line, int billableTokens)
    {
        if (_spill is not null)
        {
            _spilledCount = -1;
            _spill.Write(hash, line, billableTokens);
            return;
        }

        if (_count + _repeatCount == MaxRowsInMemory)
        {
            Spill();
            AddNow(hash, line, billableTokens);
            return;
        }

        AddInMemory(hash, line, billableTokens);
    }

    private void AddInMemory(ContentHash hash, long line, int billableTokens)
    {
        if ((_count + 1) * 4 > _slots.Length * 3)
        {
            Grow();
        }

        ref Slot slot = ref _slots[Find(hash)];
        if (slot.Line == 0)
        {
            slot = new Slot(hash.High, hash.Low, line, billableTokens);
            _count++;
            return;
        }

        _repeats ??= [];
        if (!_repeats.TryGetValue(hash, out List<long>? repeats))
        {
            _repeats[hash] = repeats = [];
        }

        if (line < slot.Line)
        {
            // An earlier line than the one held (shards merge in any order): it becomes the first.
            repeats.Add(slot.Line);
            slot.Line = line;
        }
        else
        {
            repeats.Add(line);
        }

        _repeatCount++;
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
        Flush();
        if (_spill is null)
        {
            for (int i = 0; i < _slots.Length; i++)
            {
                Slot slot = _slots[i];
                if (slot.Line != 0)
                {
                    var hash = new ContentHash(slot.High, slot.Low);
                    yield return new RowOccurrence(
                        hash,
                        slot.Line,
                        slot.Tokens,
                        _repeats is not null && _repeats.TryGetValue(hash, out List<long>? r) ? r : null
                    );
                }
            }

            yield break;
        }

        // One file's occurrences at a time, a 64th of the rows, in one table reused from file to file (new arrays for
        // each would be large-object garbage).
        long distinct = 0;
        var part = new RowHashTable(int.MaxValue);
        for (int partition = 0; partition < SpillFiles.Partitions; partition++)
        {
            part.Clear();
            _spill.Read(partition, part.AddInMemory);
            distinct += part._count;
            foreach (RowOccurrence row in part.Rows())
            {
                yield return row;
            }
        }

        _spilledCount = distinct;
    }

    /// <summary>Empties an in-memory table, keeping its arrays.</summary>
    private void Clear()
    {
        Array.Clear(_slots);
        _repeats = null;
        _count = _repeatCount = 0;
    }

    private void Spill()
    {
        var spill = new SpillFiles();
        foreach (RowOccurrence row in Rows())
        {
            spill.Write(row.Hash, row.FirstLine, row.BillableTokens);
            foreach (long line in row.Repeats ?? [])
            {
                spill.Write(row.Hash, line, row.BillableTokens);
            }
        }

        _spill = spill;

        ReturnSlots(_slots);
        _slots = [];
        _repeats = null;
        _count = _repeatCount = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(ContentHash hash)
    {
        Slot[] slots = _slots;
        int mask = slots.Length - 1;
        int slot = (int)(hash.Low & (ulong)mask);
        while (slots[slot].Line != 0 && (slots[slot].High != hash.High || slots[slot].Low != hash.Low))
        {
            slot = (slot + 1) & mask;
        }

        return slot;
    }

    private void Grow()
    {
        Slot[] old = _slots;
        _slots = NewSlots(old.Length * 2);
        foreach (Slot slot in old)
        {
            if (slot.Line != 0)
            {
                _slots[Find(new ContentHash(slot.High, slot.Low))] = slot;
            }
        }

        ReturnSlots(old);
    }

    /// <summary>
    /// Gives the table's slots back to the pool once it is no longer read (a shard's table merged into another): the
    /// table is then empty.
    /// </summary>
    public void Release()
    {
        _pending = default;
        ReturnSlots(_slots);
        _slots = [];
        _repeats = null;
        _count = _repeatCount = 0;
    }

    /// <summary>An array of <paramref name="length"/> empty slots (a power of two).</summary>
    private static Slot[] NewSlots(int length)
    {
        if (length > PooledSlots)
        {
            // Written before it is read: a fresh array's pages are first mapped to the kernel's zero page when read (a
            // probe), then copied on the first write, each copy flushing every core's TLB (5% of validating on two
            // threads). Cleared first, each page is faulted in once, for writing.
            Slot[] fresh = GC.AllocateUninitializedArray<Slot>(length);
            Array.Clear(fresh);
            return fresh;
        }

        Slot[] slots = ArrayPool<Slot>.Shared.Rent(length);
        Array.Clear(slots); // a pooled array holds what its last table left
        return slots;
    }

    private static void ReturnSlots(Slot[] slots)
    {
        if (slots.Length is > 0 and <= PooledSlots)
        {
            ArrayPool<Slot>.Shared.Return(slots);
        }
    }

    /// <summary>A distinct row: its hash, first line (0: the slot is empty; lines start at 1) and billable tokens.</summary>
    private record struct Slot(ulong High, ulong Low, long Line, int Tokens);

    /// <summary>64 temporary files of fixed-size occurrence records (high, low, line, tokens), partitioned by hash.</summary>
    private sealed class SpillFiles
    {
        public const int Partitions = 64;
        private const int RecordBytes = 28;
        private const int BufferBytes = 16 * 1024;
        private readonly FileStream[] _files = new FileStream[Partitions];

        public SpillFiles()
        {
            for (int i = 0; i < Partitions; i++)
            {
                _files[i] = AtomicFile.OpenScratch(Path.GetTempPath(), "finetune-rows-", BufferBytes);
            }
        }

        public void Write(ContentHash hash, long line, int tokens)
        {
            Span<byte> record = stackalloc byte[RecordBytes];
            BinaryPrimitives.WriteUInt64LittleEndian(record, hash.High);
            BinaryPrimitives.WriteUInt64LittleEndian(record[8..], hash.Low);
            BinaryPrimitives.WriteInt64LittleEndian(record[16..], line);
            BinaryPrimitives.WriteInt32LittleEndian(record[24..], tokens);
            _files[(int)(hash.High >> 58)].Write(record);
        }

        public void Read(int partition, Action<ContentHash, long, int> add)
        {
            FileStream file = _files[partition];
            file.Flush();
            long end = file.Position;
            file.Position = 0;
            byte[] buffer = new byte[RecordBytes * 2048];
            long left = end;
            while (left > 0)
            {
                int want = (int)Math.Min(buffer.Length, left);
                file.ReadExactly(buffer, 0, want);
                for (int at = 0; at < want; at += RecordBytes)
                {
                    ReadOnlySpan<byte> r = buffer.AsSpan(at, RecordBytes);
                    add(
                        new ContentHash(BinaryPrimitives.ReadUInt64LittleEndian(r), BinaryPrimitives.ReadUInt64LittleEndian(r[8..])),
                        BinaryPrimitives.ReadInt64LittleEndian(r[16..]),
                        BinaryPrimitives.ReadInt32LittleEndian(r[24..])
                    );
                }

                left -= want;
            }

            file.Position = end; // Later occurrences are appended.
        }
    }
}

/// <summary>
/// JSON: <c>{"&lt;hash&gt;": {"firstLine": n, "billableTokens": n, "repeats": [..]}}</c>, rows sorted by hash so equal
/// tables write equal text.
/// </summary>
internal sealed class RowHashTableJsonConverter : JsonConverter<RowHashTable>
{
    public override RowHashTable Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var table = new RowHashTable();
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException("rowHashes must be an object.");
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
                    case "firstLine":
                        first = reader.GetInt64();
                        break;
                    case "billableTokens":
                        tokens = reader.GetInt32();
                        break;
                    case "repeats" when reader.TokenType == JsonTokenType.StartArray:
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                            repeats.Add(reader.GetInt64());
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            table.Add(hash, first, tokens);
            foreach (long line in repeats)
                table.Add(hash, line, tokens);
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
                foreach (long line in repeats.Order())
                    writer.WriteNumberValue(line);
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}
