using System.Text;
using FineTuning.Core.Tokens;

namespace FineTuning.Tests.Tokens;

public class ApproximateTokenEstimatorTests
{
    private static int Count(string text) => ApproximateTokenEstimator.Instance.CountEscaped(Encoding.UTF8.GetBytes(text));

    [Theory]
    [InlineData("", 0)]
    [InlineData("Hello world", 2)]
    [InlineData("Eat a banana!", 4)]
    [InlineData("tokenization", 2)]
    [InlineData("1234567", 3)]
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
