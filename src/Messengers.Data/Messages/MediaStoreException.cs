namespace Messengers.Data.Messages;

/// <summary>The media store could not be reached or refused the request (bad credentials, missing bucket, outage).</summary>
public sealed class MediaStoreException : Exception
{
    public MediaStoreException() : base("The media store failed.") { }

    public MediaStoreException(string message) : base(message) { }

    public MediaStoreException(string message, Exception inner) : base(message, inner) { }
}
