using System.IO.Hashing;
using FineTuning.Core.Hashing;
using FineTuning.Core.Tokens;

namespace FineTuning.Core.Datasets;

internal sealed partial class RowValidator
{
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

    /// <summary>The folded hash of each <see cref="Role"/>'s <c>"role"</c> member value (see <see cref="FoldedText"/>).</summary>
    private static readonly UInt128[] RoleFolds =
    [
        .. Enum.GetValues<Role>()
            .Select(r =>
                r == Role.Invalid ? 0 : FoldedText.Of("role"u8, System.Text.Encoding.UTF8.GetBytes(r.ToString().ToLowerInvariant()))
            ),
    ];

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
        public readonly ulong ContentHash(ReadOnlySpan<byte> line) =>
            ContentStart == 0 ? 0 : XxHash3.HashToUInt64(line.Slice(ContentStart, ContentLength)) | 1;

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
                if (_items[i].Role == role)
                    n++;
            }

            return n;
        }

        public bool AnyTrainedAssistant()
        {
            for (int i = 0; i < Count; i++)
            {
                if (_items[i].Role == Role.Assistant && _items[i].Weight != 0)
                    return true;
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
                if (_items[i].Role == Role.Assistant && _items[i].Weight != 0)
                    total += _items[i].ContentTokens;
            }

            return total;
        }

        /// <summary>Same roles and same text in the same order (formatting aside).</summary>
        public bool SameContentAs(MessageList other, ReadOnlySpan<byte> line)
        {
            if (Count != other.Count)
                return false;
            for (int i = 0; i < Count; i++)
            {
                ulong hash = _items[i].ContentHash(line);
                if (_items[i].Role != other._items[i].Role || hash == 0 || hash != other._items[i].ContentHash(line))
                    return false;
            }

            return true;
        }

        public ulong SystemPromptHash(ReadOnlySpan<byte> line)
        {
            for (int i = 0; i < Count; i++)
            {
                if (_items[i].Role is Role.System or Role.Developer)
                    return _items[i].ContentHash(line);
            }

            return 0;
        }
    }
}
