using System.Reflection;
using Messengers.Runtime.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Messengers.Runtime.Catalog;

/// <summary>A registered grain class: its stable type name, the grain interfaces it serves, and how to construct it.</summary>
internal sealed class GrainClass
{
    private readonly ConstructorInfo _constructor;
    private readonly ParameterInfo[] _parameters;

    public GrainClass(Type type)
    {
        if (!typeof(Grain).IsAssignableFrom(type) || type.IsAbstract)
        {
            throw new ArgumentException($"{type.FullName} is not a concrete grain class.", nameof(type));
        }

        Type = type;
        Name = type.GetCustomAttribute<GrainTypeAttribute>()?.Name ?? DefaultName(type);
        Interfaces = type.GetInterfaces().Where(i => typeof(IGrain).IsAssignableFrom(i) && i != typeof(IGrain) && i != typeof(IGrainWithStringKey)).ToArray();
        IsReentrant = type.IsDefined(typeof(ReentrantAttribute), inherit: true);
        CollectionAge = type.GetCustomAttribute<CollectionAgeLimitAttribute>()?.Amount;
        _constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new ArgumentException($"{type.FullName} has no public constructor.", nameof(type));
        _parameters = _constructor.GetParameters();
    }

    public Type Type { get; }

    public string Name { get; }

    public Type[] Interfaces { get; }

    public bool IsReentrant { get; }

    public TimeSpan? CollectionAge { get; }

    /// <summary>Constructs the grain for <paramref name="activation"/>; persistent states are returned so they can be read before activation.</summary>
    public Grain Construct(Activation activation, IServiceProvider services, out IPersistentStateLoader[] states)
    {
        var arguments = new object?[_parameters.Length];
        List<IPersistentStateLoader>? loaders = null;
        for (var i = 0; i < _parameters.Length; i++)
        {
            var parameter = _parameters[i];
            var persistent = parameter.GetCustomAttribute<PersistentStateAttribute>();
            if (persistent is not null)
            {
                var storageName = persistent.StorageName ?? StorageNames.Default;
                var storage = services.GetKeyedService<IGrainStorage>(storageName)
                    ?? throw new InvalidOperationException($"Grain {Type.Name} asks for storage '{storageName}', which is not registered.");
                var stateType = parameter.ParameterType.GetGenericArguments()[0];
                var state = (IPersistentStateLoader)Activator.CreateInstance(
                    typeof(PersistentState<>).MakeGenericType(stateType), persistent.StateName, activation.GrainId, storage)!;
                (loaders ??= []).Add(state);
                arguments[i] = state;
            }
            else if (parameter.ParameterType == typeof(IGrainFactory))
            {
                arguments[i] = activation.Runtime;
            }
            else
            {
                arguments[i] = services.GetService(parameter.ParameterType)
                    ?? (parameter.HasDefaultValue ? parameter.DefaultValue : throw new InvalidOperationException(
                        $"Grain {Type.Name} needs {parameter.ParameterType.Name} for parameter '{parameter.Name}', which is not registered."));
            }
        }

        states = loaders?.ToArray() ?? [];
        var previous = Activation.Constructing;
        Activation.Constructing = activation;
        try
        {
            return (Grain)_constructor.Invoke(arguments);
        }
        catch (TargetInvocationException exception) when (exception.InnerException is not null)
        {
            throw exception.InnerException;
        }
        finally
        {
            Activation.Constructing = previous;
        }
    }

    private static string DefaultName(Type type)
    {
        var name = type.Name;
        if (name.EndsWith("Grain", StringComparison.Ordinal) && name.Length > 5)
        {
            name = name[..^5];
        }

        return name.ToLowerInvariant();
    }
}

/// <summary>Lets the activation read a persistent state before OnActivateAsync without knowing its type.</summary>
internal interface IPersistentStateLoader
{
    Task ReadStateAsync(CancellationToken cancellationToken = default);
}
