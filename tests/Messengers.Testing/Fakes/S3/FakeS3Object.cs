namespace Messengers.Testing.Fakes.S3;

/// <summary>An object as the fake stores it: bytes, Content-Type, user metadata (names without <c>x-amz-meta-</c>).</summary>
public sealed record FakeS3Object(byte[] Data, string? ContentType, IReadOnlyDictionary<string, string> Metadata, string ETag, DateTimeOffset LastModified);
