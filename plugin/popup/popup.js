// popup.js - the findings window. Asks the background for the request's
// data, shows each finding's message, and answers with the user's choice.
// The window is closed by the background once answered; closing it any
// other way means "edit" (the background sees windows.onRemoved).
import { localise } from "../lib/i18n-dom.js";

const t = (name, subs) => messenger.i18n.getMessage(name, subs) || name;
const $ = (id) => document.getElementById(id);
const request = new URLSearchParams(location.search).get("request") || "";
let answered = false;

function answer(choice) {
  if (answered) return;
  answered = true;
  const allow = $("allow-on").checked ? [JSON.parse($("allow-choice").value)] : [];
  messenger.runtime
    .sendMessage({ type: "popup-answer", request, choice, allow, share: allow.length > 0 && $("share").checked })
    .catch(() => {})
    .finally(() => setTimeout(() => window.close(), 300)); // normally the background closes it first
}

function render(data) {
  localise(document, t);
  if (!data) {
    $("intro").textContent = t("popupGone");
    $("send").hidden = true;
    $("edit").hidden = true;
    return;
  }
  const check = data.kind === "check";
  $("title").textContent = t(check ? "popupTitleCheck" : "popupTitle");
  document.title = $("title").textContent;
  const list = $("findings");
  for (const f of data.findings) {
    const li = document.createElement("li");
    li.textContent = f.message; // the daemon's sentence, as text
    li.dataset.rule = f.rule;
    if (f.lang) li.lang = f.lang; // in the mail's language, which may not be Thunderbird's
    list.append(li);
  }
  const note = $("note");
  if (data.action === "reject") {
    note.textContent = t("popupReject");
    note.hidden = false;
    $("send").hidden = true;
  } else if (data.action === "hold" && !check) {
    note.textContent = t("popupHold");
    note.hidden = false;
  }
  if (check) {
    $("send").hidden = true;
    $("edit").textContent = t("popupBack");
  }
  if (data.choices?.length && data.action !== "reject") {
    const sel = $("allow-choice");
    for (const c of data.choices) {
      const o = document.createElement("option");
      o.value = JSON.stringify(c);
      o.textContent = t(c.type === "domain" ? "popupAllowDomain" : "popupAllowAddress", [c.value]);
      sel.append(o);
    }
    $("allow").hidden = false;
    $("allow-on").addEventListener("change", () => {
      $("share").disabled = !$("allow-on").checked;
    });
  }
  $("edit").addEventListener("click", () => answer(check ? "close" : "edit"));
  $("send").addEventListener("click", () => answer("send"));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") answer(check ? "close" : "edit");
  });
  $("edit").focus(); // Enter by habit takes the user back to the message, never out of it
  // Keep a non-persistent background awake while the user reads.
  setInterval(() => messenger.runtime.sendMessage({ type: "keepalive", request }).catch(() => {}), 10000);
}

messenger.runtime
  .sendMessage({ type: "popup-get", request })
  .then(render, () => render(null));
