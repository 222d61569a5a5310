using System.Reflection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>The MCP server definition shared by the HTTP endpoint and stdio mode: tools, resources, server info.</summary>
public static class McpServerSetup
{
    public const string ServerName = "Messengers";

    public static readonly Type[] ToolTypes = [typeof(WhatsAppTools), typeof(InstanceTools)];

    private const string Instructions =
        "Messengers connects messenger accounts (instances: WhatsApp, Telegram bots, web chat) to AI agents. "
        + "With an instance API key every tool works on that instance. With the admin key, call list_instances first and pass the id as 'instance'. "
        + "Read history with get_chats and get_messages; send with send_message, send_group_message or send_telegram_message. "
        + "If a tool says the instance is not ready, check get_instance_status (and get_qr_code for WhatsApp pairing).";

    public static McpServerOptions CreateOptions(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var tools = new McpServerPrimitiveCollection<McpServerTool>();
        foreach (var type in ToolTypes)
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance))
            {
                if (method.GetCustomAttribute<McpServerToolAttribute>() is null)
                {
                    continue;
                }

                var toolType = type;
                tools.Add(McpServerTool.Create(method, ctx => CreateTools(ctx.Services!, toolType), new McpServerToolCreateOptions { Services = services }));
            }
        }

        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = ServerName, Version = typeof(McpServerSetup).Assembly.GetName().Version?.ToString(3) ?? "1.0.0" },
            ServerInstructions = Instructions,
            ToolCollection = tools,
            Handlers = new McpServerHandlers
            {
                ListResourcesHandler = McpResources.ListAsync,
                ListResourceTemplatesHandler = McpResources.ListTemplatesAsync,
                ReadResourceHandler = McpResources.ReadAsync,
            },
        };
        services.GetRequiredService<McpToolAccess>().Apply(options);
        return options;
    }

    /// <summary>A tool object for one call; its helpers are built here so the host registers nothing extra.</summary>
    internal static object CreateTools(IServiceProvider services, Type toolType)
    {
        var wanted = toolType.GetConstructors().Single().GetParameters().Select(p => p.ParameterType).ToHashSet();
        var helpers = new List<object>();
        if (wanted.Contains(typeof(McpToolKit)))
        {
            helpers.Add(ActivatorUtilities.CreateInstance<McpToolKit>(services));
        }

        if (wanted.Contains(typeof(McpData)))
        {
            helpers.Add(ActivatorUtilities.CreateInstance<McpData>(services));
        }

        return ActivatorUtilities.CreateInstance(services, toolType, [.. helpers]);
    }
}
