using System.Security.Cryptography;
using System.Text;
using Messengers.Data.Webhooks;
using Messengers.Webhooks;

namespace Messengers.Webhooks.Tests;

public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec_abcdefghijklmnop";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"evt_1","event":"message.received"}""");
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_790_000_000);

    [Fact]
    public void Sign_KnownInput_IsV1HexHmacOfTimestampDotBody()
    {
        var expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes("1790000000." + Encoding.UTF8.GetString(Body))));

        Assert.Equal(expected, WebhookSignature.Sign(Secret, 1_790_000_000, Body));
    }

    [Fact]
    public void Sign_DocumentedTestVector_MatchesNodeAndPythonResult()
        => Assert.Equal("v1=211902796effcdc03e4e061720098e15c2f3b082bd52e7665a4953d2237e44a6", WebhookSignature.Sign(Secret, 1_790_000_000, Body));

    [Fact]
    public void Verify_UntouchedRequest_Accepts()
        => Assert.True(WebhookSignature.Verify(Secret, "1790000000", WebhookSignature.Sign(Secret, 1_790_000_000, Body), Body, Now, TimeSpan.FromMinutes(5)));

    [Fact]
    public void Verify_TamperedBody_Rejects()
    {
        var signature = WebhookSignature.Sign(Secret, 1_790_000_000, Body);
        var tampered = Encoding.UTF8.GetBytes("""{"id":"evt_2","event":"message.received"}""");

        Assert.False(WebhookSignature.Verify(Secret, "1790000000", signature, tampered, Now, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Verify_OtherSecretOrTimestamp_Rejects()
    {
        var signature = WebhookSignature.Sign(Secret, 1_790_000_000, Body);

        Assert.False(WebhookSignature.Verify("whsec_other-secret-000", "1790000000", signature, Body, Now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, "1790000001", signature, Body, Now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, "not-a-number", signature, Body, Now, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Verify_TimestampOutsideTolerance_RejectsAsReplay()
    {
        var signature = WebhookSignature.Sign(Secret, 1_790_000_000, Body);

        Assert.False(WebhookSignature.Verify(Secret, "1790000000", signature, Body, Now.AddMinutes(6), TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void NewSecret_Twice_DifferentAndPrefixed()
    {
        var a = WebhookSignature.NewSecret();
        var b = WebhookSignature.NewSecret();

        Assert.NotEqual(a, b);
        Assert.StartsWith("whsec_", a, StringComparison.Ordinal);
        Assert.True(a.Length >= 40);
    }
}
