namespace Messengers.Providers.WhatsAppWeb;

/// <summary>
/// Page scripts for chats, contacts, groups, reactions and history, over wa-js 4.6 (<c>WPP.chat</c>, <c>WPP.contact</c>,
/// <c>WPP.group</c>; positional arguments as in its 4.x API). Each returns plain JSON, never live models.
/// </summary>
internal static class DirectoryScripts
{
    /// <summary>Shared helpers: serialized ids, a contact with both its phone-number and @lid ids, per-participant results.</summary>
    private const string Prelude = """
          const W = window.WPP;
          const str = (x) => x == null ? null : (typeof x === 'string' ? x : (x._serialized || String(x)));
          const describeContact = async (c) => {
            const id = str(c.id);
            let phone = id.endsWith('@c.us') ? id : null;
            let lid = id.endsWith('@lid') ? id : null;
            try {
              if (W.contact.getPnLidEntry) {
                const entry = await W.contact.getPnLidEntry(id);
                if (entry && entry.phoneNumber && !phone) phone = entry.phoneNumber._serialized;
                if (entry && entry.lid && !lid) lid = entry.lid._serialized;
              }
            } catch (e) { }
            if (!phone && c.phoneNumber) phone = str(c.phoneNumber);
            return { id, phone, lid, name: c.name || null, pushname: c.pushname || null, isMyContact: !!c.isMyContact };
          };
          const participantResults = (r) => Object.entries(r || {}).map(([key, v]) => ({
            id: str(v && v.wid) || key,
            code: Number(v && v.code) || 0,
            message: (v && v.message) || null,
            invite: (v && v.invite_code) || null
          }));
        """;

    public const string React = """
        async ([messageId, emoji]) => { await window.WPP.chat.sendReactionToMessage(messageId, emoji ? emoji : false); return true; }
        """;

    public const string Chats = $$"""
        async (count) => {
          {{Prelude}}
          const chats = await W.chat.list(count > 0 ? { count } : {});
          return chats.map(c => {
            const id = str(c.id);
            const contact = c.contact || {};
            return {
              id,
              name: c.name || c.formattedTitle || contact.name || contact.pushname || null,
              isGroup: !!c.isGroup || id.endsWith('@g.us'),
              unread: c.unreadCount || 0,
              t: c.t || 0
            };
          });
        }
        """;

    public const string Contacts = $$"""
        async () => {
          {{Prelude}}
          const contacts = await W.contact.list();
          const out = [];
          for (const c of contacts) {
            const id = str(c.id);
            if (c.isMe || !(id.endsWith('@c.us') || id.endsWith('@lid'))) continue;
            out.push(await describeContact(c));
          }
          return out;
        }
        """;

    public const string Contact = $$"""
        async (contactId) => {
          {{Prelude}}
          const c = await W.contact.get(contactId);
          return c ? await describeContact(c) : null;
        }
        """;

    public const string CreateGroup = $$"""
        async ([name, participants]) => {
          {{Prelude}}
          const r = await W.group.create(name, participants);
          return { gid: str(r.gid), participants: participantResults(r.participants) };
        }
        """;

    /// <summary>Null when the chat is unknown or not a group.</summary>
    public const string GroupInfo = $$"""
        async (groupId) => {
          {{Prelude}}
          const chat = W.chat.get(groupId);
          if (!chat || !chat.groupMetadata) return null;
          const meta = chat.groupMetadata;
          const participants = await W.group.getParticipants(groupId);
          return {
            id: str(chat.id),
            subject: meta.subject || chat.name || null,
            desc: meta.desc || null,
            owner: str(meta.owner),
            creation: Number(meta.creation) || 0,
            participants: participants.map(p => ({ id: str(p.id), isAdmin: !!p.isAdmin || !!p.isSuperAdmin, isSuperAdmin: !!p.isSuperAdmin }))
          };
        }
        """;

    public const string AddParticipants = $$"""
        async ([groupId, ids]) => {
          {{Prelude}}
          return participantResults(await W.group.addParticipants(groupId, ids));
        }
        """;

    /// <summary>wa-js resolves without per-participant results; reaching the end means all were removed.</summary>
    public const string RemoveParticipants = """
        async ([groupId, ids]) => {
          await window.WPP.group.removeParticipants(groupId, ids);
          return ids.map(id => ({ id, code: 200, message: null, invite: null }));
        }
        """;

    public const string LeaveGroup = "async (groupId) => { await window.WPP.group.leave(groupId); return true; }";

    /// <summary>Older messages through the bridge's own serializer, so they have the shape (and ids) of live ones.</summary>
    public const string History = """
        async ([chatId, count, before]) => {
          const options = { count, direction: 'before' };
          if (before) options.id = before;
          const messages = await window.WPP.chat.getMessages(chatId, options);
          return messages.map(m => window.__messengersSerialize(m));
        }
        """;
}
