namespace Messengers.Host.Hosting;

/// <summary>Configuration section <c>Messengers</c>.</summary>
public sealed class MessengersOptions
{
    public const string Section = "Messengers";

    public string DataPath { get; set; } = "./data";

    /// <summary><c>sqlite</c> (embedded default) or <c>postgres</c>.</summary>
    public string Storage { get; set; } = "sqlite";

    /// <summary><c>memory</c> (embedded default) or <c>redis</c>.</summary>
    public string Streams { get; set; } = "memory";

    /// <summary>The admin API key; generated on first start when unset.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Base64 of 32 bytes for credential encryption; a key file in the data folder when unset.</summary>
    public string? EncryptionKey { get; set; }

    /// <summary>Requests per minute per API key.</summary>
    public int RequestsPerMinute { get; set; } = 600;
}
