using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Catalog;
using FineTuning.Core.Hashing;
using FineTuning.Core.Tokens;

namespace FineTuning.Core.Datasets;

/// <summary>
/// Validates one JSONL row with a single forward <see cref="JsonRowReader"/> pass over its bytes: no string per
/// line, no DOM. Facts about the row are gathered into reused buffers, then the rules of the row's format are applied.
/// One instance per thread.
/// </summary>
/// <remarks>Split by concern: this file (the row, its findings), <c>.Reading.cs</c> (the one reader pass),
/// <c>.Rules.cs</c> (the rules of each format), <c>.Fields.cs</c> (lookups of top-level fields), <c>.Messages.cs</c>
/// (the message buffers).</remarks>
internal sealed partial class RowValidator
{
    private const int MaxTrackedKeys = 1024;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = JsonRowReader.MaxDepth };

    private readonly ValidationOptions _options;
    private readonly ITokenEstimator _tokens;
    private readonly ApproximateTokenEstimator? _foldingTokens; // counts a text and folds it in one pass
    private readonly int[] _tokenLimits; // by FineTuningMethod
    private readonly string[] _topicPath;
    private readonly string[][] _graderPaths;
    private readonly string[] _graderReferences;

    // Per-row state, reused.
    private readonly List<Finding> _rowFindings = [];
    private readonly MessageList _messages = new();
    private readonly MessageList _inputMessages = new();
    private readonly MessageList _preferred = new();
    private readonly MessageList _nonPreferred = new();
    private readonly List<(int NameStart, int NameLength, int ValueStart, int ValueLength)> _topLevel = [];
    private readonly FoldedStrings _folded = new();
    private readonly ObjectKey[] _keys = new ObjectKey[MaxTrackedKeys];
    private int _keyTop;
    private long _line;
    private int _toolsTokens;
    private bool _sawMessages,
        _sawInput,
        _sawInputMessages,
        _sawPreferred,
        _sawNonPreferred,
        _sawImage;
    private int _preferredStart,
        _preferredLength,
        _nonPreferredStart,
        _nonPreferredLength;

    public RowValidator(ValidationOptions options)
    {
        _options = options;
        _tokens = options.Tokens;
        _foldingTokens = options.Tokens as ApproximateTokenEstimator;
        _tokenLimits = Enum.GetValues<FineTuningMethod>()
            .Select(m => options.Catalog.Find(options.Model, m)?.MaxTokensPerExample ?? int.MaxValue)
            .ToArray();
        _topicPath = options.TopicField.Split('.', StringSplitOptions.RemoveEmptyEntries);
        _graderReferences = options.Grader?.ItemReferences.ToArray() ?? [];
        _graderPaths = _graderReferences.Select(r => r.Split('.')).ToArray();
    }

    /// <summary>Validates a non-blank line (without its line break) and adds what it found to <paramref name="report"/>.</summary>
    /// <returns>The row's facts when it is valid; null otherwise.</returns>
    public ValidRow? Validate(ReadOnlySpan<byte> line, long lineNumber, bool isUnterminatedLastLine, ShardReport report)
    {
        _line = lineNumber;
        _rowFindings.Clear();
        report.Rows++;

        if (!System.Text.Unicode.Utf8.IsValid(line))
        {
            Add(FindingCodes.InvalidUtf8, "", $"byte {FirstInvalidUtf8(line) + 1} is not valid UTF-8; save the file as UTF-8");
            return Commit(report, null);
        }

        ResetRow();
        try
        {
            var reader = new JsonRowReader(line);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                string hint =
                    reader.TokenType == JsonTokenType.StartArray && lineNumber == 1
                        ? " (the file looks like one JSON array; JSONL needs one object per line)"
                        : "";
                reader.Skip();
                EnsureEnd(ref reader);
                Add(
                    FindingCodes.DataType,
                    "",
                    "a row must be a JSON object, not "
                        + $"{Describe(reader.TokenType == JsonTokenType.EndArray ? JsonTokenType.StartArray : reader.TokenType)}{hint}"
                );
                return Commit(report, null);
            }

            ReadTopLevel(ref reader, line);
            EnsureEnd(ref reader);
        }
        catch (JsonException fast)
        {
            _rowFindings.Clear();
            JsonException ex = Utf8JsonReaderError(line) ?? fast;
            if (isUnterminatedLastLine && IsEndOfData(ex, line))
            {
                Add(
                    FindingCodes.TruncatedLastLine,
                    "",
                    "the file ends in the middle of this record; it was probably cut off while copying"
                );
            }
            else
            {
                string hint =
                    lineNumber == 1 && line.TrimStart(" \t"u8).StartsWith("["u8)
                        ? " (the file looks like one JSON array; JSONL needs one object per line)"
                        : "";
                Add(FindingCodes.InvalidJson, "", $"not valid JSON at byte {ex.BytePositionInLine + 1}: {FirstSentence(ex.Message)}{hint}");
            }

            return Commit(report, null);
        }

        FineTuningMethod format = DetectFormat();
        RowMeasures measures = format switch
        {
            FineTuningMethod.Dpo => CheckDpo(line),
            FineTuningMethod.Reinforcement => CheckReinforcement(line),
            FineTuningMethod.Supervised => CheckSupervised(line),
            _ => CheckUnknown(line),
        };

        if (format != FineTuningMethod.Auto)
        {
            report.AddFormat(format, lineNumber);
        }

        if (HasErrors())
        {
            return Commit(report, null);
        }

        int tokenLimit = _tokenLimits[(int)format];
        if (measures.Tokens > tokenLimit)
        {
            Add(
                FindingCodes.TooManyTokens,
                "",
                $"about {measures.Tokens:N0} tokens (estimated), over the model's {tokenLimit:N0} per example; the provider truncates it"
            );
        }

        report.ValidRows++;
        report.MessagesPerExample.Add(measures.Messages);
        report.TokensPerExample.Add(measures.Tokens);
        report.AssistantTokensPerExample.Add(measures.AssistantTokens);
        if (measures.SystemPromptHash != 0)
        {
            report.AddSystemPrompt(measures.SystemPromptHash);
        }

        if (_options.CheckSensitiveData)
        {
            SensitiveFindings(report, line);
        }

        if (_sawImage)
        {
            report.AddImageRow(lineNumber);
        }

        string topic = ReadTopic(line);
        report.AddTopic(topic);
        (bool generated, bool excluded) = ReadMetadataFlags(line);
        if (generated)
            report.Generated++;
        if (excluded)
            report.ExcludedByMetadata++;

        // The example the row holds, as the provider will see it: rows that differ only in metadata, topic, whitespace or
        // member order are one example, for duplicates and the split alike.
        (ContentHash hash, ContentHash text) = TrainedMembers.Identities(line, CollectionsMarshal.AsSpan(_topLevel), format, _folded);
        report.AddRow(hash, text, lineNumber, Math.Min(measures.Tokens, tokenLimit));
        if (_options.FuzzyNearDuplicates)
        {
            (report.Sketches ??= new MinHashSketches()).Add(lineNumber, line, _topLevel, format);
        }
        return Commit(report, new ValidRow(lineNumber, hash, topic, generated, excluded) { TopLevel = _topLevel });
    }

    /// <summary>
    /// What looks like personal or secret data: one <c>possible_pii</c> finding per kind and field (the value masked),
    /// and a count per kind in the report.
    /// </summary>
    private void SensitiveFindings(ShardReport report, ReadOnlySpan<byte> line)
    {
        IReadOnlyList<SensitiveMatch> matches = SensitiveData.Find(line);
        if (matches.Count == 0)
        {
            return;
        }

        var reported = new HashSet<(string Kind, string Path)>();
        foreach (SensitiveMatch match in matches)
        {
            report.AddSensitive(match.Kind);
            string path = SensitiveData.PathAt(line, match.Offset);
            if (reported.Add((match.Kind, path)))
            {
                Add(FindingCodes.PossiblePii, path, $"looks like {SensitiveKinds.Describe(match.Kind)} ({match.Masked})");
            }
        }
    }

    private ValidRow? Commit(ShardReport report, ValidRow? row)
    {
        bool error = false;
        foreach (Finding f in _rowFindings)
        {
            error |= f.Severity == Severity.Error;
            report.AddFinding(f, _options.MaxFindingsPerCode);
        }

        if (error)
        {
            report.ErrorRows++;
        }

        return row;
    }

    private bool HasErrors()
    {
        foreach (Finding f in _rowFindings)
        {
            if (f.Severity == Severity.Error)
                return true;
        }

        return false;
    }

    private void Add(string code, string path, string message) => _rowFindings.Add(FindingCodes.Create(code, _line, path, message));

    private void ResetRow()
    {
        _folded.Clear();
        _messages.Reset();
        _inputMessages.Reset();
        _preferred.Reset();
        _nonPreferred.Reset();
        _topLevel.Clear();
        _toolsTokens = 0;
        _keyTop = 0;
        _sawMessages = _sawInput = _sawInputMessages = _sawPreferred = _sawNonPreferred = _sawImage = false;
        _preferredStart = _preferredLength = _nonPreferredStart = _nonPreferredLength = 0;
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Why <see cref="Utf8JsonReader"/> rejects a row: a row the validator's own reader rejects is read again for the
    /// words and the byte of the error people know from .NET (null if it reads it, as for more than one value).
    /// </summary>
    private static JsonException? Utf8JsonReaderError(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line, ReaderOptions);
            while (reader.Read()) { }
            return null;
        }
        catch (JsonException ex)
        {
            return ex;
        }
    }

    private static bool IsEndOfData(JsonException ex, ReadOnlySpan<byte> line) => ex.BytePositionInLine >= line.TrimEnd(" \t"u8).Length - 1;

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut < 0)
            cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.', ' ');
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> line)
    {
        int i = 0;
        while (i < line.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(line[i..], out _, out int consumed) != OperationStatus.Done)
            {
                return i;
            }

            i += consumed;
        }

        return i;
    }

    private static string RawToken(ref JsonRowReader reader) =>
        reader.TokenType switch
        {
            JsonTokenType.String => $"\"{reader.GetString()}\"",
            JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null => Encoding.UTF8.GetString(
                reader.ValueSpan
            ),
            _ => Describe(reader.TokenType),
        };

    internal static string Describe(JsonTokenType token) =>
        token switch
        {
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "a list",
            JsonTokenType.String => "a string",
            JsonTokenType.Number => "a number",
            JsonTokenType.True or JsonTokenType.False => "a boolean",
            JsonTokenType.Null => "null",
            _ => "nothing",
        };

    private readonly record struct RowMeasures(int Messages, int Tokens, int AssistantTokens, ulong SystemPromptHash);
}
