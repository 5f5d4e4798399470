using System.Text.Json.Serialization;

namespace FineTuning.Core.Datasets;

/// <summary>
/// An exact histogram of integer values (value → how many times it was seen). It merges exactly, so shard
/// statistics combine into the same figures as one pass over the whole file, and its size grows with the number of
/// distinct values, not with the number of rows.
/// </summary>
public sealed class Distribution
{
    [JsonInclude]
    [JsonPropertyName("counts")]
    internal Dictionary<int, long> Counts { get; set; } = [];

    public void Add(int value)
    {
        ref long slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(Counts, value, out _);
        slot++;
    }

    public void MergeFrom(Distribution other)
    {
        foreach ((int value, long count) in other.Counts)
        {
            ref long slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(Counts, value, out _);
            slot += count;
        }
    }

    /// <summary>Min, max, mean, median, p10 and p90 (nearest-rank percentiles), or null when empty.</summary>
    public Summary? Summarize()
    {
        if (Counts.Count == 0)
        {
            return null;
        }

        KeyValuePair<int, long>[] sorted = Counts.OrderBy(p => p.Key).ToArray();
        long n = sorted.Sum(p => p.Value);
        double sum = sorted.Sum(p => (double)p.Key * p.Value);
        return new Summary(
            Count: n,
            Min: sorted[0].Key,
            Max: sorted[^1].Key,
            Mean: Math.Round(sum / n, 2),
            Median: Rank(sorted, n, 0.5),
            P10: Rank(sorted, n, 0.1),
            P90: Rank(sorted, n, 0.9),
            Total: (long)sum
        );
    }

    /// <summary>
    /// The values in at most <paramref name="bins"/> bins of equal width from the smallest value to the largest (each bin
    /// holds <c>From</c> to <c>To</c>, both included); empty when nothing was seen.
    /// </summary>
    public IReadOnlyList<HistogramBin> Histogram(int bins = 20)
    {
        if (Counts.Count == 0)
        {
            return [];
        }

        int min = Counts.Keys.Min(),
            max = Counts.Keys.Max();
        long width = Math.Max(1, ((long)max - min + bins) / bins);
        int used = (int)(((long)max - min) / width) + 1;
        long[] rows = new long[used];
        foreach ((int value, long count) in Counts)
        {
            rows[((long)value - min) / width] += count;
        }

        return [.. rows.Select((n, i) => new HistogramBin((int)(min + i * width), (int)Math.Min(max, min + (i + 1) * width - 1), n))];
    }

    private static int Rank(KeyValuePair<int, long>[] sorted, long n, double q)
    {
        long rank = Math.Max(1, (long)Math.Ceiling(q * n));
        long seen = 0;
        foreach ((int value, long count) in sorted)
        {
            seen += count;
            if (seen >= rank)
            {
                return value;
            }
        }

        return sorted[^1].Key;
    }
}

/// <summary>One bin of a histogram: how many values fell from <paramref name="From"/> to <paramref name="To"/>.</summary>
public sealed record HistogramBin(int From, int To, long Rows);

/// <summary>A summary of a distribution over examples.</summary>
public sealed record Summary(long Count, int Min, int Max, double Mean, int Median, int P10, int P90, long Total);
