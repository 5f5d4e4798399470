using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using FineTuning.Core.Hashing;

namespace FineTuning.Core.Datasets;

/// <summary>Findings of one code: how many there were, and the first ones by line.</summary>
public sealed class CodeTally
{
    public long Count { get; set; }

    public List<Finding> Samples { get; set; } = [];

    internal void Add(Finding finding, int keep)
    {
        Count++;
        if (Samples.Count < keep)
        {
            Samples.Add(finding);
            if (Samples.Count > 1 && Finding.Compare(Samples[^2], finding) > 0)
            {
                Samples.Sort(Finding.Compare);
            }
        }
        else if (keep > 0 && Finding.Compare(finding, Samples[^1]) < 0)
        {
            Samples[^1] = finding;
            Samples.Sort(Finding.Compare);
        }
    }

    internal void MergeFrom(CodeTally other, int keep)
    {
        Count += other.Count;
        Samples = Samples.Concat(other.Samples).Order(Comparer<Finding>.Create(Finding.Compare)).Take(keep).ToList();
    }
}

/// <summary>How many rows had a format, and the first line that had it.</summary>
public sealed class FormatTally
{
    public long Count { get; set; }

    public long FirstLine { get; set; } = long.MaxValue;
}

/// <summary>
/// What validating one shard (or any run of whole lines) found. Shard reports merge associatively and in any order:
/// merging the reports of a file's shards gives the same <see cref="DatasetReport"/> as validating the whole file.
/// Everything that depends on more than one shard (duplicates, the file's format, dataset rules) is decided when the
/// merged report becomes a <see cref="DatasetReport"/>.
/// </summary>
public sealed class ShardReport
{
    /// <summary>Bytes covered.</summary>
    public long Bytes { get; set; }

    /// <summary>Lines covered, blank ones included.</summary>
    public long Lines { get; set; }

    /// <summary>Non-blank lines.</summary>
    public long Rows { get; set; }

    /// <summary>Rows without errors.</summary>
    public long ValidRows { get; set; }

    /// <summary>Rows with at least one error.</summary>
    public long ErrorRows { get; set; }

    /// <summary>Valid rows that metadata marks as not to be used (<c>metadata.valid == false</c>).</summary>
    public long ExcludedByMetadata { get; set; }

    /// <summary>Valid rows that metadata marks as generated (<c>metadata.generated == true</c>).</summary>
    public long Generated { get; set; }

    public Dictionary<string, CodeTally> Codes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Rows per detected format (wire names), with the first line of each.</summary>
    public Dictionary<string, FormatTally> Formats { get; set; } = new(StringComparer.Ordinal);

    public Distribution MessagesPerExample { get; set; } = new();

    public Distribution TokensPerExample { get; set; } = new();

    public Distribution AssistantTokensPerExample { get; set; } = new();

    /// <summary>Valid rows per topic value (<c>(none)</c> when a row has no topic).</summary>
    public Dictionary<string, long> Topics { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The smallest distinct system-prompt hashes (a bottom-k sketch: exact up to k, an estimate beyond).</summary>
    public SortedSet<ulong> SystemPrompts { get; set; } = [];

    public long RowsWithSystemPrompt { get; set; }

    /// <summary>Valid rows by content hash: the first line and any repeats.</summary>
    public RowHashTable RowHashes { get; set; } = new();

    /// <summary>Valid rows with at least one image (an <c>image_url</c> content part).</summary>
    public long RowsWithImages { get; set; }

    /// <summary>The first of those rows' lines (<see cref="long.MaxValue"/> when none).</summary>
    public long FirstImageLine { get; set; } = long.MaxValue;

    /// <summary>Matches of possible personal or secret data in valid rows, per kind (<see cref="SensitiveKinds"/>).</summary>
    public Dictionary<string, long> SensitiveData { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Valid rows by folded text (case, whitespace and punctuation ignored): near-duplicates are its repeats.</summary>
    public RowHashTable TextHashes { get; set; } = new();

    /// <summary>The rows' MinHash signatures, when fuzzy near-duplicates are asked for (never written with the report).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public MinHashSketches? Sketches { get; set; }

    internal const int SystemPromptSketchSize = 1024;

    internal void AddFinding(Finding finding, int keep)
    {
        ref CodeTally? tally = ref CollectionsMarshal.GetValueRefOrAddDefault(Codes, finding.Code, out _);
        tally ??= new CodeTally();
        tally.Add(finding, keep);
    }

    internal void AddFormat(FineTuningMethod method, long line)
    {
        ref FormatTally? tally = ref CollectionsMarshal.GetValueRefOrAddDefault(Formats, method.ToWireName(), out _);
        tally ??= new FormatTally();
        tally.Count++;
        tally.FirstLine = Math.Min(tally.FirstLine, line);
    }

    internal void AddImageRow(long line)
    {
        RowsWithImages++;
        FirstImageLine = Math.Min(FirstImageLine, line);
    }

    internal void AddSensitive(string kind)
    {
        ref long count = ref CollectionsMarshal.GetValueRefOrAddDefault(SensitiveData, kind, out _);
        count++;
    }

    internal void AddTopic(string topic)
    {
        ref long count = ref CollectionsMarshal.GetValueRefOrAddDefault(Topics, topic, out _);
        count++;
    }

    internal void AddSystemPrompt(ulong hash)
    {
        RowsWithSystemPrompt++;
        if (SystemPrompts.Count < SystemPromptSketchSize)
        {
            SystemPrompts.Add(hash);
        }
        else if (hash < SystemPrompts.Max && SystemPrompts.Add(hash))
        {
            SystemPrompts.Remove(SystemPrompts.Max);
        }
    }

    /// <summary>Adds a valid row; true when it is the first with this content in this report.</summary>
    internal void AddRow(ContentHash hash, ContentHash text, long line, int billableTokens)
    {
        RowHashes.AddSoon(hash, line, billableTokens);
        TextHashes.AddSoon(text, line, 0);
    }

    /// <summary>Merges reports of disjoint runs of lines (in any order) into one.</summary>
    public static ShardReport Merge(
        IEnumerable<ShardReport> reports,
        int maxFindingsPerCode,
        int maxRowsInMemory = RowHashTable.DefaultMaxRowsInMemory
    )
    {
        var merged = new ShardReport { RowHashes = new RowHashTable(maxRowsInMemory), TextHashes = new RowHashTable(maxRowsInMemory) };
        foreach (ShardReport r in reports)
        {
            merged.MergeFrom(r, maxFindingsPerCode);
        }

        return merged;
    }

    /// <summary>A report of no lines, to merge others into.</summary>
    internal static ShardReport Empty(ValidationOptions options) =>
        new() { RowHashes = new RowHashTable(options.MaxRowsInMemory), TextHashes = new RowHashTable(options.MaxRowsInMemory) };

    /// <summary>Gives the duplicate tables' arrays back once this report is merged into another and no longer read.</summary>
    internal void ReleaseTables()
    {
        RowHashes.Release();
        TextHashes.Release();
    }

    internal void MergeFrom(ShardReport other, int keep)
    {
        Bytes += other.Bytes;
        Lines += other.Lines;
        Rows += other.Rows;
        ValidRows += other.ValidRows;
        ErrorRows += other.ErrorRows;
        ExcludedByMetadata += other.ExcludedByMetadata;
        Generated += other.Generated;
        RowsWithSystemPrompt += other.RowsWithSystemPrompt;
        RowsWithImages += other.RowsWithImages;
        FirstImageLine = Math.Min(FirstImageLine, other.FirstImageLine);
        foreach ((string code, CodeTally tally) in other.Codes)
        {
            ref CodeTally? mine = ref CollectionsMarshal.GetValueRefOrAddDefault(Codes, code, out _);
            mine ??= new CodeTally();
            mine.MergeFrom(tally, keep);
        }

        foreach ((string format, FormatTally tally) in other.Formats)
        {
            ref FormatTally? mine = ref CollectionsMarshal.GetValueRefOrAddDefault(Formats, format, out _);
            mine ??= new FormatTally();
            mine.Count += tally.Count;
            mine.FirstLine = Math.Min(mine.FirstLine, tally.FirstLine);
        }

        MessagesPerExample.MergeFrom(other.MessagesPerExample);
        TokensPerExample.MergeFrom(other.TokensPerExample);
        AssistantTokensPerExample.MergeFrom(other.AssistantTokensPerExample);
        foreach ((string topic, long count) in other.Topics)
        {
            ref long mine = ref CollectionsMarshal.GetValueRefOrAddDefault(Topics, topic, out _);
            mine += count;
        }

        foreach ((string kind, long count) in other.SensitiveData)
        {
            ref long mine = ref CollectionsMarshal.GetValueRefOrAddDefault(SensitiveData, kind, out _);
            mine += count;
        }

        foreach (ulong hash in other.SystemPrompts)
        {
            if (SystemPrompts.Count < SystemPromptSketchSize)
            {
                SystemPrompts.Add(hash);
            }
            else if (hash < SystemPrompts.Max && SystemPrompts.Add(hash))
            {
                SystemPrompts.Remove(SystemPrompts.Max);
            }
        }

        RowHashes.MergeFrom(other.RowHashes);
        TextHashes.MergeFrom(other.TextHashes);
        if (other.Sketches is { } sketches)
        {
            (Sketches ??= new MinHashSketches()).MergeFrom(sketches);
        }
    }
}
