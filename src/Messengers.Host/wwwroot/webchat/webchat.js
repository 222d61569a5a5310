// Messengers web chat — visitor side. Vanilla ES2020 module, no dependencies, no key.
//
// Direction convention (same as the history API):
//   "in"  = visitor -> gateway (the visitor's own messages, shown on the right)
//   "out" = gateway/agent -> visitor (shown on the left)

const $ = (sel) => document.querySelector(sel);

const instanceId = resolveInstanceId();
const base = `/webchat/${encodeURIComponent(instanceId || '')}`;
const visitorId = instanceId ? getVisitorId(instanceId) : null;

const log = $('#chat-log');
const logWrap = $('#log-wrap');
const input = $('#chat-input');
const sendBtn = $('#chat-send');
const statusEl = $('#chat-status');
const noticeEl = $('#chat-notice');
const typingEl = $('#chat-typing');
const emptyEl = $('#chat-empty');

const known = new Map(); // messageId -> <li>
let unavailable = false;
let es = null;
let reconnectTimer = null;
let reconnectAttempt = 0;
let typingTimer = null;
let cooldownUntil = 0;
let cooldownTimer = null;
let sending = false;

// ---------- setup ----------
function resolveInstanceId() {
  // Served at /webchat/{instanceId}; ?instance= is accepted for local testing.
  const parts = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const i = parts.indexOf('webchat');
  let id = i >= 0 ? parts[i + 1] : null;
  if (!id || id === 'index.html') id = new URLSearchParams(location.search).get('instance');
  return id || null;
}

function getVisitorId(inst) {
  const key = `messengers.webchat.visitor.${inst}`;
  const make = () => (crypto.randomUUID ? crypto.randomUUID()
    : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
      (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)));
  for (const store of [() => localStorage, () => sessionStorage]) {
    try {
      const s = store();
      let v = s.getItem(key);
      if (!v) { v = make(); s.setItem(key, v); }
      return v;
    } catch { /* storage blocked (e.g. third-party iframe): try the next one */ }
  }
  return make();
}

// ---------- status / notices ----------
function setStatus(state, text) {
  statusEl.dataset.state = state;
  if (statusEl.textContent !== text) statusEl.textContent = text;
}
function showNotice(text, kind = 'error') {
  noticeEl.dataset.kind = kind;
  noticeEl.textContent = text;
  noticeEl.hidden = !text;
}
function markUnavailable() {
  unavailable = true;
  setStatus('unavailable', 'Unavailable');
  showNotice('This chat is not available.');
  typingEl.hidden = true;
  input.disabled = true;
  updateSendState();
  if (es) { es.close(); es = null; }
  clearTimeout(reconnectTimer);
}

// ---------- rendering ----------
function parseTime(ts) {
  if (ts == null || ts === '') return new Date();
  const d = typeof ts === 'number' ? new Date(ts < 1e12 ? ts * 1000 : ts) : new Date(ts);
  return isNaN(d) ? new Date() : d;
}
function fmtTime(d) {
  const sameDay = d.toDateString() === new Date().toDateString();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return sameDay ? time : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

function directionOf(m) {
  if (m.direction === 'in' || m.direction === 'out') return m.direction;
  if (typeof m.fromMe === 'boolean') return m.fromMe ? 'out' : 'in'; // fromMe = sent by the bot/agent
  return 'out';
}

function nearBottom() {
  return logWrap.scrollHeight - logWrap.scrollTop - logWrap.clientHeight < 80;
}
function scrollToBottom() { logWrap.scrollTop = logWrap.scrollHeight; }

function buildBubble({ messageId, text, direction, date, pending, media }) {
  const li = document.createElement('li');
  li.className = 'msg';
  li.dataset.direction = direction;
  if (messageId) li.dataset.messageId = messageId;
  if (pending) li.dataset.pending = 'true';
  li.dataset.ts = String(date.getTime());
  const who = document.createElement('span');
  who.className = 'visually-hidden';
  who.textContent = direction === 'in' ? 'You: ' : 'Agent: ';
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  bubble.dataset.testid = 'text';
  bubble.textContent = text ?? '';
  if (media && typeof media.url === 'string' && media.url.startsWith('/webchat/')) bubble.prepend(buildMedia(media));
  const meta = document.createElement('time');
  meta.className = 'meta';
  meta.dateTime = date.toISOString();
  meta.title = date.toLocaleString();
  meta.textContent = pending ? 'Sending…' : fmtTime(date);
  li.append(who, bubble, meta);
  return li;
}

/** Images, video and audio play inline; anything else is a download link with its file name. */
function buildMedia(media) {
  const type = String(media.contentType || '');
  let el;
  if (type.startsWith('image/')) {
    el = document.createElement('img');
    el.alt = media.fileName || 'image';
  } else if (type.startsWith('video/') || type.startsWith('audio/')) {
    el = document.createElement(type.startsWith('video/') ? 'video' : 'audio');
    el.controls = true;
  } else {
    el = document.createElement('a');
    el.href = media.url;
    el.download = media.fileName || '';
    el.textContent = '📎 ' + (media.fileName || 'file');
  }
  if (el.tagName !== 'A') el.src = media.url;
  el.className = 'media';
  el.dataset.testid = 'media';
  const box = document.createElement('div');
  box.append(el);
  return box;
}

function insertSorted(li) {
  const ts = Number(li.dataset.ts);
  let before = null;
  // Walk back from the end; messages almost always arrive in order.
  for (let n = log.lastElementChild; n; n = n.previousElementSibling) {
    if (Number(n.dataset.ts) <= ts) break;
    before = n;
  }
  log.insertBefore(li, before);
}

function addMessage(m) {
  if (!m || !m.messageId || known.has(m.messageId)) return false;
  const stick = nearBottom();
  const direction = directionOf(m);
  const li = buildBubble({ messageId: m.messageId, text: m.text, direction, date: parseTime(m.timestamp), media: m.media });
  known.set(m.messageId, li);
  insertSorted(li);
  if (direction === 'out') setTyping(false);
  emptyEl.hidden = true;
  if (stick || direction === 'in') scrollToBottom();
  return true;
}

function setTyping(on) {
  clearTimeout(typingTimer);
  const stick = nearBottom();
  typingEl.hidden = !on;
  if (on) {
    typingTimer = setTimeout(() => { typingEl.hidden = true; }, 15000); // safety timeout
    if (stick) scrollToBottom();
  }
}

function updateEmpty() { emptyEl.hidden = log.children.length > 0 || unavailable; }

// ---------- history ----------
async function loadHistory() {
  try {
    const res = await fetch(`${base}/history?visitorId=${encodeURIComponent(visitorId)}`, {
      headers: { Accept: 'application/json' }, cache: 'no-store',
    });
    if (res.status === 404 || res.status === 403) { markUnavailable(); return false; }
    if (!res.ok) return true;
    const data = await res.json();
    const items = (Array.isArray(data) ? data : data.items) || [];
    // API returns newest first; display oldest at the top.
    for (const m of [...items].reverse()) addMessage(m);
    scrollToBottom();
  } catch { /* offline: events/reconnect will catch up */ }
  updateEmpty();
  return true;
}

// ---------- events ----------
function connect() {
  if (unavailable) return;
  if (es) es.close();
  es = new EventSource(`${base}/events?visitorId=${encodeURIComponent(visitorId)}`);
  es.addEventListener('open', () => {
    const wasReconnect = reconnectAttempt > 0 || statusEl.dataset.state === 'reconnecting';
    reconnectAttempt = 0;
    setStatus('online', 'Online');
    if (noticeEl.dataset.kind === 'warn') showNotice('');
    if (wasReconnect) loadHistory(); // fill any gap while disconnected
  });
  es.addEventListener('message', (e) => {
    try { addMessage(JSON.parse(e.data)); } catch { /* ignore malformed */ }
  });
  es.addEventListener('typing', (e) => {
    try { setTyping(!!JSON.parse(e.data).typing); } catch { /* ignore */ }
  });
  es.addEventListener('error', () => {
    if (unavailable) return;
    setTyping(false);
    if (es && es.readyState === EventSource.CONNECTING) {
      setStatus('reconnecting', 'Reconnecting…');
      return; // the browser retries by itself
    }
    // Closed for good (e.g. non-200 answer): check whether the chat still exists, then retry with backoff.
    if (es) { es.close(); es = null; }
    setStatus('reconnecting', 'Reconnecting…');
    clearTimeout(reconnectTimer);
    const delay = Math.min(30000, 1000 * 2 ** Math.min(reconnectAttempt++, 5));
    reconnectTimer = setTimeout(async () => {
      if (await loadHistory()) connect();
    }, delay);
  });
}

// ---------- sending ----------
function updateSendState() {
  const cooling = Date.now() < cooldownUntil;
  sendBtn.disabled = unavailable || sending || cooling || input.value.trim() === '';
}

function startCooldown(seconds) {
  cooldownUntil = Date.now() + seconds * 1000;
  clearInterval(cooldownTimer);
  // Announce once; the per-second countdown lives in a nested aria-live="off" span so it is not re-read.
  showNotice('You are sending too fast. Please wait ', 'warn');
  const count = document.createElement('span');
  count.setAttribute('aria-live', 'off');
  count.dataset.testid = 'retry-after';
  noticeEl.append(count, ' s before sending again.');
  const tick = () => {
    const left = Math.ceil((cooldownUntil - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(cooldownTimer);
      showNotice('');
      updateSendState();
      return;
    }
    count.textContent = String(left);
  };
  tick();
  cooldownTimer = setInterval(tick, 1000);
  updateSendState();
}

async function send() {
  const text = input.value.trim();
  if (!text || unavailable || sending || Date.now() < cooldownUntil) return;
  sending = true;
  input.value = '';
  autoGrow();
  updateSendState();

  const pending = buildBubble({ text, direction: 'in', date: new Date(), pending: true });
  insertSorted(pending);
  emptyEl.hidden = true;
  scrollToBottom();

  const restore = () => {
    pending.remove();
    if (!input.value) { input.value = text; autoGrow(); }
    updateEmpty();
  };

  try {
    // One id for every attempt: a post retried after a server went away mid-answer is still one message.
    const clientMessageId = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).replace(/[^A-Za-z0-9_-]/g, '');
    let res;
    for (let attempt = 0; ; attempt++) {
      try {
        res = await fetch(`${base}/messages`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ visitorId, text, clientMessageId }),
        });
      } catch (e) {
        if (attempt >= 2) throw e;
        res = null; // a server restarting behind the load balancer: the next attempt reaches another
      }
      // Worth another try: no answer, or a short "try again" (a connection moving between servers); a chat that is
      // offline for longer says so at once.
      const wait = res ? parseRetryAfter(res.headers.get('Retry-After')) : 1;
      if (res && !([502, 503, 504].includes(res.status) && wait <= 5)) break;
      if (attempt >= 2) break;
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
    if (res.status === 429) {
      restore();
      const ra = parseRetryAfter(res.headers.get('Retry-After'));
      startCooldown(ra);
      return;
    }
    if (res.status === 404 || res.status === 403) { restore(); markUnavailable(); return; }
    if (!res.ok) {
      restore();
      showNotice(`Your message could not be sent (${res.status}). Please try again.`);
      return;
    }
    let data = {};
    try { data = await res.json(); } catch { /* empty body */ }
    if (data.messageId && known.has(data.messageId)) {
      pending.remove(); // the SSE echo already rendered it
    } else {
      const date = parseTime(data.timestamp);
      const li = buildBubble({ messageId: data.messageId, text, direction: 'in', date });
      pending.replaceWith(li);
      if (data.messageId) known.set(data.messageId, li);
    }
    if (noticeEl.dataset.kind === 'error' && !unavailable) showNotice('');
  } catch {
    restore();
    showNotice('Network error — your message was not sent. Please try again.');
  } finally {
    sending = false;
    updateSendState();
    if (!unavailable) input.focus();
  }
}

function parseRetryAfter(v) {
  if (!v) return 5;
  const n = Number(v);
  if (Number.isFinite(n)) return Math.max(1, Math.ceil(n));
  const d = Date.parse(v);
  return Number.isNaN(d) ? 5 : Math.max(1, Math.ceil((d - Date.now()) / 1000));
}

function autoGrow() {
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight + 2, 140)}px`;
}

// ---------- boot ----------
$('#chat-form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
});
input.addEventListener('input', () => { autoGrow(); updateSendState(); });

const title = new URLSearchParams(location.search).get('title');
if (title) { $('#chat-title').textContent = title; document.title = title; }

if (!instanceId) {
  markUnavailable();
} else {
  (async () => {
    if (await loadHistory()) connect();
    if (!unavailable && window.self === window.top) input.focus();
  })();
}
