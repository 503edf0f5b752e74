// The omnisdk reference agent console: one module, no framework, no build step.
// It talks only to the agent API (docs/agent-api.md) with the credential typed in at sign-in,
// kept in sessionStorage and sent as a header (X-API-Key or Authorization: Bearer), never in a URL.
// Live updates: GET /v1/events read with fetch() and a ReadableStream (EventSource cannot send headers).

const $ = (id) => document.getElementById(id);
const CRED = "omnisdk.console.credential";
const ACTIVE = ["offered", "work_in_progress", "on_hold", "wrap_up"];
const state = {
  config: { oidc: null, wrap_up_codes: [], default_wrap_up_code: null },
  me: null, items: new Map(), cases: new Map(), current: null, selected: null, flagged: new Set(), lastEventId: null, stream: null,
  caseId: null, caseInteractions: new Set(), caseTurn: 0,
};

class ApiError extends Error {
  constructor(status, body) {
    super(`${status} ${body && body.error ? body.error : ""}: ${body && typeof body.detail === "string" ? body.detail : JSON.stringify(body && body.detail)}`);
    this.status = status;
  }
}

function credential() {
  const raw = sessionStorage.getItem(CRED);
  return raw ? JSON.parse(raw) : null;
}

function authHeaders() {
  const cred = credential();
  if (!cred) return {};
  return cred.kind === "bearer" ? { Authorization: `Bearer ${cred.value}` } : { "X-API-Key": cred.value };
}

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { ...authHeaders(), ...headers }, cache: "no-store" };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body ?? {});
  }
  const resp = await fetch(`/v1${path}`, init);
  const text = await resp.text();
  const doc = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new ApiError(resp.status, doc);
  return doc;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function short(id) { return id.slice(-12); }

function showError(where, exc) { $(where).textContent = exc ? String(exc.message || exc) : ""; }

// --- sign-in ---------------------------------------------------------------------------------

async function loadConfig() {
  const resp = await fetch("/console/config.json", { cache: "no-store" });
  state.config = await resp.json();
  if (state.config.oidc) {
    $("oidc-box").hidden = false;
    $("issuer").textContent = state.config.oidc.issuer;
    $("oidc-login-box").hidden = !state.config.oidc.login;
  }
  const codes = $("wrap-code");
  codes.replaceChildren(...state.config.wrap_up_codes.map((c) => el("option", { value: c, text: c })));
  if (state.config.default_wrap_up_code) codes.value = state.config.default_wrap_up_code;
}

async function signIn(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  const token = $("bearer").value.trim();
  if (!key && !token) { showError("login-error", "Type an API key or an access token."); return; }
  sessionStorage.setItem(CRED, JSON.stringify(key ? { kind: "key", value: key } : { kind: "bearer", value: token }));
  $("api-key").value = ""; $("bearer").value = "";
  await start();
}

// --- sign-in at the identity provider: authorization code + PKCE (RFC 6749 §4.1, RFC 7636) ---
// The verifier and state live in sessionStorage only for the round trip; the code comes back in
// the address bar and is removed from it at once; the gateway redeems it (POST /console/oidc/token)
// so the page never talks to another origin. The access token is kept like a pasted one.

const PKCE = "omnisdk.console.pkce";

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(n) { return base64url(crypto.getRandomValues(new Uint8Array(n))); }

function redirectUri() { return `${location.origin}/console/`; }

async function oidcLogin() {
  const login = state.config.oidc && state.config.oidc.login;
  if (!login) return;
  const verifier = randomString(32);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const flow = { verifier, state: randomString(16) };
  sessionStorage.setItem(PKCE, JSON.stringify(flow));
  const q = new URLSearchParams({
    response_type: "code", client_id: login.client_id, redirect_uri: redirectUri(), scope: login.scope,
    state: flow.state, code_challenge: challenge, code_challenge_method: "S256", nonce: randomString(16) });
  const url = new URL(login.authorization_endpoint);
  for (const [k, v] of q) url.searchParams.set(k, v);
  location.assign(url.toString());
}

async function oidcReturn() {
  // Back from the identity provider: true when this load was its redirect (handled here).
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return false;
  history.replaceState(null, "", "/console/"); // the code leaves the address bar (and history) at once
  const flow = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE);
  if (params.has("error")) { showError("login-error", `The identity provider refused: ${params.get("error")}`); return true; }
  if (!flow || params.get("state") !== flow.state) { showError("login-error", "That sign-in did not start here (state mismatch)."); return true; }
  const resp = await fetch("/console/oidc/token", {
    method: "POST", headers: { "Content-Type": "application/json" }, cache: "no-store",
    body: JSON.stringify({ code: params.get("code"), code_verifier: flow.verifier, redirect_uri: redirectUri() }) });
  const doc = await resp.json();
  if (!resp.ok) { showError("login-error", doc.detail || doc.error); return true; }
  sessionStorage.setItem(CRED, JSON.stringify({ kind: "bearer", value: doc.access_token }));
  await start();
  return true;
}

async function start() {
  try {
    state.me = await api("/me");
  } catch (exc) {
    sessionStorage.removeItem(CRED);
    showError("login-error", exc.status === 401 ? "That credential was refused." : exc);
    return;
  }
  showError("login-error", null);
  $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
  $("who").textContent = `${state.me.agent || state.me.subject} (${state.me.role})`;
  $("tab-supervisor").hidden = state.me.role === "agent";
  await Promise.all([reloadList(), loadTargets()]);
  follow();
}

function signOut() {
  sessionStorage.removeItem(CRED);
  if (state.stream) state.stream.abort();
  location.reload();
}

// --- lists -----------------------------------------------------------------------------------

async function reloadList() {
  const q = new URLSearchParams({ active: "true", limit: "200" });
  const page = await api(`/interactions?${q}`);
  state.items = new Map(page.items.map((i) => [i.id, i]));
  renderLists();
}

function mine(inter) { return state.me.role !== "agent" || inter.agent === state.me.agent; }

function renderLists() {
  const all = [...state.items.values()].filter((i) => ACTIVE.includes(i.state) && mine(i));
  const offers = all.filter((i) => i.state === "offered");
  const ongoing = all.filter((i) => i.state !== "offered");
  $("inbox").replaceChildren(...offers.map((i) => el("li", { "data-id": i.id },
    el("button", { class: "open", type: "button", text: `${i.channel} · ${i.customer_name || i.customer}`, onclick: () => select(i.id) }),
    el("button", { type: "button", text: "Accept", "aria-label": `Accept ${i.channel} from ${i.customer}`, onclick: () => act(i.id, "accept") }),
    el("button", { type: "button", text: "Reject", "aria-label": `Reject ${i.channel} from ${i.customer}`, onclick: () => act(i.id, "reject") }))));
  $("ongoing").replaceChildren(...ongoing.map((i) => el("li", { "data-id": i.id },
    el("button", { class: "open", type: "button", text: `${i.channel} · ${i.customer_name || i.customer} · ${i.state}`, onclick: () => select(i.id) }),
    ...(state.flagged.has(i.id) ? [el("span", { class: "flag", text: "new" })] : []))));
  $("inbox-count").textContent = offers.length ? `(${offers.length})` : "";
  $("ongoing-count").textContent = ongoing.length ? `(${ongoing.length})` : "";
}

function showTab(name) {
  for (const t of ["inbox", "ongoing", "supervisor"]) {
    $(`tab-${t}`).setAttribute("aria-selected", String(t === name));
    $(`view-${t}`).hidden = t !== name;
  }
  if (name === "supervisor") loadSupervisor().catch((exc) => showError("action-error", exc));
}

async function loadTargets() {
  const [queues, agents] = await Promise.all([api("/queues"), api("/agents?limit=200")]);
  const options = [el("option", { value: "", text: "—" })];
  for (const q of queues) options.push(el("option", { value: `queue:${q.name}`, text: `queue ${q.name}` }));
  for (const a of agents.items) if (a.id !== state.me.agent) options.push(el("option", { value: `agent:${a.id}`, text: `agent ${a.name || a.id}` }));
  $("transfer-to").replaceChildren(...options);
}

async function loadSupervisor() {
  const [queues, agents] = await Promise.all([api("/queues"), api("/agents?limit=200")]);
  $("queues").tBodies[0].replaceChildren(...queues.map((q) => el("tr", {},
    el("td", { text: q.name }), el("td", { text: String(q.waiting) }), el("td", { text: q.channels.join(", ") || "all" }))));
  const fmt = (m) => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(", ") || "—";
  $("agents").tBodies[0].replaceChildren(...agents.items.map((a) => el("tr", {},
    el("td", { text: a.name || a.id }), el("td", { text: a.presence }), el("td", { text: fmt(a.load) }), el("td", { text: fmt(a.free_capacity) }))));
  if (state.me.scopes.includes("stats:read")) {
    const stats = await api("/stats");
    $("stats").textContent = Object.entries(stats).slice(0, 12).map(([k, v]) => `${k}: ${v}`).join(" · ");
  }
}

// --- one conversation ------------------------------------------------------------------------

function quoteSplit(text) {
  // An email's quoted part: the lines starting with ">" and everything after "On … wrote:".
  const lines = text.split("\n");
  const at = lines.findIndex((l, n) => l.startsWith(">") || (/^On .+ wrote:$/.test(l.trim()) && n > 0));
  return at < 0 ? [text, ""] : [lines.slice(0, at).join("\n"), lines.slice(at).join("\n")];
}

function botUntil(i, history) {
  // When a virtual agent answered first: the moment it escalated (its "escalated by …" step),
  // or now while it still holds the interaction; null when no bot took part.
  if (i.virtual_agent && !(i.context || {}).escalated) return Infinity;
  const from = (history || []).findIndex((h) => (h.note || "").startsWith("escalated by"));
  if (from < 0) return null;
  // a person can only write once they accepted: everything outbound before that is the bot's
  const accepted = history.slice(from).find((h) => h.to_state === "work_in_progress");
  return accepted ? new Date(accepted.at).getTime() : Infinity;
}

function messageItem(m, i, until) {
  const channel = i.channel;
  const body = m.body || {};
  const text = body.text ?? (m.kind === "text" ? "" : `[${m.kind || "message"}]`);
  const byBot = until !== null && new Date(m.created_at).getTime() <= until;
  const who = m.direction === "inbound" ? "Customer" : byBot ? "Bot" : "Agent";
  const item = el("li", { class: m.direction });
  item.append(el("span", { class: "meta", text: `${who} · ${m.created_at}${m.status ? " · " + m.status : ""}` }));
  if (channel === "email") {
    const mail = body.email || {};
    const subject = mail.subject || body.subject;
    if (subject) item.append(el("strong", { text: subject + "\n" }));
    // the mail plugin keeps the new text in "text" and the whole body in email.full_text
    const full = mail.full_text || "";
    const [fresh, quoted] = mail.quoted && full
      ? [text || "", full.startsWith(text || "") ? full.slice((text || "").length).trim() : full]
      : quoteSplit(text || "");
    item.append(fresh);
    if (quoted) item.append(el("details", {}, el("summary", { text: "Quoted text" }), el("pre", { text: quoted })));
    const t = body.threading;
    if (t) item.append(el("span", { class: "threading", text: `threading: ${t.rule} (score ${t.score}) ${t.detail || t.reason || ""}` }));
  } else {
    item.append(`${who}: ${text}`);
  }
  return item;
}

async function select(id) {
  state.selected = id;
  state.flagged.delete(id);
  renderLists();
  await renderConversation();
}

async function renderConversation() {
  const id = state.selected;
  if (!id) { $("conversation").hidden = true; return; }
  state.flagged.delete(id);
  const doc = await api(`/interactions/${encodeURIComponent(id)}`);
  const i = doc.interaction;
  state.current = i;
  if (ACTIVE.includes(i.state)) state.items.set(i.id, i);
  $("conversation").hidden = false;
  $("conv-title").textContent = `${i.channel} · ${i.customer_name || i.customer}`;
  $("conv-meta").textContent = `${i.state} · queue ${i.queue || "—"} · agent ${i.agent || "—"} · ${short(i.id)}`
    + (i.case_id ? ` · case ${state.cases.get(i.case_id)?.number || short(i.case_id)}` : "") + (doc.window_open === false ? " · window closed" : "");
  const ctx = Object.keys(i.context || {}).length ? JSON.stringify(i.context, null, 2) : "";
  $("conv-context").hidden = !ctx;
  $("conv-context").querySelector("pre").textContent = ctx;
  $("messages").replaceChildren(...doc.messages.map((m) => messageItem(m, i, botUntil(i, doc.history))));
  $("messages").scrollTop = $("messages").scrollHeight;
  $("call").hidden = i.channel !== "voice";
  $("summary").textContent = "";
  renderCase(i.case_id).catch((exc) => showError("action-error", exc));
  renderLists();
  loadOthers(i).catch(() => $("others").replaceChildren());
}

async function loadOthers(i) {
  const q = new URLSearchParams({ channel: i.channel, address: i.customer });
  let contact;
  try { contact = await api(`/contacts?${q}`); } catch (exc) {
    if (exc.status === 404) { $("others").replaceChildren(el("li", { text: "none" })); return; }
    throw exc;
  }
  const others = (contact.interactions || []).filter((o) => o.id !== i.id);
  $("others").replaceChildren(...(others.length ? others.map((o) => el("li", {},
    el("button", { type: "button", class: "open", text: `${o.channel} · ${o.state} · ${o.created_at}`, onclick: () => select(o.id) })))
    : [el("li", { text: "none" })]));
}

async function act(id, action, body) {
  showError("action-error", null);
  try {
    await api(`/interactions/${encodeURIComponent(id)}/${action}`, { method: "POST", body });
    if (action === "accept") { state.selected = id; showTab("ongoing"); }
    await reloadList();
    if (state.selected) await renderConversation();
  } catch (exc) {
    showError("action-error", exc);
  }
}

async function reply(event) {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text || !state.selected) return;
  showError("action-error", null);
  try {
    await api(`/interactions/${encodeURIComponent(state.selected)}/reply`, {
      method: "POST", body: { text }, headers: { "Idempotency-Key": crypto.randomUUID() } });
    $("reply-text").value = "";
    await renderConversation();
  } catch (exc) {
    showError("action-error", exc);
  }
}

function transfer() {
  const to = $("transfer-to").value;
  if (!to || !state.selected) return;
  const [kind, name] = [to.slice(0, to.indexOf(":")), to.slice(to.indexOf(":") + 1)];
  act(state.selected, "transfer", kind === "queue" ? { to_queue: name } : { to_agent: name });
}

async function renderCase(caseId) {
  // The case form and the case view: GET /v1/cases/{id} (state, history, every linked
  // interaction with its messages: the chat it was opened from, the mail of its resolution …).
  // Only the latest call draws: an older GET answered late (an event's refresh overtook it)
  // would show the case as it was before.
  state.caseId = caseId || null;
  const turn = ++state.caseTurn;
  let c = caseId ? state.cases.get(caseId) : null;
  if (caseId) {
    try { c = keepCase(await api(`/cases/${encodeURIComponent(caseId)}`)); } catch (exc) { if (!c) showError("action-error", exc); }
  }
  if (turn !== state.caseTurn) return; // another conversation was opened, or a newer refresh began
  $("case-info").textContent = c ? `Case ${c.number} · ${c.subject} · ${c.state}` : caseId ? `Linked to case ${short(caseId)}` : "";
  $("case-form").hidden = !c;
  $("resolution-form").hidden = !c || !["new", "in_progress"].includes(c.state);
  $("case-view").hidden = !(c && c.interactions);
  state.caseInteractions = new Set(c && c.interactions ? c.interactions.map((x) => x.id) : []);
  if (!c || !c.interactions) return;
  const to = $("resolution-to");
  if (!to.value) to.value = (c.contacts || [])[0] || (c.customer.includes("@") ? c.customer : "");
  $("case-view-title").textContent = `Case ${c.number}: ${c.subject}`;
  $("case-history").replaceChildren(...(c.state_history || []).map((h) => el("li", {
    text: `${h.at} · ${h.from_state} → ${h.to_state} · by ${h.by}${h.note ? " · " + h.note : ""}` })));
  $("case-interactions").replaceChildren(...c.interactions.map((x) => el("section", { class: "case-inter" },
    el("h4", { text: `${x.channel} · ${x.direction} · ${x.state} · ${x.customer} · ${short(x.id)}` }),
    x.readable ? el("ol", { class: "case-messages" }, ...x.messages.map((m) => messageItem(m, x, opened(c, x))))
      : el("p", { class: "muted", text: "outside your queues" }))));
}

function opened(c, x) {
  // The bot's turns of the interaction the case was opened from, told by the history the case copied.
  return c.context && c.context.id === x.id ? botUntil(c.context, c.transitions) : null;
}

let caseTimer = null;
function soonCase() {
  clearTimeout(caseTimer);
  caseTimer = setTimeout(() => { if (state.caseId) renderCase(state.caseId).catch(() => {}); }, 100);
}

async function sendResolution(event) {
  event.preventDefault();
  const c = state.caseId && state.cases.get(state.caseId);
  const text = $("resolution-text").value.trim();
  if (!c || !text) return;
  const to = $("resolution-to").value.trim();
  showError("action-error", null);
  try {
    const doc = await api(`/cases/${encodeURIComponent(c.id)}/resolution`, { method: "POST", body: { text, ...(to ? { to } : {}) } });
    keepCase(doc.case);
    // the mail's interaction is new: its events (the mail stored once the outbox sent it) must
    // refresh the case view even if they arrive before the GET below answers
    state.caseInteractions.add(doc.interaction.id);
    $("resolution-text").value = "";
    await renderCase(c.id);
    await reloadList();
  } catch (exc) { showError("action-error", exc); }
}

function keepCase(c) { state.cases.set(c.id, c); return c; }

async function moveCase(event) {
  event.preventDefault();
  const i = state.current;
  const c = i && state.cases.get(i.case_id);
  if (!c) return;
  const note = $("case-note").value.trim();
  try {
    keepCase(await api(`/cases/${encodeURIComponent(c.id)}/state`, { method: "POST", body: { state: $("case-state").value, ...(note ? { note } : {}) } }));
    $("case-note").value = "";
    await renderCase(c.id);
  } catch (exc) { showError("action-error", exc); }
}

async function createCase() {
  const subject = $("case-subject").value.trim();
  try {
    keepCase(await api(`/interactions/${encodeURIComponent(state.selected)}/case`, { method: "POST", body: subject ? { subject } : {} }));
    $("case-subject").value = "";
    await reloadList();
    await renderConversation();
  } catch (exc) { showError("action-error", exc); }
}

async function linkCase() {
  const number = $("case-number").value.trim();
  if (!number) return;
  try {
    keepCase(await api(`/interactions/${encodeURIComponent(state.selected)}/case-link`, { method: "POST", body: { case: number } }));
    $("case-number").value = "";
    await renderConversation();
  } catch (exc) { showError("action-error", exc); }
}

async function summarize() {
  try {
    const doc = await api(`/interactions/${encodeURIComponent(state.selected)}/summary`);
    $("summary").textContent = doc.summary || "(nothing to summarize)";
  } catch (exc) { showError("action-error", exc); }
}

// --- live updates: GET /v1/events over fetch() -----------------------------------------------

function parseEvents(buffer, onEvent) {
  // Server-sent events: blocks separated by a blank line; returns what is left unparsed.
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  for (const block of blocks) {
    const ev = { event: "message", data: "", id: null };
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const at = line.indexOf(":");
      const field = at < 0 ? line : line.slice(0, at);
      const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
      if (field === "event") ev.event = value;
      else if (field === "data") ev.data += (ev.data ? "\n" : "") + value;
      else if (field === "id") ev.id = value;
    }
    if (ev.data || ev.id) onEvent(ev);
  }
  return rest;
}

let reloadTimer = null;
function soonReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => reloadList().catch(() => {}), 50);
}

function onEvent(ev) {
  if (ev.id) state.lastEventId = ev.id;
  if (ev.event === "ready") { $("live").textContent = "live"; return; }
  if (ev.event === "reset") { state.lastEventId = null; soonReload(); return; }
  const data = JSON.parse(ev.data || "{}");
  if (state.caseInteractions.has(data.interaction_id)) soonCase(); // the open case view shows it too
  if (ev.event === "interaction.state") {
    soonReload();
    if (data.interaction_id === state.selected) renderConversation().catch(() => {});
  } else if (ev.event === "message.added") {
    if (data.interaction_id === state.selected) renderConversation().catch(() => {});
    else if (data.direction === "inbound") { state.flagged.add(data.interaction_id); renderLists(); }
  }
}

async function follow() {
  for (;;) {
    const controller = new AbortController();
    state.stream = controller;
    try {
      const headers = { ...authHeaders(), Accept: "text/event-stream" };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const resp = await fetch("/v1/events", { headers, signal: controller.signal, cache: "no-store" });
      if (resp.status === 401) { signOut(); return; }
      if (!resp.ok) throw new Error(`events: ${resp.status}`);
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + value, onEvent);
      }
    } catch (exc) {
      if (controller.signal.aborted) return;
    }
    $("live").textContent = "reconnecting…";
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// --- wiring ----------------------------------------------------------------------------------

function wire() {
  $("login-form").addEventListener("submit", signIn);
  $("oidc-login").addEventListener("click", () => oidcLogin().catch((exc) => showError("login-error", exc)));
  $("logout").addEventListener("click", signOut);
  for (const t of ["inbox", "ongoing", "supervisor"]) $(`tab-${t}`).addEventListener("click", () => showTab(t));
  $("reply-form").addEventListener("submit", reply);
  $("reply-text").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("reply-form").requestSubmit(); } });
  $("do-hold").addEventListener("click", () => act(state.selected, "hold"));
  $("do-resume").addEventListener("click", () => act(state.selected, "resume"));
  $("do-wrap").addEventListener("click", () => act(state.selected, "wrap-up"));
  $("do-close").addEventListener("click", () => act(state.selected, "close", { wrap_up_code: $("wrap-code").value }));
  $("do-transfer").addEventListener("click", transfer);
  $("do-case").addEventListener("click", createCase);
  $("do-link").addEventListener("click", linkCase);
  $("do-summary").addEventListener("click", summarize);
  $("case-form").addEventListener("submit", moveCase);
  $("resolution-form").addEventListener("submit", sendResolution);
  for (const b of document.querySelectorAll("[data-call]")) {
    b.addEventListener("click", () => act(state.selected, `call/${b.dataset.call}`));
  }
}

window.omnisdkConsole = { state: () => ({ me: state.me, selected: state.selected, lastEventId: state.lastEventId, flagged: [...state.flagged] }) };

wire();
loadConfig().then(async () => { if (!(await oidcReturn()) && credential()) await start(); })
  .catch((exc) => showError("login-error", exc));
