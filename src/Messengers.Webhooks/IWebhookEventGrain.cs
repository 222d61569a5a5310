namespace Messengers.Webhooks;

/// <summary>The webhook writer of one stream (key: the stream's key); it only consumes, so it has no methods.</summary>
public interface IWebhookEventGrain : IGrainWithStringKey;
