using System.Buffers;
using System.Data;
using System.Security.Cryptography;
using Messengers.Abstractions.Messages;
using Messengers.Data.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Messengers.Data.Messages;

/// <summary>
/// <see cref="IMediaStore"/> in the PostgreSQL tables <c>media</c> and <c>media_chunks</c>
/// (sql/postgres/013_media.sql) of the silo's <see cref="PostgresDatabase"/>: every silo of a cluster reads the media
/// any silo stored. Same contract as <see cref="FileMediaStore"/>: the same media ids and instance ids, the size limit
/// (<see cref="MediaTooLargeException"/>, nothing stored), sha256, content type and file name; a file is visible
/// only once complete, because its chunks and its metadata row are written in one transaction.
/// </summary>
/// <remarks>
/// Why chunk rows rather than one <c>bytea</c> value or large objects: one value would have to be built in memory
/// whole (up to the 64 MiB limit per upload in flight) and read back whole; large objects need a transaction open for
/// every read, so a slow download would hold a pooled connection, and they outlive their rows unless unlinked. Chunks
/// of <see cref="ChunkSize"/> bytes keep one chunk in memory per save, are read one short query at a time (no
/// connection is held between reads of a stream, and a stream can seek, so HTTP range requests work), and go with
/// their row on delete. A save holds one connection and its transaction while it reads the upload: that is what makes
/// a file appear whole or not at all.
/// </remarks>
public sealed class PostgresMediaStore : IMediaStore
{
    /// <summary>1 MiB: a few dozen rows for the largest file, one buffer of this size per save in flight.</summary>
    public const int DefaultChunkSize = 1024 * 1024;

    private const string InsertChunkSql = "INSERT INTO media_chunks (instance_id, media_id, seq, data) VALUES ($1, $2, $3, $4)";

    private const string InsertMediaSql = """
        INSERT INTO media (instance_id, media_id, content_type, file_name, size, sha256, chunk_size, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """;

    /// <summary>The metadata and the first chunk in one round trip: most media fits in one chunk.</summary>
    private const string OpenSql = """
        SELECT m.content_type, m.file_name, m.size, m.sha256, m.chunk_size, c.data
        FROM media m LEFT JOIN media_chunks c ON c.instance_id = m.instance_id AND c.media_id = m.media_id AND c.seq = 0
        WHERE m.instance_id = $1 AND m.media_id = $2
        """;

    private const string ChunkSql = "SELECT data FROM media_chunks WHERE instance_id = $1 AND media_id = $2 AND seq = $3";

    /// <summary>The chunks go with their row (ON DELETE CASCADE).</summary>
    private const string DeleteInstanceSql = "DELETE FROM media WHERE instance_id = $1";

    private readonly PostgresDatabase _database;
    private readonly PostgresStoreCommands _commands;

    public PostgresMediaStore(PostgresDatabase database, long maxFileSize = FileMediaStore.DefaultMaxFileSize, int chunkSize = DefaultChunkSize)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFileSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkSize, 64 * 1024 * 1024);
        _database = database;
        _commands = new PostgresStoreCommands(database);
        MaxFileSize = maxFileSize;
        ChunkSize = chunkSize;
    }

    public long MaxFileSize { get; }

    /// <summary>Bytes per row of <c>media_chunks</c> for files saved from now on; each file records its own.</summary>
    public int ChunkSize { get; }

    public async Task<MediaRef> SaveAsync(string instanceId, Stream content, string contentType, string? fileName, CancellationToken cancellationToken = default)
    {
        MediaIds.RequireSafeInstanceId(instanceId, "key its media");
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        await _database.EnsureMigratedAsync(cancellationToken);

        var mediaId = MediaIds.New();
        var contentRead = false;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            return await _database.RunAsync("storing a media file", async (connection, _, ct) =>
            {
                if (contentRead)
                {
                    // The runner retries a lost connection once, but the upload was read in part and cannot be read
                    // again; the rolled-back transaction left nothing behind.
                    throw new DatabaseException($"PostgreSQL unreachable: the connection to {_database.Address} was lost while a media file was being stored; nothing was stored.");
                }

                await using var transaction = await connection.BeginTransactionAsync(ct);
                await using var insertChunk = new NpgsqlCommand(InsertChunkSql, connection, transaction);
                insertChunk.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instanceId });
                insertChunk.Parameters.Add(new NpgsqlParameter<string> { TypedValue = mediaId });
                var seq = new NpgsqlParameter<int>();
                var data = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea };
                insertChunk.Parameters.Add(seq);
                insertChunk.Parameters.Add(data);

                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long size = 0;
                var chunks = 0;
                while (true)
                {
                    contentRead = true;
                    var filled = await FillAsync(content, buffer.AsMemory(0, ChunkSize), ct);
                    if (filled == 0)
                    {
                        break;
                    }

                    size += filled;
                    if (size > MaxFileSize)
                    {
                        throw new MediaTooLargeException(MaxFileSize);
                    }

                    hash.AppendData(buffer, 0, filled);
                    seq.TypedValue = chunks++;
                    data.Value = new ArraySegment<byte>(buffer, 0, filled);
                    await insertChunk.ExecuteNonQueryAsync(ct);
                    if (filled < ChunkSize)
                    {
                        break;
                    }
                }

                var media = new MediaRef(mediaId, contentType, fileName, size, Convert.ToHexStringLower(hash.GetHashAndReset()));
                await using (var insertMedia = new NpgsqlCommand(InsertMediaSql, connection, transaction))
                {
                    foreach (var value in new object?[] { instanceId, mediaId, contentType, fileName, size, media.Sha256, ChunkSize, _database.Time.GetUtcNow() })
                    {
                        PostgresStoreCommands.Add(insertMedia, value);
                    }

                    await insertMedia.ExecuteNonQueryAsync(ct);
                }

                await transaction.CommitAsync(ct);
                return media;
            }, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task<(Stream Content, MediaRef Media)?> OpenAsync(string instanceId, string mediaId, CancellationToken cancellationToken = default)
    {
        MediaIds.RequireSafeInstanceId(instanceId, "key its media");
        if (!MediaIds.IsMediaId(mediaId))
        {
            return null;
        }

        var rows = await _commands.QueryAsync(
            "opening a media file",
            OpenSql,
            r => (Media: new MediaRef(mediaId, r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2), r.GetString(3)),
                  ChunkSize: r.GetInt32(4),
                  First: r.IsDBNull(5) ? null : r.GetFieldValue<byte[]>(5)),
            cancellationToken,
            instanceId,
            mediaId);
        if (rows.Count == 0)
        {
            return null;
        }

        var (media, chunkSize, first) = rows[0];
        return (new PostgresMediaStream(this, instanceId, mediaId, media.Size, chunkSize, first), media);
    }

    public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        MediaIds.RequireSafeInstanceId(instanceId, "key its media");
        return _commands.ExecuteAsync("deleting an instance's media", DeleteInstanceSql, cancellationToken, instanceId);
    }

    /// <summary>
    /// Copies chunk <paramref name="seq"/> of a file into <paramref name="buffer"/> and returns its length, or -1 when
    /// there is none (the file was deleted meanwhile). Sequential access streams the value from the socket into the
    /// caller's (pooled) buffer instead of allocating the row and a new array for every chunk.
    /// </summary>
    internal async Task<int> ReadChunkAsync(string instanceId, string mediaId, int seq, byte[] buffer, CancellationToken cancellationToken)
    {
        await _database.EnsureMigratedAsync(cancellationToken);
        return await _database.RunAsync("reading a media file", async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand(ChunkSql, connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instanceId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = mediaId });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = seq });
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess | CommandBehavior.SingleRow, ct);
            if (!await reader.ReadAsync(ct))
            {
                return -1;
            }

            await using var data = await reader.GetStreamAsync(0, ct);
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await data.ReadAsync(buffer.AsMemory(length), ct)) > 0)
            {
                length += read;
            }

            // A chunk longer than the buffer cannot be a chunk of this file's size: report it as missing data.
            return await data.ReadAsync(new byte[1], ct) > 0 ? -1 : length;
        }, cancellationToken);
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the content ends; an upload arrives in small reads.</summary>
    private static async Task<int> FillAsync(Stream content, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await content.ReadAsync(buffer[filled..], cancellationToken);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }
}
