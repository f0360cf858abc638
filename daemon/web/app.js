// app.js - the held-mail page. Talks to /api/v1 with the session cookie
// (HttpOnly, set by the one-time login link or a job club member's sign-in).
// Everything from a message is inserted as text (textContent), never as HTML.
// A member sees their own held mail; an adviser sees everyone's, with whose
// it is, and a summary per member (the API enforces both, daemon/API.md).
"use strict";

const RULES = {
  "cv-attachment-only": "CV with no explanation",
  "template-reuse": "Same text sent to many",
  "bulk-recipients": "Many recipients at once",
  "generic-greeting": "Greeting addresses nobody",
  "greeting-mismatch": "Greeting names someone else",
  "no-personalisation": "Nothing about them",
  "unfilled-placeholder": "Placeholder left in",
  "wrong-organisation": "Another organisation's name",
  "vague-subject": "Vague subject",
};
const label = (rule) => RULES[rule] || rule.replace(/-/g, " ");
const $ = (id) => document.getElementById(id);

let messages = [];
let expired = [];
let current = null;
let me = { role: "adviser", name: "", members: false };

async function api(path, options = {}) {
  const opts = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (opts.method === "POST") opts.headers["X-Rapport-Page"] = "1";
  const res = await fetch("/api/v1/" + path, opts);
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401) { showLogin(); throw new Error("not signed in"); }
  if (!res.ok) throw new Error((body && body.message) || "Rapport answered " + res.status);
  return body;
}

function showLogin() {
  $("app").hidden = true;
  $("members").hidden = true;
  $("outcomes").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function when(unix) {
  const d = new Date(unix * 1000);
  const mins = Math.round((Date.now() - d.getTime()) / 60000);
  if (mins < 1) return "just now";
  if (mins < 60) return mins + " min ago";
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? "today " + time : d.toLocaleDateString([], { day: "numeric", month: "short" }) + " " + time;
}

function longDate(unix) {
  return new Date(unix * 1000).toLocaleString([], { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" });
}

// A file name as the sender's mail program will save it, shown so that it
// cannot pretend to be another: bidirectional controls (U+202E, "right-to-
// left override", makes "cv\u202Efdp.exe" read as "cvexe.pdf") and other
// invisible format characters are shown as visible codes instead of acting.
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
function visibleName(name) {
  if (!name) return "(unnamed)";
  return name.replace(HIDDEN, (c) => "[U+" + c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0") + "]");
}

function size(n) {
  if (n < 1024) return n + " bytes";
  if (n < 1024 * 1024) return Math.round(n / 1024) + " KB";
  return (n / 1024 / 1024).toFixed(1) + " MB";
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

function renderList() {
  $("count").textContent = messages.length ? String(messages.length) : "";
  $("empty").hidden = messages.length > 0;
  fillList($("list"), messages);
  $("expired-box").hidden = expired.length === 0;
  $("expired-count").textContent = "(" + expired.length + ")";
  fillList($("expired-list"), expired);
}

function fillList(list, items) {
  list.replaceChildren();
  for (const m of items) {
    const li = el("li");
    const b = el("button", "item");
    b.type = "button";
    b.dataset.id = m.id;
    if (current === m.id) b.setAttribute("aria-current", "true");
    b.append(el("span", "when", when(m.received)));
    b.append(el("span", "subject", m.subject || "(no subject)"));
    b.append(el("span", "to", "To " + (m.to || "?")));
    if (me.role === "adviser" && me.members && m.account) b.append(el("span", "account", "From member " + m.account));
    const chips = el("span", "chips");
    for (const r of m.rules || []) chips.append(el("span", "chip", label(r)));
    b.append(chips);
    b.addEventListener("click", () => { location.hash = "#/m/" + encodeURIComponent(m.id); });
    li.append(b);
    list.append(li);
  }
}

async function loadMe() {
  me = await api("me");
  const who = $("whoami");
  who.hidden = !me.name;
  who.textContent = me.name ? "Signed in as " + me.name + (me.role === "adviser" ? " (adviser)" : "") : "";
}

async function loadMembers() {
  const box = $("members");
  if (me.role !== "adviser" || !me.members) { box.hidden = true; return; }
  const senders = ((await api("stats")).senders || []).filter((s) => s.member);
  const body = $("members-body");
  body.replaceChildren();
  for (const s of senders) {
    const tr = el("tr");
    const name = el("th", "", s.sender + (s.group ? " (" + s.group + ")" : ""));
    name.scope = "row";
    tr.append(name);
    for (const n of [s.sent, s.flagged, s.held - s.released - s.dropped - s.expired, s.released, s.dropped])
      tr.append(el("td", "num", String(Math.max(0, n || 0))));
    const top = Object.entries(s.flagged_by_rule || {}).sort((a, b) => b[1] - a[1])[0];
    tr.append(el("td", "", top ? label(top[0]) + " (" + top[1] + ")" : "–"));
    body.append(tr);
  }
  box.hidden = senders.length === 0;
}

// The reply ledger (GET /api/v1/outcomes): the reply rate overall and by
// how the mail was sent, the follow-ups due, the latest applications, and
// whether Rapport can read the inbox at all. An adviser also gets a row per member.
const CLASSES = [
  ["clean", "Sent clean"],
  ["revised", "Improved after Rapport's advice"],
  ["despite-findings", "Sent despite Rapport's advice"],
];
const pct = (r) => (r === null || r === undefined ? "–" : Math.round(r * 100) + "%");
const days = (d) => {
  const n = (v, unit) => v + " " + unit + (v === 1 ? "" : "s");
  if (d >= 1) return n(Math.round(d), "day");
  if (d * 24 >= 1) return n(Math.round(d * 24), "hour");
  return n(Math.max(1, Math.round(d * 1440)), "minute");
};

async function loadOutcomes() {
  const box = $("outcomes");
  let o;
  try { o = await api("outcomes"); } catch (e) { box.hidden = true; if (e.message === "not signed in") throw e; return; }
  box.hidden = false;
  const inbox = o.inbox || {};
  const st = $("inbox-status");
  st.textContent = inbox.message || "";
  st.classList.toggle("problem", inbox.state === "error");
  const arrived = o.applications - o.bounced;
  $("oc-headline").textContent = o.applications === 0
    ? "No applications yet. Once you send some, Rapport counts the replies they get."
    : o.replied + (o.replied === 1 ? " reply" : " replies") + " from " + arrived + " application" +
      (arrived === 1 ? "" : "s") + " that arrived (" + pct(o.reply_rate) + ")" +
      (o.acknowledged ? ", " + o.acknowledged + " acknowledged automatically" : "") +
      (o.bounced ? ", " + o.bounced + " bounced" : "") + ".";
  const cl = $("oc-classes");
  cl.replaceChildren();
  for (const [key, what] of CLASSES) {
    const c = (o.by_class || {})[key] || { applications: 0, replied: 0, reply_rate: null };
    const li = el("li");
    li.append(el("span", "rate", pct(c.reply_rate)));
    li.append(el("span", "what", what));
    const bounced = c.bounced || 0;
    li.append(el("span", "of", c.replied + " of " + (c.applications - bounced) + " replied" +
      (bounced ? ", " + bounced + " bounced" : "")));
    cl.append(li);
  }
  drawReplyChart($("oc-chart"), o.by_week); // outcomes_chart.js
  const due = o.follow_up_due || [];
  $("oc-due-box").hidden = due.length === 0;
  $("oc-days").textContent = days(o.follow_up_days || 7);
  const dl = $("oc-due");
  dl.replaceChildren();
  for (const a of due) {
    const li = el("li");
    li.append(el("span", "subject", a.subject || "(no subject)"));
    li.append(el("span", "to", "To " + (a.to || []).join(", ") + ", sent " + when(a.sent)));
    li.append(followUpLine(a)); // outcomes_chart.js
    dl.append(li);
  }
  const recent = o.recent || [];
  $("oc-recent-box").hidden = recent.length === 0;
  $("oc-recent-box").querySelector("summary").textContent =
    me.role === "adviser" && me.members ? "The latest applications" : "Your latest applications";
  const rl = $("oc-recent");
  rl.replaceChildren();
  for (const a of recent.slice(0, 20)) {
    const li = el("li");
    const head = el("span", "subject", a.subject || "(no subject)");
    const label = { replied: "Replied", acknowledged: "Acknowledged", bounced: "Bounced", waiting: "Waiting" }[a.outcome] || a.outcome;
    head.append(el("span", "state " + a.outcome, label + (a.match === "probable" ? " (probably)" : "")));
    li.append(head);
    li.append(el("span", "to", "To " + (a.to || []).join(", ") + ", sent " + when(a.sent) +
      (me.role === "adviser" && me.members && a.account ? ", by " + a.account : "")));
    rl.append(li);
  }
  const members = o.members || [];
  $("oc-members-box").hidden = members.length === 0;
  const mb = $("oc-members");
  mb.replaceChildren();
  for (const m of members) {
    const tr = el("tr");
    const name = el("th", "", m.member);
    name.scope = "row";
    tr.append(name);
    const bc = m.by_class || {};
    for (const v of [m.applications, m.replied, pct(m.reply_rate),
      pct((bc.clean || {}).reply_rate), pct((bc["despite-findings"] || {}).reply_rate), (m.follow_up_due || []).length])
      tr.append(el("td", "num", String(v)));
    mb.append(tr);
  }
}

async function loadList() {
  const data = await api("messages?status=held");
  messages = data.messages || [];
  expired = (await api("messages?status=expired&limit=50")).messages || [];
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  renderList();
  await loadMembers();
  await loadOutcomes();
}

function clearDetail() {
  current = null;
  $("message").hidden = true;
  $("placeholder").hidden = false;
}

async function showMessage(id) {
  current = id;
  renderList();
  let m;
  try { m = await api("messages/" + encodeURIComponent(id)); } catch (e) { toast(e.message); return clearDetail(); }
  $("placeholder").hidden = true;
  $("message").hidden = false;
  $("m-subject").textContent = m.subject || "(no subject)";
  $("m-to").textContent = m.to || (m.envelope && m.envelope.recipients.map((r) => r.rcpt).join(", ")) || "";
  $("m-from").textContent = m.from || "";
  $("m-received").textContent = longDate(m.received);
  const held = m.status === "held";
  $("m-expiry").textContent = held && m.expires
    ? "Rapport keeps it until " + longDate(m.expires) + ". If you do nothing, it is not sent."
    : m.status === "expired" ? "It waited too long and was not sent." : "Status: " + m.status + ".";
  const f = $("m-findings");
  f.replaceChildren();
  for (const x of m.findings || []) {
    const li = el("li", "finding");
    li.append(el("span", "label", label(x.rule)));
    li.append(el("span", "", x.message));
    f.append(li);
  }
  $("m-text").textContent = m.stored === false ? "(Rapport no longer keeps a copy of this message.)" : (m.text || "(no text)");
  $("m-text-note").hidden = !m.text_from_html;
  const atts = (m.attachments || []).filter((a) => !a.inline);
  $("att-section").hidden = atts.length === 0;
  const ul = $("m-attachments");
  ul.replaceChildren();
  for (const a of atts) {
    const li = el("li");
    const name = visibleName(a.name);
    const ext = (name.includes(".") ? name.split(".").pop() : "file").slice(0, 4).toUpperCase();
    li.append(el("span", "icon", ext));
    const d = el("span", "att");
    // <bdi>: isolated from the text around it, so nothing in the name can
    // reorder what comes after; CSS wraps it however long it is.
    d.append(el("bdi", "att-name", name));
    d.append(el("span", "size", size(a.size || 0)));
    li.append(d);
    ul.append(li);
  }
  $("actions").hidden = !held && m.status !== "expired";
  $("send").hidden = !held; // an expired message can only be read or discarded
  $("confirm-discard").hidden = true;
  $("outcome").hidden = true;
  setBusy(false);
  $("detail").focus({ preventScroll: true });
}

function setBusy(busy) {
  $("send").disabled = busy;
  $("discard").disabled = busy;
  $("cd-yes").disabled = busy;
}

function done(text) {
  $("actions").hidden = true;
  $("confirm-discard").hidden = true;
  const o = $("outcome");
  o.textContent = text;
  o.hidden = false;
  toast(text);
  messages = messages.filter((m) => m.id !== current);
  expired = expired.filter((m) => m.id !== current);
  renderList();
  o.setAttribute("tabindex", "-1");
  o.focus();
}

async function act(what) {
  const id = current;
  if (!id) return;
  setBusy(true); // one click sends once; the API is idempotent as well
  try {
    await api("messages/" + encodeURIComponent(id) + "/" + what, { method: "POST" });
    done(what === "release" ? "Sent. Your message is on its way." : "Discarded. It will not be sent.");
  } catch (e) {
    setBusy(false);
    toast(e.message);
  }
}

function route() {
  const m = location.hash.match(/^#\/m\/(.+)$/);
  if (m) showMessage(decodeURIComponent(m[1]));
  else clearDetail();
}

// Signing out is a POST with the page's header (the daemon refuses GET and
// header-less POSTs, so no link or form elsewhere can sign anyone out).
async function logout(e) {
  e.preventDefault();
  try {
    const res = await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-Rapport-Page": "1" } });
    if (!res.ok) throw new Error("Rapport answered " + res.status);
    location.reload();
  } catch (x) { toast(x.message); }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("logout").addEventListener("submit", logout);
  $("send").addEventListener("click", () => act("release"));
  $("discard").addEventListener("click", () => { $("confirm-discard").hidden = false; $("cd-no").focus(); });
  $("cd-no").addEventListener("click", () => { $("confirm-discard").hidden = true; $("discard").focus(); });
  $("cd-yes").addEventListener("click", () => act("drop"));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("confirm-discard").hidden) { $("confirm-discard").hidden = true; $("discard").focus(); }
  });
  window.addEventListener("hashchange", route);
  $("member-login").addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = $("ml-error");
    err.hidden = true;
    const res = await fetch("/api/v1/login", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Rapport-Page": "1", Accept: "application/json" },
      body: JSON.stringify({ name: $("ml-name").value.trim(), password: $("ml-password").value }),
    });
    $("ml-password").value = "";
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch (x) { body = null; }
      err.textContent = (body && body.message) || "Rapport answered " + res.status;
      err.hidden = false;
      $("ml-password").focus();
      return;
    }
    try { await loadMe(); await loadList(); route(); } catch (x) { if (x.message !== "not signed in") toast(x.message); }
  });
  try {
    await loadMe();
    await loadList();
    route();
    setInterval(() => { loadList().catch(() => {}); }, 15000);
  } catch (e) { /* showLogin already ran for 401 */ if (e.message !== "not signed in") toast(e.message); }
});
