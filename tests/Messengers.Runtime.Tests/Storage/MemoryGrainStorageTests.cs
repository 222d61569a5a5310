using Messengers.Runtime.Storage;
using Messengers.Runtime.Tests.Contracts;

namespace Messengers.Runtime.Tests.Storage;

public sealed class MemoryGrainStorageTests : GrainStorageContract
{
    protected override IGrainStorage Storage { get; } = new MemoryGrainStorage();
}
