using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.AspNetCore.WebUtilities;

namespace Messengers.Host.Api;

/// <summary>
/// Problem+json for the answers the framework gives without a body: a path no route matches (404), a method the route
/// does not take (405), a body type it does not read (415). Under <c>/api</c> the answer is always problem+json and says
/// what to do instead; elsewhere (dashboard, web chat pages, MCP) the framework's own status page is kept, with the
/// same detail.
/// </summary>
public static class ApiProblems
{
    /// <summary>Status code pages with the details above; other bodyless 4xx/5xx answers keep the framework's problem.</summary>
    public static IApplicationBuilder UseApiStatusCodePages(this IApplicationBuilder app)
    {
        var frameworkPage = new StatusCodePagesOptions().HandleAsync;
        return app.UseStatusCodePages(new StatusCodePagesOptions
        {
            HandleAsync = context => IsApi(context.HttpContext.Request) ? WriteApiProblemAsync(context.HttpContext) : WriteDetailedPageAsync(context, frameworkPage),
        });
    }

    /// <summary>"POST /api/v1/instances reads application/json; the request's Content-Type was 'text/plain'."</summary>
    public static string UnsupportedMediaTypeDetail(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var accepted = AcceptedTypes(http);
        var sent = http.Request.ContentType is { Length: > 0 } type ? $"'{type}'" : "missing";
        var reads = accepted.Count == 0 ? "does not read this body" : $"reads {string.Join(" or ", accepted)}";
        return $"{RouteOf(http)} {reads}; the request's Content-Type was {sent}.";
    }

    /// <summary>
    /// The body types of the route the request was meant for. When routing itself refused the Content-Type, the
    /// request carries routing's 415 endpoint instead, so the routes of this method and path are looked up.
    /// </summary>
    private static List<string> AcceptedTypes(HttpContext http)
    {
        // In the exception handler the endpoint has been cleared; the feature keeps the one that threw.
        var endpoint = http.GetEndpoint() ?? http.Features.Get<IExceptionHandlerFeature>()?.Endpoint;
        var candidates = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>() is not null
            ? [endpoint]
            : http.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().Where(e => Matches(e, http.Request)).ToList<Endpoint>();
        return [.. candidates.SelectMany(e => e.Metadata.GetOrderedMetadata<IAcceptsMetadata>()).SelectMany(a => a.ContentTypes).Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    private static bool Matches(RouteEndpoint endpoint, HttpRequest request)
    {
        var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
        return (methods is null || methods.Contains(request.Method, StringComparer.OrdinalIgnoreCase))
            && new TemplateMatcher(new RouteTemplate(endpoint.RoutePattern), []).TryMatch(request.Path, []);
    }

    private static Task WriteApiProblemAsync(HttpContext http)
    {
        var status = http.Response.StatusCode;
        return TypedResults.Problem(title: ReasonPhrases.GetReasonPhrase(status), detail: DetailOf(http, status), statusCode: status).ExecuteAsync(http);
    }

    private static async Task WriteDetailedPageAsync(StatusCodeContext context, Func<StatusCodeContext, Task> frameworkPage)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        if (status is not (StatusCodes.Status405MethodNotAllowed or StatusCodes.Status415UnsupportedMediaType))
        {
            await frameworkPage(context);
            return;
        }

        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        var written = await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = { Status = status, Detail = DetailOf(http, status) } });
        if (!written)
        {
            await frameworkPage(context);
        }
    }

    private static string? DetailOf(HttpContext http, int status) => status switch
    {
        StatusCodes.Status404NotFound when http.GetEndpoint() is null => $"No route {RouteOf(http)}. The API's routes are listed at /openapi/v1.json and /api.html.",
        StatusCodes.Status405MethodNotAllowed => MethodNotAllowedDetail(http),
        StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaTypeDetail(http),
        _ => null,
    };

    private static string MethodNotAllowedDetail(HttpContext http)
    {
        var allowed = http.Response.Headers.Allow.ToString();
        return allowed.Length == 0
            ? $"{RouteOf(http)} is not allowed on this route."
            : $"{http.Request.Method} is not allowed on {http.Request.Path}; it takes {allowed}.";
    }

    private static string RouteOf(HttpContext http) => $"{http.Request.Method} {http.Request.PathBase}{http.Request.Path}";

    private static bool IsApi(HttpRequest request) => request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase);
}
