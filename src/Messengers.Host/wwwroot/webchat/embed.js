/*
 * Messengers web chat embed snippet.
 *   <script src="https://your-host/webchat/embed.js" data-instance="INSTANCE_ID" async></script>
 * Optional: data-title="Support" (header text), data-label="Chat with us" (button text),
 *           data-position="left" (default right), data-color="#1f5fd1".
 * Adds a floating button that opens /webchat/{id} in an iframe. Styles are isolated in a shadow root.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll('script[data-instance][src*="embed.js"]');
    script = all[all.length - 1];
  }
  if (!script || !script.getAttribute('data-instance')) {
    if (window.console) console.warn('[messengers] embed.js: missing data-instance attribute');
    return;
  }
  var instance = script.getAttribute('data-instance');
  var origin = new URL(script.src, location.href).origin;
  var label = script.getAttribute('data-label') || 'Chat';
  var title = script.getAttribute('data-title') || '';
  var left = script.getAttribute('data-position') === 'left';
  var color = script.getAttribute('data-color') || '#1f5fd1';
  if (!/^#[0-9a-fA-F]{3,8}$/.test(color)) color = '#1f5fd1';
  var src = origin + '/webchat/' + encodeURIComponent(instance) + (title ? '?title=' + encodeURIComponent(title) : '');
  var side = left ? 'left' : 'right';

  function mount() {
    if (document.getElementById('messengers-webchat-' + instance)) return;
    var host = document.createElement('div');
    host.id = 'messengers-webchat-' + instance;
    host.style.cssText = 'position:fixed;z-index:2147483000;bottom:0;' + side + ':0;width:0;height:0;';
    var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
    var panelId = 'mw-panel';
    root.innerHTML =
      '<style>' +
      ':host{all:initial}' +
      '.btn{position:fixed;bottom:20px;' + side + ':20px;display:inline-flex;align-items:center;gap:8px;' +
      'height:52px;padding:0 20px 0 16px;border:0;border-radius:26px;background:' + color + ';color:#fff;' +
      'font:600 15px/1 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;cursor:pointer;' +
      'box-shadow:0 6px 20px rgba(16,24,40,.25)}' +
      '.btn:hover{filter:brightness(.92)}' +
      '.btn:focus-visible{outline:3px solid #86a8ec;outline-offset:3px}' +
      '.btn svg{width:22px;height:22px;fill:currentColor}' +
      '.panel{position:fixed;bottom:84px;' + side + ':20px;width:380px;height:600px;' +
      'max-width:calc(100vw - 40px);max-height:calc(100vh - 104px);border-radius:14px;overflow:hidden;' +
      'background:#fff;box-shadow:0 12px 40px rgba(16,24,40,.3);border:1px solid #d8dee6}' +
      '.panel[hidden]{display:none}' +
      'iframe{border:0;width:100%;height:100%;display:block}' +
      '@media (max-width:480px){.panel{' + side + ':0;bottom:0;top:0;width:100vw;max-width:none;height:auto;max-height:none;border-radius:0}' +
      '.btn[aria-expanded="true"]{bottom:auto;top:10px;' + side + ':10px;height:40px;padding:0 14px}}' +
      '</style>' +
      '<div class="panel" id="' + panelId + '" role="dialog" hidden></div>' +
      '<button class="btn" type="button" aria-expanded="false" aria-controls="' + panelId + '">' +
      '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>' +
      '<span class="lbl"></span></button>';
    var btn = root.querySelector('.btn');
    var lbl = root.querySelector('.lbl');
    var panel = root.querySelector('.panel');
    lbl.textContent = label;
    panel.setAttribute('aria-label', title || label);
    var frame = null;

    function setOpen(open) {
      if (open && !frame) {
        frame = document.createElement('iframe');
        frame.src = src;
        frame.title = label;
        frame.setAttribute('allow', 'clipboard-write');
        frame.setAttribute('referrerpolicy', 'no-referrer');
        panel.appendChild(frame);
      }
      panel.hidden = !open;
      btn.setAttribute('aria-expanded', open ? 'true' : 'false');
      lbl.textContent = open ? 'Close' : label;
      if (open && frame) { try { frame.focus(); } catch (e) { /* cross-origin */ } }
    }
    btn.addEventListener('click', function () { setOpen(panel.hidden); });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && !panel.hidden) { setOpen(false); btn.focus(); }
    });
    document.body.appendChild(host);
  }

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
