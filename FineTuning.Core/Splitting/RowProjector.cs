using System.Buffers;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Datasets;

namespace FineTuning.Core.Splitting;

/// <summary>
/// Keeps only the top-level keys the provider accepts for a method, copying the kept values byte for byte (no
/// re-serialisation, so numbers and escapes stay exactly as written).
/// </summary>
internal sealed class RowProjector
{
    private readonly IReadOnlyList<byte[]>? _allowed;

    /// <summary>
    /// Keeps <see cref="TrainedMembers.Kept"/> of <paramref name="method"/> (reinforcement: every member, a grader may
    /// read any).
    /// </summary>
    public RowProjector(FineTuningMethod method) => _allowed = TrainedMembers.Kept(method);

    /// <summary>Writes the projected row (without a line break); names of dropped keys go to <paramref name="dropped"/>.</summary>
    public void Write(ReadOnlySpan<byte> row, IBufferWriter<byte> output, ISet<string> dropped)
    {
        if (_allowed is null)
        {
            output.Write(row);
            return;
        }

        var reader = new Utf8JsonReader(row);
        reader.Read();
        bool first = true;
        output.Write("{"u8);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int start = (int)reader.TokenStartIndex;
            bool keep = IsAllowed(reader.ValueSpan);
            string? name = keep ? null : reader.GetString();
            reader.Read();
            reader.Skip();
            int end = (int)reader.BytesConsumed;
            if (keep)
            {
                if (!first)
                    output.Write(","u8);
                output.Write(row[start..end]);
                first = false;
            }
            else if (name is not null && dropped.Count < 100)
            {
                dropped.Add(name);
            }
        }

        output.Write("}"u8);
    }

    /// <summary>
    /// The top-level members validation found, as (name start, name length, member end) triples, so that projecting
    /// the row needs no second parse; null when a name holds an escape (then the row is read again).
    /// </summary>
    public static int[]? Members(IReadOnlyList<(int NameStart, int NameLength, int ValueStart, int ValueLength)>? topLevel)
    {
        if (topLevel is null)
        {
            return null;
        }

        int[] members = new int[topLevel.Count * 3];
        for (int i = 0; i < topLevel.Count; i++)
        {
            (int nameStart, int nameLength, int valueStart, int valueLength) = topLevel[i];
            members[3 * i] = nameStart;
            members[(3 * i) + 1] = nameLength;
            members[(3 * i) + 2] = valueStart + valueLength;
        }

        return members;
    }

    /// <summary>As <see cref="Write(ReadOnlySpan{byte}, IBufferWriter{byte}, ISet{string})"/>, from the members validation found.</summary>
    public void Write(ReadOnlySpan<byte> row, int[]? members, IBufferWriter<byte> output, ISet<string> dropped)
    {
        if (_allowed is null || members is null || HasEscapedName(row, members))
        {
            Write(row, output, dropped);
            return;
        }

        bool first = true;
        output.Write("{"u8);
        for (int i = 0; i < members.Length; i += 3)
        {
            ReadOnlySpan<byte> name = row.Slice(members[i], members[i + 1]);
            if (IsAllowed(name))
            {
                if (!first)
                    output.Write(","u8);
                output.Write(row[(members[i] - 1)..members[i + 2]]); // from the name's opening quote to the value's end
                first = false;
            }
            else if (dropped.Count < 100)
            {
                dropped.Add(Encoding.UTF8.GetString(name));
            }
        }

        output.Write("}"u8);
    }

    private static bool HasEscapedName(ReadOnlySpan<byte> row, int[] members)
    {
        for (int i = 0; i < members.Length; i += 3)
        {
            if (row.Slice(members[i], members[i + 1]).Contains((byte)'\\'))
                return true;
        }

        return false;
    }

    private bool IsAllowed(ReadOnlySpan<byte> name) => TrainedMembers.IsKept(_allowed, name);
}
