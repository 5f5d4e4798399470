using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json;
using FineTuning.Core.Hashing;
using FineTuning.Core.Tokens;

namespace FineTuning.Core.Datasets;

internal sealed partial class RowValidator
{
    private void ReadTopLevel(ref JsonRowReader reader, ReadOnlySpan<byte> line)
    {
        var keys = new KeyScope(_keyTop);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int nameStart = (int)reader.TokenStartIndex + 1;
            int nameLength = reader.ValueSpan.Length;
            if (IsRepeatedKey(ref reader, ref keys))
                AddDuplicateKey(ref reader, "");
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

    private void ReadDpoInput(ref JsonRowReader reader, ReadOnlySpan<byte> line)
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
            if (IsRepeatedKey(ref reader, ref keys))
                AddDuplicateKey(ref reader, "input.");
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

    private void ReadMessageList(ref JsonRowReader reader, MessageList list, string path)
    {
        list.Present = true;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            list.WrongType = true;
            Add(
                path == "messages" ? FindingCodes.MissingMessagesList : FindingCodes.DataType,
                path,
                $"must be a list of messages, not {Describe(reader.TokenType)}"
            );
            reader.Skip();
            return;
        }

        int index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            ReadMessage(ref reader, list, path, index++);
        }
    }

    private void ReadMessage(ref JsonRowReader reader, MessageList list, string listPath, int index)
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
            if (IsRepeatedKey(ref reader, ref keys))
                AddDuplicateKey(ref reader, $"{listPath}[{index}].");
            ReadOnlySpan<byte> key = reader.ValueSpan;
            if (key.SequenceEqual("role"u8))
            {
                sawRole = true;
                reader.Read();
                m.Role = ReadRole(ref reader, listPath, index);
            }
            else if (key.SequenceEqual("content"u8))
            {
                if (!TryReadText(ref reader, ref m))
                {
                    reader.Read();
                    ReadContent(ref reader, ref m, listPath, index);
                }
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
                Add(
                    FindingCodes.MessageUnrecognizedKey,
                    $"{listPath}[{index}].{name}",
                    $"is not a message key (role, content, name, weight, tool_calls, function_call, tool_call_id){hint}"
                );
            }
        }

        _keyTop = keys.Base;

        if (!sawRole)
        {
            m.Role = Role.Invalid;
            Add(FindingCodes.MessageMissingKey, $"{listPath}[{index}]", "the message has no role");
        }
    }

    private Role ReadRole(ref JsonRowReader reader, string listPath, int index)
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
        if (role != Role.Invalid)
        {
            // A role's folded text is known: the identity's walk takes it rather than folding it.
            int start = (int)reader.TokenStartIndex + 1;
            _folded.Add(start, start + v.Length, false, RoleFolds[(int)role]);
        }
        else
        {
            Add(
                FindingCodes.UnrecognizedRole,
                $"{listPath}[{index}].role",
                $"\"{reader.GetString()}\" is not a role (system, developer, user, assistant, tool)"
            );
        }

        return role;
    }

    /// <summary>
    /// A message's content that is a string, read in the pass that counts and folds it (<see
    /// cref="ApproximateTokenEstimator.CountString"/>): its end is found there, not by a search of its own. False, with
    /// the reader where it was, for any other value or a string that is not valid JSON text (read as usual then).
    /// </summary>
    private bool TryReadText(ref JsonRowReader reader, ref Message m)
    {
        int quote = reader.NextValueIndex;
        if (_foldingTokens is null || quote >= reader.Row.Length || reader.Row[quote] != '"')
        {
            return false;
        }

        var text = new FoldedText("content"u8);
        int tokens = _foldingTokens.CountString(reader.Row[(quote + 1)..], ref text, out int length, out bool escaped);
        if (tokens < 0)
        {
            return false;
        }

        reader.TakeString(quote, length, escaped);
        _folded.Add(quote + 1, quote + 1 + length, text);
        TextContent(ref m, quote + 1, length, tokens);
        return true;
    }

    private static void TextContent(ref Message m, int start, int length, int tokens)
    {
        m.Content = length == 0 ? ContentKind.Empty : ContentKind.Text;
        m.ContentTokens += tokens;
        // Where the text is, not its hash: only system prompts and DPO outputs are ever compared, so only they are hashed.
        m.ContentStart = start;
        m.ContentLength = length;
    }

    private void ReadContent(ref JsonRowReader reader, ref Message m, string listPath, int index)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                // Only without the folding estimator: with it, a valid string was read by TryReadText (the walk folds it).
                TextContent(ref m, (int)reader.TokenStartIndex + 1, reader.ValueSpan.Length, _tokens.CountEscaped(reader.ValueSpan));
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
                Add(
                    FindingCodes.DataType,
                    $"{listPath}[{index}].content",
                    $"must be a string or a list of content parts, not {Describe(reader.TokenType)}"
                );
                reader.Skip();
                break;
        }
    }

    private void ReadContentParts(ref JsonRowReader reader, ref Message m, string path)
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
            bool hasText = false,
                hasImageUrl = false,
                hasValue = false;
            var keys = new KeyScope(_keyTop);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (IsRepeatedKey(ref reader, ref keys))
                    AddDuplicateKey(ref reader, partPath + ".");
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type =
                        reader.TokenType != JsonTokenType.String ? PartType.Unknown
                        : reader.ValueTextEquals("text"u8) ? PartType.Text
                        : reader.ValueTextEquals("image_url"u8) ? PartType.ImageUrl
                        : PartType.Unknown;
                    if (type == PartType.Unknown)
                    {
                        Add(
                            FindingCodes.InvalidContentPart,
                            partPath + ".type",
                            $"{RawToken(ref reader)} is not a part type (text, image_url)"
                        );
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
                Add(
                    FindingCodes.InvalidContentPart,
                    partPath,
                    hasValue ? "a text part keeps its text in `text`, not `value`" : "a text part needs `text`"
                );
            }
            else if (type == PartType.ImageUrl && !hasImageUrl)
            {
                Add(
                    FindingCodes.InvalidContentPart,
                    partPath,
                    hasValue
                        ? "an image part needs `image_url: {\"url\": ...}`, not `value`"
                        : "an image part needs `image_url: {\"url\": ...}`"
                );
            }
        }

        if (parts == 0)
        {
            m.Content = ContentKind.Empty;
        }
    }

    private void ReadImageUrl(ref JsonRowReader reader, ref Message m, string path)
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
                    Add(
                        FindingCodes.InvalidContentPart,
                        path + ".url",
                        "must be an http(s) URL or a data:image/... URL; local file paths cannot be read by the provider"
                    );
                }

                // Images are billed by tiles, not by the bytes of their URL; count a typical low-detail image.
                m.ContentTokens += 85;
                _sawImage = true;
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

    private void ReadToolCalls(ref JsonRowReader reader, ref Message m, MessageList list, string path)
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

            bool hasId = false,
                hasFunction = false,
                typeOk = false;
            var keys = new KeyScope(_keyTop);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (IsRepeatedKey(ref reader, ref keys))
                    AddDuplicateKey(ref reader, callPath + ".");
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

            if (!hasId)
                Add(
                    FindingCodes.InvalidToolCall,
                    callPath + ".id",
                    "a tool call needs a string id (tool messages answer it by tool_call_id)"
                );
            if (!typeOk)
                Add(FindingCodes.InvalidToolCall, callPath + ".type", "must be \"function\"");
            if (!hasFunction)
                Add(FindingCodes.InvalidToolCall, callPath + ".function", "is missing");
        }
    }

    private void ReadFunction(ref JsonRowReader reader, ref Message m, string path, string code)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Add(code, path, $"must be an object with name and arguments, not {Describe(reader.TokenType)}");
            reader.Skip();
            return;
        }

        bool hasName = false,
            hasArguments = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                hasName = reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0;
                if (hasName)
                    m.ContentTokens += _tokens.CountEscaped(reader.ValueSpan);
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

        if (!hasName)
            Add(code, path + ".name", "is missing or empty");
        if (!hasArguments)
            Add(code, path + ".arguments", "is missing (use \"{}\" for no arguments)");
    }

    private void ReadTools(ref JsonRowReader reader, ReadOnlySpan<byte> line, string path, bool isLegacyFunctions)
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

            bool typeOk = isLegacyFunctions,
                nameOk = false;
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

            if (!typeOk)
                Add(FindingCodes.InvalidTools, toolPath + ".type", "must be \"function\"");
            if (!nameOk)
                Add(FindingCodes.InvalidTools, toolPath + (isLegacyFunctions ? ".name" : ".function.name"), "is missing or empty");
        }

        _toolsTokens += _tokens.CountText(line.Slice(start, (int)reader.BytesConsumed - start));
    }

    private static bool ReadFunctionDefinition(ref JsonRowReader reader)
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
    private bool IsRepeatedKey(ref JsonRowReader reader, ref KeyScope scope)
    {
        ObjectKey key = ObjectKey.Of(reader.ValueSpan);
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

    private void AddDuplicateKey(ref JsonRowReader reader, string pathPrefix) =>
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

            return name.Length > 8
                ? new ObjectKey(BinaryPrimitives.ReadUInt64LittleEndian(name), Words.Padded(name[8..]), name.Length)
                : new ObjectKey(Words.Padded(name), 0, name.Length);
        }
    }

    private static void EnsureEnd(ref JsonRowReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("more JSON follows the end of the row; put one JSON object per line", null, 0, reader.TokenStartIndex);
        }
    }
}
