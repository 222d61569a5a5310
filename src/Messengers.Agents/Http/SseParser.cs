using System.Text;

namespace Messengers.Agents.Http;

/// <summary>One server-sent event: the <c>event:</c> name (null when absent) and the joined <c>data:</c> lines.</summary>
internal readonly record struct SseEvent(string? Event, string Data);

/// <summary>An incremental server-sent-events parser: push text as it arrives, take the complete events.</summary>
internal sealed class SseParser
{
    private readonly StringBuilder _line = new();
    private readonly StringBuilder _data = new();
    private string? _event;
    private bool _hasData;
    private bool _lastWasCr;

    public void Push(ReadOnlySpan<char> text, List<SseEvent> output)
    {
        foreach (var c in text)
        {
            if (c == '\n' && _lastWasCr)
            {
                _lastWasCr = false;
                continue;
            }

            _lastWasCr = c == '\r';
            if (c is '\n' or '\r')
            {
                OnLine(_line.ToString(), output);
                _line.Clear();
            }
            else
            {
                _line.Append(c);
            }
        }
    }

    /// <summary>The stream ended: dispatch an event left without its blank line.</summary>
    public void Complete(List<SseEvent> output)
    {
        if (_line.Length > 0)
        {
            OnLine(_line.ToString(), output);
            _line.Clear();
        }

        OnLine(string.Empty, output);
    }

    private void OnLine(string line, List<SseEvent> output)
    {
        if (line.Length == 0)
        {
            if (_hasData)
            {
                output.Add(new SseEvent(_event, _data.ToString()));
            }

            _event = null;
            _data.Clear();
            _hasData = false;
            return;
        }

        if (line[0] == ':')
        {
            return;
        }

        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? string.Empty : line[(colon + 1)..];
        if (value.StartsWith(' '))
        {
            value = value[1..];
        }

        switch (field)
        {
            case "event":
                _event = value;
                break;
            case "data":
                if (_hasData)
                {
                    _data.Append('\n');
                }

                _data.Append(value);
                _hasData = true;
                break;
        }
    }
}
