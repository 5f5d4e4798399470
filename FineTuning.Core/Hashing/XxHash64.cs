using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FineTuning.Core.Hashing;

/// <summary>
/// xxHash64 (Yann Collet's specification), stable across processes and machines. Written here because
/// System.IO.Hashing, which has it, is not in this workplace's package mirror (see README, "Packages").
/// </summary>
public static class XxHash64
{
    private const ulong Prime1 = 11400714785074694791UL;
    private const ulong Prime2 = 14029467366897019727UL;
    private const ulong Prime3 = 1609587929392839161UL;
    private const ulong Prime4 = 9650029242287828579UL;
    private const ulong Prime5 = 2870177450012600261UL;

    public static ulong Hash(ReadOnlySpan<byte> data, ulong seed = 0)
    {
        int length = data.Length;
        ulong h;
        int i = 0;
        if (length >= 32)
        {
            ulong v1 = seed + Prime1 + Prime2, v2 = seed + Prime2, v3 = seed, v4 = seed - Prime1;
            int limit = length - 32;
            do
            {
                v1 = Round(v1, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i)));
                v2 = Round(v2, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i + 8)));
                v3 = Round(v3, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i + 16)));
                v4 = Round(v4, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i + 24)));
                i += 32;
            }
            while (i <= limit);
            h = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7) + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
            h = MergeRound(h, v1);
            h = MergeRound(h, v2);
            h = MergeRound(h, v3);
            h = MergeRound(h, v4);
        }
        else
        {
            h = seed + Prime5;
        }

        h += (ulong)length;
        for (; i + 8 <= length; i += 8)
        {
            h ^= Round(0, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i)));
            h = (BitOperations.RotateLeft(h, 27) * Prime1) + Prime4;
        }

        if (i + 4 <= length)
        {
            h ^= BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i)) * Prime1;
            h = (BitOperations.RotateLeft(h, 23) * Prime2) + Prime3;
            i += 4;
        }

        for (; i < length; i++)
        {
            h ^= data[i] * Prime5;
            h = BitOperations.RotateLeft(h, 11) * Prime1;
        }

        return Avalanche(h);
    }

    /// <summary>
    /// The xxHash64 digests of <paramref name="data"/> with two seeds, in one pass over the bytes: the same values as
    /// two <see cref="Hash"/> calls, with the eight accumulators interleaved so the multipliers stay busy.
    /// </summary>
    public static (ulong A, ulong B) HashPair(ReadOnlySpan<byte> data, ulong seedA, ulong seedB)
    {
        int length = data.Length;
        if (length < 32)
        {
            return (Hash(data, seedA), Hash(data, seedB));
        }

        ref byte start = ref MemoryMarshal.GetReference(data);
        ulong a1 = seedA + Prime1 + Prime2, a2 = seedA + Prime2, a3 = seedA, a4 = seedA - Prime1;
        ulong b1 = seedB + Prime1 + Prime2, b2 = seedB + Prime2, b3 = seedB, b4 = seedB - Prime1;
        int i = 0;
        int limit = length - 32;
        do
        {
            ulong x1 = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
            ulong x2 = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i + 8));
            ulong x3 = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i + 16));
            ulong x4 = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i + 24));
            if (!BitConverter.IsLittleEndian)
            {
                x1 = BinaryPrimitives.ReverseEndianness(x1);
                x2 = BinaryPrimitives.ReverseEndianness(x2);
                x3 = BinaryPrimitives.ReverseEndianness(x3);
                x4 = BinaryPrimitives.ReverseEndianness(x4);
            }

            a1 = Round(a1, x1);
            b1 = Round(b1, x1);
            a2 = Round(a2, x2);
            b2 = Round(b2, x2);
            a3 = Round(a3, x3);
            b3 = Round(b3, x3);
            a4 = Round(a4, x4);
            b4 = Round(b4, x4);
            i += 32;
        }
        while (i <= limit);

        ReadOnlySpan<byte> rest = data[i..];
        return (Finish(a1, a2, a3, a4, rest, length), Finish(b1, b2, b3, b4, rest, length));
    }

    private static ulong Finish(ulong v1, ulong v2, ulong v3, ulong v4, ReadOnlySpan<byte> rest, int length)
    {
        ulong h = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7) + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
        h = MergeRound(h, v1);
        h = MergeRound(h, v2);
        h = MergeRound(h, v3);
        h = MergeRound(h, v4);
        h += (ulong)length;
        int i = 0;
        for (; i + 8 <= rest.Length; i += 8)
        {
            h ^= Round(0, BinaryPrimitives.ReadUInt64LittleEndian(rest.Slice(i)));
            h = (BitOperations.RotateLeft(h, 27) * Prime1) + Prime4;
        }

        if (i + 4 <= rest.Length)
        {
            h ^= BinaryPrimitives.ReadUInt32LittleEndian(rest.Slice(i)) * Prime1;
            h = (BitOperations.RotateLeft(h, 23) * Prime2) + Prime3;
            i += 4;
        }

        for (; i < rest.Length; i++)
        {
            h ^= rest[i] * Prime5;
            h = BitOperations.RotateLeft(h, 11) * Prime1;
        }

        return Avalanche(h);
    }

    /// <summary>Mixes two 64-bit values into one (for keys derived from a hash and a seed).</summary>
    public static ulong Mix(ulong value, ulong seed) => Avalanche(Round(seed + Prime5, value) ^ (seed * Prime3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round(ulong acc, ulong input)
    {
        acc += input * Prime2;
        acc = BitOperations.RotateLeft(acc, 31);
        return acc * Prime1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MergeRound(ulong acc, ulong val)
    {
        acc ^= Round(0, val);
        return (acc * Prime1) + Prime4;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Avalanche(ulong h)
    {
        h ^= h >> 33;
        h *= Prime2;
        h ^= h >> 29;
        h *= Prime3;
        h ^= h >> 32;
        return h;
    }
}
