// app.js - the held-mail page. Talks to /api/v1 with the session cookie
// (HttpOnly, set by the one-time login link or a job club member's sign-in).
// Everything from a message is inserted as text (textContent), never as HTML.
// A member sees their own held mail; an adviser sees everyone's, with whose
// it is, and a summary per member (the API enforces both, daemon/API.md).
//
// Languages: every text comes from i18n/<lang>.json (a key per text, {name}
// placeholders, plural forms as key_one/_few/_many/_other chosen by
// Intl.PluralRules); numbers, dates and durations from Intl in the reader's
// locale. The language is, in order: the one picked in the page's switch
// (kept in this browser), the member's own or the daemon's [coach] language
// (GET /api/v1/me, unless "auto"), the browser's languages (what it sends as
// Accept-Language), English. The findings are shown as the daemon wrote
// them, in the mail's language, marked with it (lang attribute).
"use strict";

const $ = (id) => document.getElementById(id);

const I18N = { lang: "en", locale: "en-GB", en: {}, cur: {}, languages: { en: "English" } };
const STORE = "rapport.lang";

async function catalogue(lang) {
  const res = await fetch("/i18n/" + lang + ".json", { credentials: "same-origin" });
  if (!res.ok) throw new Error("no catalogue for " + lang);
  return res.json();
}

function fill(text, vars = {}) {
  return text.replace(/\{([a-z_]+)\}/g, (all, name) => (name in vars ? String(vars[name]) : all));
}

function lookup(key) {
  const e = I18N.cur[key] || I18N.en[key];
  return e ? e.message : null;
}

function t(key, vars) {
  const text = lookup(key);
  return text === null ? key : fill(text, vars);
}

const num = (n) => new Intl.NumberFormat(I18N.locale).format(n);

// The plural form of `key` for the count n ({n} is filled in, formatted).
function tn(key, n, vars = {}) {
  const category = new Intl.PluralRules(I18N.locale).select(n);
  const text = lookup(key + "_" + category) ?? lookup(key + "_other") ?? key;
  return fill(text, { ...vars, n: num(n) });
}

// The browser's own tag for the language when it has one ("fr-CH"), so
// dates and numbers follow the reader's region too.
function localeFor(lang) {
  const mine = (navigator.languages || [navigator.language]).find((l) => l && l.toLowerCase().split("-")[0] === lang);
  return mine || (lang === "en" ? "en-GB" : lang);
}

function chosenLanguage(fromDaemon) {
  let stored = null;
  try { stored = localStorage.getItem(STORE); } catch (e) { stored = null; }
  if (stored && I18N.languages[stored]) return stored;
  if (fromDaemon && fromDaemon !== "auto" && I18N.languages[fromDaemon]) return fromDaemon;
  for (const l of navigator.languages || [navigator.language]) {
    const primary = (l || "").toLowerCase().split("-")[0];
    if (I18N.languages[primary]) return primary;
  }
  return "en";
}

function localise() {
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll("[data-i18n-aria]")) e.setAttribute("aria-label", t(e.dataset.i18nAria));
  document.title = t("pageTitle");
  document.documentElement.lang = I18N.lang;
  const sw = $("lang-switch");
  sw.value = I18N.lang;
}

async function setLanguage(lang) {
  if (lang !== "en") {
    try { I18N.cur = await catalogue(lang); } catch (e) { lang = "en"; }
  }
  if (lang === "en") I18N.cur = I18N.en;
  I18N.lang = lang;
  I18N.locale = localeFor(lang);
  localise();
}

async function initLanguages() {
  try {
    const [langs, en] = await Promise.all([fetch("/i18n/languages.json").then((r) => r.json()), catalogue("en")]);
    I18N.languages = langs;
    I18N.en = en;
  } catch (e) { /* the page still works, in the English of index.html */ }
  const sw = $("lang-switch");
  sw.replaceChildren();
  for (const [code, name] of Object.entries(I18N.languages)) {
    const o = document.createElement("option");
    o.value = code;
    o.lang = code;
    o.textContent = name; // each language in its own words
    sw.append(o);
  }
  sw.addEventListener("change", async () => {
    try { localStorage.setItem(STORE, sw.value); } catch (e) { /* not kept, still switched */ }
    await setLanguage(sw.value);
    await rerender();
  });
  await setLanguage(chosenLanguage(null));
}

const label = (rule) => (lookup("rule." + rule) === null ? rule.replace(/-/g, " ") : t("rule." + rule));

let messages = [];
let expired = [];
let current = null;
let me = { role: "adviser", name: "", members: false, lang: "auto" };

class ApiError extends Error {
  constructor(status, code, message) {
    super(message || "");
    this.status = status;
    this.code = code;
  }
}

// What went wrong, for people: a known error code in the page's language;
// otherwise the daemon's sentence (English) only on an English page.
function errorText(e) {
  if (e instanceof ApiError) {
    if (e.code && lookup("error." + e.code) !== null) return t("error." + e.code);
    if (I18N.lang === "en" && e.message) return e.message;
    return t("error.generic", { status: e.status });
  }
  return t("error.unreachable");
}

async function api(path, options = {}) {
  const opts = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (opts.method === "POST") opts.headers["X-Rapport-Page"] = "1";
  const res = await fetch("/api/v1/" + path, opts);
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401) { showLogin(); throw new Error("not signed in"); }
  if (!res.ok) throw new ApiError(res.status, body && body.error, body && body.message);
  return body;
}

function showLogin() {
  $("app").hidden = true;
  $("members").hidden = true;
  $("outcomes").hidden = true;
  $("logout").hidden = true;
  $("whoami").hidden = true;
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
  if (mins < 1) return t("justNow");
  if (mins < 60) return new Intl.RelativeTimeFormat(I18N.locale, { numeric: "always" }).format(-mins, "minute");
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const time = d.toLocaleTimeString(I18N.locale, { hour: "2-digit", minute: "2-digit" });
  if (sameDay) return t("today", { time });
  return t("onDate", { date: d.toLocaleDateString(I18N.locale, { day: "numeric", month: "short" }) + " " + time });
}

function longDate(unix) {
  return new Date(unix * 1000).toLocaleString(I18N.locale,
    { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" });
}

// A file name as the sender's mail program will save it, shown so that it
// cannot pretend to be another: bidirectional controls (U+202E, "right-to-
// left override", makes "cv\u202Efdp.exe" read as "cvexe.pdf") and other
// invisible format characters are shown as visible codes instead of acting.
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
function visibleName(name) {
  if (!name) return t("unnamed");
  return name.replace(HIDDEN, (c) => "[U+" + c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0") + "]");
}

function size(n) {
  const f = (v, unit, display) => new Intl.NumberFormat(I18N.locale,
    { style: "unit", unit, unitDisplay: display, maximumFractionDigits: 1 }).format(v);
  if (n < 1024) return f(n, "byte", "long");
  if (n < 1024 * 1024) return f(Math.round(n / 1024), "kilobyte", "short");
  return f(n / 1024 / 1024, "megabyte", "short");
}

function toast(text) {
  const tt = $("toast");
  tt.textContent = text;
  tt.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { tt.hidden = true; }, 4000);
}

function renderList() {
  $("count").textContent = messages.length ? num(messages.length) : "";
  $("empty").hidden = messages.length > 0;
  fillList($("list"), messages);
  $("expired-box").hidden = expired.length === 0;
  $("expired-count").textContent = "(" + num(expired.length) + ")";
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
    b.append(el("span", "subject", m.subject || t("noSubject")));
    b.append(el("span", "to", t("toWhom", { to: m.to || "?" })));
    if (me.role === "adviser" && me.members && m.account) b.append(el("span", "account", t("fromMember", { account: m.account })));
    const chips = el("span", "chips");
    for (const r of m.rules || []) chips.append(el("span", "chip", label(r)));
    b.append(chips);
    b.addEventListener("click", () => { location.hash = "#/m/" + encodeURIComponent(m.id); });
    li.append(b);
    list.append(li);
  }
}

function renderWho() {
  const who = $("whoami");
  who.hidden = !me.name;
  who.textContent = me.name ? t(me.role === "adviser" ? "signedInAdviser" : "signedIn", { name: me.name }) : "";
}

async function loadMe() {
  me = await api("me");
  // The member's own language (or the daemon's), unless this browser chose one.
  const lang = chosenLanguage(me.lang);
  if (lang !== I18N.lang) await setLanguage(lang);
  renderWho();
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
      tr.append(el("td", "num", num(Math.max(0, n || 0))));
    const top = Object.entries(s.flagged_by_rule || {}).sort((a, b) => b[1] - a[1])[0];
    tr.append(el("td", "", top ? label(top[0]) + " (" + num(top[1]) + ")" : "–"));
    body.append(tr);
  }
  box.hidden = senders.length === 0;
}

// The reply ledger (GET /api/v1/outcomes): the reply rate overall and by
// how the mail was sent, the follow-ups due, the latest applications, and
// whether Rapport can read the inbox at all. An adviser also gets a row per member.
const CLASSES = ["clean", "revised", "despite-findings"];
const pct = (r) => (r === null || r === undefined ? "–"
  : new Intl.NumberFormat(I18N.locale, { style: "percent", maximumFractionDigits: 0 }).format(r));
const duration = (d) => {
  const f = (v, unit) => new Intl.NumberFormat(I18N.locale, { style: "unit", unit, unitDisplay: "long" }).format(v);
  if (d >= 1) return f(Math.round(d), "day");
  if (d * 24 >= 1) return f(Math.round(d * 24), "hour");
  return f(Math.max(1, Math.round(d * 1440)), "minute");
};

function inboxSentence(inbox) {
  switch (inbox.state) {
    case "off": return t("inbox.off");
    case "starting": return t("inbox.starting");
    case "ok": return inbox.mode === "idle" ? t("inbox.idle") : t("inbox.polling", { seconds: num(inbox.poll_seconds || 60) });
    case "error": return t("inbox.error", { problem: inbox.problem || inbox.message || "" });
    default: return inbox.message || "";
  }
}

async function loadOutcomes() {
  const box = $("outcomes");
  let o;
  try { o = await api("outcomes"); } catch (e) { box.hidden = true; if (e.message === "not signed in") throw e; return; }
  box.hidden = false;
  const inbox = o.inbox || {};
  const st = $("inbox-status");
  st.textContent = inboxSentence(inbox);
  st.classList.toggle("problem", inbox.state === "error");
  const arrived = o.applications - o.bounced;
  let headline = t("noApplications");
  if (o.applications !== 0) {
    headline = t("headline", {
      replies: tn("headlineReplies", o.replied), arrived: tn("headlineArrived", arrived), rate: pct(o.reply_rate),
    });
    if (o.acknowledged) headline += ", " + tn("headlineAcknowledged", o.acknowledged);
    if (o.bounced) headline += ", " + tn("headlineBounced", o.bounced);
    headline += ".";
  }
  $("oc-headline").textContent = headline;
  const cl = $("oc-classes");
  cl.replaceChildren();
  for (const key of CLASSES) {
    const c = (o.by_class || {})[key] || { applications: 0, replied: 0, reply_rate: null };
    const li = el("li");
    li.append(el("span", "rate", pct(c.reply_rate)));
    li.append(el("span", "what", t("class." + key)));
    const bounced = c.bounced || 0;
    li.append(el("span", "of", t("classFigures", { replied: num(c.replied), sent: num(c.applications - bounced) }) +
      (bounced ? ", " + tn("classBounced", bounced) : "")));
    cl.append(li);
  }
  drawReplyChart($("oc-chart"), o.by_week); // outcomes_chart.js
  const due = o.follow_up_due || [];
  $("oc-due-box").hidden = due.length === 0;
  $("oc-due-hint").textContent = t("followUpHint", { time: duration(o.follow_up_days || 7) });
  const dl = $("oc-due");
  dl.replaceChildren();
  for (const a of due) {
    const li = el("li");
    li.append(el("span", "subject", a.subject || t("noSubject")));
    li.append(el("span", "to", t("sentTo", { to: (a.to || []).join(", "), when: when(a.sent) })));
    li.append(followUpLine(a)); // outcomes_chart.js
    dl.append(li);
  }
  const recent = o.recent || [];
  const club = me.role === "adviser" && me.members;
  $("oc-recent-box").hidden = recent.length === 0;
  $("oc-recent-box").querySelector("summary").textContent = t(club ? "recentAll" : "recentYours");
  const rl = $("oc-recent");
  rl.replaceChildren();
  for (const a of recent.slice(0, 20)) {
    const li = el("li");
    const head = el("span", "subject", a.subject || t("noSubject"));
    const state = lookup("outcome." + a.outcome) === null ? a.outcome : t("outcome." + a.outcome);
    head.append(el("span", "state " + a.outcome, a.match === "probable" ? t("probably", { outcome: state }) : state));
    li.append(head);
    const to = (a.to || []).join(", ");
    li.append(el("span", "to", club && a.account
      ? t("sentToBy", { to, when: when(a.sent), account: a.account })
      : t("sentTo", { to, when: when(a.sent) })));
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
    for (const v of [num(m.applications), num(m.replied), pct(m.reply_rate),
      pct((bc.clean || {}).reply_rate), pct((bc["despite-findings"] || {}).reply_rate), num((m.follow_up_due || []).length)])
      tr.append(el("td", "num", v));
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

// After a language switch: everything written by this script, again.
async function rerender() {
  renderWho();
  if ($("app").hidden) return;
  renderList();
  try {
    await loadMembers();
    await loadOutcomes();
  } catch (e) { if (e.message !== "not signed in") toast(errorText(e)); }
  if (current && !$("message").hidden) await showMessage(current);
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
  try { m = await api("messages/" + encodeURIComponent(id)); } catch (e) { toast(errorText(e)); return clearDetail(); }
  $("placeholder").hidden = true;
  $("message").hidden = false;
  $("m-subject").textContent = m.subject || t("noSubject");
  $("m-to").textContent = m.to || (m.envelope && m.envelope.recipients.map((r) => r.rcpt).join(", ")) || "";
  $("m-from").textContent = m.from || "";
  $("m-received").textContent = longDate(m.received);
  const held = m.status === "held";
  $("m-expiry").textContent = held && m.expires ? t("keptUntil", { date: longDate(m.expires) })
    : m.status === "expired" ? t("expiredNote")
    : t("statusNote", { status: lookup("status." + m.status) === null ? m.status : t("status." + m.status) });
  const f = $("m-findings");
  f.replaceChildren();
  for (const x of m.findings || []) {
    const li = el("li", "finding");
    li.append(el("span", "label", label(x.rule)));
    const text = el("span", "text", x.message);
    text.lang = x.lang || "en"; // the daemon's sentence, in the mail's language
    li.append(text);
    f.append(li);
  }
  $("m-text").textContent = m.stored === false ? t("noCopy") : (m.text || t("noText"));
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
    done(what === "release" ? t("sentDone") : t("discardedDone"));
  } catch (e) {
    setBusy(false);
    toast(errorText(e));
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
  await initLanguages();
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
    let res;
    try {
      res = await fetch("/api/v1/login", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Rapport-Page": "1", Accept: "application/json" },
        body: JSON.stringify({ name: $("ml-name").value.trim(), password: $("ml-password").value }),
      });
    } catch (x) {
      err.textContent = errorText(x);
      err.hidden = false;
      return;
    }
    $("ml-password").value = "";
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch (x) { body = null; }
      err.textContent = errorText(new ApiError(res.status, body && body.error, body && body.message));
      err.hidden = false;
      $("ml-password").focus();
      return;
    }
    try { await loadMe(); await loadList(); route(); } catch (x) { if (x.message !== "not signed in") toast(errorText(x)); }
  });
  try {
    await loadMe();
    await loadList();
    route();
    setInterval(() => { loadList().catch(() => {}); }, 15000);
  } catch (e) { /* showLogin already ran for 401 */ if (e.message !== "not signed in") toast(errorText(e)); }
});
