using System.Linq.Expressions;
using System.Reflection;
using Messengers.Runtime.Catalog;

namespace Messengers.Runtime.Invocation;

/// <summary>
/// Everything the runtime needs to call one grain interface method: how to invoke it on a grain instance,
/// how to turn a call into a queued request, and its interleaving flags. Built once per method.
/// </summary>
internal abstract class GrainMethod
{
    protected GrainMethod(MethodInfo method)
    {
        Method = method;
        Name = $"{method.DeclaringType!.Name}.{method.Name}";
        AlwaysInterleave = method.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: true);
        ReadOnly = method.IsDefined(typeof(ReadOnlyAttribute), inherit: true);
        ParameterTypes = method.GetParameters().Select(p => p.ParameterType).ToArray();
    }

    public MethodInfo Method { get; }

    public string Name { get; }

    public bool AlwaysInterleave { get; }

    public bool ReadOnly { get; }

    public Type[] ParameterTypes { get; }

    /// <summary>Issues a call through the silo and returns the task (or value task) the interface method returns.</summary>
    public abstract object Call(Silo silo, GrainId target, object?[] arguments);

    public static GrainMethod Create(MethodInfo method)
    {
        var returnType = method.ReturnType;
        if (returnType == typeof(Task))
        {
            return new VoidMethod(method, valueTask: false);
        }

        if (returnType == typeof(ValueTask))
        {
            return new VoidMethod(method, valueTask: true);
        }

        if (returnType.IsGenericType)
        {
            var definition = returnType.GetGenericTypeDefinition();
            if (definition == typeof(Task<>) || definition == typeof(ValueTask<>))
            {
                var resultType = returnType.GetGenericArguments()[0];
                return (GrainMethod)Activator.CreateInstance(
                    typeof(ResultMethod<>).MakeGenericType(resultType),
                    method,
                    definition == typeof(ValueTask<>))!;
            }
        }

        throw new NotSupportedException(
            $"Grain interface method {method.DeclaringType?.Name}.{method.Name} returns {returnType.Name}; grain methods return Task, Task<T>, ValueTask or ValueTask<T>.");
    }

    /// <summary>Compiles <c>(grain, args) => ((TInterface)grain).Method((T0)args[0], …)</c>, converting a ValueTask to a Task.</summary>
    protected static Func<object, object?[], TTask> CompileInvoker<TTask>(MethodInfo method, bool valueTask)
    {
        var grain = Expression.Parameter(typeof(object), "grain");
        var args = Expression.Parameter(typeof(object?[]), "args");
        var parameters = method.GetParameters();
        var arguments = new Expression[parameters.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            arguments[i] = Expression.Convert(Expression.ArrayIndex(args, Expression.Constant(i)), parameters[i].ParameterType);
        }

        Expression call = Expression.Call(Expression.Convert(grain, method.DeclaringType!), method, arguments);
        if (valueTask)
        {
            call = Expression.Call(call, method.ReturnType.GetMethod(nameof(ValueTask.AsTask))!);
        }

        return Expression.Lambda<Func<object, object?[], TTask>>(call, grain, args).Compile();
    }

    private sealed class VoidMethod(MethodInfo method, bool valueTask) : GrainMethod(method)
    {
        private readonly Func<object, object?[], Task> _invoke = CompileInvoker<Task>(method, valueTask);

        public override object Call(Silo silo, GrainId target, object?[] arguments)
        {
            var request = new Request<VoidResult>(this, arguments, static async (method, grain, args) =>
            {
                await ((VoidMethod)method)._invoke(grain, args);
                return default;
            });
            Task task = silo.Send(target, request);
            return valueTask ? new ValueTask(task) : task;
        }
    }

    private sealed class ResultMethod<TResult>(MethodInfo method, bool valueTask) : GrainMethod(method)
    {
        private readonly Func<object, object?[], Task<TResult>> _invoke = CompileInvoker<Task<TResult>>(method, valueTask);

        public override object Call(Silo silo, GrainId target, object?[] arguments)
        {
            var request = new Request<TResult>(this, arguments, static (method, grain, args) => ((ResultMethod<TResult>)method)._invoke(grain, args));
            var task = silo.Send(target, request);
            return valueTask ? new ValueTask<TResult>(task) : task;
        }
    }
}

/// <summary>The result type of calls to methods that return no value.</summary>
internal readonly struct VoidResult;
