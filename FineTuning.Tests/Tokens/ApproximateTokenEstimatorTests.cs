using System.Text;
using FineTuning.Core.Tokens;
using FsCheck;
using FsCheck.Fluent;

namespace FineTuning.Tests.Tokens;

public class ApproximateTokenEstimatorTests
{
    private static int Count(string text) => ApproximateTokenEstimator.Instance.CountEscaped(Encoding.UTF8.GetBytes(text));

    [Theory]
    [InlineData("", 0)]
    [InlineData("Hello world", 2)]
    [InlineData("Eat a banana!", 4)]
    [InlineData("tokenization", 2)]
    [InlineData("1234567", 2)]
    [InlineData("123456789012", 4)]
    [InlineData("{\\\"location\\\": \\\"Paris\\\"}", 6)]
    [InlineData("line one\\nline two", 5)]
    [InlineData("\\u00e9t\\u00e9", 3)]
    public void Count_FollowsThePreTokenizerRules(string escaped, int expected)
    {
        Assert.Equal(expected, Count(escaped));
    }

    [Fact]
    public void Count_CjkIsAboutOneTokenPerCharacter_LatinAccentsHalf()
    {
        Assert.Equal(4, Count("日本語文"));
        Assert.Equal(2, Count("éèàü"));
    }

    [Fact]
    public void Count_GrowsLinearlyWithRepeatedText()
    {
        int one = Count("Eat a banana!"); // the space between repeats joins the next word
        int many = Count(string.Concat(Enumerable.Repeat("Eat a banana! ", 2000)));

        Assert.InRange(many, one * 2000 * 0.9, one * 2000 * 1.1);
    }

    [Theory]
    [InlineData(32)]
    [InlineData(16)]
    public void VectorPath_CountsLikeTheScalarPath(int vectorBytes)
    {
        var scalar = new ApproximateTokenEstimator { VectorBytes = 0 };
        var vectors = new ApproximateTokenEstimator { VectorBytes = vectorBytes };
        string alphabet = "aaaaaaaaaaaaaaaabbbbcdeXYZ      0123456789.,;:!?{}[]-_/\"\\é日😀\t";
        string[] escapes = ["\\n", "\\\"", "\\u00e9", "\\\\", "\\t"];
        // Mostly plain ASCII, so that many 32-byte blocks take the vector path, with now and then an escape or a
        // multi-byte character, so that the paths hand the run state to each other.
        Gen<int> pick = Gen.Frequency((40, Gen.Choose(0, 55)), (1, Gen.Choose(56, alphabet.Length + escapes.Length - 1)));
        Prop.ForAll(Arb.From(pick.ListOf().Select(l => l.Concat(l).Concat(l).ToList())), picks =>
            {
                string text = string.Concat(picks.Select(p => p < alphabet.Length ? alphabet[p].ToString() : escapes[p - alphabet.Length]));
                byte[] bytes = Encoding.UTF8.GetBytes(text);
                return vectors.CountEscaped(bytes) == scalar.CountEscaped(bytes);
            })
            .Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [Theory]
    [InlineData(32)]
    [InlineData(16)]
    public void VectorPath_LongRunsCrossBlocksLikeTheScalarPath(int vectorBytes)
    {
        var scalar = new ApproximateTokenEstimator { VectorBytes = 0 };
        var vectors = new ApproximateTokenEstimator { VectorBytes = vectorBytes };
        foreach (
            string text in new[]
            {
                new string('a', 100),
                new string(' ', 70) + "x",
                string.Concat(Enumerable.Repeat("1234567890", 9)),
                new string('.', 65) + "\\n" + new string('b', 40),
            }
        )
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            Assert.Equal(scalar.CountEscaped(bytes), vectors.CountEscaped(bytes));
        }
    }

    [Fact]
    public void Count_NeverThrowsOnArbitraryBytes()
    {
        var random = new Random(3);
        byte[] bytes = new byte[10_000];
        for (int i = 0; i < 100; i++)
        {
            random.NextBytes(bytes);
            int n = ApproximateTokenEstimator.Instance.CountEscaped(bytes.AsSpan(0, random.Next(bytes.Length)));
            Assert.True(n >= 0);
        }
    }
}
