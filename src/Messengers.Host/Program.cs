using Messengers.Host.Hosting;
using Messengers.Host.Mcp;

if (McpStdio.IsRequested(args))
{
    Environment.ExitCode = await McpStdio.RunAsync(args);
    return;
}

var builder = WebApplication.CreateBuilder(args);
builder.AddMessengers();

var app = builder.Build();
app.UseMessengers();
app.Run();
