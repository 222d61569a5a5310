namespace Messengers.Abstractions;

/// <summary>Placeholder so the project builds until its first types land.</summary>
internal static class AssemblyMarker;
