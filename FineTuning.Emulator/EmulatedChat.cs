using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Evaluation;

namespace FineTuning.Emulator;

/// <summary>How the emulator's models answer and judge (see <see cref="EmulatorSkill"/>).</summary>
internal static class EmulatedChat
{
    private const string Right = "[emulated:right]";
    private const string Wrong = "[emulated:wrong]";

    public static string Reply(EmulatorSkill skill, string model, JsonElement messages, string topic, string? expected = null)
    {
        string system = Text(messages, "system", first: true);
        string user = Text(messages, "user", first: false);
        if (system == EvaluationPrompts.ScoreRubric)
        {
            string answer = After(user, "Answer to grade:\n");
            return answer.Contains(Right, StringComparison.Ordinal) ? "1"
                : answer.Contains(Wrong, StringComparison.Ordinal) ? "0"
                : "0.5";
        }

        if (system == EvaluationPrompts.PairwiseRubric)
        {
            const string MarkA = "\n\nAnswer A:\n",
                MarkB = "\n\nAnswer B:\n";
            int aAt = user.IndexOf(MarkA, StringComparison.Ordinal),
                bAt = user.IndexOf(MarkB, StringComparison.Ordinal);
            string a = aAt >= 0 && bAt > aAt ? user[(aAt + MarkA.Length)..bAt] : "";
            string b = bAt >= 0 ? user[(bAt + MarkB.Length)..] : "";
            bool aRight = a.Contains(Right, StringComparison.Ordinal),
                bRight = b.Contains(Right, StringComparison.Ordinal);
            return aRight == bRight ? "TIE"
                : aRight ? "A"
                : "B";
        }

        bool fineTuned = model.StartsWith("ft:", StringComparison.Ordinal);
        bool right = Draw(skill.Seed, model, messages.GetRawText()) < skill.For(fineTuned, topic);
        // Given the answer a grader expects, a right answer is exactly it (a string check passes), a wrong one is not.
        if (expected is not null)
            return right ? expected : $"{Wrong} not {expected}";
        return right ? $"An answer from {model} that is right {Right}" : $"An answer from {model} that misses the point {Wrong}";
    }

    /// <summary>A number in [0, 1) from the seed, the model and the messages: the same question, the same draw.</summary>
    private static double Draw(ulong seed, string model, string messages)
    {
        ulong hash = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(model + "\n" + messages), unchecked((long)seed));
        return (hash >> 11) * (1.0 / (1UL << 53));
    }

    private static string After(string text, string marker)
    {
        int at = text.IndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? "" : text[(at + marker.Length)..];
    }

    /// <summary>The text of the first (or last) message with <paramref name="role"/>: a string, or its text parts joined.</summary>
    private static string Text(JsonElement messages, string role, bool first)
    {
        string found = "";
        foreach (JsonElement message in messages.EnumerateArray())
        {
            if (
                !message.TryGetProperty("role", out JsonElement r)
                || r.GetString() != role
                || !message.TryGetProperty("content", out JsonElement content)
            )
                continue;
            found =
                content.ValueKind == JsonValueKind.String
                    ? content.GetString()!
                    : string.Concat(
                        content.EnumerateArray().Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString())
                    );
            if (first)
                break;
        }

        return found;
    }
}
