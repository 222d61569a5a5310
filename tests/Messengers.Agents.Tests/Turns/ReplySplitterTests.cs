using Messengers.Agents.Turns;

namespace Messengers.Agents.Tests.Turns;

public sealed class ReplySplitterTests
{
    [Fact]
    public void Split_ShortText_IsOnePart()
        => Assert.Equal(["hello there"], ReplySplitter.Split("  hello there ", 100));

    [Fact]
    public void Split_LongParagraphs_CutsAtParagraphsWithinLimit()
    {
        var paragraph = string.Join(' ', Enumerable.Repeat("word", 30)); // 149 characters
        var text = string.Join("\n\n", Enumerable.Repeat(paragraph, 5));

        var parts = ReplySplitter.Split(text, 400);

        Assert.All(parts, p => Assert.True(p.Length <= 400));
        Assert.Equal(3, parts.Count);
        Assert.Equal(text.Replace("\n\n", " ", StringComparison.Ordinal), string.Join(' ', parts).Replace("\n\n", " ", StringComparison.Ordinal));
    }

    [Fact]
    public void Split_NoSpaces_CutsHardAtTheLimitAndLosesNothing()
    {
        var text = new string('x', 1000);
        var parts = ReplySplitter.Split(text, 300);
        Assert.Equal([300, 300, 300, 100], parts.Select(p => p.Length));
        Assert.Equal(text, string.Concat(parts));
    }

    [Fact]
    public void Split_Sentences_PrefersSentenceEndOverWord()
    {
        var text = "First sentence is here. " + new string('a', 20) + " tail words here";
        var parts = ReplySplitter.Split(text, 40);
        Assert.Equal("First sentence is here.", parts[0]);
        Assert.All(parts, p => Assert.True(p.Length <= 40));
    }
}
