using Messengers.Abstractions.Instances;

namespace Messengers.Agents.Turns;

/// <summary>
/// What the instance API checks in agent settings beyond backend, URL and timeout: the chat selection and debounce
/// (<see cref="AgentChatFilter.Validate"/>), and that no secret hides in the base URL, because agent settings are
/// shown by the API (keys belong in the <c>agentApiKey</c> credential, which is stored encrypted and never shown).
/// </summary>
public static class AgentSettingsRules
{
    public static void Validate(AgentSettings agent, IDictionary<string, string[]> errors)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(errors);
        AgentChatFilter.Validate(agent, errors);
        if (agent.BaseUrl is not { } baseUrl || errors.ContainsKey("agent.baseUrl"))
        {
            return;
        }

        if (string.Equals(agent.Backend, "redis", StringComparison.OrdinalIgnoreCase))
        {
            if (baseUrl.Contains("password=", StringComparison.OrdinalIgnoreCase))
            {
                errors["agent.baseUrl"] = [$"Put the Redis password in credentials.{AgentConfig.ApiKeyCredential}, not in the baseUrl: agent settings are shown by the API."];
            }
        }
        else if (Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) && !string.IsNullOrEmpty(uri.UserInfo))
        {
            errors["agent.baseUrl"] = [$"The baseUrl must not carry credentials: put the agent's key in credentials.{AgentConfig.ApiKeyCredential}."];
        }
    }
}
