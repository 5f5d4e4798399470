using FineTuning.Core.Datasets;

namespace FineTuning.Tests.Datasets;

/// <summary>The token-length histogram the validation report carries (the dashboard draws it).</summary>
public class DistributionTests
{
    [Theory]
    [InlineData(1, 1000)]
    [InlineData(37, 41)]
    [InlineData(5, 5)]
    [InlineData(0, 19)]
    public void Histogram_CoversEveryValueOnce_InEqualBinsFromMinToMax(int min, int max)
    {
        var distribution = new Distribution();
        for (int value = min; value <= max; value++)
        {
            distribution.Add(value);
            distribution.Add(value);
        }

        IReadOnlyList<HistogramBin> bins = distribution.Histogram();

        Assert.InRange(bins.Count, 1, 20);
        Assert.Equal(min, bins[0].From);
        Assert.Equal(max, bins[^1].To);
        Assert.Equal(2L * (max - min + 1), bins.Sum(b => b.Rows));
        for (int i = 0; i < bins.Count; i++)
        {
            // Each bin holds exactly the values from its From to its To, and the next begins where it ends.
            Assert.Equal(2L * (bins[i].To - bins[i].From + 1), bins[i].Rows);
            if (i > 0)
                Assert.Equal(bins[i - 1].To + 1, bins[i].From);
        }
    }

    [Fact]
    public void TheValidationReport_HasAHistogramOfEveryExamplesTokens()
    {
        using var dir = new TempDir();
        string file = dir.Write(
            "d.jsonl",
            Rows.Jsonl(Rows.ManyChats(50).Append(Rows.Chat(string.Join(' ', Enumerable.Repeat("w", 400)), "ok")))
        );

        DatasetReport report = new DatasetValidator(new ValidationOptions()).ValidateFile(file);

        IReadOnlyList<HistogramBin> bins = report.Tokens.TokensHistogram!;
        Assert.Equal(report.Examples, bins.Sum(b => b.Rows));
        Assert.Equal(report.Tokens.TokensPerExample!.Min, bins[0].From);
        Assert.Equal(report.Tokens.TokensPerExample.Max, bins[^1].To);
        Assert.Equal(1, bins[^1].Rows); // the one long example, alone at the top
    }
}
