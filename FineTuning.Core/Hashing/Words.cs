using System.Buffers.Binary;

namespace FineTuning.Core.Hashing;

/// <summary>Short byte strings read as numbers: keys and hashes of a few bytes, the digits of a <c>\u</c> escape.</summary>
internal static class Words
{
    /// <summary>
    /// Up to 8 bytes as a little-endian number, zero-padded: what reading them from a zeroed 8-byte buffer gives, read
    /// in place without the copy (two reads that may overlap; an overlapping byte lands where it did in the other).
    /// </summary>
    public static ulong Padded(ReadOnlySpan<byte> b) =>
        b.Length switch
        {
            0 => 0,
            < 4 => b[0] | ((ulong)b[b.Length / 2] << (b.Length / 2 * 8)) | ((ulong)b[^1] << ((b.Length - 1) * 8)),
            _ => BinaryPrimitives.ReadUInt32LittleEndian(b)
                | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(b[^4..]) << ((b.Length - 4) * 8)),
        };

    /// <summary>
    /// The four hexadecimal digits of a <c>\u</c> escape at <paramref name="at"/> of <paramref name="s"/>, if they are there.
    /// </summary>
    public static bool TryHex(ReadOnlySpan<byte> s, int at, out int unit)
    {
        unit = 0;
        if (at + 4 > s.Length || !System.Buffers.Text.Utf8Parser.TryParse(s.Slice(at, 4), out ushort value, out int read, 'X') || read != 4)
        {
            return false;
        }

        unit = value;
        return true;
    }
}
