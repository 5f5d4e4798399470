using System.Text;
using BenchmarkDotNet.Attributes;
using FineTuning.Core.Datasets;
using FineTuning.Core.Hashing;
using FineTuning.Core.Tokens;

namespace FineTuning.Benchmarks;

/// <summary>The hot pieces of validation, per megabyte of synthetic rows held in memory.</summary>
[MemoryDiagnoser]
public class ValidationMicroBenchmarks
{
    private byte[] _data = [];
    private byte[] _text = [];
    private byte[] _quotedText = [];
    private byte[][] _rows = [];

    [GlobalSetup]
    public void Setup()
    {
        string path = Path.GetTempFileName();
        SyntheticDataset.Write(path, 8L << 20);
        _data = File.ReadAllBytes(path);
        File.Delete(path);
        _rows = [.. Lines(_data)];
        _text = Encoding.UTF8.GetBytes(
            string.Concat(Enumerable.Repeat("Your refund for order 12345 will arrive within 5 business days, thank you.\\n", 100_000))
        );
        _quotedText = [(byte)'"', .. _text, (byte)'"'];
        if (TokensAndFold() != TokensThenFold())
        {
            throw new InvalidOperationException("folding while counting gives another hash than folding after");
        }
    }

    private static IEnumerable<byte[]> Lines(byte[] data)
    {
        for (int start = 0, end; (end = Array.IndexOf(data, (byte)'\n', start)) >= 0; start = end + 1)
        {
            if (end > start)
                yield return data[start..end];
        }
    }

    [Benchmark(Description = "validate 8 MiB (one pass)")]
    public long Validate()
    {
        var validator = new DatasetValidator(new ValidationOptions());
        return validator.ValidateShard(new MemoryStream(_data)).ValidRows;
    }

    [Benchmark(Description = "estimate tokens of 7 MiB prose")]
    public int Tokens() => ApproximateTokenEstimator.Instance.CountEscaped(_text);

    [Benchmark(Description = "tokens, then the folded hash, of 7 MiB prose (two passes)")]
    public UInt128 TokensThenFold() =>
        CanonicalJson.FoldedHash(_quotedText) + (UInt128)ApproximateTokenEstimator.Instance.CountEscaped(_text);

    [Benchmark(Description = "tokens and the folded hash of 7 MiB prose (one pass)")]
    public UInt128 TokensAndFold()
    {
        var fold = new FoldedText(default);
        int tokens = ApproximateTokenEstimator.Instance.CountEscaped(_text, ref fold);
        return fold.Finish() + (UInt128)tokens;
    }

    [Benchmark(Description = "canonical identities (exact and folded) of 8 MiB of rows")]
    public UInt128 Identities()
    {
        UInt128 sum = 0;
        foreach (byte[] row in _rows)
        {
            (UInt128 exact, UInt128 folded) = CanonicalJson.Hashes(row);
            sum += exact ^ folded;
        }

        return sum;
    }

    [Benchmark(Description = "read 8 MiB of rows, Utf8JsonReader")]
    public long ReadRowsUtf8JsonReader()
    {
        long tokens = 0;
        foreach (byte[] row in _rows)
        {
            var reader = new System.Text.Json.Utf8JsonReader(
                row,
                new System.Text.Json.JsonReaderOptions { MaxDepth = JsonRowReader.MaxDepth }
            );
            while (reader.Read())
                tokens += reader.ValueSpan.Length;
        }

        return tokens;
    }

    [Benchmark(Description = "read 8 MiB of rows, JsonRowReader")]
    public long ReadRowsJsonRowReader()
    {
        long tokens = 0;
        foreach (byte[] row in _rows)
        {
            var reader = new JsonRowReader(row);
            while (reader.Read())
                tokens += reader.ValueSpan.Length;
        }

        return tokens;
    }

    [Benchmark(Description = "SHA-256 content hash of 8 MiB")]
    public ContentHash Hash() => ContentHash.Of(_data);
}
