using FineTuning.Core.Tokens;

namespace FineTuning.Core.Datasets;

internal sealed partial class RowValidator
{
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
            Add(
                FindingCodes.ExampleMissingAssistantMessage,
                "messages",
                "no assistant message: a supervised example needs the reply the model should learn"
            );
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
            _messages.SystemPromptHash(line)
        );
    }

    private RowMeasures CheckDpo(ReadOnlySpan<byte> line)
    {
        if (!_sawInput || !_sawInputMessages)
        {
            Add(
                FindingCodes.DpoMissingInput,
                "input",
                _sawMessages
                    ? "a DPO row puts the conversation in input.messages, not messages"
                    : "a DPO row needs input.messages, the conversation the outputs answer"
            );
        }
        else if (RequireMessages(_inputMessages, "input.messages"))
        {
            CheckMessages(_inputMessages, "input.messages", allowWeights: false);
        }

        CheckDpoOutput(_preferred, _sawPreferred, "preferred_output");
        CheckDpoOutput(_nonPreferred, _sawNonPreferred, "non_preferred_output");
        if (
            _preferred.Count > 0
            && _nonPreferred.Count > 0
            && !_preferred.WrongType
            && !_nonPreferred.WrongType
            && (
                line.Slice(_preferredStart, _preferredLength).SequenceEqual(line.Slice(_nonPreferredStart, _nonPreferredLength))
                || _preferred.SameContentAs(_nonPreferred, line)
            )
        )
        {
            Add(
                FindingCodes.DpoIdenticalOutputs,
                "non_preferred_output",
                "is the same as preferred_output, so there is no preference to learn"
            );
        }
        return new RowMeasures(
            _inputMessages.Count + 1,
            _inputMessages.ConversationTokens() + _preferred.ContentTokens() + _nonPreferred.ContentTokens() + _toolsTokens,
            _preferred.ContentTokens(),
            _inputMessages.SystemPromptHash(line)
        );
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
                Add(
                    FindingCodes.DpoOutputNotAssistant,
                    $"{path}[{i}].role",
                    $"is {m.Role.ToString().ToLowerInvariant()}; DPO outputs hold only assistant messages"
                );
            }
            else if (
                m.Role == Role.Assistant
                && m.Content is ContentKind.Missing or ContentKind.Null or ContentKind.Empty
                && m.ToolCalls == 0
            )
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
            Add(
                FindingCodes.RftLastMessageNotUser,
                $"messages[{_messages.Count - 1}].role",
                $"the last message is from the {last.ToString().ToLowerInvariant()}; in reinforcement rows it must be from the user"
            );
        }

        for (int i = 0; i < _graderPaths.Length; i++)
        {
            if (!TryFindPath(line, _graderPaths[i], out _))
            {
                Add(
                    FindingCodes.GraderReferenceMissing,
                    _graderReferences[i],
                    $"the grader uses {{{{ item.{_graderReferences[i]} }}}} but this row has no such field"
                );
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
                Add(
                    FindingCodes.MissingContent,
                    $"{path}[{i}].content",
                    m.Content == ContentKind.Missing ? "the message has no content" : "the content is empty"
                );
            }

            if (m.Weight != -1 && m.Weight != -2 && (m.Role != Role.Assistant || !allowWeights))
            {
                Add(
                    FindingCodes.InvalidWeight,
                    $"{path}[{i}].weight",
                    allowWeights ? "weight applies only to assistant messages" : "weight is not used by this method"
                );
            }

            if (m.Role == Role.Assistant)
            {
                callIdsSeen = m.CallIdsEnd;
            }
            else if (m.Role == Role.Tool)
            {
                if (m.ToolCallId == 0)
                {
                    Add(
                        FindingCodes.ToolCallIdMismatch,
                        $"{path}[{i}]",
                        "a tool message needs tool_call_id, the id of the call it answers"
                    );
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
                Add(
                    FindingCodes.LongAssistantMessage,
                    $"{path}[{i}].content",
                    $"about {list[i].ContentTokens:N0} tokens (estimated) in one assistant message; check that such a long reply is "
                        + "intended"
                );
            }
        }
    }

    private string ForeignFormatHint(ReadOnlySpan<byte> line)
    {
        if (TryTopLevel(line, "prompt"u8, out _) && TryTopLevel(line, "completion"u8, out _))
            return " (this is the legacy prompt/completion format; chat models need messages)";
        if (TryTopLevel(line, "instruction"u8, out _) && TryTopLevel(line, "output"u8, out _))
            return " (this is the Alpaca instruction/input/output format; convert it to messages)";
        if (TryTopLevel(line, "chosen_messages"u8, out _) || TryTopLevel(line, "chosen"u8, out _))
            return " (this looks like chosen/rejected preference data; DPO rows need input, preferred_output and non_preferred_output)";
        if (TryTopLevel(line, "conversations"u8, out _))
            return " (this looks like ShareGPT conversations; rename to messages with role and content)";
        if (TryTopLevel(line, "question"u8, out _) && TryTopLevel(line, "answer"u8, out _))
            return " (this is question/answer data; convert each pair to a user and an assistant message)";
        if (TryTopLevel(line, "item"u8, out _))
            return " (this is the Evals data-source format {\"item\": ...}; fine-tuning rows are the item's fields with messages)";
        return "";
    }
}
