// options.js - daemon address, token, "Test connection", whether
// Thunderbird sends straight to the provider (lib/reporting.js), how many
// reports wait for rapportd, and the "never warn me for" list (removable
// entries).
import { localise } from "../lib/i18n-dom.js";
import { ping, normaliseUrl, DEFAULT_URL } from "../lib/client.js";
import { QUEUE_KEY } from "../lib/reports.js";

const t = (name, subs) => messenger.i18n.getMessage(name, subs) || name;
const $ = (id) => document.getElementById(id);
localise(document, t);

function say(text) {
  $("status").textContent = text;
}

function problem(e) {
  const key = {
    "not-configured": "problemNotConfigured", token: "problemToken", timeout: "problemSlow",
    unreachable: "problemUnreachable", "bad-response": "problemBadAnswer",
  }[e?.kind];
  if (key) return t(key);
  if (e?.kind === "http") return t("problemHttp", [String(e.status ?? "?")]);
  return t("problemOther", [String(e?.message || e)]);
}

function current() {
  return { daemonUrl: $("url").value.trim() || DEFAULT_URL, token: $("token").value.trim() };
}

async function renderAllow() {
  const { allow = [] } = await messenger.storage.local.get("allow");
  const ul = $("allow");
  ul.replaceChildren();
  if (!allow.length) {
    const li = document.createElement("li");
    li.textContent = t("optionsAllowEmpty");
    ul.append(li);
  }
  allow.forEach((e, i) => {
    const li = document.createElement("li");
    const span = document.createElement("span");
    span.textContent = e.type === "domain" ? t("popupAllowDomain", [e.value]) : e.value;
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = t("optionsRemove");
    b.addEventListener("click", async () => {
      const next = allow.filter((_, j) => j !== i);
      await messenger.storage.local.set({ allow: next });
      renderAllow();
    });
    li.append(span, b);
    ul.append(li);
  });
}

async function renderWaiting() {
  const got = await messenger.storage.local.get(QUEUE_KEY);
  const n = Array.isArray(got[QUEUE_KEY]) ? got[QUEUE_KEY].length : 0;
  $("waiting").hidden = n === 0;
  $("waiting").textContent = n ? t("optionsWaiting", [String(n)]) : "";
}

async function load() {
  const s = await messenger.storage.local.get(["daemonUrl", "token", "direct"]);
  $("url").value = s.daemonUrl || DEFAULT_URL;
  $("token").value = s.token || "";
  $("direct").checked = s.direct === true;
  renderAllow();
  renderWaiting();
}

$("show").addEventListener("click", () => {
  $("token").type = $("token").type === "password" ? "text" : "password";
});

$("form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const s = current();
  const url = normaliseUrl(s.daemonUrl);
  if (!url) return say(t("optionsBadUrl"));
  await messenger.storage.local.set({ daemonUrl: url, token: s.token, direct: $("direct").checked });
  $("url").value = url;
  say(t("optionsSaved"));
});

$("test").addEventListener("click", async () => {
  const s = current();
  if (!normaliseUrl(s.daemonUrl)) return say(t("optionsBadUrl"));
  say(t("optionsTesting"));
  try {
    await ping(s);
    say(t("optionsTestOk"));
  } catch (e) {
    say(t("optionsTestFail", [problem(e)]));
  }
});

load();
