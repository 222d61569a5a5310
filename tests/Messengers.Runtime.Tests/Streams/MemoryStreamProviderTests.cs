using Messengers.Runtime.Streams;
using Messengers.Runtime.Tests.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Runtime.Tests.Streams;

public sealed class MemoryStreamProviderTests : StreamProviderContract
{
    protected override IStreamProvider Provider { get; } = new MemoryStreamProvider("test", TimeProvider.System, NullLoggerFactory.Instance);
}
