using System.Buffers.Binary;

namespace FineTuning.Core.Hashing;

/// <summary>Short byte strings read as numbers, for keys and hashes of a few bytes.</summary>
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
}
