namespace Messengers.Testing.Fakes.S3;

/// <summary>An S3 error answer: the status and the <c>&lt;Error&gt;&lt;Code&gt;</c> the real service uses for the case.</summary>
internal sealed class S3ErrorException : Exception
{
    public S3ErrorException() { }

    public S3ErrorException(string message) : base(message) { }

    public S3ErrorException(string message, Exception inner) : base(message, inner) { }

    public S3ErrorException(int status, string code, string message) : base(message)
    {
        Status = status;
        Code = code;
    }

    public int Status { get; } = 500;

    public string Code { get; } = "InternalError";
}
