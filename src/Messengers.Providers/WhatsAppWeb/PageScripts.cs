namespace Messengers.Providers.WhatsAppWeb;

/// <summary>The JavaScript the provider runs in the WhatsApp Web page (our own bridge over wa-js's public API).</summary>
internal static class PageScripts
{
    /// <summary>The name of the exposed C# callback the bridge reports events to.</summary>
    public const string BindingName = "__messengersEvent";

    /// <summary>Init script: wa-js reads window.WPPConfig when it starts. No analytics, no third-party link previews.</summary>
    public const string WppConfig = """
        window.WPPConfig = Object.assign(window.WPPConfig || {}, {
          disableGoogleAnalytics: true,
          linkPreviewApiServers: [],
          sendStatusToDevice: false,
          deviceName: false
        });
        """;

    public const string HasWpp = "() => typeof window.WPP !== 'undefined' && window.WPP !== null";

    /// <summary>
    /// Waits for wa-js readiness, subscribes to the events the provider needs and reports the current state.
    /// Every event goes to the binding as one JSON string, in order.
    /// </summary>
    public const string Bridge = """
        async () => {
          const W = window.WPP;
          const emit = (type, data) => window.__messengersEvent(JSON.stringify(Object.assign({ type }, data || {})));
          const str = (x) => x == null ? null : (typeof x === 'string' ? x : (x._serialized || String(x)));
          await new Promise((resolve) => {
            if (W.isReady) { resolve(); return; }
            const loader = W.loader || W.webpack;
            loader.onReady(resolve);
          });
          try { if (W.conn.setKeepAlive) W.conn.setKeepAlive(true); } catch (e) { }
          try { if (W.chat.defaultSendMessageOptions) W.chat.defaultSendMessageOptions.createChat = true; } catch (e) { }
          const me = () => { try { return str(W.conn.getMyUserId()); } catch (e) { return null; } };
          const serialize = (m) => ({
            id: str(m.id),
            from: str(m.from),
            to: str(m.to),
            author: str(m.author),
            body: m.body == null ? '' : String(m.body),
            caption: m.caption == null ? null : String(m.caption),
            type: m.type || 'chat',
            t: m.t || 0,
            fromMe: !!((m.id && m.id.fromMe) || m.isSentByMe || String(str(m.id)).startsWith('true_')),
            isGroup: !!m.isGroupMsg,
            isStatus: !!m.isStatusV3,
            notifyName: m.notifyName || null,
            mimetype: m.mimetype || null,
            filename: m.filename || null,
            quotedMsgId: str(m.quotedMsgId) || null
          });
          window.__messengersSerialize = serialize;
          let announced = null;
          const ready = () => { const wid = me(); if (announced !== wid) { announced = wid; emit('ready', { wid }); } };
          W.on('conn.auth_code_change', (c) => emit('qr', { code: c ? (c.fullCode || null) : null }));
          W.on('conn.authenticated', () => emit('authenticated'));
          W.on('conn.main_ready', ready);
          W.on('conn.logout', () => emit('logout', {}));
          W.on('conn.logout_reason', (r) => emit('logout', { reason: r == null ? null : String(r) }));
          W.on('chat.new_message', (m) => { try { emit('message', { msg: serialize(m) }); } catch (e) { emit('error', { message: String(e) }); } });
          W.on('chat.msg_ack_change', (e) => emit('ack', { ack: e.ack, ids: (e.ids || []).map(str) }));
          // wa-js 4.6: {id: MsgKey of the reaction, msgId: MsgKey reacted to, reactionText ('' = removed), sender: Wid, timestamp}.
          W.on('chat.new_reaction', (r) => {
            try {
              const key = r.id || {};
              const parent = r.msgId || {};
              emit('reaction', { reaction: {
                id: str(r.id),
                chat: str(key.remote) || str(parent.remote),
                msgId: str(r.msgId),
                emoji: r.reactionText == null ? '' : String(r.reactionText),
                sender: str(r.sender),
                fromMe: !!key.fromMe,
                t: r.timestamp || 0
              } });
            } catch (e) { emit('error', { message: String(e) }); }
          });
          if (W.conn.isMainReady && W.conn.isMainReady()) { ready(); }
          else if (W.conn.isAuthenticated && W.conn.isAuthenticated()) { emit('authenticated'); }
          else {
            const code = W.conn.getAuthCode ? await W.conn.getAuthCode() : null;
            if (code && code.fullCode) emit('qr', { code: code.fullCode });
          }
          window.__messengersBridged = true;
        }
        """;

    public const string SendText = """
        async ([chatId, text, quotedMsg]) => {
          const options = { createChat: true, linkPreview: false, waitForAck: false };
          if (quotedMsg) options.quotedMsg = quotedMsg;
          const r = await window.WPP.chat.sendTextMessage(chatId, text, options);
          const id = r && r.id;
          return { id: id == null ? null : (typeof id === 'string' ? id : (id._serialized || String(id))), t: (r && r.t) || 0 };
        }
        """;

    public const string SendFile = """
        async ([chatId, dataUrl, caption, filename, mimetype, type, quotedMsg]) => {
          const options = { type: type || 'auto-detect', createChat: true, waitForAck: false };
          if (caption) options.caption = caption;
          if (filename) options.filename = filename;
          if (mimetype) options.mimetype = mimetype;
          if (quotedMsg) options.quotedMsg = quotedMsg;
          const r = await window.WPP.chat.sendFileMessage(chatId, dataUrl, options);
          const id = r && r.id;
          return { id: id == null ? null : (typeof id === 'string' ? id : (id._serialized || String(id))), t: (r && r.t) || 0 };
        }
        """;

    /// <summary>Downloads a message's media in the page and returns it as base64 with its MIME type.</summary>
    public const string DownloadMedia = """
        async (id) => {
          const blob = await window.WPP.chat.downloadMedia(id);
          const bytes = new Uint8Array(await blob.arrayBuffer());
          let binary = '';
          for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
          return { data: btoa(binary), type: blob.type || null };
        }
        """;

    public const string MarkRead = "async (chatId) => { await window.WPP.chat.markIsRead(chatId); }";

    public const string SetTyping = "async ([chatId, typing]) => { if (typing) await window.WPP.chat.markIsComposing(chatId); else await window.WPP.chat.markIsPaused(chatId); }";

    public const string Logout = "async () => { await window.WPP.conn.logout(); }";

    public const string PairingCode = "async (phone) => String(await window.WPP.conn.genLinkDeviceCodeForPhoneNumber(phone))";
}
