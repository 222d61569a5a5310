namespace Messengers.Data;

/// <summary>
/// The database failed or could not be reached while a store worked; the message names the database (address, never
/// credentials) and the operation. The API answers it with 503: the request can be tried again.
/// </summary>
[GenerateSerializer, Alias("messengers.DatabaseException")]
public sealed class DatabaseException : Exception
{
    public DatabaseException() { }
    public DatabaseException(string message) : base(message) { }
    public DatabaseException(string message, Exception inner) : base(message, inner) { }
}
