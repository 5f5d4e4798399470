using System.Globalization;
using System.Text.RegularExpressions;

namespace FineTuning.Core.Evaluation;

/// <summary>
/// The judge's prompts (the documented rubric of the default model-graded comparison) and how its replies are read.
/// A score: the answer against the row's reference, 0 to 1. A pairwise verdict: which of two answers is better, asked
/// in both orders so that position bias cancels.
/// </summary>
public static partial class EvaluationPrompts
{
    /// <summary>The header a request names the row's topic with (services ignore it; the emulator's skill reads it).</summary>
    public const string TopicHeader = "FineTuning-Topic";

    /// <summary>The header that gives the emulator a row's expected answer (sent to the emulator only).</summary>
    public const string ExpectedHeader = "FineTuning-Expected";

    public const string ScoreRubric =
        "You grade an answer to a question against a reference answer. Score 1 when the answer says what the reference says "
        + "(the same facts, steps and decision; wording may differ), 0 when it contradicts it, misses its point or refuses, and "
        + "a value between for a partly right answer. Reply with only the score, a number from 0 to 1.";

    public const string PairwiseRubric =
        "You compare two answers to the same question, with a reference answer for what is right. Prefer the answer that is "
        + "more correct and complete with respect to the reference; length and style do not count. Reply with only A, B or TIE.";

    /// <summary>The user turn of a score request.</summary>
    public static string ScoreRequest(string prompt, string? reference, string answer) =>
        $"Question:\n{prompt}\n\nReference answer:\n{reference ?? "(none)"}\n\nAnswer to grade:\n{answer}";

    /// <summary>The user turn of a pairwise request.</summary>
    public static string PairwiseRequest(string prompt, string? reference, string answerA, string answerB) =>
        $"Question:\n{prompt}\n\nReference answer:\n{reference ?? "(none)"}\n\nAnswer A:\n{answerA}\n\nAnswer B:\n{answerB}";

    /// <summary>The score in a judge's reply (the first number, clamped to 0..1), or null when it holds none.</summary>
    public static double? ReadScore(string reply)
    {
        Match number = Number().Match(reply);
        return number.Success && double.TryParse(number.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double score)
            ? Math.Clamp(score, 0, 1)
            : null;
    }

    /// <summary>The verdict in a pairwise reply: "A", "B" or "TIE" (anything else is a tie).</summary>
    public static string ReadVerdict(string reply)
    {
        string word = reply.Trim().TrimEnd('.').ToUpperInvariant();
        return word is "A" or "B" ? word : "TIE";
    }

    /// <summary>
    /// The verdict of both orders: the fine-tuned answer was A in the first and B in the second. Agreeing verdicts decide;
    /// disagreeing ones (position bias) and ties are a tie.
    /// </summary>
    public static Preference Combine(string fineTunedFirst, string fineTunedSecond) =>
        (fineTunedFirst, fineTunedSecond) switch
        {
            ("A", "B") => Preference.FineTuned,
            ("B", "A") => Preference.Base,
            _ => Preference.Tie,
        };

    [GeneratedRegex(@"-?\d+(\.\d+)?")]
    private static partial Regex Number();
}
