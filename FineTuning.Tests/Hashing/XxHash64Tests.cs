using System.Text;
using FineTuning.Core.Hashing;
using FsCheck;
using FsCheck.Fluent;

namespace FineTuning.Tests.Hashing;

public class XxHash64Tests
{
    [Theory]
    [InlineData("", 0UL, 0xEF46DB3751D8E999UL)]
    [InlineData("abc", 0UL, 0x44BC2CF5AD770999UL)]
    public void Hash_MatchesTheSpecificationsTestVectors(string text, ulong seed, ulong expected) =>
        Assert.Equal(expected, XxHash64.Hash(Encoding.ASCII.GetBytes(text), seed));

    [Fact]
    public void HashPair_GivesTheSameDigestsAsTwoHashes_AtEveryLength()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf()), Arb.From(Gen.Choose(0, int.MaxValue)), (bytes, seed) =>
        {
            (ulong a, ulong b) = XxHash64.HashPair(bytes, (ulong)seed, (ulong)seed * 31 + 7);
            return a == XxHash64.Hash(bytes, (ulong)seed) && b == XxHash64.Hash(bytes, ((ulong)seed * 31) + 7);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));

        byte[] large = new byte[1000];
        new Random(5).NextBytes(large);
        for (int length = 0; length <= large.Length; length++)
        {
            (ulong a, ulong b) = XxHash64.HashPair(large.AsSpan(0, length), 1, 2);
            Assert.Equal((XxHash64.Hash(large.AsSpan(0, length), 1), XxHash64.Hash(large.AsSpan(0, length), 2)), (a, b));
        }
    }
}
