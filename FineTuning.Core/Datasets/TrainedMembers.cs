using System.Text;
using FineTuning.Core.Hashing;

namespace FineTuning.Core.Datasets;

/// <summary>
/// The top-level members of a row the provider trains on, per method: what the split writes (everything else, such as
/// <c>metadata</c> and a topic field, is dropped) and what makes two rows the same example. Reinforcement rows go to
/// the provider whole (a grader may read any field), but <c>metadata</c> is the row's bookkeeping (ids, flags) and does
/// not make an example different.
/// </summary>
public static class TrainedMembers
{
    private static readonly byte[][] Supervised =
    [
        .. new[] { "messages", "tools", "parallel_tool_calls", "functions" }.Select(Encoding.UTF8.GetBytes),
    ];
    private static readonly byte[][] Dpo =
    [
        .. new[] { "input", "preferred_output", "non_preferred_output" }.Select(Encoding.UTF8.GetBytes),
    ];

    /// <summary>The member names the provider accepts for <paramref name="method"/>; null when it takes every member.</summary>
    public static IReadOnlyList<byte[]>? Kept(FineTuningMethod method) =>
        method switch
        {
            FineTuningMethod.Supervised => Supervised,
            FineTuningMethod.Dpo => Dpo,
            _ => null,
        };

    /// <summary>True when a member named <paramref name="name"/> (its raw bytes) is sent for training.</summary>
    public static bool IsKept(IReadOnlyList<byte[]>? kept, ReadOnlySpan<byte> name)
    {
        if (kept is null)
        {
            return true;
        }

        foreach (byte[] allowed in kept)
        {
            if (name.SequenceEqual(allowed))
                return true;
        }

        return false;
    }

    /// <summary>
    /// The identity of the example a row holds for <paramref name="method"/>: the canonical hash (<see cref="CanonicalJson"/>)
    /// of its trained members, so rows that differ only in <c>metadata</c>, a topic, whitespace, member order or string
    /// escapes are one example, for duplicates and for the split alike. With it, in the same scan, the identity of what
    /// the row says, for near-duplicates: the same with its text folded (<see cref="CanonicalJson.FoldedHash"/>: case,
    /// whitespace and punctuation ignored). Texts folded while the row was read are taken from <paramref name="known"/>.
    /// </summary>
    internal static (ContentHash Identity, ContentHash TextIdentity) Identities(
        ReadOnlySpan<byte> row,
        ReadOnlySpan<(int NameStart, int NameLength, int ValueStart, int ValueLength)> members,
        FineTuningMethod method,
        FoldedStrings? known
    )
    {
        IReadOnlyList<byte[]>? kept = Kept(method);
        UInt128 exact = 0,
            folded = 0;
        foreach ((int nameStart, int nameLength, _, _) in members)
        {
            ReadOnlySpan<byte> name = row.Slice(nameStart, nameLength);
            bool escapedName = name.Contains((byte)'\\');
            if (escapedName ? !IsKeptEscaped(kept, row.Slice(nameStart - 1, nameLength + 2)) : !IsKept(kept, name))
            {
                continue;
            }

            if (kept is null && !escapedName && name.SequenceEqual("metadata"u8))
            {
                continue;
            }

            (UInt128 memberExact, UInt128 memberFolded) = CanonicalJson.MemberHashes(row, nameStart - 1, known);
            exact += memberExact;
            folded += memberFolded;
        }

        return (Of(CanonicalJson.OfMembers(exact)), Of(CanonicalJson.OfMembers(folded)));

        static ContentHash Of(UInt128 hash) => new((ulong)(hash >> 64), (ulong)hash);
    }

    private static bool IsKeptEscaped(IReadOnlyList<byte[]>? kept, ReadOnlySpan<byte> quotedName)
    {
        var reader = new System.Text.Json.Utf8JsonReader(quotedName);
        reader.Read();
        string name = reader.GetString()!;
        return kept is null ? name != "metadata" : IsKept(kept, Encoding.UTF8.GetBytes(name));
    }
}
