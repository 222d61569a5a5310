using System.Text;

namespace Messengers.Agents.Http;

/// <summary>
/// Splits back-to-back JSON objects with no separators (Agno v1's streaming format) as text arrives: tracks brace
/// depth outside strings. Text between objects is ignored.
/// </summary>
internal sealed class JsonObjectSplitter
{
    private readonly StringBuilder _current = new();
    private int _depth;
    private bool _inString;
    private bool _escaped;

    public void Push(ReadOnlySpan<char> text, List<string> output)
    {
        foreach (var c in text)
        {
            if (_depth == 0)
            {
                if (c != '{')
                {
                    continue;
                }

                _current.Clear();
            }

            _current.Append(c);
            if (_inString)
            {
                if (_escaped)
                {
                    _escaped = false;
                }
                else if (c == '\\')
                {
                    _escaped = true;
                }
                else if (c == '"')
                {
                    _inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '"':
                    _inString = true;
                    break;
                case '{' or '[':
                    _depth++;
                    break;
                case '}' or ']':
                    if (--_depth == 0)
                    {
                        output.Add(_current.ToString());
                        _current.Clear();
                    }

                    break;
            }
        }
    }

    /// <summary>True when an object was started but not finished.</summary>
    public bool HasPartial => _depth > 0;
}
