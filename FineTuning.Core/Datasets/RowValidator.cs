using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Catalog;
using FineTuning.Core.Hashing;
using FineTuning.Core.Tokens;

namespace FineTuning.Core.Datasets;

/// <summary>What one valid row contributes beyond the report: used by the splitter.</summary>
public readonly record struct ValidRow(long Line, ContentHash Hash, string Topic, bool Generated, bool ExcludedByMetadata)
{
    /// <summary>The row's top-level members (positions in its bytes), valid only while the handler runs.</summary>
    internal IReadOnlyList<(int NameStart, int NameLength, int ValueStart, int ValueLength)>? TopLevel { get; init; }
}

/// <summary>
/// Validates one JSONL row with a single forward <see cref="Utf8JsonReader"/> pass over its bytes: no string per
/// line, no DOM. Facts about the row are gathered into reused buffers, then the rules of the row's format are applied.
/// One instance per thread.
/// </summary>
internal sealed class RowValidator
{
    private const int MaxTrackedKeys = 1024;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    private readonly ValidationOptions _options;
    private readonly ITokenEstimator _tokens;
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
    private readonly ObjectKey[] _keys = new ObjectKey[MaxTrackedKeys];
    private int _keyTop;
    private long _line;
    private int _toolsTokens;
    private bool _sawMessages, _sawInput, _sawInputMessages, _sawPreferred, _sawNonPreferred;
    private int _preferredStart, _preferredLength, _nonPreferredStart, _nonPreferredLength;

    public RowValidator(ValidationOptions options)
    {
        _options = options;
        _tokens = options.Tokens;
        _tokenLimits = Enum.GetValues<FineTuningMethod>()
            .Select(m => options.Catalog.Find(options.Model, m)?.MaxTokensPerExample ?? int.MaxValue).ToArray();
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
            var reader = new Utf8JsonReader(line, ReaderOptions);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                string hint = reader.TokenType == JsonTokenType.StartArray && lineNumber == 1
                    ? " (the file looks like one JSON array; JSONL needs one object per line)"
                    : "";
                reader.Skip();
                EnsureEnd(ref reader);
                Add(FindingCodes.DataType, "", $"a row must be a JSON object, not {Describe(reader.TokenType == JsonTokenType.EndArray ? JsonTokenType.StartArray : reader.TokenType)}{hint}");
                return Commit(report, null);
            }

            ReadTopLevel(ref reader, line);
            EnsureEnd(ref reader);
        }
        catch (JsonException ex)
        {
            _rowFindings.Clear();
            if (isUnterminatedLastLine && IsEndOfData(ex, line))
            {
                Add(FindingCodes.TruncatedLastLine, "", "the file ends in the middle of this record; it was probably cut off while copying");
            }
            else
            {
                string hint = lineNumber == 1 && line.TrimStart(" \t"u8).StartsWith("["u8)
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
            Add(FindingCodes.TooManyTokens, "", $"about {measures.Tokens:N0} tokens (estimated), over the model's {tokenLimit:N0} per example; the provider truncates it");
        }

        report.ValidRows++;
        report.MessagesPerExample.Add(measures.Messages);
        report.TokensPerExample.Add(measures.Tokens);
        report.AssistantTokensPerExample.Add(measures.AssistantTokens);
        if (measures.SystemPromptHash != 0)
        {
            report.AddSystemPrompt(measures.SystemPromptHash);
        }

        string topic = ReadTopic(line);
        report.AddTopic(topic);
        (bool generated, bool excluded) = ReadMetadataFlags(line);
        if (generated) report.Generated++;
        if (excluded) report.ExcludedByMetadata++;

        ContentHash hash = ContentHash.Of(line);
        report.AddRow(hash, lineNumber, Math.Min(measures.Tokens, tokenLimit));
        return Commit(report, new ValidRow(lineNumber, hash, topic, generated, excluded) { TopLevel = _topLevel });
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
            if (f.Severity == Severity.Error) return true;
        }

        return false;
    }

    private void Add(string code, string path, string message) => _rowFindings.Add(FindingCodes.Create(code, _line, path, message));

    private void ResetRow()
    {
        _messages.Reset();
        _inputMessages.Reset();
        _preferred.Reset();
        _nonPreferred.Reset();
        _topLevel.Clear();
        _toolsTokens = 0;
        _keyTop = 0;
        _sawMessages = _sawInput = _sawInputMessages = _sawPreferred = _sawNonPreferred = false;
        _preferredStart = _preferredLength = _nonPreferredStart = _nonPreferredLength = 0;
    }

    // ---- reading ---------------------------------------------------------------------------------------------

    private void ReadTopLevel(ref Utf8JsonReader reader, ReadOnlySpan<byte> line)
    {
        var keys = new KeyScope(_keyTop);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int nameStart = (int)reader.TokenStartIndex + 1;
            int nameLength = reader.HasValueSequence ? 0 : reader.ValueSpan.Length;
            if (IsRepeatedKey(ref reader, ref keys)) AddDuplicateKey(ref reader, "");
            ReadOnlySpan<byte> name = reader.ValueSpan;
            reader.Read();
            int valueStart = (int)reader.TokenStartIndex;
            if (name.SequenceEqual("messages"u8))
            {
                _sawMessages = true;
                ReadMessageList(ref reader, _messages, "messages");
            }
            else if (name.SequenceEqual("input"u8))
            {
                _sawInput = true;
                ReadDpoInput(ref reader, line);
            }
            else if (name.SequenceEqual("preferred_output"u8))
            {
                _sawPreferred = true;
                ReadMessageList(ref reader, _preferred, "preferred_output");
                _preferredStart = valueStart;
                _preferredLength = (int)reader.BytesConsumed - valueStart;
            }
            else if (name.SequenceEqual("non_preferred_output"u8))
            {
                _sawNonPreferred = true;
                ReadMessageList(ref reader, _nonPreferred, "non_preferred_output");
                _nonPreferredStart = valueStart;
                _nonPreferredLength = (int)reader.BytesConsumed - valueStart;
            }
            else if (name.SequenceEqual("tools"u8))
            {
                ReadTools(ref reader, line, "tools", isLegacyFunctions: false);
            }
            else if (name.SequenceEqual("functions"u8))
            {
                ReadTools(ref reader, line, "functions", isLegacyFunctions: true);
            }
            else if (name.SequenceEqual("parallel_tool_calls"u8))
            {
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                {
                    Add(FindingCodes.InvalidTools, "parallel_tool_calls", $"must be true or false, not {Describe(reader.TokenType)}");
                }

                reader.Skip();
            }
            else
            {
                reader.Skip();
            }

            _topLevel.Add((nameStart, nameLength, valueStart, (int)reader.BytesConsumed - valueStart));
        }

        _keyTop = keys.Base;
    }

    private void ReadDpoInput(ref Utf8JsonReader reader, ReadOnlySpan<byte> line)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Add(FindingCodes.DpoMissingInput, "input", $"must be an object with `messages`, not {Describe(reader.TokenType)}");
            reader.Skip();
            return;
        }

        var keys = new KeyScope(_keyTop);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (IsRepeatedKey(ref reader, ref keys)) AddDuplicateKey(ref reader, "input.");
            if (reader.ValueTextEquals("messages"u8))
            {
                _sawInputMessages = true;
                reader.Read();
                ReadMessageList(ref reader, _inputMessages, "input.messages");
            }
            else if (reader.ValueTextEquals("tools"u8))
            {
                reader.Read();
                ReadTools(ref reader, line, "input.tools", isLegacyFunctions: false);
            }
            else if (reader.ValueTextEquals("parallel_tool_calls"u8))
            {
                reader.Read();
                reader.Skip();
            }
            else
            {
                string key = reader.GetString() ?? "";
                reader.Read();
                reader.Skip();
                Add(FindingCodes.DataType, "input." + key, "is not a field of a DPO input (messages, tools, parallel_tool_calls)");
            }
        }

        _keyTop = keys.Base;
    }

    private void ReadMessageList(ref Utf8JsonReader reader, MessageList list, string path)
    {
        list.Present = true;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            list.WrongType = true;
            Add(path == "messages" ? FindingCodes.MissingMessagesList : FindingCodes.DataType, path, $"must be a list of messages, not {Describe(reader.TokenType)}");
            reader.Skip();
            return;
        }

        int index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            ReadMessage(ref reader, list, path, index++);
        }
    }

    private void ReadMessage(ref Utf8JsonReader reader, MessageList list, string listPath, int index)
    {
        ref Message m = ref list.Add();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            m.Role = Role.Invalid;
            Add(FindingCodes.DataType, $"{listPath}[{index}]", $"a message must be an object, not {Describe(reader.TokenType)}");
            reader.Skip();
            return;
        }

        var keys = new KeyScope(_keyTop);
        bool sawRole = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (IsRepeatedKey(ref reader, ref keys)) AddDuplicateKey(ref reader, $"{listPath}[{index}].");
            ReadOnlySpan<byte> key = reader.HasValueSequence ? default : reader.ValueSpan;
            if (key.SequenceEqual("role"u8))
            {
                sawRole = true;
                reader.Read();
                m.Role = ReadRole(ref reader, listPath, index);
            }
            else if (key.SequenceEqual("content"u8))
            {
                reader.Read();
                ReadContent(ref reader, ref m, listPath, index);
            }
            else if (key.SequenceEqual("name"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    m.NameTokens = _tokens.CountEscaped(reader.ValueSpan) + TokenAccounting.PerName;
                }
                else
                {
                    Add(FindingCodes.DataType, $"{listPath}[{index}].name", $"must be a string, not {Describe(reader.TokenType)}");
                    reader.Skip();
                }
            }
            else if (key.SequenceEqual("weight"u8))
            {
                reader.Read();
                m.Weight = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int w) && w is 0 or 1 ? w : -2;
                if (m.Weight == -2)
                {
                    Add(FindingCodes.InvalidWeight, $"{listPath}[{index}].weight", $"must be 0 or 1, not {RawToken(ref reader)}");
                }

                reader.Skip();
            }
            else if (key.SequenceEqual("tool_calls"u8))
            {
                reader.Read();
                ReadToolCalls(ref reader, ref m, list, $"{listPath}[{index}].tool_calls");
            }
            else if (key.SequenceEqual("function_call"u8))
            {
                reader.Read();
                m.HasFunctionCall = true;
                ReadFunction(ref reader, ref m, $"{listPath}[{index}].function_call", FindingCodes.InvalidToolCall);
            }
            else if (key.SequenceEqual("tool_call_id"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    m.ToolCallId = XxHash3.HashToUInt64(reader.ValueSpan) | 1;
                }
                else
                {
                    Add(FindingCodes.DataType, $"{listPath}[{index}].tool_call_id", $"must be a string, not {Describe(reader.TokenType)}");
                    reader.Skip();
                }
            }
            else if (key.SequenceEqual("refusal"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    m.ContentTokens += _tokens.CountEscaped(reader.ValueSpan);
                }

                reader.Skip();
            }
            else
            {
                string name = reader.GetString() ?? "";
                reader.Read();
                reader.Skip();
                string hint = name switch
                {
                    "loss_weight" => "; the provider's key is `weight` (0 or 1, on assistant messages)",
                    "from" or "value" => "; this looks like ShareGPT format: use role and content",
                    _ => "",
                };
                Add(FindingCodes.MessageUnrecognizedKey, $"{listPath}[{index}].{name}", $"is not a message key (role, content, name, weight, tool_calls, function_call, tool_call_id){hint}");
            }
        }

        _keyTop = keys.Base;

        if (!sawRole)
        {
            m.Role = Role.Invalid;
            Add(FindingCodes.MessageMissingKey, $"{listPath}[{index}]", "the message has no role");
        }
    }

    private Role ReadRole(ref Utf8JsonReader reader, string listPath, int index)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            Add(FindingCodes.DataType, $"{listPath}[{index}].role", $"must be a string, not {Describe(reader.TokenType)}");
            reader.Skip();
            return Role.Invalid;
        }

        ReadOnlySpan<byte> v = reader.ValueSpan;
        Role role = v switch
        {
            _ when v.SequenceEqual("user"u8) => Role.User,
            _ when v.SequenceEqual("assistant"u8) => Role.Assistant,
            _ when v.SequenceEqual("system"u8) => Role.System,
            _ when v.SequenceEqual("developer"u8) => Role.Developer,
            _ when v.SequenceEqual("tool"u8) => Role.Tool,
            _ when v.SequenceEqual("function"u8) => Role.Function,
            _ => Role.Invalid,
        };
        if (role == Role.Invalid)
        {
            Add(FindingCodes.UnrecognizedRole, $"{listPath}[{index}].role", $"\"{reader.GetString()}\" is not a role (system, developer, user, assistant, tool)");
        }

        return role;
    }

    private void ReadContent(ref Utf8JsonReader reader, ref Message m, string listPath, int index)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                m.Content = reader.ValueSpan.Length == 0 ? ContentKind.Empty : ContentKind.Text;
                m.ContentTokens += _tokens.CountEscaped(reader.ValueSpan);
                // Where the text is, not its hash: only system prompts and DPO outputs are ever compared, so only they are hashed.
                m.ContentStart = (int)reader.TokenStartIndex + 1;
                m.ContentLength = reader.ValueSpan.Length;
                break;
            case JsonTokenType.Null:
                m.Content = ContentKind.Null;
                break;
            case JsonTokenType.StartArray:
                m.Content = ContentKind.Parts;
                ReadContentParts(ref reader, ref m, $"{listPath}[{index}].content");
                break;
            default:
                m.Content = ContentKind.WrongType;
                Add(FindingCodes.DataType, $"{listPath}[{index}].content", $"must be a string or a list of content parts, not {Describe(reader.TokenType)}");
                reader.Skip();
                break;
        }
    }

    private void ReadContentParts(ref Utf8JsonReader reader, ref Message m, string path)
    {
        int index = 0;
        int parts = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            string partPath = $"{path}[{index++}]";
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                Add(FindingCodes.InvalidContentPart, partPath, $"a content part must be an object, not {Describe(reader.TokenType)}");
                reader.Skip();
                continue;
            }

            parts++;
            PartType type = PartType.Missing;
            bool hasText = false, hasImageUrl = false, hasValue = false;
            var keys = new KeyScope(_keyTop);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (IsRepeatedKey(ref reader, ref keys)) AddDuplicateKey(ref reader, partPath + ".");
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type = reader.TokenType != JsonTokenType.String ? PartType.Unknown
                        : reader.ValueTextEquals("text"u8) ? PartType.Text
                        : reader.ValueTextEquals("image_url"u8) ? PartType.ImageUrl
                        : PartType.Unknown;
                    if (type == PartType.Unknown)
                    {
                        Add(FindingCodes.InvalidContentPart, partPath + ".type", $"{RawToken(ref reader)} is not a part type (text, image_url)");
                    }

                    reader.Skip();
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        hasText = true;
                        m.ContentTokens += _tokens.CountEscaped(reader.ValueSpan);
                    }
                    else
                    {
                        Add(FindingCodes.InvalidContentPart, partPath + ".text", $"must be a string, not {Describe(reader.TokenType)}");
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("image_url"u8))
                {
                    reader.Read();
                    hasImageUrl = true;
                    ReadImageUrl(ref reader, ref m, partPath + ".image_url");
                }
                else
                {
                    hasValue |= reader.ValueTextEquals("value"u8);
                    reader.Read();
                    reader.Skip();
                }
            }

            _keyTop = keys.Base;

            if (type == PartType.Missing)
            {
                Add(FindingCodes.InvalidContentPart, partPath, "the part has no type (text or image_url)");
            }
            else if (type == PartType.Text && !hasText)
            {
                Add(FindingCodes.InvalidContentPart, partPath, hasValue ? "a text part keeps its text in `text`, not `value`" : "a text part needs `text`");
            }
            else if (type == PartType.ImageUrl && !hasImageUrl)
            {
                Add(FindingCodes.InvalidContentPart, partPath, hasValue ? "an image part needs `image_url: {\"url\": ...}`, not `value`" : "an image part needs `image_url: {\"url\": ...}`");
            }
        }

        if (parts == 0)
        {
            m.Content = ContentKind.Empty;
        }
    }

    private void ReadImageUrl(ref Utf8JsonReader reader, ref Message m, string path)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Add(FindingCodes.InvalidContentPart, path, $"must be an object {{\"url\": ...}}, not {Describe(reader.TokenType)}");
            reader.Skip();
            return;
        }

        bool hasUrl = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("url"u8))
            {
                reader.Read();
                hasUrl = true;
                ReadOnlySpan<byte> url = reader.TokenType == JsonTokenType.String ? reader.ValueSpan : default;
                if (!(url.StartsWith("https://"u8) || url.StartsWith("http://"u8) || url.StartsWith("data:image/"u8)))
                {
                    Add(FindingCodes.InvalidContentPart, path + ".url", "must be an http(s) URL or a data:image/... URL; local file paths cannot be read by the provider");
                }

                // Images are billed by tiles, not by the bytes of their URL; count a typical low-detail image.
                m.ContentTokens += 85;
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (!hasUrl)
        {
            Add(FindingCodes.InvalidContentPart, path + ".url", "is missing");
        }
    }

    private void ReadToolCalls(ref Utf8JsonReader reader, ref Message m, MessageList list, string path)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            Add(FindingCodes.InvalidToolCall, path, $"must be a list of tool calls, not {Describe(reader.TokenType)}");
            reader.Skip();
            return;
        }

        int index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            string callPath = $"{path}[{index++}]";
            m.ToolCalls++;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                Add(FindingCodes.InvalidToolCall, callPath, $"a tool call must be an object, not {Describe(reader.TokenType)}");
                reader.Skip();
                continue;
            }

            bool hasId = false, hasFunction = false, typeOk = false;
            var keys = new KeyScope(_keyTop);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (IsRepeatedKey(ref reader, ref keys)) AddDuplicateKey(ref reader, callPath + ".");
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        hasId = true;
                        list.CallIds.Add(XxHash3.HashToUInt64(reader.ValueSpan) | 1);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    typeOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("function"u8);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("function"u8))
                {
                    reader.Read();
                    hasFunction = true;
                    ReadFunction(ref reader, ref m, callPath + ".function", FindingCodes.InvalidToolCall);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            _keyTop = keys.Base;

            if (!hasId) Add(FindingCodes.InvalidToolCall, callPath + ".id", "a tool call needs a string id (tool messages answer it by tool_call_id)");
            if (!typeOk) Add(FindingCodes.InvalidToolCall, callPath + ".type", "must be \"function\"");
            if (!hasFunction) Add(FindingCodes.InvalidToolCall, callPath + ".function", "is missing");
        }
    }

    private void ReadFunction(ref Utf8JsonReader reader, ref Message m, string path, string code)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Add(code, path, $"must be an object with name and arguments, not {Describe(reader.TokenType)}");
            reader.Skip();
            return;
        }

        bool hasName = false, hasArguments = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                hasName = reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0;
                if (hasName) m.ContentTokens += _tokens.CountEscaped(reader.ValueSpan);
                reader.Skip();
            }
            else if (reader.ValueTextEquals("arguments"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    hasArguments = true;
                    m.ContentTokens += _tokens.CountEscaped(reader.ValueSpan);
                }
                else
                {
                    Add(code, path + ".arguments", $"must be a string holding JSON, not {Describe(reader.TokenType)}");
                    reader.Skip();
                    hasArguments = true;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (!hasName) Add(code, path + ".name", "is missing or empty");
        if (!hasArguments) Add(code, path + ".arguments", "is missing (use \"{}\" for no arguments)");
    }

    private void ReadTools(ref Utf8JsonReader reader, ReadOnlySpan<byte> line, string path, bool isLegacyFunctions)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            Add(FindingCodes.InvalidTools, path, $"must be a list, not {Describe(reader.TokenType)}");
            reader.Skip();
            return;
        }

        int start = (int)reader.TokenStartIndex;
        int index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            string toolPath = $"{path}[{index++}]";
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                Add(FindingCodes.InvalidTools, toolPath, $"must be an object, not {Describe(reader.TokenType)}");
                reader.Skip();
                continue;
            }

            bool typeOk = isLegacyFunctions, nameOk = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!isLegacyFunctions && reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    typeOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("function"u8);
                    reader.Skip();
                }
                else if (!isLegacyFunctions && reader.ValueTextEquals("function"u8))
                {
                    reader.Read();
                    nameOk = ReadFunctionDefinition(ref reader);
                }
                else if (isLegacyFunctions && reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    nameOk = reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0;
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (!typeOk) Add(FindingCodes.InvalidTools, toolPath + ".type", "must be \"function\"");
            if (!nameOk) Add(FindingCodes.InvalidTools, toolPath + (isLegacyFunctions ? ".name" : ".function.name"), "is missing or empty");
        }

        _toolsTokens += _tokens.CountText(line.Slice(start, (int)reader.BytesConsumed - start));
    }

    private static bool ReadFunctionDefinition(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }

        bool nameOk = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isName = reader.ValueTextEquals("name"u8);
            reader.Read();
            if (isName)
            {
                nameOk = reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0;
            }

            reader.Skip();
        }

        return nameOk;
    }

    /// <summary>
    /// Keys seen in the object being read: a window of <see cref="_keys"/> above those of the enclosing objects,
    /// so nested objects never overwrite their parents' keys.
    /// </summary>
    private record struct KeyScope(int Base)
    {
        public int Count;
    }

    /// <summary>
    /// Whether the property name the reader is on was already a key of the object being read (keys up to 16 bytes are
    /// compared exactly, longer ones by a 64-bit hash and their length). No path is built unless it was.
    /// </summary>
    private bool IsRepeatedKey(ref Utf8JsonReader reader, ref KeyScope scope)
    {
        ObjectKey key = ObjectKey.Of(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
        int end = Math.Min(scope.Base + scope.Count, MaxTrackedKeys);
        bool repeated = false;
        for (int i = scope.Base; i < end; i++)
        {
            if (_keys[i] == key)
            {
                repeated = true;
                break;
            }
        }

        if (end < MaxTrackedKeys)
        {
            _keys[end] = key;
        }

        scope.Count++;
        _keyTop = Math.Min(scope.Base + scope.Count, MaxTrackedKeys);
        return repeated;
    }

    private void AddDuplicateKey(ref Utf8JsonReader reader, string pathPrefix) =>
        Add(FindingCodes.DuplicateKey, pathPrefix + reader.GetString(), "the key appears twice in the same object; keep one");

    /// <summary>A key as written: its first 16 bytes (zero-padded) and length, or for a longer key a hash of all of it.</summary>
    private readonly record struct ObjectKey(ulong A, ulong B, int Length)
    {
        public static ObjectKey Of(ReadOnlySpan<byte> name)
        {
            if (name.Length > 16)
            {
                return new ObjectKey(XxHash3.HashToUInt64(name), 0, name.Length);
            }

            Span<byte> padded = stackalloc byte[16];
            padded.Clear();
            name.CopyTo(padded);
            return new ObjectKey(BinaryPrimitives.ReadUInt64LittleEndian(padded), BinaryPrimitives.ReadUInt64LittleEndian(padded[8..]), name.Length);
        }
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("more JSON follows the end of the row; put one JSON object per line", null, 0, reader.TokenStartIndex);
        }
    }

    // ---- rules -----------------------------------------------------------------------------------------------

    private FineTuningMethod DetectFormat()
    {
        if (_options.Method != FineTuningMethod.Auto)
        {
            return _options.Method;
        }

        if (_sawInput || _sawPreferred || _sawNonPreferred)
        {
            return FineTuningMethod.Dpo;
        }

        if (!_sawMessages || _messages.WrongType)
        {
            return FineTuningMethod.Auto;
        }

        return _messages.Count > 0 && _messages.CountRole(Role.Assistant) == 0 && _messages[_messages.Count - 1].Role == Role.User
            ? FineTuningMethod.Reinforcement
            : FineTuningMethod.Supervised;
    }

    private RowMeasures CheckUnknown(ReadOnlySpan<byte> line)
    {
        if (!_messages.WrongType)
        {
            Add(FindingCodes.MissingMessagesList, "messages", $"the row has no messages list{ForeignFormatHint(line)}");
        }

        return default;
    }

    private RowMeasures CheckSupervised(ReadOnlySpan<byte> line)
    {
        if (!RequireMessages(_messages, "messages"))
        {
            return default;
        }

        CheckMessages(_messages, "messages", allowWeights: true);
        int assistants = _messages.CountRole(Role.Assistant);
        if (assistants == 0)
        {
            Add(FindingCodes.ExampleMissingAssistantMessage, "messages", "no assistant message: a supervised example needs the reply the model should learn");
        }
        else if (!_messages.AnyTrainedAssistant())
        {
            Add(FindingCodes.NoTrainedAssistantMessage, "messages", "every assistant message has weight 0, so nothing is trained on");
        }

        WarnOnMissingRoles(_messages, "messages");
        CheckLongAssistant(_messages, "messages");
        return new RowMeasures(
            _messages.Count,
            _messages.ConversationTokens() + _toolsTokens,
            _messages.AssistantTokens(),
            _messages.SystemPromptHash(line));
    }

    private RowMeasures CheckDpo(ReadOnlySpan<byte> line)
    {
        if (!_sawInput || !_sawInputMessages)
        {
            Add(FindingCodes.DpoMissingInput, "input", _sawMessages
                ? "a DPO row puts the conversation in input.messages, not messages"
                : "a DPO row needs input.messages, the conversation the outputs answer");
        }
        else if (RequireMessages(_inputMessages, "input.messages"))
        {
            CheckMessages(_inputMessages, "input.messages", allowWeights: false);
        }

        CheckDpoOutput(_preferred, _sawPreferred, "preferred_output");
        CheckDpoOutput(_nonPreferred, _sawNonPreferred, "non_preferred_output");
        if (_preferred.Count > 0 && _nonPreferred.Count > 0 && !_preferred.WrongType && !_nonPreferred.WrongType
            && (line.Slice(_preferredStart, _preferredLength).SequenceEqual(line.Slice(_nonPreferredStart, _nonPreferredLength)) || _preferred.SameContentAs(_nonPreferred, line)))
        {
            Add(FindingCodes.DpoIdenticalOutputs, "non_preferred_output", "is the same as preferred_output, so there is no preference to learn");
        }
        return new RowMeasures(
            _inputMessages.Count + 1,
            _inputMessages.ConversationTokens() + _preferred.ContentTokens() + _nonPreferred.ContentTokens() + _toolsTokens,
            _preferred.ContentTokens(),
            _inputMessages.SystemPromptHash(line));
    }

    private void CheckDpoOutput(MessageList output, bool present, string path)
    {
        if (!present || output.WrongType || output.Count == 0)
        {
            if (!output.WrongType)
            {
                Add(FindingCodes.DpoMissingOutput, path, present ? "is empty; give at least one assistant message" : "is missing");
            }

            return;
        }

        for (int i = 0; i < output.Count; i++)
        {
            Message m = output[i];
            if (m.Role != Role.Assistant && m.Role != Role.Invalid)
            {
                Add(FindingCodes.DpoOutputNotAssistant, $"{path}[{i}].role", $"is {m.Role.ToString().ToLowerInvariant()}; DPO outputs hold only assistant messages");
            }
            else if (m.Role == Role.Assistant && m.Content is ContentKind.Missing or ContentKind.Null or ContentKind.Empty && m.ToolCalls == 0)
            {
                Add(FindingCodes.MissingContent, $"{path}[{i}].content", "the output message has no content");
            }
        }
    }

    private RowMeasures CheckReinforcement(ReadOnlySpan<byte> line)
    {
        if (!RequireMessages(_messages, "messages"))
        {
            return default;
        }

        CheckMessages(_messages, "messages", allowWeights: false);
        Role last = _messages[_messages.Count - 1].Role;
        if (last != Role.User && last != Role.Invalid)
        {
            Add(FindingCodes.RftLastMessageNotUser, $"messages[{_messages.Count - 1}].role", $"the last message is from the {last.ToString().ToLowerInvariant()}; in reinforcement rows it must be from the user");
        }

        for (int i = 0; i < _graderPaths.Length; i++)
        {
            if (!TryFindPath(line, _graderPaths[i], out _))
            {
                Add(FindingCodes.GraderReferenceMissing, _graderReferences[i], $"the grader uses {{{{ item.{_graderReferences[i]} }}}} but this row has no such field");
            }
        }

        return new RowMeasures(_messages.Count, _messages.ConversationTokens() + _toolsTokens, 0, _messages.SystemPromptHash(line));
    }

    private bool RequireMessages(MessageList list, string path)
    {
        if (!list.Present)
        {
            Add(FindingCodes.MissingMessagesList, path, "the row has no messages list");
            return false;
        }

        if (list.WrongType)
        {
            return false;
        }

        if (list.Count == 0)
        {
            Add(FindingCodes.EmptyMessagesList, path, "the list is empty");
            return false;
        }

        return true;
    }

    private void CheckMessages(MessageList list, string path, bool allowWeights)
    {
        int callIdsSeen = 0;
        for (int i = 0; i < list.Count; i++)
        {
            Message m = list[i];
            if (m.Role == Role.Invalid)
            {
                continue;
            }

            bool canBeEmpty = m.Role == Role.Assistant && (m.ToolCalls > 0 || m.HasFunctionCall);
            if (!canBeEmpty && m.Content is ContentKind.Missing or ContentKind.Null or ContentKind.Empty)
            {
                Add(FindingCodes.MissingContent, $"{path}[{i}].content", m.Content == ContentKind.Missing ? "the message has no content" : "the content is empty");
            }

            if (m.Weight != -1 && m.Weight != -2 && (m.Role != Role.Assistant || !allowWeights))
            {
                Add(FindingCodes.InvalidWeight, $"{path}[{i}].weight", allowWeights ? "weight applies only to assistant messages" : "weight is not used by this method");
            }

            if (m.Role == Role.Assistant)
            {
                callIdsSeen = m.CallIdsEnd;
            }
            else if (m.Role == Role.Tool)
            {
                if (m.ToolCallId == 0)
                {
                    Add(FindingCodes.ToolCallIdMismatch, $"{path}[{i}]", "a tool message needs tool_call_id, the id of the call it answers");
                }
                else if (!System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list.CallIds)[..callIdsSeen].Contains(m.ToolCallId))
                {
                    Add(FindingCodes.ToolCallIdMismatch, $"{path}[{i}].tool_call_id", "no earlier assistant tool call has this id");
                }
            }
        }
    }

    private void WarnOnMissingRoles(MessageList list, string path)
    {
        if (list.CountRole(Role.System) + list.CountRole(Role.Developer) == 0)
        {
            Add(FindingCodes.MissingSystemMessage, path, "no system message");
        }

        if (list.CountRole(Role.User) == 0)
        {
            Add(FindingCodes.MissingUserMessage, path, "no user message");
        }
    }

    private void CheckLongAssistant(MessageList list, string path)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i].Role == Role.Assistant && list[i].ContentTokens > ValidationOptions.LongAssistantMessageTokens)
            {
                Add(FindingCodes.LongAssistantMessage, $"{path}[{i}].content", $"about {list[i].ContentTokens:N0} tokens (estimated) in one assistant message; check that such a long reply is intended");
            }
        }
    }

    private string ForeignFormatHint(ReadOnlySpan<byte> line)
    {
        if (TryTopLevel(line, "prompt"u8, out _) && TryTopLevel(line, "completion"u8, out _)) return " (this is the legacy prompt/completion format; chat models need messages)";
        if (TryTopLevel(line, "instruction"u8, out _) && TryTopLevel(line, "output"u8, out _)) return " (this is the Alpaca instruction/input/output format; convert it to messages)";
        if (TryTopLevel(line, "chosen_messages"u8, out _) || TryTopLevel(line, "chosen"u8, out _)) return " (this looks like chosen/rejected preference data; DPO rows need input, preferred_output and non_preferred_output)";
        if (TryTopLevel(line, "conversations"u8, out _)) return " (this looks like ShareGPT conversations; rename to messages with role and content)";
        if (TryTopLevel(line, "question"u8, out _) && TryTopLevel(line, "answer"u8, out _)) return " (this is question/answer data; convert each pair to a user and an assistant message)";
        if (TryTopLevel(line, "item"u8, out _)) return " (this is the Evals data-source format {\"item\": ...}; fine-tuning rows are the item's fields with messages)";
        return "";
    }

    // ---- field lookups ---------------------------------------------------------------------------------------

    private bool TryTopLevel(ReadOnlySpan<byte> line, scoped ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        foreach ((int nameStart, int nameLength, int valueStart, int valueLength) in _topLevel)
        {
            if (line.Slice(nameStart, nameLength).SequenceEqual(name))
            {
                value = line.Slice(valueStart, valueLength);
                return true;
            }
        }

        value = default;
        return false;
    }

    private bool TryFindPath(ReadOnlySpan<byte> line, string[] path, out ReadOnlySpan<byte> value)
    {
        Span<byte> scratch = stackalloc byte[256];
        int n = Encoding.UTF8.GetBytes(path[0].AsSpan(0, Math.Min(path[0].Length, 64)), scratch);
        if (!TryTopLevel(line, scratch[..n], out value))
        {
            return false;
        }

        for (int i = 1; i < path.Length; i++)
        {
            if (!TryFindProperty(value, path[i], out value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryFindProperty(ReadOnlySpan<byte> json, string name, out ReadOnlySpan<byte> value)
    {
        value = default;
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool match = reader.ValueTextEquals(name);
            reader.Read();
            int start = (int)reader.TokenStartIndex;
            reader.Skip();
            if (match)
            {
                value = json.Slice(start, (int)reader.BytesConsumed - start);
                return true;
            }
        }

        return false;
    }

    /// <summary><c>metadata.generated == true</c> and <c>metadata.valid == false</c>, with one lookup of <c>metadata</c>.</summary>
    private (bool Generated, bool ExcludedByMetadata) ReadMetadataFlags(ReadOnlySpan<byte> line)
    {
        if (!TryTopLevel(line, "metadata"u8, out ReadOnlySpan<byte> meta))
        {
            return (false, false);
        }

        bool generated = TryFindProperty(meta, "generated", out ReadOnlySpan<byte> g) && g.SequenceEqual("true"u8);
        bool excluded = TryFindProperty(meta, "valid", out ReadOnlySpan<byte> v) && v.SequenceEqual("false"u8);
        return (generated, excluded);
    }

    private readonly Dictionary<ulong, string> _topicNames = [];

    private string ReadTopic(ReadOnlySpan<byte> line)
    {
        if (_topicPath.Length == 0 || !TryFindPath(line, _topicPath, out ReadOnlySpan<byte> raw) || raw.SequenceEqual("null"u8))
        {
            return Topics.None;
        }

        ulong key = XxHash3.HashToUInt64(raw);
        if (_topicNames.TryGetValue(key, out string? name))
        {
            return name;
        }

        name = raw.Length > 0 && raw[0] == (byte)'"' ? JsonSerializer.Deserialize(raw, CoreJsonContext.Default.String) ?? Topics.None : Encoding.UTF8.GetString(raw);
        if (_topicNames.Count < 100_000)
        {
            _topicNames[key] = name;
        }

        return name;
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static bool IsEndOfData(JsonException ex, ReadOnlySpan<byte> line) =>
        ex.BytePositionInLine >= line.TrimEnd(" \t"u8).Length - 1;

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" Path:", StringComparison.Ordinal);
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

    private static string RawToken(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => $"\"{reader.GetString()}\"",
        JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null => Encoding.UTF8.GetString(reader.ValueSpan),
        _ => Describe(reader.TokenType),
    };

    internal static string Describe(JsonTokenType token) => token switch
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

    private enum Role : byte
    {
        Invalid,
        System,
        Developer,
        User,
        Assistant,
        Tool,
        Function,
    }

    private enum ContentKind : byte
    {
        Missing,
        Null,
        Empty,
        Text,
        Parts,
        WrongType,
    }

    private enum PartType : byte
    {
        Missing,
        Text,
        ImageUrl,
        Unknown,
    }

    private struct Message
    {
        public Role Role;
        public ContentKind Content;
        public int ContentTokens;
        public int NameTokens;
        public int Weight; // -1 absent, 0/1, -2 invalid
        public int ToolCalls;
        public bool HasFunctionCall;
        public ulong ToolCallId;
        public int ContentStart; // 0: not a string (a row's first byte is its '{')
        public int ContentLength;

        /// <summary>The hash of a string content as written (escapes and all), or 0 when the content is not a string.</summary>
        public readonly ulong ContentHash(ReadOnlySpan<byte> line) => ContentStart == 0 ? 0 : XxHash3.HashToUInt64(line.Slice(ContentStart, ContentLength)) | 1;
        public int CallIdsEnd;
    }

    /// <summary>Messages of one list, in a buffer reused from row to row.</summary>
    private sealed class MessageList
    {
        private Message[] _items = new Message[16];

        public int Count { get; private set; }

        public bool Present { get; set; }

        public bool WrongType { get; set; }

        public List<ulong> CallIds { get; } = [];

        public Message this[int index] => _items[index];

        public void Reset()
        {
            Count = 0;
            Present = WrongType = false;
            CallIds.Clear();
        }

        public ref Message Add()
        {
            if (Count > 0)
            {
                _items[Count - 1].CallIdsEnd = CallIds.Count;
            }

            if (Count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
            }

            ref Message m = ref _items[Count++];
            m = default;
            m.Weight = -1;
            return ref m;
        }

        public int CountRole(Role role)
        {
            int n = 0;
            for (int i = 0; i < Count; i++)
            {
                if (_items[i].Role == role) n++;
            }

            return n;
        }

        public bool AnyTrainedAssistant()
        {
            for (int i = 0; i < Count; i++)
            {
                if (_items[i].Role == Role.Assistant && _items[i].Weight != 0) return true;
            }

            return false;
        }

        public int ConversationTokens()
        {
            int total = TokenAccounting.PerConversation;
            for (int i = 0; i < Count; i++)
            {
                total += TokenAccounting.PerMessage + TokenAccounting.PerRole + _items[i].ContentTokens + _items[i].NameTokens;
            }

            return total;
        }

        public int ContentTokens()
        {
            int total = 0;
            for (int i = 0; i < Count; i++)
            {
                total += _items[i].ContentTokens;
            }

            return total;
        }

        public int AssistantTokens()
        {
            int total = 0;
            for (int i = 0; i < Count; i++)
            {
                if (_items[i].Role == Role.Assistant && _items[i].Weight != 0) total += _items[i].ContentTokens;
            }

            return total;
        }

        /// <summary>Same roles and same text in the same order (formatting aside).</summary>
        public bool SameContentAs(MessageList other, ReadOnlySpan<byte> line)
        {
            if (Count != other.Count) return false;
            for (int i = 0; i < Count; i++)
            {
                ulong hash = _items[i].ContentHash(line);
                if (_items[i].Role != other._items[i].Role || hash == 0 || hash != other._items[i].ContentHash(line)) return false;
            }

            return true;
        }

        public ulong SystemPromptHash(ReadOnlySpan<byte> line)
        {
            for (int i = 0; i < Count; i++)
            {
                if (_items[i].Role is Role.System or Role.Developer) return _items[i].ContentHash(line);
            }

            return 0;
        }
    }
}

/// <summary>Names used for topics.</summary>
public static class Topics
{
    /// <summary>The topic of rows that have none.</summary>
    public const string None = "(none)";
}
