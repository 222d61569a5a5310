using Messengers.Host.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddMessengers();

var app = builder.Build();
app.UseMessengers();
app.Run();
