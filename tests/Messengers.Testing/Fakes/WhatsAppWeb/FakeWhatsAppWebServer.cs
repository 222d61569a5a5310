using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Messengers.Testing.Fakes.WhatsAppWeb;

/// <summary>
/// A fake WhatsApp Web on loopback. Its page defines a stub <c>window.WPP</c> itself (not wa-js) with the surface the
/// provider's bridge uses — readiness, <c>conn.*</c>, <c>chat.*</c>, <c>on(event)</c> — and a control object
/// <c>window.fake</c> that tests drive with page evaluation (<see cref="Js"/>): emit a QR code, authenticate (kept in
/// localStorage and IndexedDB, so a restored storage state comes back logged in), deliver a message, log out.
/// Sent messages are kept in the page (<c>fake.sent</c>) and posted to the server (<see cref="Sent"/>). Tests without the
/// page object drive it through the server (<see cref="RunAsync"/>, FakeWhatsAppWebServer.Control.cs).
/// </summary>
public sealed partial class FakeWhatsAppWebServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<FakeSentMessage> _sent = new();
    private LoopbackHttpServer _server = null!;
    private int _pageLoads;

    private FakeWhatsAppWebServer()
    {
    }

    /// <summary>A page without <c>window.WPP</c>, for injecting the real wa-js bundle.</summary>
    public string BlankUrl => _server.BaseUrl + "/blank";

    /// <summary>The page URL (the provider's <c>Messengers:WhatsAppWeb:Url</c>).</summary>
    public string Url => _server.BaseUrl + "/";

    /// <summary>Messages the page sent through <c>WPP.chat.sendTextMessage</c>, in order.</summary>
    public IReadOnlyList<FakeSentMessage> Sent => [.. _sent];

    /// <summary>How many times the page was loaded.</summary>
    public int PageLoads => Volatile.Read(ref _pageLoads);

    public static async Task<FakeWhatsAppWebServer> StartAsync()
    {
        var fake = new FakeWhatsAppWebServer();
        fake._server = await LoopbackHttpServer.StartAsync(fake.HandleAsync);
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        CloseControl();
        await _server.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path.StartsWith("/api/control/", StringComparison.Ordinal))
        {
            await HandleControlAsync(context, path);
            return;
        }

        if (HttpMethods.IsPost(context.Request.Method) && path == "/api/sent")
        {
            var sent = await JsonSerializer.DeserializeAsync<FakeSentMessage>(context.Request.Body, JsonOptions);
            if (sent is not null)
            {
                _sent.Enqueue(sent);
            }

            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        if (path is "/" or "/index.html")
        {
            Interlocked.Increment(ref _pageLoads);
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync(Page.Replace("</body></html>", ControlScript + "</body></html>", StringComparison.Ordinal));
            return;
        }

        if (path == "/blank")
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync("<!doctype html><html><head><title>blank</title></head><body>no WPP here</body></html>");
            return;
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    /// <summary>Page scripts for <c>page.EvaluateAsync</c> that drive the fake.</summary>
    public static class Js
    {
        /// <summary>Argument: the QR string. Emits <c>conn.auth_code_change</c>.</summary>
        public const string EmitQr = "code => window.fake.emitQr(code)";

        /// <summary>Argument: the own wid ("5511…@c.us"). Scanned: authenticated, then main ready.</summary>
        public const string Authenticate = "wid => window.fake.authenticate(wid)";

        /// <summary>Argument: {from, body, id?, author?, notifyName?, type?, fromMe?, data? (base64 media), mimetype?, filename?, caption?}. Returns the message id.</summary>
        public const string Receive = "m => window.fake.receive(m)";

        /// <summary>Argument: a reason. Logs out as if from the phone.</summary>
        public const string Logout = "reason => window.fake.logout(reason)";

        /// <summary>Returns "ok" or "blocked" after fetching an external URL from the page.</summary>
        public const string ProbeExternal = "url => window.fake.probe(url)";

        /// <summary>The wid kept in IndexedDB when the page loaded (null when none).</summary>
        public const string IndexedDbWid = "() => window.fake.idbWid";

        public const string IsAuthenticated = "() => window.WPP.conn.isAuthenticated()";

        public const string Reads = "() => window.fake.reads";

        public const string Typing = "() => window.fake.typing.map(t => t[0] + ':' + t[1])";

        public const string PairingPhone = "() => window.fake.pairingPhone";
    }

    private const string Page = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Fake WhatsApp Web</title></head>
        <body><div id="app">fake WhatsApp Web</div>
        <script>
        (function () {
          const listeners = {};
          const emit = (name, arg) => (listeners[name] || []).slice().forEach(cb => { try { cb(arg); } catch (e) { console.error(e); } });
          const wid = s => ({ _serialized: s, user: s.split('@')[0], server: s.split('@')[1], toString() { return s; } });
          let me = localStorage.getItem('fake-wa-auth');
          let authCode = null;
          let mainReady = false;
          let seq = 0;
          const readyCallbacks = [];
          const fake = { sent: [], reads: [], typing: [], media: {}, idbWid: null, pairingPhone: null };

          const idb = (mode, action) => new Promise(resolve => {
            const open = indexedDB.open('fake-wa', 1);
            open.onupgradeneeded = () => open.result.createObjectStore('auth');
            open.onerror = () => resolve(null);
            open.onsuccess = () => {
              const tx = open.result.transaction('auth', mode);
              const request = action(tx.objectStore('auth'));
              tx.oncomplete = () => resolve(request && request.result !== undefined ? request.result : null);
              tx.onerror = () => resolve(null);
            };
          });

          const WPP = {
            isInjected: true, isReady: false, isFullReady: false,
            loader: {
              onInjected(cb) { cb(); },
              onReady(cb) { if (WPP.isReady) cb(); else readyCallbacks.push(cb); },
              onFullReady(cb) { WPP.loader.onReady(cb); }
            },
            on(name, cb) { (listeners[name] = listeners[name] || []).push(cb); },
            off(name, cb) { listeners[name] = (listeners[name] || []).filter(x => x !== cb); },
            conn: {
              isAuthenticated: () => !!me,
              isRegistered: () => !!me,
              isMainReady: () => mainReady,
              isMainLoaded: () => mainReady,
              getMyUserId: () => me ? wid(me) : undefined,
              getAuthCode: async () => (me || !authCode) ? null : { type: 'multidevice', ref: authCode.split(',')[0], fullCode: authCode },
              setKeepAlive: () => true,
              refreshQR: async () => true,
              logout: async () => { fake.logout('user'); return true; },
              genLinkDeviceCodeForPhoneNumber: async phone => { if (me) throw new Error('already authenticated'); fake.pairingPhone = phone; return 'FAKE1234'; }
            },
            chat: {
              defaultSendMessageOptions: {},
              sendTextMessage: async (chatId, content, options) => {
                if (!mainReady) throw new Error('not ready');
                seq++;
                const id = 'true_' + chatId + '_3EB0FAKE' + String(seq).padStart(8, '0');
                const record = { id, chatId, content, quotedMsg: (options && options.quotedMsg) || null };
                fake.sent.push(record);
                fetch('/api/sent', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record) }).catch(() => { });
                return { id, ack: 0, from: me, to: chatId, sendMsgResult: {} };
              },
              sendFileMessage: async (chatId, content, options) => {
                if (!mainReady) throw new Error('not ready');
                seq++;
                const id = 'true_' + chatId + '_3EB0FAKE' + String(seq).padStart(8, '0');
                const data = String(content).replace(/^data:[^,]*,/, '');
                const record = { id, chatId, content: (options && options.caption) || '', quotedMsg: (options && options.quotedMsg) || null,
                  mimetype: (options && options.mimetype) || null, fileType: (options && options.type) || null, size: atob(data).length };
                fake.sent.push(record);
                fetch('/api/sent', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record) }).catch(() => { });
                return { id, ack: 0, from: me, to: chatId, sendMsgResult: {} };
              },
              downloadMedia: async id => {
                const media = fake.media[id];
                if (!media) throw new Error('no media for ' + id);
                const binary = atob(media.data);
                const bytes = new Uint8Array(binary.length);
                for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
                return new Blob([bytes], { type: media.mimetype });
              },
              markIsRead: async chatId => { fake.reads.push(chatId); return { wid: wid(chatId), unreadCount: 0 }; },
              markIsComposing: async chatId => { fake.typing.push([chatId, true]); },
              markIsPaused: async chatId => { fake.typing.push([chatId, false]); }
            }
          };

          fake.emitQr = code => { authCode = code; emit('conn.auth_code_change', code ? { type: 'multidevice', ref: code.split(',')[0], fullCode: code } : null); };
          fake.authenticate = async w => {
            me = w;
            authCode = null;
            localStorage.setItem('fake-wa-auth', w);
            await idb('readwrite', store => store.put(w, 'me'));
            emit('conn.auth_code_change', null);
            emit('conn.authenticated');
            setTimeout(() => { mainReady = true; emit('conn.main_ready'); }, 10);
          };
          fake.receive = m => {
            const id = m.id || ('false_' + m.from + '_FAKEIN' + Math.random().toString(16).slice(2, 12).toUpperCase());
            const msg = {
              id: { _serialized: id, fromMe: !!m.fromMe, remote: wid(m.from), id: id.split('_').pop() },
              from: wid(m.from), to: wid(me || 'unknown@c.us'), author: m.author ? wid(m.author) : undefined,
              body: m.body || '', type: m.type || 'chat', t: Math.floor(Date.now() / 1000), isNewMsg: true,
              isGroupMsg: m.from.endsWith('@g.us'), notifyName: m.notifyName || '', isSentByMe: !!m.fromMe, isStatusV3: false
            };
            if (m.data) {
              fake.media[id] = { data: m.data, mimetype: m.mimetype || 'application/octet-stream' };
              msg.mimetype = m.mimetype || 'application/octet-stream';
              msg.filename = m.filename || undefined;
              msg.caption = m.caption || undefined;
            }
            emit('chat.new_message', msg);
            return id;
          };
          fake.logout = reason => {
            me = null;
            mainReady = false;
            localStorage.removeItem('fake-wa-auth');
            idb('readwrite', store => store.delete('me'));
            emit('conn.logout_reason', reason || 'phone');
            emit('conn.logout');
          };
          fake.probe = async url => { try { await fetch(url, { mode: 'no-cors' }); return 'ok'; } catch (e) { return 'blocked'; } };

          window.fake = fake;
          window.WPP = WPP;
          idb('readonly', store => store.get('me')).then(value => {
            fake.idbWid = value;
            WPP.isReady = true;
            readyCallbacks.splice(0).forEach(cb => cb());
            if (me) setTimeout(() => { mainReady = true; emit('conn.main_ready'); }, 10);
          });
        })();
        </script></body></html>
        """;
}

/// <summary>A message the fake page sent.</summary>
public sealed record FakeSentMessage(string Id, string ChatId, string Content, string? QuotedMsg, string? Mimetype = null, string? FileType = null, int? Size = null);
