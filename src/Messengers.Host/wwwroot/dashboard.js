// Messengers dashboard — vanilla ES2020 module, no dependencies.
// The admin key lives in sessionStorage only and is sent as a Bearer header; it never goes into a URL.

const KEY_STORAGE = 'messengers.adminKey';
const API = '/api/v1';
const POLL_MS = 2000;
const STATUSES = ['Created', 'Starting', 'QrReady', 'Authenticated', 'Ready', 'Disconnected', 'Failed', 'Stopped'];
// The badge text is the exact status value (browser tests match on it); hints add the human explanation.
const STATUS_HINTS = {
  Created: 'Created, not started yet', Starting: 'Connecting to the messenger', QrReady: 'Waiting for the QR code to be scanned',
  Authenticated: 'Logged in, finishing start-up', Ready: 'Connected and processing messages',
  Disconnected: 'Connection lost, will retry', Failed: 'Stopped because of an error', Stopped: 'Stopped by an operator',
};
const PROVIDER_LABELS = { webchat: 'Web chat', telegram: 'Telegram', 'whatsapp-web': 'WhatsApp Web' };
const BACKEND_LABELS = { echo: 'Echo', agno: 'Agno', openai: 'OpenAI', http: 'HTTP' };

const $ = (sel, root = document) => root.querySelector(sel);

class AuthError extends Error {}
class ApiError extends Error {
  constructor(message, status, problem) { super(message); this.status = status; this.problem = problem; }
}

const state = {
  key: null,
  instances: new Map(),   // id -> instance
  rows: new Map(),        // id -> { row, qrRow }
  qr: new Map(),          // id -> { qr, expiresAt, blobUrl, busy }
  pollTimer: null,
  pollGen: 0,
  sse: null,              // AbortController
  sseConnected: false,
  loadedOnce: false,
  offline: false,
};

// ---------- storage ----------
function getKey() {
  try { return sessionStorage.getItem(KEY_STORAGE); } catch { return state.key; }
}
function setKey(k) {
  state.key = k;
  try { k ? sessionStorage.setItem(KEY_STORAGE, k) : sessionStorage.removeItem(KEY_STORAGE); } catch { /* private mode */ }
}

// ---------- API ----------
async function api(path, { method = 'GET', body, accept = 'application/json', signal } = {}) {
  const key = getKey() || state.key;
  if (!key) throw new AuthError('Not signed in');
  const headers = { Authorization: `Bearer ${key}`, Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(API + path, {
    method, headers, signal, cache: 'no-store', credentials: 'same-origin',
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401 || res.status === 403) {
    handleUnauthorized(res.status === 403
      ? 'This key does not have admin access. Sign in with the admin API key.'
      : undefined);
    throw new AuthError('Unauthorized');
  }
  if (!res.ok) {
    let problem = null;
    try {
      const text = await res.text();
      problem = text ? JSON.parse(text) : null;
    } catch { /* not JSON */ }
    const msg = (problem && (problem.detail || problem.title)) || `${res.status} ${res.statusText || 'Request failed'}`;
    throw new ApiError(msg, res.status, problem);
  }
  return res;
}
async function apiJson(path, opts) {
  const res = await api(path, opts);
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// ---------- toasts / announcements ----------
function toast(message, kind = 'error', timeout = 6000) {
  const box = $('#toasts');
  const el = document.createElement('div');
  el.className = 'toast';
  el.dataset.kind = kind;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'btn-link';
  close.textContent = 'Dismiss';
  close.addEventListener('click', () => el.remove());
  el.append(text, close);
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  if (timeout) setTimeout(() => el.remove(), timeout);
}
function announce(text) {
  const live = $('#status-live');
  live.textContent = '';
  // Re-set on the next frame so repeated identical messages are still announced.
  requestAnimationFrame(() => { live.textContent = text; });
}

// ---------- views ----------
function showSignIn(message = '') {
  stopLive();
  $('#main').hidden = true;
  $('#signout').hidden = true;
  $('#live-indicator').hidden = true;
  $('#signin-view').hidden = false;
  $('#signin-message').textContent = message;
  const input = $('#signin-key');
  input.value = '';
  input.setAttribute('aria-invalid', message ? 'true' : 'false');
  input.focus();
}
function showApp() {
  $('#signin-view').hidden = true;
  $('#main').hidden = false;
  $('#signout').hidden = false;
  $('#live-indicator').hidden = false;
}
function handleUnauthorized(message) {
  const hadKey = !!getKey();
  setKey(null);
  clearInstances();
  showSignIn(message || (hadKey ? 'The API key was rejected or has expired. Please sign in again.' : 'Please sign in.'));
}
function signOut() {
  setKey(null);
  clearInstances();
  hideApiKeyPanel();
  showSignIn('');
  $('#signin-message').textContent = '';
  toast('Signed out.', 'success', 3000);
}

// ---------- formatting ----------
function fmtDate(v) {
  if (!v) return '';
  const d = new Date(v);
  return isNaN(d) ? String(v) : d.toLocaleString();
}
function fmtRelative(v) {
  if (!v) return '—';
  const d = new Date(v);
  if (isNaN(d)) return String(v);
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  return d.toLocaleDateString();
}
function fmtNum(n) { return typeof n === 'number' ? n.toLocaleString() : '0'; }

// ---------- instances table ----------
function clearInstances() {
  for (const id of [...state.rows.keys()]) removeRow(id);
  state.instances.clear();
  state.loadedOnce = false;
  $('#instances-loading').hidden = false;
  $('#instances-empty').hidden = true;
  $('#instances-table-wrap').hidden = true;
  $('#instances-summary').textContent = '';
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function buildRow(inst) {
  const id = inst.id;
  const row = el('tr', { class: 'instance-row', dataset: { instanceId: id } });

  const nameCell = el('td', { 'data-label': 'Instance' },
    el('div', { class: 'inst-name', dataset: { testid: 'name' } }),
    el('div', { class: 'inst-id', text: id }));
  const providerCell = el('td', { 'data-label': 'Provider' },
    el('div', { dataset: { testid: 'provider' } }),
    el('div', { class: 'muted account', style: 'font-size:13px' }));
  const statusCell = el('td', { 'data-label': 'Status' },
    el('div', {},
      el('span', { class: 'badge', dataset: { testid: 'status' } })),
    el('span', { class: 'status-reason', dataset: { testid: 'status-reason' }, hidden: '' }));
  const agentCell = el('td', { 'data-label': 'Agent' },
    el('div', { class: 'agent-backend' }),
    el('div', { class: 'muted mono agent-id' }));
  const countersCell = el('td', { 'data-label': 'Messages', class: 'counters' },
    el('div', { class: 'count-in', dataset: { testid: 'messages-in' } }),
    el('div', { class: 'count-out muted', dataset: { testid: 'messages-out' } }));
  const updatedCell = el('td', { 'data-label': 'Updated', class: 'muted updated' });

  const label = () => state.instances.get(id)?.name || id;
  const actionBtn = (action, text, cls = 'btn btn-sm') => el('button', {
    type: 'button', class: cls, dataset: { testid: action, action },
    onclick: (ev) => runAction(id, action, ev.currentTarget),
  }, text);
  const actions = el('div', { class: 'actions' },
    actionBtn('start', 'Start'),
    actionBtn('stop', 'Stop'),
    actionBtn('restart', 'Restart'));
  if (inst.provider === 'webchat' || (inst.webChat && inst.webChat.enabled)) {
    const href = (inst.webChat && inst.webChat.url) || `/webchat/${encodeURIComponent(id)}`;
    actions.append(el('a', {
      class: 'btn btn-sm', href, target: '_blank', rel: 'noopener noreferrer', dataset: { testid: 'open-chat' },
    }, 'Open chat', el('span', { class: 'visually-hidden', text: ' (opens in a new tab)' })));
  }
  actions.append(el('button', {
    type: 'button', class: 'btn btn-sm btn-danger', dataset: { testid: 'delete' },
    onclick: (ev) => deleteInstance(id, ev.currentTarget),
  }, 'Delete'));
  const actionsCell = el('td', { 'data-label': 'Actions' }, actions);
  row.append(nameCell, providerCell, statusCell, agentCell, countersCell, updatedCell, actionsCell);
  // Accessible names for the row buttons include the instance name.
  row.querySelectorAll('button[data-testid]').forEach((b) => b.setAttribute('aria-label', `${b.textContent} ${label()}`));
  return row;
}

function updateRow(row, inst, prev) {
  const name = inst.name || inst.id;
  $('[data-testid=name]', row).textContent = name;
  $('[data-testid=provider]', row).textContent = PROVIDER_LABELS[inst.provider] || inst.provider || '—';
  $('.account', row).textContent = inst.account ? (inst.account.name || inst.account.id || '') : '';

  const status = STATUSES.includes(inst.status) ? inst.status : (inst.status || 'Created');
  const badge = $('[data-testid=status]', row);
  badge.dataset.status = status;
  badge.textContent = status;
  badge.title = [STATUS_HINTS[status], inst.statusChangedAt ? `since ${fmtDate(inst.statusChangedAt)}` : '']
    .filter(Boolean).join(', ');
  const reason = $('[data-testid=status-reason]', row);
  const showReason = (status === 'Failed' || status === 'Disconnected') && inst.statusReason;
  reason.hidden = !showReason;
  reason.dataset.status = status;
  reason.textContent = showReason ? inst.statusReason : '';

  const agent = inst.agent || {};
  $('.agent-backend', row).textContent =
    (BACKEND_LABELS[agent.backend] || agent.backend || '—') + (agent.enabled === false ? ' (disabled)' : '');
  $('.agent-id', row).textContent = agent.agentId || '';

  const c = inst.counters || {};
  $('.count-in', row).textContent = `${fmtNum(c.messagesIn)} in`;
  $('.count-out', row).textContent = `${fmtNum(c.messagesOut)} out`;

  const updated = $('.updated', row);
  const when = inst.statusChangedAt || inst.updatedAt || inst.createdAt;
  updated.textContent = fmtRelative(when);
  updated.title = fmtDate(when);

  row.querySelectorAll('button[data-testid]').forEach((b) => b.setAttribute('aria-label', `${b.textContent} ${name}`));

  if (prev && prev.status !== inst.status) announce(`${name} is now ${status}.`);
  syncQrRow(inst);
}

function removeRow(id) {
  const r = state.rows.get(id);
  if (r) {
    r.row.remove();
    r.qrRow?.remove();
    state.rows.delete(id);
  }
  dropQr(id);
}

function renderInstances(items) {
  const tbody = $('#instances-body');
  const seen = new Set();
  let previousRow = null;
  for (const inst of items) {
    if (!inst || !inst.id) continue;
    seen.add(inst.id);
    const prev = state.instances.get(inst.id);
    state.instances.set(inst.id, inst);
    let r = state.rows.get(inst.id);
    if (!r) {
      r = { row: buildRow(inst), qrRow: null };
      state.rows.set(inst.id, r);
    }
    // keep server order without recreating nodes
    const anchor = previousRow ? (state.rows.get(previousRow).qrRow || state.rows.get(previousRow).row).nextSibling : tbody.firstChild;
    if (anchor !== r.row) tbody.insertBefore(r.row, anchor);
    if (r.qrRow && r.row.nextSibling !== r.qrRow) r.row.after(r.qrRow);
    updateRow(r.row, inst, prev);
    previousRow = inst.id;
  }
  for (const id of [...state.rows.keys()]) {
    if (!seen.has(id)) { removeRow(id); state.instances.delete(id); }
  }
  state.loadedOnce = true;
  $('#instances-loading').hidden = true;
  const n = seen.size;
  $('#instances-empty').hidden = n !== 0;
  $('#instances-table-wrap').hidden = n === 0;
  updateSummary();
}

function updateSummary() {
  const all = [...state.instances.values()];
  const ready = all.filter((i) => i.status === 'Ready').length;
  const failing = all.filter((i) => i.status === 'Failed' || i.status === 'Disconnected').length;
  let s = `${all.length} instance${all.length === 1 ? '' : 's'} · ${ready} ready`;
  if (failing) s += ` · ${failing} need${failing === 1 ? 's' : ''} attention`;
  const summary = $('#instances-summary');
  if (summary.textContent !== s) summary.textContent = s;
}

// Patch a single instance from an SSE status event.
function applyStatusEvent(data) {
  if (!data || !data.instanceId) return;
  const inst = state.instances.get(data.instanceId);
  if (!inst) { schedulePoll(0); return; } // unknown instance: refresh the list
  const next = {
    ...inst, status: data.status || inst.status,
    statusReason: data.statusReason ?? null,
    statusChangedAt: data.timestamp || data.statusChangedAt || new Date().toISOString(),
  };
  state.instances.set(inst.id, next);
  const r = state.rows.get(inst.id);
  if (r) updateRow(r.row, next, inst);
  updateSummary();
}

// ---------- QR codes ----------
function syncQrRow(inst) {
  const r = state.rows.get(inst.id);
  if (!r) return;
  if (inst.status !== 'QrReady') {
    if (r.qrRow) { r.qrRow.remove(); r.qrRow = null; }
    dropQr(inst.id);
    return;
  }
  if (!r.qrRow) {
    const imgBox = el('div', { class: 'qr-img-box', dataset: { testid: 'qr-box' } },
      el('span', { class: 'muted qr-placeholder', text: 'Loading QR…' }));
    const text = el('div', { class: 'qr-text' },
      el('h3', { text: `Link ${inst.name || 'this instance'}` }),
      el('p', { text: 'Open the messenger app on your phone, go to Linked devices, and scan this code.' }),
      el('p', { class: 'qr-expiry', dataset: { testid: 'qr-expiry' }, 'aria-live': 'off' }),
      canPairByCode(inst) ? buildPairingForm(inst.id) : null);
    r.qrRow = el('tr', { class: 'qr-row', dataset: { qrFor: inst.id } },
      el('td', { colspan: '7' }, el('div', { class: 'qr-panel' }, imgBox, text)));
    r.row.after(r.qrRow);
  }
  refreshQr(inst.id);
}

// ---------- pairing by phone code ----------
// The API answers 422 for providers without phone pairing; instances that list their capabilities show the form only when they can.
function canPairByCode(inst) {
  return !Array.isArray(inst.capabilities) || inst.capabilities.includes('qrPairing');
}

function buildPairingForm(id) {
  const input = el('input', {
    type: 'tel', id: `pair-phone-${id}`, class: 'pair-phone', placeholder: '+5511999990000', autocomplete: 'off',
    inputmode: 'tel', 'aria-describedby': `pair-result-${id}`, dataset: { testid: 'pair-phone' },
  });
  const button = el('button', { type: 'submit', class: 'btn btn-sm', text: 'Get pairing code', dataset: { testid: 'pair-submit' } });
  const result = el('p', { class: 'pair-result', id: `pair-result-${id}`, 'aria-live': 'polite', dataset: { testid: 'pair-result' } });
  return el('form', {
    class: 'pair-form', dataset: { testid: 'pair-form' }, novalidate: '',
    onsubmit: (e) => { e.preventDefault(); requestPairingCode(id, input, button, result); },
  },
  el('label', { for: input.id, text: 'Or link with the phone number instead (international format):' }),
  el('div', { class: 'pair-controls' }, input, button),
  result);
}

async function requestPairingCode(id, input, button, result) {
  const phoneNumber = input.value.trim();
  const fail = (message) => {
    result.dataset.kind = 'error';
    result.textContent = message;
    input.setAttribute('aria-invalid', 'true');
  };
  if (!phoneNumber) {
    fail('Enter the phone number of the account, e.g. +5511999990000.');
    input.focus();
    return;
  }
  button.disabled = true;
  result.dataset.kind = 'pending';
  result.textContent = 'Requesting a code…';
  try {
    const view = await apiJson(`/instances/${encodeURIComponent(id)}/pairing-code`, { method: 'POST', body: { phoneNumber } });
    input.setAttribute('aria-invalid', 'false');
    result.dataset.kind = 'code';
    // WhatsApp shows the 8-character code as two groups of four.
    const shown = view.code.length === 8 ? `${view.code.slice(0, 4)}-${view.code.slice(4)}` : view.code;
    result.replaceChildren(
      'On the phone: Linked devices → Link with phone number, then enter ',
      el('strong', { class: 'pair-code', text: shown, dataset: { testid: 'pairing-code' } }));
    announce(`Pairing code for +${view.phoneNumber}: ${shown}`);
  } catch (err) {
    if (err instanceof AuthError) return;
    const fieldError = err instanceof ApiError && err.problem && err.problem.errors && err.problem.errors.phoneNumber;
    fail((fieldError && fieldError[0]) || err.message);
  } finally {
    button.disabled = false;
  }
}

function dropQr(id) {
  const q = state.qr.get(id);
  if (q && q.blobUrl) URL.revokeObjectURL(q.blobUrl);
  state.qr.delete(id);
}

async function refreshQr(id) {
  let q = state.qr.get(id);
  if (!q) { q = { qr: null, expiresAt: null, blobUrl: null, busy: false }; state.qr.set(id, q); }
  if (q.busy) return;
  q.busy = true;
  try {
    const meta = await apiJson(`/instances/${encodeURIComponent(id)}/qr`);
    if (state.qr.get(id) !== q) return; // dropped meanwhile
    q.expiresAt = meta && meta.expiresAt;
    if (meta && meta.qr && meta.qr !== q.qr) {
      const res = await api(`/instances/${encodeURIComponent(id)}/qr?format=png`, { accept: 'image/png' });
      const blob = await res.blob();
      if (state.qr.get(id) !== q) return;
      const url = URL.createObjectURL(blob);
      const box = qrBox(id);
      if (box) {
        const img = el('img', { src: url, alt: `QR code to link instance ${state.instances.get(id)?.name || id}`, dataset: { testid: 'qr-image' } });
        box.replaceChildren(img);
      }
      if (q.blobUrl) URL.revokeObjectURL(q.blobUrl);
      q.blobUrl = url;
      q.qr = meta.qr;
    }
    updateQrCountdowns();
  } catch (err) {
    if (err instanceof AuthError) return;
    const box = qrBox(id);
    if (box && !q.blobUrl) {
      const msg = err instanceof ApiError && err.status === 404 ? 'Waiting for QR code…' : 'QR code unavailable';
      box.replaceChildren(el('span', { class: 'muted qr-placeholder', text: msg }));
    }
  } finally {
    q.busy = false;
  }
}

function qrBox(id) {
  const r = state.rows.get(id);
  return r && r.qrRow ? $('.qr-img-box', r.qrRow) : null;
}

function updateQrCountdowns() {
  for (const [id, q] of state.qr) {
    const r = state.rows.get(id);
    const out = r && r.qrRow && $('.qr-expiry', r.qrRow);
    if (!out) continue;
    if (!q.expiresAt) { out.textContent = ''; continue; }
    const left = Math.round((new Date(q.expiresAt).getTime() - Date.now()) / 1000);
    if (isNaN(left)) { out.textContent = ''; continue; }
    out.dataset.expired = left <= 0 ? 'true' : 'false';
    out.textContent = left > 0
      ? `Expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`
      : 'Expired — waiting for a new code…';
  }
}

// ---------- polling ----------
function schedulePoll(delay = POLL_MS) {
  clearTimeout(state.pollTimer);
  const gen = state.pollGen;
  state.pollTimer = setTimeout(() => poll(gen), delay);
}

async function poll(gen) {
  if (gen !== state.pollGen || !getKey()) return;
  try {
    const data = await apiJson('/instances');
    if (gen !== state.pollGen) return;
    renderInstances(Array.isArray(data) ? data : (data && data.items) || []);
    if (state.offline) { state.offline = false; toast('Connection restored.', 'success', 3000); }
    setLiveIndicator();
  } catch (err) {
    if (err instanceof AuthError) return;
    if (!state.offline) {
      state.offline = true;
      toast(err instanceof ApiError ? `Could not load instances: ${err.message}` : 'Cannot reach the server. Retrying…');
    }
    if (!state.loadedOnce) {
      $('#instances-loading').hidden = true;
      $('#instances-empty').hidden = true;
    }
    setLiveIndicator();
  }
  if (gen === state.pollGen) schedulePoll();
}

// ---------- server-sent events over fetch (so we can send the Authorization header) ----------
async function connectEvents(gen, attempt = 0) {
  if (gen !== state.pollGen || !getKey()) return;
  const ctrl = new AbortController();
  state.sse = ctrl;
  try {
    const res = await api('/events', { accept: 'text/event-stream', signal: ctrl.signal });
    const type = res.headers.get('content-type') || '';
    if (!res.body || !type.includes('text/event-stream')) throw new Error('not an event stream');
    state.sseConnected = true;
    attempt = 0;
    setLiveIndicator();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let event = 'message';
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        if (buf[nl] === '\r' && nl === buf.length - 1) break; // maybe a CRLF split across chunks
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
        if (line === '') {
          if (data.length) dispatchEvent(event, data.join('\n'));
          event = 'message'; data = [];
        } else if (line.startsWith(':')) {
          // comment / keep-alive
        } else {
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          let val = i < 0 ? '' : line.slice(i + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'event') event = val || 'message';
          else if (field === 'data') data.push(val);
        }
      }
    }
  } catch (err) {
    if (err instanceof AuthError) return;
    // Any other failure: fall back to polling silently.
  } finally {
    if (state.sse === ctrl) { state.sse = null; state.sseConnected = false; setLiveIndicator(); }
  }
  if (gen !== state.pollGen || ctrl.signal.aborted) return;
  const delay = Math.min(30000, 2000 * 2 ** Math.min(attempt, 4));
  setTimeout(() => connectEvents(gen, attempt + 1), delay);
}

function dispatchEvent(type, raw) {
  let data;
  try { data = JSON.parse(raw); } catch { return; }
  if (type === 'instance.status') applyStatusEvent(data);
  else if (type === 'instance.created' || type === 'instance.deleted' || type === 'instance.updated') schedulePoll(0);
}

function setLiveIndicator() {
  const ind = $('#live-indicator');
  const text = $('#live-text');
  let mode; let label;
  if (state.offline) { mode = 'off'; label = 'Offline — retrying'; }
  else if (state.sseConnected) { mode = 'live'; label = 'Live'; }
  else { mode = 'polling'; label = 'Auto-refresh every 2 s'; }
  if (ind.dataset.mode !== mode) ind.dataset.mode = mode;
  if (text.textContent !== label) text.textContent = label;
}

function startLive() {
  stopLive();
  const gen = ++state.pollGen;
  poll(gen);
  connectEvents(gen);
}
function stopLive() {
  state.pollGen++;
  clearTimeout(state.pollTimer);
  if (state.sse) { state.sse.abort(); state.sse = null; }
  state.sseConnected = false;
}

// ---------- row actions ----------
async function runAction(id, action, button) {
  const name = state.instances.get(id)?.name || id;
  button.disabled = true;
  try {
    const data = await apiJson(`/instances/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    if (data && data.id === id) renderInstances(mergeOne(data));
    toast(`${action[0].toUpperCase()}${action.slice(1)} requested for ${name}.`, 'success', 3000);
    schedulePoll(300);
  } catch (err) {
    if (!(err instanceof AuthError)) toast(`Could not ${action} ${name}: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

function mergeOne(inst) {
  const list = [...state.instances.values()];
  const i = list.findIndex((x) => x.id === inst.id);
  if (i >= 0) list[i] = { ...list[i], ...inst }; else list.push(inst);
  return list;
}

function confirmDialog(text) {
  const dlg = $('#confirm-dialog');
  if (typeof dlg.showModal !== 'function') return Promise.resolve(window.confirm(text));
  $('#confirm-text').textContent = text;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
    $('#confirm-cancel').focus();
  });
}

async function deleteInstance(id, button) {
  const name = state.instances.get(id)?.name || id;
  const ok = await confirmDialog(`“${name}” will be stopped and permanently deleted. This cannot be undone.`);
  if (!ok) { button.focus(); return; }
  button.disabled = true;
  try {
    await api(`/instances/${encodeURIComponent(id)}`, { method: 'DELETE' });
    removeRow(id);
    state.instances.delete(id);
    renderInstances([...state.instances.values()]);
    toast(`Deleted ${name}.`, 'success', 3000);
    $('#refresh').focus();
  } catch (err) {
    button.disabled = false;
    if (err instanceof ApiError && err.status === 404) { removeRow(id); state.instances.delete(id); renderInstances([...state.instances.values()]); return; }
    if (!(err instanceof AuthError)) toast(`Could not delete ${name}: ${err.message}`);
  }
}

// ---------- create form ----------
const FIELD_MAP = {
  name: 'create-name',
  provider: 'create-provider',
  credentials: 'create-bot-token',
  'credentials.bottoken': 'create-bot-token',
  bottoken: 'create-bot-token',
  agent: 'create-backend',
  backend: 'create-backend',
  'agent.backend': 'create-backend',
  agentid: 'create-agent-id',
  'agent.agentid': 'create-agent-id',
  baseurl: 'create-base-url',
  'agent.baseurl': 'create-base-url',
};

function normalizeField(k) {
  return String(k).replace(/^\$\.?/, '').replace(/\[(\w+)\]/g, '.$1').replace(/[^a-zA-Z0-9.]/g, '').toLowerCase();
}

function clearFormErrors() {
  $('#create-error').textContent = '';
  document.querySelectorAll('#create-form .field-error').forEach((e) => { e.textContent = ''; });
  document.querySelectorAll('#create-form [aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}

function showFieldErrors(errors) {
  const unmatched = [];
  let first = null;
  for (const [key, msgs] of Object.entries(errors || {})) {
    const list = Array.isArray(msgs) ? msgs : [String(msgs)];
    const id = FIELD_MAP[normalizeField(key)];
    const input = id && document.getElementById(id);
    if (input && !input.closest('.field').hidden) {
      const errEl = document.getElementById(`${id}-error`);
      errEl.textContent = [errEl.textContent, ...list].filter(Boolean).join(' ');
      input.setAttribute('aria-invalid', 'true');
      first = first || input;
    } else {
      unmatched.push(...list.map((m) => (key ? `${key}: ${m}` : m)));
    }
  }
  return { first, unmatched };
}

function syncCreateFields() {
  const provider = $('#create-provider').value;
  const backend = $('#create-backend').value;
  $('#field-bot-token').hidden = provider !== 'telegram';
  $('#field-agent-id').hidden = backend === 'echo';
  $('#field-base-url').hidden = backend === 'echo';
  const hints = {
    webchat: 'Web chat needs no credentials. Visitors chat through the page at /webchat/{id} or the embed snippet.',
    telegram: 'Telegram needs the bot token of the bot you want to connect.',
    'whatsapp-web': 'WhatsApp Web needs no credentials: start the instance and scan the QR code shown here.',
  };
  $('#provider-hint').textContent = hints[provider] || '';
}

async function onCreate(ev) {
  ev.preventDefault();
  clearFormErrors();
  const name = $('#create-name').value.trim();
  const provider = $('#create-provider').value;
  const backend = $('#create-backend').value;
  const botToken = $('#create-bot-token').value.trim();
  const agentId = $('#create-agent-id').value.trim();
  const baseUrl = $('#create-base-url').value.trim();

  const local = {};
  if (!name) local.name = ['Name is required.'];
  if (provider === 'telegram' && !botToken) local['credentials.botToken'] = ['Bot token is required for Telegram.'];
  if (Object.keys(local).length) {
    const { first } = showFieldErrors(local);
    $('#create-error').textContent = 'Please correct the highlighted fields.';
    first && first.focus();
    return;
  }

  const credentials = provider === 'telegram' ? { botToken } : {};
  const agent = { backend };
  if (backend !== 'echo') { agent.agentId = agentId || null; agent.baseUrl = baseUrl || null; }
  const body = { name, provider, credentials, agent };

  const submit = $('#create-submit');
  submit.disabled = true;
  submit.textContent = 'Creating…';
  try {
    const created = await apiJson('/instances', { method: 'POST', body });
    $('#create-name').value = '';
    $('#create-bot-token').value = '';
    if (created && created.apiKey) showApiKeyPanel(created);
    else toast(`Created ${created?.name || name}.`, 'success', 3000);
    if (created && created.id) {
      const { apiKey, ...inst } = created; // never keep the key in state
      renderInstances(mergeOne(inst));
    }
    schedulePoll(300);
  } catch (err) {
    if (err instanceof AuthError) return;
    const problem = err instanceof ApiError ? err.problem : null;
    if (problem && problem.errors && Object.keys(problem.errors).length) {
      const { first, unmatched } = showFieldErrors(problem.errors);
      $('#create-error').textContent = [problem.title || 'The instance could not be created.', problem.detail, ...unmatched]
        .filter(Boolean).join(' ');
      first && first.focus();
    } else {
      $('#create-error').textContent = `The instance could not be created: ${err.message}`;
    }
  } finally {
    submit.disabled = false;
    submit.textContent = 'Create instance';
  }
}

// ---------- one-time API key panel ----------
function showApiKeyPanel(created) {
  $('#apikey-instance').textContent = created.name || created.id;
  $('#apikey-value').textContent = created.apiKey;
  $('#apikey-copy-status').textContent = '';
  const panel = $('#apikey-panel');
  panel.hidden = false;
  panel.scrollIntoView({ block: 'start', behavior: 'smooth' });
  panel.focus({ preventScroll: true });
}
function hideApiKeyPanel() {
  $('#apikey-value').textContent = '';
  $('#apikey-instance').textContent = '';
  $('#apikey-panel').hidden = true;
}
async function copyApiKey() {
  const value = $('#apikey-value').textContent;
  const status = $('#apikey-copy-status');
  try {
    await navigator.clipboard.writeText(value);
    status.textContent = 'Copied to clipboard.';
  } catch {
    // Fallback: select the text so the user can press Ctrl/Cmd+C.
    const range = document.createRange();
    range.selectNodeContents($('#apikey-value'));
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { /* ignore */ }
    status.textContent = ok ? 'Copied to clipboard.' : 'Selected — press Ctrl+C (⌘C) to copy.';
  }
}

// ---------- sign-in ----------
async function onSignIn(ev) {
  ev.preventDefault();
  const input = $('#signin-key');
  const key = input.value.trim();
  if (!key) {
    $('#signin-message').textContent = 'Enter the admin API key.';
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  const btn = $('#signin-submit');
  btn.disabled = true;
  btn.textContent = 'Signing in…';
  setKey(key);
  try {
    const data = await apiJson('/instances');
    input.value = '';
    $('#signin-message').textContent = '';
    showApp();
    renderInstances(Array.isArray(data) ? data : (data && data.items) || []);
    startLive();
  } catch (err) {
    if (!(err instanceof AuthError)) {
      // Server unreachable or error: keep the key and let polling retry.
      showApp();
      startLive();
      toast(`Signed in, but the instance list could not be loaded: ${err.message}`);
    } else if (!$('#signin-message').textContent.includes('admin access')) {
      $('#signin-message').textContent = 'The API key was rejected. Check it and try again.';
    }
  } finally {
    btn.disabled = false;
    btn.textContent = 'Sign in';
  }
}

// ---------- boot ----------
function init() {
  $('#signin-form').addEventListener('submit', onSignIn);
  $('#signout').addEventListener('click', signOut);
  $('#refresh').addEventListener('click', () => schedulePoll(0));
  $('#create-form').addEventListener('submit', onCreate);
  $('#create-provider').addEventListener('change', () => { clearFormErrors(); syncCreateFields(); });
  $('#create-backend').addEventListener('change', syncCreateFields);
  $('#create-form').addEventListener('input', (e) => {
    if (e.target.getAttribute('aria-invalid') === 'true') {
      e.target.removeAttribute('aria-invalid');
      const err = document.getElementById(`${e.target.id}-error`);
      if (err) err.textContent = '';
    }
  });
  $('#apikey-copy').addEventListener('click', copyApiKey);
  $('#apikey-dismiss').addEventListener('click', hideApiKeyPanel);
  setInterval(updateQrCountdowns, 1000);
  syncCreateFields();

  state.key = getKey();
  if (state.key) {
    showApp();
    startLive();
  } else {
    showSignIn('');
  }
}

init();
