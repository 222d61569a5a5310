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

    /// <summary>When set, the page starts logged in as this wid (no QR), for tests that only need a Ready account.</summary>
    public string? AutoLoginWid { get; set; }

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
            await context.Response.WriteAsync(Page
                .Replace("/*AUTO_LOGIN*/null", JsonSerializer.Serialize(AutoLoginWid), StringComparison.Ordinal)
                .Replace("</body></html>", ControlScript + "</body></html>", StringComparison.Ordinal));
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

        /// <summary>Argument: {msgId, from, emoji ("" removes), chat?, id?, fromMe?}. Emits <c>chat.new_reaction</c>; returns the reaction's id.</summary>
        public const string React = "r => window.fake.react(r)";

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

        /// <summary>Reactions sent, as "messageId:emoji" ("messageId:" for a removal).</summary>
        public const string Reactions = "() => window.fake.reactions.map(r => r.id + ':' + r.reaction)";

        /// <summary>Argument: a chat id. Returns {id, name, participants: [{id, isAdmin, isSuperAdmin}] | null, messages} or null.</summary>
        public const string Chat = "id => window.fake.chat(id)";

        /// <summary>Argument: [chatId, [{id, body, t, fromMe?, author?, notifyName?}]]. Adds older messages to a chat.</summary>
        public const string AddHistory = "([chatId, list]) => window.fake.addHistory(chatId, list)";

        /// <summary>Argument: a participant id. Its privacy settings make adding it answer 403 with an invite code.</summary>
        public const string BlockAdding = "id => { window.fake.privacyBlocked.push(id); }";
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
          const autoLogin = /*AUTO_LOGIN*/null;
          if (autoLogin && !localStorage.getItem('fake-wa-auth')) localStorage.setItem('fake-wa-auth', autoLogin);
          let me = localStorage.getItem('fake-wa-auth');
          let authCode = null;
          let mainReady = false;
          let seq = 0;
          const readyCallbacks = [];
          const fake = { sent: [], reads: [], typing: [], media: {}, idbWid: null, pairingPhone: null };
          //#region directory: chats, contacts, groups, reactions, history (shapes of wa-js 4.6)
          const wppError = (code, message) => Object.assign(new Error(message), { code });
          const msgKey = (id, fromMe, remote) => ({ _serialized: id, fromMe, remote: wid(remote), id: id.split('_').pop(), toString() { return id; } });
          const nowSeconds = () => Math.floor(Date.now() / 1000);
          const chats = {};
          const messagesById = {};
          const contacts = {};
          const pnLid = {};
          fake.reactions = [];
          fake.privacyBlocked = [];
          fake.left = [];
          const chatOf = (id, name) => chats[id] || (chats[id] = { id: wid(id), name: name || undefined, isGroup: id.endsWith('@g.us'), unreadCount: 0, t: 0, msgs: [] });
          const remember = (chatId, msg) => {
            const chat = chatOf(chatId);
            chat.msgs.push(msg);
            chat.t = Math.max(chat.t, msg.t);
            if (!msg.id.fromMe) chat.unreadCount++;
            messagesById[msg.id._serialized] = msg;
          };
          const assertChat = id => { const chat = chats[String(id)]; if (!chat) throw wppError('chat_not_found', 'Chat not found for ' + id); return chat; };
          const assertGroup = id => {
            const chat = assertChat(id);
            if (!chat.groupMetadata) throw wppError('not_a_group', 'Chat ' + id + ' is not a group');
            return chat;
          };
          const participantWid = id => { const s = String(id); return s.includes('@') ? s : s + '@c.us'; };
          const exists = id => !participantWid(id).startsWith('000');
          const addContact = c => {
            contacts[c.id] = { id: wid(c.id), name: c.name, pushname: c.pushname, isMyContact: !!c.isMyContact, isMe: false, isUser: true, isGroup: false };
            if (c.lid && c.phone) { pnLid[c.lid] = c.phone; pnLid[c.phone] = c.lid; }
          };
          const newGroup = (gid, subject, participants, creation) => {
            const chat = chatOf(gid, subject);
            chat.groupMetadata = { id: wid(gid), subject, desc: '', owner: wid(me || 'unknown@c.us'), creation, participants };
            chat.t = creation;
            return chat;
          };
          const participantResult = (id, code) => ({ wid: id, code, message: code === 200 ? 'OK' : code === 403 ? 'not-authorized' : code === 409 ? 'conflict' : 'item-not-found',
            invite_code: code === 403 ? 'INVITE' + id.split('@')[0].slice(-4) : null, invite_code_exp: code === 403 ? nowSeconds() + 3 * 86400 : null });
          fake.addContact = addContact;
          fake.chat = id => { const c = chats[id]; return c ? { id, name: c.name || null, participants: c.groupMetadata ? c.groupMetadata.participants.map(p => ({ id: p.id._serialized, isAdmin: p.isAdmin, isSuperAdmin: p.isSuperAdmin })) : null, messages: c.msgs.length } : null; };
          fake.addHistory = (chatId, list) => list.forEach(m => remember(chatId, {
            id: msgKey(m.id, !!m.fromMe, chatId), from: wid(m.fromMe ? (me || 'unknown@c.us') : chatId), to: wid(m.fromMe ? chatId : (me || 'unknown@c.us')),
            author: m.author ? wid(m.author) : undefined, body: m.body || '', type: 'chat', t: m.t, notifyName: m.notifyName || '', isNewMsg: false
          }));
          // The seed every page starts with: a contact known by phone number and @lid, one by phone number only, one
          // listed under its @lid, a private chat with older messages and a group.
          addContact({ id: '5511988887777@c.us', name: 'Ann Lima', pushname: 'Ann', isMyContact: true, phone: '5511988887777@c.us', lid: '201234567890123@lid' });
          addContact({ id: '5511977776666@c.us', name: 'Bob Souza', pushname: 'Bobby', isMyContact: true });
          addContact({ id: '209876543210987@lid', pushname: 'Carol', isMyContact: false, phone: '5511966665555@c.us', lid: '209876543210987@lid' });
          chatOf('5511988887777@c.us', 'Ann Lima');
          const seedTime = nowSeconds() - 86400;
          fake.addHistory('5511988887777@c.us', [
            { id: 'false_5511988887777@c.us_3A0LD00000000001', body: 'old question', t: seedTime, notifyName: 'Ann' },
            { id: 'true_5511988887777@c.us_3EB0LD0000000002', body: 'old answer', t: seedTime + 60, fromMe: true },
            { id: 'false_5511988887777@c.us_3A0LD00000000003', body: 'thanks', t: seedTime + 120, notifyName: 'Ann' }
          ]);
          chats['5511988887777@c.us'].unreadCount = 0;
          newGroup('120363000000000001@g.us', 'Seed Team', [
            { id: wid('5511988887777@c.us'), isAdmin: true, isSuperAdmin: false },
            { id: wid('5511977776666@c.us'), isAdmin: false, isSuperAdmin: false }
          ], seedTime);
          let groupSeq = 1;
          //#endregion

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
                remember(chatId, { id: msgKey(id, true, chatId), from: wid(me), to: wid(chatId), body: content, type: 'chat', t: nowSeconds(), isNewMsg: true });
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
              list: async options => {
                const o = options || {};
                let list = Object.values(chats).filter(c => !fake.left.includes(c.id._serialized))
                  .filter(c => !o.onlyGroups || c.isGroup).filter(c => !o.onlyUsers || !c.isGroup)
                  .sort((a, b) => b.t - a.t);
                if (o.count > 0) list = list.slice(0, o.count);
                return list;
              },
              get: chatId => chats[String(chatId)],
              getMessages: async (chatId, options) => {
                const chat = assertChat(chatId);
                const o = options || {};
                let list = chat.msgs.slice().sort((a, b) => a.t - b.t);
                if (o.id) {
                  const at = list.findIndex(m => m.id._serialized === o.id);
                  if (at < 0) throw wppError('msg_not_found', 'Message ' + o.id + ' not found');
                  list = o.direction === 'after' ? list.slice(at + 1) : list.slice(0, at);
                }
                const count = o.count == null ? 20 : o.count;
                if (count >= 0) list = o.direction === 'after' ? list.slice(0, count) : list.slice(Math.max(0, list.length - count));
                return list.map(m => Object.assign({}, m));
              },
              sendReactionToMessage: async (messageId, reaction) => {
                const id = String(messageId);
                if (!messagesById[id]) throw wppError('msg_not_found', 'Message ' + id + ' not found');
                fake.reactions.push({ id, reaction: reaction || '' });
                return { sendMsgResult: 'OK' };
              },
              markIsRead: async chatId => { fake.reads.push(chatId); return { wid: wid(chatId), unreadCount: 0 }; },
              markIsComposing: async chatId => { fake.typing.push([chatId, true]); },
              markIsPaused: async chatId => { fake.typing.push([chatId, false]); }
            }
          };

          WPP.contact = {
            list: async options => Object.values(contacts).filter(c => !(options && options.onlyMyContacts) || c.isMyContact),
            get: async id => contacts[String(id)],
            getPnLidEntry: async id => {
              const s = String(id);
              if (!s.endsWith('@c.us') && !s.endsWith('@lid')) throw wppError('invalid_wid', 'Invalid WID value for ' + s + ' - getPnLidEntry only supports @c.us and @lid.');
              const other = pnLid[s];
              const part = x => x ? { id: x.split('@')[0], server: x.split('@')[1], _serialized: x } : undefined;
              const lid = s.endsWith('@lid') ? s : other;
              const phone = s.endsWith('@c.us') ? s : other;
              const c = contacts[s] || contacts[other];
              return { lid: part(lid), phoneNumber: part(phone), contact: c ? { name: c.name, pushname: c.pushname } : undefined };
            }
          };
          WPP.group = {
            create: async (groupName, participantsIds, parentGroup) => {
              if (!mainReady) throw new Error('not ready');
              const ids = (Array.isArray(participantsIds) ? participantsIds : [participantsIds]).map(participantWid).filter(id => id !== me);
              const missing = ids.find(id => !exists(id));
              if (missing) throw wppError('participant_not_exists', 'Participant not exists');
              const gid = '1203639' + String(Date.now() % 100000000).padStart(8, '0') + String(groupSeq++).padStart(3, '0') + '@g.us';
              const results = {};
              const members = [{ id: wid(me), isAdmin: true, isSuperAdmin: true }];
              for (const id of ids) {
                const code = fake.privacyBlocked.includes(id) ? 403 : 200;
                if (code === 200) members.push({ id: wid(id), isAdmin: false, isSuperAdmin: false });
                results[id] = participantResult(id, code);
              }
              newGroup(gid, groupName, members, nowSeconds());
              return { gid: wid(gid), participants: results };
            },
            getParticipants: async groupId => assertGroup(groupId).groupMetadata.participants.slice(),
            addParticipants: async (groupId, participantsIds) => {
              const meta = assertGroup(groupId).groupMetadata;
              const results = {};
              for (const id of (Array.isArray(participantsIds) ? participantsIds : [participantsIds]).map(participantWid)) {
                const code = !exists(id) ? 404 : meta.participants.some(p => p.id._serialized === id) ? 409 : fake.privacyBlocked.includes(id) ? 403 : 200;
                if (code === 200) meta.participants.push({ id: wid(id), isAdmin: false, isSuperAdmin: false });
                results[id] = participantResult(id, code);
              }
              return results;
            },
            removeParticipants: async (groupId, participantsIds) => {
              const meta = assertGroup(groupId).groupMetadata;
              const ids = (Array.isArray(participantsIds) ? participantsIds : [participantsIds]).map(participantWid);
              const missing = ids.find(id => !meta.participants.some(p => p.id._serialized === id));
              if (missing) throw wppError('participant_not_exists', 'Participant ' + missing + ' not exists in group ' + groupId);
              meta.participants = meta.participants.filter(p => !ids.includes(p.id._serialized));
            },
            leave: async groupId => {
              const meta = assertGroup(groupId).groupMetadata;
              meta.participants = meta.participants.filter(p => p.id._serialized !== me);
              fake.left.push(String(groupId));
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
            remember(m.from, msg);
            emit('chat.new_message', msg);
            return id;
          };
          // A reaction as wa-js 4.6 reports it (chat.new_reaction): the reaction's own key, the key reacted to, the emoji
          // ('' = removed), the sender's wid and the time in milliseconds.
          fake.react = r => {
            const parent = messagesById[r.msgId];
            const chatId = r.chat || (parent ? parent.id.remote._serialized : r.from);
            const id = r.id || ((r.fromMe ? 'true_' : 'false_') + chatId + '_FAKERE' + Math.random().toString(16).slice(2, 12).toUpperCase()
              + (chatId.endsWith('@g.us') ? '_' + r.from : ''));
            emit('chat.new_reaction', {
              id: Object.assign(msgKey(id, !!r.fromMe, chatId), chatId.endsWith('@g.us') ? { participant: wid(r.from) } : {}),
              msgId: parent ? parent.id : msgKey(r.msgId, false, chatId),
              reactionText: r.emoji || '', read: false, sender: wid(r.from), orphan: 0, orphanReason: null, timestamp: Date.now()
            });
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
