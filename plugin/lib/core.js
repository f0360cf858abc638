// core.js - what the add-on does, without touching `messenger` at import
// time, so the tests can hand it a fake. background.js wires it up.
//
//   const rapport = createRapport({ messenger });
//   messenger.compose.onBeforeSend.addListener(rapport.onBeforeSend);
//
// The one rule everything here follows: the Promise onBeforeSend returns
// always resolves (Thunderbird locks the compose window until it does), and
// the add-on never stops mail on its own failure. Daemon unreachable, slow
// (over BUDGET_MS), token missing or refused, popup impossible to show: the
// send goes on and one notification says the message was not checked.
//
// Findings -> a popup window (popup/popup.html?request=ID) lists each
// finding's message; "Edit message" cancels the send, "Send anyway" sends
// with X-Rapport-Confirm (confirm.js). Closing the window means edit.
//
// Test hook: when storage.local holds `testDriver` (an add-on id;
// never set by any UI - a test writes it into the profile), that add-on is
// told when a popup opens or a notification is shown, and may answer an
// open popup exactly as the buttons would. It cannot skip a popup, change
// findings or settings, or send anything itself.

import { analyze, shareAllow, DEFAULT_URL, BUDGET_MS } from "./client.js";
import { confirmValue } from "./confirm.js";
import { buildDraft, recipientsOf } from "./draft.js";
import { allAllowed, addEntries, choicesFor } from "./allow.js";

export const CONFIRM_HEADER = "X-Rapport-Confirm";
const QUIET_ACTIONS = new Set(["info", "off", "relay"]);

export async function loadSettings(messenger) {
  const local = (await messenger.storage.local.get(["daemonUrl", "token", "allow", "testDriver", "direct"])) || {};
  let managed = {};
  try {
    // A job club's administrator may preset these through enterprise policy.
    managed = (await messenger.storage.managed.get(["daemonUrl", "token"])) || {};
  } catch {
    managed = {};
  }
  return {
    daemonUrl: local.daemonUrl || managed.daemonUrl || DEFAULT_URL,
    token: String(local.token || managed.token || "").trim(),
    allow: Array.isArray(local.allow) ? local.allow : [],
    // Thunderbird sends straight to the provider, not through rapportd:
    // no X-Rapport-Confirm (nobody would remove it before the recipient
    // sees it), and each sent message is reported (reporting.js).
    direct: local.direct === true,
    testDriver: typeof local.testDriver === "string" ? local.testDriver : "",
  };
}

// What the user sees: findings whose own action asks for attention.
export function shownFindings(findings) {
  return findings.filter((f) => !QUIET_ACTIONS.has(f.action));
}

export function createRapport(deps) {
  const { messenger } = deps;
  const fetchImpl = deps.fetch || ((...a) => globalThis.fetch(...a));
  const budgetMs = deps.budgetMs ?? BUDGET_MS;
  const checkBudgetMs = deps.checkBudgetMs ?? 5000;
  const cryptoImpl = deps.crypto || globalThis.crypto;
  const reporting = deps.reporting; // reporting.js: the draft a send checked, and Edit message pressed
  const pending = new Map(); // request id -> {id, kind, windowId, tabId, data, resolve}
  let seq = 0;

  const t = (name, subs) => messenger.i18n.getMessage(name, subs) || name;

  function tellDriver(settings, message) {
    if (!settings?.testDriver) return;
    Promise.resolve()
      .then(() => messenger.runtime.sendMessage(settings.testDriver, message))
      .catch(() => {});
  }

  async function notify(settings, kind, message) {
    try {
      await messenger.notifications.create(`rapport-${kind}-${++seq}`, {
        type: "basic",
        title: t("extensionName"),
        message,
      });
    } catch {
      // Nothing else to fall back on; the send is not affected.
    }
    tellDriver(settings, { type: "rapport.notification", kind, message });
  }

  function problemText(e) {
    switch (e?.kind) {
      case "not-configured":
        return t("problemNotConfigured");
      case "token":
        return t("problemToken");
      case "timeout":
        return t("problemSlow");
      case "unreachable":
        return t("problemUnreachable");
      case "bad-response":
        return t("problemBadAnswer");
      case "http":
        return t("problemHttp", [String(e.status ?? "?")]);
      default:
        return t("problemOther", [String(e?.message || e)]);
    }
  }

  // Tells the proxy the sender saw the findings; nothing when there is no proxy on the way.
  async function confirmHeader(settings) {
    if (settings.direct) return undefined;
    return { name: CONFIRM_HEADER, value: await confirmValue(settings.token, { cryptoImpl }) };
  }

  function finish(id, answer) {
    const entry = pending.get(id);
    if (!entry) return false;
    pending.delete(id);
    entry.resolve(answer);
    if (entry.windowId != null) Promise.resolve().then(() => messenger.windows.remove(entry.windowId)).catch(() => {});
    return true;
  }

  // Opens the popup and resolves with {choice: "edit"|"send"|"close"|"failed", allow, share}.
  function askUser(settings, kind, tab, result, recipients) {
    const id = `${Date.now().toString(36)}${(++seq).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const data = {
      request: id,
      kind,
      action: result.action,
      findings: result.findings,
      recipients,
      choices: choicesFor(recipients),
    };
    return new Promise((resolve) => {
      const entry = { id, kind, windowId: null, tabId: tab?.id, data, resolve };
      pending.set(id, entry);
      Promise.resolve()
        .then(() =>
          messenger.windows.create({
            type: "popup",
            url: `popup/popup.html?request=${encodeURIComponent(id)}`,
            width: 540,
            height: Math.min(760, 400 + 72 * result.findings.length),
          })
        )
        .then((win) => {
          entry.windowId = win?.id ?? null;
          if (!pending.has(id)) {
            // Answered before windows.create returned: close it now.
            if (entry.windowId != null) return messenger.windows.remove(entry.windowId);
            return undefined;
          }
          tellDriver(settings, { type: "rapport.popup", request: id, kind, action: result.action, findings: result.findings });
        })
        .catch(() => finish(id, { choice: "failed" }));
    });
  }

  async function remember(settings, answer) {
    if (!Array.isArray(answer?.allow) || !answer.allow.length) return;
    const allow = addEntries(settings.allow, answer.allow);
    try {
      await messenger.storage.local.set({ allow });
    } catch {
      return;
    }
    if (answer.share) {
      try {
        await shareAllow(settings, addEntries([], answer.allow), { fetch: fetchImpl });
      } catch (e) {
        await notify(settings, "allow-local-only", e?.status === 404 || e?.status === 405 ? t("allowLocalOnly") : t("allowNotShared", [problemText(e)]));
      }
    }
  }

  // `sending`: the draft is about to leave; reporting.js keeps it for POST /api/v1/sent.
  async function check(settings, tabId, details, budget, sending = false) {
    let attachments = [];
    try {
      attachments = (await messenger.compose.listAttachments(tabId)) || [];
    } catch {
      attachments = [];
    }
    if (sending) reporting?.checked({ id: tabId }, details, attachments);
    const result = await analyze(settings, buildDraft(details, attachments), { fetch: fetchImpl, budgetMs: budget });
    return { action: result.action, findings: shownFindings(result.findings) };
  }

  // compose.onBeforeSend. Never rejects.
  async function onBeforeSend(tab, details) {
    const all = Array.isArray(details?.customHeaders) ? details.customHeaders : [];
    // A confirmation left by an earlier attempt (a send that failed after
    // "Send anyway") must not carry over to a changed message.
    const kept = all.filter((h) => String(h?.name).toLowerCase() !== CONFIRM_HEADER.toLowerCase());
    const proceed = (extra) =>
      extra || kept.length !== all.length
        ? { cancel: false, details: { customHeaders: extra ? [...kept, extra] : kept } }
        : { cancel: false };

    let settings;
    try {
      settings = await loadSettings(messenger);
    } catch {
      return proceed();
    }
    try {
      let result;
      try {
        result = await check(settings, tab?.id, details, budgetMs, true);
      } catch (e) {
        await notify(settings, "unchecked", t("notChecked", [problemText(e)]));
        return proceed();
      }
      if (!result.findings.length) return proceed();

      const recipients = recipientsOf(details);
      if (result.action !== "reject" && allAllowed(settings.allow, recipients)) return proceed(await confirmHeader(settings));

      const answer = await askUser(settings, "send", tab, result, recipients);
      if (answer.choice === "failed") {
        await notify(settings, "unchecked", t("popupFailed", [result.findings[0].message]));
        return proceed();
      }
      await remember(settings, answer);
      if (answer.choice === "send" && result.action !== "reject") return proceed(await confirmHeader(settings));
      if (tab?.windowId != null) Promise.resolve().then(() => messenger.windows.update(tab.windowId, { focused: true })).catch(() => {});
      await reporting?.edited(tab);
      return { cancel: true };
    } catch (e) {
      // A bug of ours must not keep mail from leaving.
      await notify(settings, "unchecked", t("notChecked", [problemText(e)]));
      return proceed();
    }
  }

  // composeAction button: check the draft now, without sending.
  async function onComposeAction(tab) {
    let settings;
    try {
      settings = await loadSettings(messenger);
      const details = await messenger.compose.getComposeDetails(tab.id);
      let result;
      try {
        result = await check(settings, tab.id, details, checkBudgetMs);
      } catch (e) {
        await notify(settings, "check-failed", t("checkFailed", [problemText(e)]));
        return;
      }
      if (!result.findings.length) {
        await notify(settings, "check-clean", t("checkClean"));
        return;
      }
      const answer = await askUser(settings, "check", tab, result, recipientsOf(details));
      await remember(settings, answer);
    } catch (e) {
      await notify(settings, "check-failed", t("checkFailed", [problemText(e)]));
    }
  }

  // Messages from our own pages (the popup).
  function onMessage(msg, sender) {
    if (sender?.id && messenger.runtime.id && sender.id !== messenger.runtime.id) return undefined;
    switch (msg?.type) {
      case "popup-get":
        return Promise.resolve(pending.get(msg.request)?.data ?? null);
      case "popup-answer":
        return Promise.resolve(
          finish(msg.request, {
            choice: msg.choice === "send" ? "send" : msg.choice === "close" ? "close" : "edit",
            allow: Array.isArray(msg.allow) ? msg.allow : [],
            share: msg.share === true,
          })
        );
      case "keepalive": // the popup pings so an idle event page is not unloaded under it
        return Promise.resolve(pending.has(msg.request));
      default:
        return undefined;
    }
  }

  // The test driver (see the header comment); everyone else is ignored.
  function onMessageExternal(msg, sender) {
    if (!msg || typeof msg.type !== "string" || !msg.type.startsWith("rapport.")) return undefined;
    return loadSettings(messenger).then((settings) => {
      if (!settings.testDriver || sender?.id !== settings.testDriver) return { ok: false, error: "not allowed" };
      if (msg.type === "rapport.pending")
        return { ok: true, pending: [...pending.values()].map((e) => ({ request: e.id, kind: e.kind, findings: e.data.findings })) };
      if (msg.type === "rapport.answer") {
        const ok = finish(msg.request, { choice: msg.choice === "send" ? "send" : "edit", allow: [], share: false });
        return { ok };
      }
      return { ok: false, error: "unknown" };
    });
  }

  function onWindowRemoved(windowId) {
    for (const e of [...pending.values()]) if (e.windowId === windowId) finish(e.id, { choice: "close" });
  }

  return { onBeforeSend, onComposeAction, onMessage, onMessageExternal, onWindowRemoved, pending };
}
