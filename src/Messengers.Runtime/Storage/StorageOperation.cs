namespace Messengers.Runtime.Storage;

/// <summary>Describes a storage call for messages and logs, formatted only when needed.</summary>
internal readonly record struct StorageOperation(string Verb, string StateName, GrainId GrainId)
{
    public override string ToString() => $"{Verb} state '{StateName}' of {GrainId}";
}
