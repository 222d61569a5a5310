namespace Messengers.Runtime;

/// <summary>Creates references to grains. A reference is cheap; the activation is created on the first call.</summary>
public interface IGrainFactory
{
    TGrainInterface GetGrain<TGrainInterface>(string primaryKey)
        where TGrainInterface : IGrainWithStringKey;
}
