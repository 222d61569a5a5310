using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Messengers.Grains.Tests.Infrastructure;
using Orleans.Serialization;

namespace Messengers.Grains.Tests;

/// <summary>
/// Every type Messengers marks [GenerateSerializer] (grain arguments and results, stored state, stream items) keeps
/// every member through Orleans' serializer: a member without [Id] would be dropped silently.
/// </summary>
[Collection(GrainsCollection.Name)]
public sealed class SerializationTests(GrainsCluster cluster)
{
    private static readonly string[] Assemblies =
    [
        "Messengers.Abstractions", "Messengers.Data", "Messengers.Webhooks", "Messengers.Grains", "Messengers.Agents", "Messengers.Providers",
    ];

    public static TheoryData<string> SerializableTypes()
    {
        var data = new TheoryData<string>();
        foreach (var type in Types())
        {
            data.Add(type.FullName!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SerializableTypes))]
    public void Type_PopulatedInstance_EveryMemberSurvivesARoundTrip(string typeName)
    {
        var type = Types().Single(t => t.FullName == typeName);
        var serializer = cluster.SiloService<Serializer>();
        var original = Populate(type, depth: 0);

        var copy = serializer.Deserialize<object>(serializer.SerializeToArray<object>(original));

        Assert.IsType(type, copy);
        Assert.Equal(Describe(original), Describe(copy));
    }

    [Fact]
    public void SerializableTypes_FoundInEveryRoom_ManyOfThem()
        => Assert.True(Types().Count() >= 40, $"only {Types().Count()} types found: the scan is broken");

    private static IEnumerable<Type> Types()
        => Assemblies
            .Select(Assembly.Load)
            .SelectMany(a => a.GetTypes())
            .Where(t => t.GetCustomAttribute<GenerateSerializerAttribute>() is not null && !t.IsAbstract && !t.IsGenericTypeDefinition && !typeof(Exception).IsAssignableFrom(t) && !t.IsEnum)
            .OrderBy(t => t.FullName, StringComparer.Ordinal);

    /// <summary>An instance whose every settable member differs from its default.</summary>
    private static object Populate(Type type, int depth)
    {
        var instance = type.GetConstructor(Type.EmptyTypes) is { } constructor ? constructor.Invoke(null) : RuntimeHelpers.GetUninitializedObject(type);
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is not null && p.GetIndexParameters().Length == 0))
        {
            property.SetValue(instance, ValueFor(property.PropertyType, property.GetValue(instance), property.Name, depth));
        }

        return instance;
    }

    private static object? ValueFor(Type type, object? current, string name, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying switch
        {
            _ when underlying == typeof(string) => "v-" + name,
            _ when underlying == typeof(bool) => current is not true,
            _ when underlying == typeof(int) => 7 + (current as int? ?? 0),
            _ when underlying == typeof(long) => 9L + (current as long? ?? 0),
            _ when underlying == typeof(double) => 1.5,
            _ when underlying == typeof(DateTimeOffset) => new DateTimeOffset(2026, 12, 7, 10, 11, 12, TimeSpan.Zero),
            _ when underlying == typeof(DateTime) => new DateTime(2026, 12, 7, 10, 11, 12, DateTimeKind.Utc),
            _ when underlying == typeof(TimeSpan) => TimeSpan.FromSeconds(42),
            _ when underlying == typeof(Guid) => Guid.Parse("6f6f4c1e-34a2-4f4b-9b62-8c2d1c8d2e11"),
            _ when underlying == typeof(byte[]) => new byte[] { 1, 2, 3 },
            _ when underlying.IsEnum => Enum.GetValues(underlying).Cast<object>().Last(v => !v.Equals(current)),
            _ when underlying.IsGenericType && underlying.GetGenericArguments() is [var key, var value] && typeof(IEnumerable).IsAssignableFrom(underlying) => Dictionary(underlying, key, value, name, depth),
            _ when underlying.IsArray || (underlying.IsGenericType && typeof(IEnumerable).IsAssignableFrom(underlying)) => List(underlying, name, depth),
            _ when depth < 3 && underlying.GetCustomAttribute<GenerateSerializerAttribute>() is not null && !underlying.IsAbstract => Populate(underlying, depth + 1),
            _ => current,
        };
    }

    private static object Dictionary(Type type, Type key, Type value, string name, int depth)
    {
        var concrete = type.IsInterface ? typeof(Dictionary<,>).MakeGenericType(key, value) : type;
        var dictionary = (IDictionary)(concrete.GetConstructor(Type.EmptyTypes)?.Invoke(null) ?? Activator.CreateInstance(concrete)!);
        dictionary[ValueFor(key, null, name + "Key", depth)!] = ValueFor(value, null, name + "Value", depth);
        return dictionary;
    }

    private static object List(Type type, string name, int depth)
    {
        var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments()[0];
        var items = Array.CreateInstance(element, 2);
        items.SetValue(ValueFor(element, null, name + "0", depth), 0);
        items.SetValue(ValueFor(element, null, name + "1", depth), 1);
        if (type.IsArray || type.IsInterface)
        {
            return type.IsArray || type.IsAssignableFrom(items.GetType()) ? items : Activator.CreateInstance(typeof(List<>).MakeGenericType(element), items)!;
        }

        return Activator.CreateInstance(type, items)!;
    }

    private static string Describe(object value) => JsonSerializer.Serialize(value, value.GetType());
}
