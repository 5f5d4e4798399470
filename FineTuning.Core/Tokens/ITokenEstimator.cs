namespace FineTuning.Core.Tokens;

/// <summary>
/// Counts tokens in text. Implementations estimate: every output that shows counts says they are estimates.
/// Text arrives as the bytes of a JSON string value as written in the file (UTF-8, escapes not yet decoded),
/// so the hot path never allocates a string.
/// </summary>
public interface ITokenEstimator
{
    /// <summary>A short name shown in reports, e.g. <c>approx-o200k</c>.</summary>
    string Name { get; }

    /// <summary>How texts are counted, for the report's note, e.g. "an approximation of the provider's encoder".</summary>
    string Accounting { get; }

    /// <summary>Estimated tokens of an escaped JSON string value (without its quotes).</summary>
    int CountEscaped(ReadOnlySpan<byte> escapedUtf8);

    /// <summary>Estimated tokens of UTF-8 text counted as written, escapes and quotes included (the JSON of tools).</summary>
    int CountText(ReadOnlySpan<byte> utf8) => CountEscaped(utf8);

    /// <summary>Whether counting on several threads at once is faster than on one (dataset commands read the file in
    /// one pass when it is not).</summary>
    bool ScalesAcrossThreads => true;
}

/// <summary>
/// The per-message accounting of the OpenAI cookbook's <c>num_tokens_from_messages</c>: every message costs 3
/// tokens plus its role, content and name (a name costs 1 more), and every conversation 3 more for the reply
/// priming. Tools and tool calls are counted as the text of their JSON.
/// </summary>
public static class TokenAccounting
{
    public const int PerMessage = 3;
    public const int PerRole = 1;
    public const int PerName = 1;
    public const int PerConversation = 3;
}
