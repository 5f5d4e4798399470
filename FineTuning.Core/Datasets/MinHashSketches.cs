using System.Text.Json;

namespace FineTuning.Core.Datasets;

/// <summary>
/// Opt-in fuzzy near-duplicates (<c>validate --near-duplicates</c>): each valid row's text (the string values of the
/// members the provider trains on, system and developer messages left out, lower-cased, cut into words of letters and
/// digits) as a MinHash signature of its word 3-grams (<see cref="Hashes"/> minimums of 64-bit hashes, 32 bits kept).
/// At the merge, rows in line order are bucketed by <see cref="Bands"/> bands of <see cref="RowsPerBand"/> (each bucket
/// compared with at most its first <see cref="MaxBucketRows"/> rows), and a row whose signature agrees with an earlier
/// one's on at least <see cref="Threshold"/> of its hashes (the estimated Jaccard similarity of their 3-grams) is
/// reported with that earlier line. Signatures are kept per shard and compared only at the merge, so any cut of the file
/// gives the same pairs. Memory: about 600 bytes a row while the report is made (the signature and the sorted band keys;
/// 1 million rows: about 0.6 GB), which is why it is not on by default.
/// </summary>
public sealed class MinHashSketches
{
    public const int Hashes = 64;
    public const int Bands = 16;
    public const int RowsPerBand = Hashes / Bands;
    public const double Threshold = 0.8;

    /// <summary>
    /// The most rows a bucket compares a new row with (the earliest ones): text made from one template puts many rows in a
    /// bucket, and comparing each with all of them would take time quadratic in the rows.
    /// </summary>
    public const int MaxBucketRows = 32;

    /// <summary>Rows with fewer words than this are left to the folded-text check (a 3-gram needs three words).</summary>
    public const int MinWords = 3;

    private static readonly ulong[] Seeds = [.. Enumerable.Range(0, Hashes).Select(i => Mix(0x9E3779B97F4A7C15UL * (ulong)(i + 1)))];

    private readonly List<(long Line, uint[] Signature)> _rows = [];

    /// <summary>Adds the row at <paramref name="line"/>, read from the trained members of <paramref name="row"/>.</summary>
    public void Add(
        long line,
        ReadOnlySpan<byte> row,
        IReadOnlyList<(int NameStart, int NameLength, int ValueStart, int ValueLength)> members,
        FineTuningMethod method
    )
    {
        List<ulong> words = Words(row, members, method);
        if (words.Count < MinWords)
        {
            return;
        }

        Span<ulong> minimums = stackalloc ulong[Hashes];
        minimums.Fill(ulong.MaxValue);
        for (int i = 0; i + 2 < words.Count; i++)
        {
            ulong shingle = Mix(words[i] ^ Mix(words[i + 1] ^ Mix(words[i + 2])));
            for (int h = 0; h < Hashes; h++)
            {
                ulong value = Mix(shingle ^ Seeds[h]);
                if (value < minimums[h])
                    minimums[h] = value;
            }
        }

        var signature = new uint[Hashes];
        for (int h = 0; h < Hashes; h++)
            signature[h] = (uint)minimums[h];
        _rows.Add((line, signature));
    }

    public void MergeFrom(MinHashSketches other) => _rows.AddRange(other._rows);

    // Leads the signatures as written: "MH", a version, and the hashes a signature holds.
    private const int Format = 0x4D480100 | Hashes;

    /// <summary>
    /// Writes the signatures, for a shard validated in one process and merged in another (a run's ValidateShard and
    /// MergeValidation): each row's line and hashes, little-endian, 264 bytes a row.
    /// </summary>
    public async Task WriteToAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream((_rows.Count * ((Hashes * sizeof(uint)) + sizeof(long))) + 8);
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Format);
            writer.Write(_rows.Count);
            foreach ((long line, uint[] signature) in _rows)
            {
                writer.Write(line);
                foreach (uint hash in signature)
                    writer.Write(hash);
            }
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads signatures written by <see cref="WriteToAsync"/>; <paramref name="source"/> names them in errors.</summary>
    public static async Task<MinHashSketches> ReadFromAsync(Stream stream, string source, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        using var reader = new BinaryReader(buffer);
        var sketches = new MinHashSketches();
        try
        {
            if (reader.ReadInt32() != Format)
            {
                throw new InvalidDataException(
                    $"{source} does not hold MinHash signatures of {Hashes} hashes; validate the dataset again."
                );
            }

            int count = reader.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                long line = reader.ReadInt64();
                var signature = new uint[Hashes];
                for (int h = 0; h < Hashes; h++)
                    signature[h] = reader.ReadUInt32();
                sketches._rows.Add((line, signature));
            }
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{source} ends before its last MinHash signature; validate the dataset again.");
        }

        return sketches;
    }

    /// <summary>
    /// Each row that is near an earlier one (in line order), with the earliest such line and the estimated similarity;
    /// rows in <paramref name="skip"/> (already reported as exact or folded repeats) are neither reported nor matched.
    /// </summary>
    public IEnumerable<(long Line, long Earlier, double Similarity)> Pairs(IReadOnlySet<long> skip)
    {
        (long Line, uint[] Signature)[] rows = [.. _rows.Where(r => !skip.Contains(r.Line)).OrderBy(r => r.Line)];
        // Every row's band keys, sorted by key then row: a bucket is a run of equal keys, its rows in line order. A row is
        // compared with the rows before it in its bucket, at most the bucket's first MaxBucketRows.
        var keys = new (ulong Key, int Row)[rows.Length * Bands];
        for (int i = 0; i < rows.Length; i++)
        {
            for (int b = 0; b < Bands; b++)
                keys[(i * Bands) + b] = (BandKey(rows[i].Signature, b), i);
        }

        Array.Sort(keys);
        int[] best = new int[rows.Length];
        double[] similarity = new double[rows.Length];
        Array.Fill(best, -1);
        for (int start = 0, end; start < keys.Length; start = end)
        {
            for (end = start + 1; end < keys.Length && keys[end].Key == keys[start].Key; end++) { }
            for (int p = start + 1; p < end; p++)
            {
                int i = keys[p].Row;
                for (int q = start; q < Math.Min(p, start + MaxBucketRows); q++)
                {
                    int j = keys[q].Row;
                    if (j == i || (best[i] >= 0 && best[i] <= j))
                        continue;
                    double alike = Similarity(rows[i].Signature, rows[j].Signature);
                    if (alike >= Threshold)
                        (best[i], similarity[i]) = (j, alike);
                }
            }
        }

        for (int i = 0; i < rows.Length; i++)
        {
            if (best[i] >= 0)
                yield return (rows[i].Line, rows[best[i]].Line, similarity[i]);
        }
    }

    private static ulong BandKey(uint[] signature, int band)
    {
        ulong key = (ulong)band;
        for (int r = 0; r < RowsPerBand; r++)
            key = Mix(key ^ signature[(band * RowsPerBand) + r]);
        return key;
    }

    private static double Similarity(uint[] a, uint[] b)
    {
        int same = 0;
        for (int h = 0; h < Hashes; h++)
        {
            if (a[h] == b[h])
                same++;
        }

        return (double)same / Hashes;
    }

    /// <summary>
    /// The words of the trained members' string values (runs of letters and digits, lower-cased, as hashes), leaving out
    /// system and developer messages (a prompt many rows share would make them alike) and the roles themselves.
    /// </summary>
    private static List<ulong> Words(
        ReadOnlySpan<byte> row,
        IReadOnlyList<(int NameStart, int NameLength, int ValueStart, int ValueLength)> members,
        FineTuningMethod method
    )
    {
        IReadOnlyList<byte[]>? kept = TrainedMembers.Kept(method);
        var words = new List<ulong>();
        foreach ((int nameStart, int nameLength, int valueStart, int valueLength) in members)
        {
            ReadOnlySpan<byte> name = row.Slice(nameStart, nameLength);
            if (!TrainedMembers.IsKept(kept, name) || (kept is null && name.SequenceEqual("metadata"u8)))
            {
                continue;
            }

            var reader = new Utf8JsonReader(row.Slice(valueStart, valueLength));
            using JsonDocument value = JsonDocument.ParseValue(ref reader);
            Visit(value.RootElement, words);
        }

        return words;
    }

    private static void Visit(JsonElement element, List<ulong> words)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                // Each word hashed as it is read (FNV-1a over its lower-cased characters), so no word is ever copied.
                const ulong Basis = 14695981039346656037UL,
                    Prime = 1099511628211UL;
                ulong word = Basis;
                bool inWord = false;
                foreach (char c in element.GetString()!)
                {
                    if (char.IsLetterOrDigit(c))
                    {
                        word = (word ^ char.ToLowerInvariant(c)) * Prime;
                        inWord = true;
                    }
                    else if (inWord)
                    {
                        words.Add(Mix(word));
                        (word, inWord) = (Basis, false);
                    }
                }

                if (inWord)
                    words.Add(Mix(word));
                break;
            case JsonValueKind.Array:
                foreach (JsonElement item in element.EnumerateArray())
                    Visit(item, words);
                break;
            case JsonValueKind.Object:
                if (
                    element.TryGetProperty("role", out JsonElement role)
                    && role.ValueKind == JsonValueKind.String
                    && role.GetString() is "system" or "developer"
                )
                {
                    return;
                }

                foreach (JsonProperty property in element.EnumerateObject())
                {
                    if (property.Name != "role")
                        Visit(property.Value, words);
                }

                break;
        }
    }

    /// <summary>SplitMix64's finaliser: a fast, well-mixed 64-bit permutation.</summary>
    private static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
