/* omnisdk web chat widget, wire format v1 (docs/webchat.md). One file, no framework.
 * Embed: <script src="https://gateway/chat/ACCOUNT/widget.js" data-account="ACCOUNT"
 *          data-identity="PORTAL_JWT (optional)" defer></script>
 * Keyboard: Enter sends, Shift+Enter is a new line, Escape closes the panel. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script.src, location.href);
  var account = script.getAttribute("data-account");
  var identity = script.getAttribute("data-identity");
  var root = base.origin + "/chat/" + encodeURIComponent(account);
  var storeKey = "omnisdk-webchat:" + account;
  var state = JSON.parse(localStorage.getItem(storeKey) || "{}");
  var seen = {}, pending = [], ws = null, mode = "socket", key = null, interactionId = null, wsFailures = 0;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }
  function save() { localStorage.setItem(storeKey, JSON.stringify(state)); }
  function cid() {
    var a = new Uint8Array(12); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function b64urlToBytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/"); while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function sign(body) {
    return crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)).then(function (sig) {
      return "v1=" + Array.prototype.map.call(new Uint8Array(sig), function (b) {
        return ("0" + b.toString(16)).slice(-2); }).join("");
    });
  }

  /* --- the panel ------------------------------------------------------------------------- */
  var launcher = el("button", {type: "button", "aria-expanded": "false", "aria-controls": "omnisdk-chat",
                               "class": "omnisdk-chat-launcher"}, "Chat with us");
  var panel = el("section", {id: "omnisdk-chat", role: "dialog", "aria-label": "Chat", hidden: ""});
  var log = el("div", {role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0",
                       "class": "omnisdk-chat-log"});
  var typing = el("p", {"aria-live": "polite", "class": "omnisdk-chat-typing"});
  var status = el("p", {role: "status", "class": "omnisdk-chat-status"});
  var form = el("form", {"aria-label": "Send a message"});
  var input = el("textarea", {role: "textbox", "aria-label": "Message", "aria-multiline": "true", rows: "2"});
  var file = el("input", {type: "file", "aria-label": "Attach a file"});
  var send = el("button", {type: "submit", "aria-label": "Send message"}, "Send");
  var end = el("button", {type: "button", "aria-label": "End chat"}, "End chat");
  var survey = el("form", {"aria-label": "How did we do?", hidden: ""});
  form.append(input, file, send);
  var legend = el("fieldset", {}); legend.append(el("legend", {}, "How did we do? (1 to 5)"));
  for (var n = 1; n <= 5; n++) {
    var label = el("label", {}); var radio = el("input", {type: "radio", name: "score", value: String(n)});
    label.append(radio, document.createTextNode(" " + n)); legend.append(label);
  }
  var comment = el("input", {type: "text", "aria-label": "Comment", maxlength: "1000"});
  survey.append(legend, comment, el("button", {type: "submit", "aria-label": "Send survey"}, "Send survey"));
  panel.append(log, typing, status, form, end, survey);
  var style = el("style", {}, ".omnisdk-chat-launcher{position:fixed;right:1rem;bottom:1rem}" +
    "#omnisdk-chat{position:fixed;right:1rem;bottom:3.5rem;width:20rem;background:#fff;border:1px solid #555;padding:.5rem}" +
    ".omnisdk-chat-log{height:16rem;overflow:auto}.omnisdk-chat-log p{margin:.25rem 0}" +
    ".omnisdk-chat-log .out{text-align:left}.omnisdk-chat-log .in{text-align:right}" +
    "#omnisdk-chat textarea{width:100%}#omnisdk-chat :focus{outline:2px solid #005fcc}");
  document.head.append(style);
  document.body.append(launcher, panel);

  function open(show) {
    panel.hidden = !show; launcher.setAttribute("aria-expanded", String(show));
    (show ? input : launcher).focus();
    if (show) readAll();
  }
  launcher.addEventListener("click", function () { open(panel.hidden); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") open(false); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  var typingTimer = null;
  input.addEventListener("input", function () {
    if (!typingTimer) transmit({v: 1, type: "typing", state: "on"});
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingTimer = null; transmit({v: 1, type: "typing", state: "off"}); }, 3000);
  });

  function show(frame) {
    if (frame.type === "typing") { typing.textContent = frame.state === "on" ? "Agent is typing…" : ""; return; }
    if (frame.type !== "message" || seen[frame.id]) return;
    seen[frame.id] = true;
    if (frame.interaction_id) interactionId = frame.interaction_id;
    var p = el("p", {"class": frame.direction === "outbound" ? "out" : "in", "data-id": frame.id});
    p.textContent = (frame.direction === "outbound" ? "Agent: " : "You: ") + (frame.text || "");
    (frame.media || []).forEach(function (m) {
      var a = el("a", {href: m.url, rel: "noopener noreferrer", target: "_blank"}, m.caption || m.filename || m.media_type);
      p.append(" ", a);
    });
    (frame.attachments || []).forEach(function (a) { p.append(" [" + (a.filename || a.mime_type) + "]"); });
    log.append(p); log.scrollTop = log.scrollHeight;
    if (frame.direction === "outbound") {
      typing.textContent = "";
      transmit({v: 1, type: "receipt", id: cid(), message_id: frame.id, status: "delivered"});
      if (!panel.hidden && document.visibilityState === "visible") receipt(frame.id);
    }
  }
  var read = {};
  function receipt(id) {
    if (read[id]) return; read[id] = true;
    transmit({v: 1, type: "receipt", id: cid(), message_id: id, status: "read"});
  }
  function readAll() { Object.keys(seen).forEach(function (id) { if (id.indexOf("wco_") === 0) receipt(id); }); }
  function frames(list) {
    list.forEach(function (f) { show(f); if (f.seq > (state.seq || 0)) { state.seq = f.seq; } });
    save();
  }

  /* --- transport: WebSocket, else long-poll ----------------------------------------------- */
  function transmit(frame) {
    frame.session = state.session;
    var body = JSON.stringify(frame);
    var item = {body: body, id: frame.id, durable: frame.type !== "typing"};
    if (item.durable) pending.push(item);
    return flushOne(item);
  }
  function flushOne(item) {
    return sign(item.body).then(function (sig) {
      if (mode === "socket" && ws && ws.readyState === 1) {
        ws.send(JSON.stringify({signature: sig, frame: item.body}));
        ws.omnisdkSent.push(item);
        return;
      }
      if (mode !== "poll") return;  /* sent once the socket opens */
      return fetch(root + "/frames", {method: "POST", body: item.body, headers: {
        "Content-Type": "application/json", "Authorization": "Bearer " + state.token, "X-Webchat-Signature": sig}})
        .then(function (r) { return r.json().then(function (j) { acked(r.ok ? j : {type: "error", error: j.error, status: r.status}, item); }); });
    }).catch(function () {
      /* the network is down: try again while the frame is unacknowledged (its id makes a resend idempotent) */
      status.textContent = "Not sent yet: retrying.";
      setTimeout(function () { if (pending.indexOf(item) >= 0) flushOne(item); }, 2000);
    });
  }
  function acked(answer, item) {
    if (answer.type === "ack") {
      pending = pending.filter(function (p) { return p.id !== (item ? item.id : answer.id); });
      status.textContent = "";
    } else if (answer.type === "error") {
      if (answer.status < 500 && answer.status !== 429) pending = pending.filter(function (p) { return !item || p.id !== item.id; });
      status.textContent = "Not sent: " + answer.error;
    }
  }
  function resend() { pending.forEach(flushOne); }

  /* Reconnecting (docs/webchat.md, "Reconnecting"): exponential backoff with jitter, 1 s doubling
   * to 60 s, each wait between half and all of its step; the step is reset by a socket that was
   * welcomed and stayed open STABLE_MS, or by a poll answered.  A close that means "do not come
   * back" (4400, 4403) ends it; a refused session (4401, a poll's 401) gets one new session, and
   * another refusal before a stable connection ends it instead of looping. */
  var BACKOFF_MS = 1000, BACKOFF_CAP_MS = 60000, STABLE_MS = 10000;
  var FINAL = {4400: "the chat could not start", 4403: "this page may not open the chat"};
  var step = BACKOFF_MS, renewed = false, stopped = false, retryTimer = null;
  function later(fn) {
    var wait = step * (0.5 + Math.random() / 2);
    step = Math.min(BACKOFF_CAP_MS, step * 2);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(fn, wait);
  }
  function settled() { step = BACKOFF_MS; renewed = false; }
  function halt(why) {
    stopped = true; mode = "closed"; clearTimeout(retryTimer);
    status.textContent = "Chat unavailable: " + why + ". Reload the page to try again.";
  }
  function renew() {
    if (renewed) return halt("the chat session was refused");
    renewed = true; state = {}; save(); return start();
  }
  function connect() {
    if (stopped) return;
    var url = root.replace(/^http/, "ws") + "/socket";
    var socket;
    try { socket = ws = new WebSocket(url); } catch (e) { return poll(); }
    var opened = false, welcomedAt = 0;
    socket.omnisdkSent = [];  /* frames sent on this socket, oldest first */
    socket.onopen = function () { opened = true; wsFailures = 0; socket.send(JSON.stringify({type: "hello", token: state.token, after: state.seq || 0})); };
    socket.onmessage = function (e) {
      var f = JSON.parse(e.data);
      if (f.type === "welcome") { welcomedAt = Date.now(); status.textContent = ""; resend(); return; }
      if (f.type === "ack" || f.type === "error") {
        if (f.type === "ack") pending = pending.filter(function (p) { return p.id !== f.id; });
        else status.textContent = "Not sent: " + f.error;
        return;
      }
      frames([f]);
    };
    socket.onclose = function (e) {
      if (welcomedAt && Date.now() - welcomedAt >= STABLE_MS) settled();
      if (FINAL[e.code]) return halt(FINAL[e.code]);
      if (e.code === 4401) return renew();
      if (e.code === 4413) {  /* the oldest frame this socket took and did not acknowledge is too large: not again */
        var big = socket.omnisdkSent.filter(function (p) { return pending.indexOf(p) >= 0; })[0];
        pending = pending.filter(function (p) { return p !== big; });
      }
      if (!opened) wsFailures++;
      if (wsFailures >= 2) { mode = "poll"; resend(); return poll(); }
      later(connect);  /* 1008 (too many sockets from this address), 4408, 4429, 4503, a dropped network … */
    };
  }
  function poll() {
    if (stopped) return;
    mode = "poll";
    fetch(root + "/poll?after=" + (state.seq || 0), {headers: {"Authorization": "Bearer " + state.token}})
      .then(function (r) {
        if (r.status === 401) throw new Error("session");
        if (!r.ok) throw new Error("poll " + r.status);
        return r.json();
      })
      .then(function (j) { settled(); frames(j.frames); poll(); })
      .catch(function (e) { if (e.message === "session") renew(); else later(poll); });
  }
  function start() {
    var body = {};
    if (identity) body.identity = identity; else if (state.token) body.token = state.token;
    return fetch(root + "/session", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
      .then(function (r) {
        if (r.status === 401 && body.token) { state = {}; save(); return start(); }
        if (r.status >= 500 || r.status === 429) throw new Error("session " + r.status);
        return r.json();
      })
      .then(function (s) {
        if (!s || !s.token) return;
        if (s.session !== state.session) state.seq = 0;
        state.token = s.token; state.session = s.session; save();
        return crypto.subtle.importKey("raw", b64urlToBytes(s.frame_key), {name: "HMAC", hash: "SHA-256"}, false, ["sign"])
          .then(function (k) { key = k; if (mode === "poll") poll(); else connect(); });
      })
      .catch(function () { if (!stopped) later(start); });  /* the network or the gateway is down: try again */
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim(), f = file.files && file.files[0];
    if (!text && !f) return;
    var frame = {v: 1, type: "message", id: cid()};
    if (text) frame.text = text;
    var go = function () { transmit(frame); input.value = ""; file.value = ""; input.focus(); };
    if (!f) return go();
    var reader = new FileReader();
    reader.onload = function () {
      frame.attachments = [{mime_type: f.type, filename: f.name, data: String(reader.result).split(",")[1]}];
      go();
    };
    reader.readAsDataURL(f);
  });
  end.addEventListener("click", function () { form.hidden = true; end.hidden = true; survey.hidden = false;
    survey.querySelector("input[type=radio]").focus(); });
  survey.addEventListener("submit", function (e) {
    e.preventDefault();
    var checked = survey.querySelector("input[name=score]:checked");
    if (!checked) { status.textContent = "Choose a score from 1 to 5."; return; }
    var frame = {v: 1, type: "survey", id: cid(), score: Number(checked.value), interaction_id: interactionId};
    if (comment.value) frame.comment = comment.value;
    transmit(frame); survey.hidden = true; status.textContent = "Thank you for your answer.";
  });
  document.addEventListener("visibilitychange", function () { if (!panel.hidden) readAll(); });
  window.omnisdkWebchat = {open: function () { open(true); }, state: function () { return {mode: mode, seq: state.seq, session: state.session}; }};
  start();
})();
