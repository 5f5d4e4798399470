using System.Text;
using FineTuning.Core.Datasets;

namespace FineTuning.Tests.Datasets;

/// <summary>What looks like personal or secret data is found, by kind and field, and never echoed in full.</summary>
public class SensitiveDataTests
{
    private static IReadOnlyList<SensitiveMatch> Find(string content) =>
        SensitiveData.Find(Encoding.UTF8.GetBytes($$"""{"messages":[{"role":"user","content":"{{content}}"}]}"""));

    [Theory]
    [InlineData("write to jane.doe+billing@example.co.uk today", SensitiveKinds.Email, "jane.doe+billing@example.co.uk")]
    [InlineData("card 4111 1111 1111 1111 exp 12/27", SensitiveKinds.PaymentCard, "4111111111111111")]
    [InlineData("card 5500-0000-0000-0004", SensitiveKinds.PaymentCard, "5500000000000004")]
    [InlineData("amex 3782 822463 10005", SensitiveKinds.PaymentCard, "378282246310005")]
    [InlineData("IBAN DE89 3704 0044 0532 0130 00 please", SensitiveKinds.Iban, "DE89370400440532013000")]
    [InlineData("GB82WEST12345698765432", SensitiveKinds.Iban, "GB82WEST12345698765432")]
    [InlineData("call +44 20 7946 0958 now", SensitiveKinds.Phone, "+442079460958")]
    [InlineData("call (555) 123-4567", SensitiveKinds.Phone, "5551234567")]
    [InlineData("or 555-123-4567", SensitiveKinds.Phone, "5551234567")]
    [InlineData(
        "key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
        SensitiveKinds.Secret,
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD"
    )]
    [InlineData("aws AKIAIOSFODNN7EXAMPLE", SensitiveKinds.Secret, "AKIAIOSFODNN7EXAMPLE")]
    [InlineData("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", SensitiveKinds.Secret, "ghp_abcdefghijklmnopqrstuvwxyz0123456789")]
    [InlineData("\\n4111111111111111", SensitiveKinds.PaymentCard, "4111111111111111")]
    public void EachKind_IsFound_AndMasked(string content, string kind, string value)
    {
        SensitiveMatch match = Assert.Single(Find(content));

        Assert.Equal(kind, match.Kind);
        Assert.DoesNotContain(value, match.Masked, StringComparison.Ordinal);
        if (kind != SensitiveKinds.Email)
            Assert.DoesNotContain(value[2..^2], match.Masked.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("order 13138 shipped on 2026-12-05 for $37.50")]
    [InlineData("card 4111 1111 1111 1112")] // fails the Luhn check
    [InlineData("IBAN DE89 3704 0044 0532 0130 01")] // fails mod 97
    [InlineData("version 1.2.3 build 20261205")]
    [InlineData("codes 13138 14876 37876 available")] // numbers in a sentence, not a card's groups of 4
    [InlineData("the task-list and sk-short")]
    [InlineData("email me at the office @ noon")]
    [InlineData("ask-abcdefghijklmnopqrstuvwxyz0123456789ABCD")] // inside a word
    public void OrdinaryText_IsNotFlagged(string content) => Assert.Empty(Find(content));

    [Fact]
    public void EveryKindOfKey_IsFound_InOneRow_InOrder_AndAPrefixInsideAnotherToken_IsNot()
    {
        const string body = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
        string[] keys =
        [
            "sk-" + body,
            "AKIA" + body[..16],
            "ghp_" + body,
            "github_pat_" + body,
            "xoxb-" + body,
            "xoxp-" + body,
            "AIza" + body,
            "-----BEGIN RSA PRIVATE KEY-----",
        ];
        // Each key after a space, then each prefix again inside a token (no boundary): only the first eight count.
        string content = string.Join(" and ", keys) + " then x" + string.Join("x", keys.Select(k => k[..Math.Min(k.Length, 12)]));

        IReadOnlyList<SensitiveMatch> found = Find(content);

        Assert.Equal(keys.Length, found.Count);
        Assert.All(found, m => Assert.Equal(SensitiveKinds.Secret, m.Kind));
        Assert.Equal(found.OrderBy(m => m.Offset).Select(m => m.Offset), found.Select(m => m.Offset));
        Assert.Equal(
            [
                "OpenAI-style key",
                "AWS access key",
                "GitHub token",
                "GitHub token",
                "Slack token",
                "Slack token",
                "Google API key",
                "private key",
            ],
            found.Select(m => m.Masked[..m.Masked.LastIndexOf(' ')])
        );
    }

    [Fact]
    public void TheFinding_NamesTheLineAndField_CountsEachKind_AndNeverEchoesTheValue()
    {
        string rows =
            Rows.Jsonl(Rows.ManyChats(10)) + Rows.Chat("My card is 4111 1111 1111 1111 and mail jane@example.com", "Thanks, noted.") + "\n";

        DatasetReport report = Rows.Validate(rows);

        Finding[] found = [.. report.Findings.Where(f => f.Code == FindingCodes.PossiblePii)];
        Assert.Equal(2, report.Counts[FindingCodes.PossiblePii]);
        Assert.Equal(2, found.Length);
        Assert.All(found, f => Assert.Equal(11, f.Line));
        Assert.All(found, f => Assert.Equal("messages[1].content", f.Path));
        Assert.Equal(1, report.SensitiveData[SensitiveKinds.PaymentCard]);
        Assert.Equal(1, report.SensitiveData[SensitiveKinds.Email]);
        Assert.DoesNotContain(found, f => f.Message.Contains("4111 1111 1111 1111", StringComparison.Ordinal));
        Assert.DoesNotContain(found, f => f.Message.Contains("jane@", StringComparison.Ordinal));
        Assert.True(report.Fit);

        DatasetReport unchecked_ = Rows.Validate(rows, new ValidationOptions { CheckSensitiveData = false });
        Assert.False(unchecked_.Counts.ContainsKey(FindingCodes.PossiblePii));
        Assert.Empty(unchecked_.SensitiveData);
    }
}
