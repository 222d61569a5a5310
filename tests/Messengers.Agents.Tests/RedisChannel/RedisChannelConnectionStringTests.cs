using System.Net;
using Messengers.Agents.RedisChannel;
using StackExchange.Redis;

namespace Messengers.Agents.Tests.RedisChannel;

/// <summary>The documented connection-string format (<c>host:port[,password=…][,user=…][,ssl=true][,defaultDatabase=N]</c> and the rest) read into StackExchange.Redis options.</summary>
public sealed class RedisChannelConnectionStringTests
{
    [Fact]
    public void Parse_DocumentedOptions_AllApplied()
    {
        var options = RedisChannelConnectionString.Parse("redis.local:6380, user=app,ssl=true,sslHost=redis.example.com,defaultDatabase=2,connectTimeout=1500,syncTimeout=700,asyncTimeout=900,name=silo-1", "p,w=1");

        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(options.EndPoints));
        Assert.Equal(("redis.local", 6380), (endpoint.Host, endpoint.Port));
        Assert.Equal("app", options.User);
        Assert.Equal("p,w=1", options.Password);
        Assert.True(options.Ssl);
        Assert.Equal("redis.example.com", options.SslHost);
        Assert.Equal(2, options.DefaultDatabase);
        Assert.Equal(1500, options.ConnectTimeout);
        Assert.Equal(700, options.SyncTimeout);
        Assert.Equal(900, options.AsyncTimeout);
        Assert.Equal("silo-1", options.ClientName);
        Assert.False(options.AbortOnConnectFail);
    }

    [Fact]
    public void Parse_PasswordInStringAndNoKey_KeepsThePasswordOfTheString()
    {
        var options = RedisChannelConnectionString.Parse("127.0.0.1:6379,password=from-string", null);

        Assert.Equal("from-string", options.Password);
    }

    [Fact]
    public void Parse_PasswordInStringAndKey_KeyWins()
    {
        var options = RedisChannelConnectionString.Parse("127.0.0.1:6379,password=from-string", "from-key");

        Assert.Equal("from-key", options.Password);
    }

    [Fact]
    public void Parse_KeysInAnyCase_Accepted()
    {
        var options = RedisChannelConnectionString.Parse("127.0.0.1:6379,USER=app,Ssl=TRUE,DEFAULTDATABASE=5", "pw");

        Assert.Equal("app", options.User);
        Assert.True(options.Ssl);
        Assert.Equal(5, options.DefaultDatabase);
    }

    [Fact]
    public void Parse_FormerClientOptions_CommandTimeoutSetsBothTimeoutsAndAbortConnectIsAlwaysOff()
    {
        var options = RedisChannelConnectionString.Parse("127.0.0.1:6379,commandTimeout=800,reconnectMaxDelay=500,abortConnect=true,keepAlive=30,allowAdmin=false,connectRetry=2", null);

        Assert.Equal(800, options.SyncTimeout);
        Assert.Equal(800, options.AsyncTimeout);
        Assert.False(options.AbortOnConnectFail);
        Assert.IsType<ExponentialRetry>(options.ReconnectRetryPolicy);
    }

    [Fact]
    public void Parse_HostWithoutPort_Accepted()
    {
        var options = RedisChannelConnectionString.Parse("redis.local", null);

        Assert.Equal("redis.local", Assert.IsType<DnsEndPoint>(Assert.Single(options.EndPoints)).Host);
    }

    [Theory]
    [InlineData("127.0.0.1:6379,bogus=1", "bogus")]
    [InlineData("127.0.0.1:6379,connectTimeout=soon", "connectTimeout")]
    [InlineData("127.0.0.1:6379,commandTimeout=-5", "commandTimeout")]
    [InlineData("127.0.0.1:6379,user=app", "'user' without a password")]
    [InlineData("127.0.0.1:6379,channelPrefix=hub:", "channelPrefix")]
    [InlineData("connectTimeout=100", "no endpoint")]
    [InlineData(" , ", "no endpoint")]
    public void Parse_UnusableString_FormatExceptionSayingWhy(string connectionString, string expected)
    {
        var error = Assert.Throws<FormatException>(() => RedisChannelConnectionString.Parse(connectionString, null));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Endpoints_WithPassword_ShowsHostAndPortOnly()
    {
        var options = RedisChannelConnectionString.Parse("redis.local:6380,user=app", "s3cret");

        Assert.Equal("redis.local:6380", RedisChannelConnectionString.Endpoints(options));
    }
}
