// reporting.js - what the add-on reports to rapportd after Thunderbird has
// sent or received mail itself (reports.js keeps and delivers the reports).
//
//   const reporting = createReporting({ messenger, reports, loadSettings });
//   messenger.compose.onAfterSend.addListener(reporting.onAfterSend);
//   messenger.messages.onNewMailReceived.addListener(reporting.onNewMailReceived);
//
// Sent: when the options say Thunderbird sends straight to the provider
// (settings.direct; through rapportd, the proxy records what it relays
// itself), compose.onAfterSend with a headerMessageId (only mail that really
// left; "send later" and failed sends have none) becomes POST /api/v1/sent:
// the same JSON draft onBeforeSend checked (draft.js) plus `message_id` and
// `revised` - true when, for this compose window, the person pressed
// *Edit message* on Rapport's findings before this send. The draft is the
// ComposeDetails Thunderbird passes to onAfterSend (Thunderbird 147 and
// later), else the one onBeforeSend saw; attachments are the ones
// onBeforeSend listed. The *Edit message* mark lives in storage.local
// (REVISED_KEY), because Thunderbird may unload the background page while
// the person edits; marks older than a day are dropped, and all of them
// when Thunderbird starts (forgetMarks(): tab ids start again then).
//
// Received: messages.onNewMailReceived (inbox and ordinary folders, after
// filters and junk sorting) becomes one POST /api/v1/incoming per message,
// `{"headers": "<its header block>"}` - read with messages.getHeaders, never
// the body (getRaw, cut at the empty line, only where Thunderbird has no
// getHeaders). At most MAX_PER_EVENT messages of one event are reported:
// a first sync of a large folder is the IMAP reader's job, not the add-on's.
//
// Nothing here throws into Thunderbird, and nothing waits for rapportd.

import { buildDraft } from "./draft.js";

export const REVISED_KEY = "revisedTabs";
export const MAX_PER_EVENT = 500;
export const MAX_HEADER_BYTES = 256 * 1024; // what rapportd reads of one header block
const MARK_LIFETIME_MS = 24 * 3600 * 1000;
const SAVED_DRAFTS = 50; // compose windows whose last checked draft is kept in memory

// A HeadersDictionary ({name: [values]}) as a header block, one field a line.
export function headerBlock(headers) {
  let out = "";
  for (const [name, values] of Object.entries(headers || {}))
    for (const v of Array.isArray(values) ? values : [values])
      if (typeof v === "string") out += `${name}: ${v.replace(/\r?\n(?=[ \t])/g, "\r\n")}\r\n`;
  return out.slice(0, MAX_HEADER_BYTES);
}

// The header section of a raw message (everything before the first empty line).
export function rawHeader(raw) {
  const s = String(raw);
  const m = /\r?\n\r?\n/.exec(s);
  return (m ? s.slice(0, m.index + m[0].length) : s).slice(0, MAX_HEADER_BYTES);
}

export function createReporting(deps) {
  const { messenger, reports, loadSettings } = deps;
  const now = deps.now || (() => Date.now());
  const drafts = new Map(); // compose tab id -> {details, attachments}

  async function marks() {
    const got = (await messenger.storage.local.get(REVISED_KEY)) || {};
    const all = got[REVISED_KEY] && typeof got[REVISED_KEY] === "object" ? got[REVISED_KEY] : {};
    const fresh = {};
    for (const [tab, at] of Object.entries(all)) if (now() - at < MARK_LIFETIME_MS) fresh[tab] = at;
    return fresh;
  }

  // onBeforeSend checked this draft (the last check of a window wins).
  function checked(tab, details, attachments) {
    if (tab?.id == null) return;
    drafts.delete(tab.id);
    drafts.set(tab.id, { details, attachments });
    while (drafts.size > SAVED_DRAFTS) drafts.delete(drafts.keys().next().value);
  }

  // The person chose *Edit message* on findings in this window.
  async function edited(tab) {
    if (tab?.id == null) return;
    try {
      const m = await marks();
      m[tab.id] = now();
      await messenger.storage.local.set({ [REVISED_KEY]: m });
    } catch {
      // Without the mark the application counts as clean, not revised.
    }
  }

  async function takeMark(tabId) {
    const m = await marks();
    const had = tabId in m;
    delete m[tabId];
    await messenger.storage.local.set({ [REVISED_KEY]: m });
    return had;
  }

  // compose.onAfterSend.
  async function onAfterSend(tab, sendInfo) {
    try {
      const saved = drafts.get(tab?.id);
      drafts.delete(tab?.id);
      const id = sendInfo?.headerMessageId;
      if (sendInfo?.error || typeof id !== "string" || !id.trim()) return;
      if (!(await loadSettings(messenger)).direct) return;
      const details = sendInfo.details || saved?.details;
      if (!details) return;
      let revised = false;
      try {
        revised = await takeMark(tab?.id);
      } catch {
        revised = false;
      }
      const body = { ...buildDraft(details, saved?.attachments || []), message_id: `<${id.trim().replace(/^<|>$/g, "")}>`, revised };
      await reports.add({ path: "/api/v1/sent", body });
    } catch {
      // A report lost is a figure less in the ledger, never a mail lost.
    }
  }

  async function headerOf(id) {
    if (typeof messenger.messages.getHeaders === "function")
      return headerBlock(await messenger.messages.getHeaders(id, { decodeHeaders: false }));
    return rawHeader(await messenger.messages.getRaw(id, { data_format: "BinaryString" }));
  }

  // messages.onNewMailReceived.
  async function onNewMailReceived(folder, list) {
    let page = list;
    let n = 0;
    try {
      while (page && n < MAX_PER_EVENT) {
        for (const m of page.messages || []) {
          if (n++ >= MAX_PER_EVENT) break;
          let headers = "";
          try {
            headers = await headerOf(m.id);
          } catch {
            continue; // gone already (moved by a filter, deleted)
          }
          if (headers.trim()) await reports.add({ path: "/api/v1/incoming", body: { headers } });
        }
        page = page.id ? await messenger.messages.continueList(page.id) : null;
      }
    } catch {
      // As above: never an error in Thunderbird's mail handling.
    }
  }

  // runtime.onStartup: no compose window survives a restart.
  async function forgetMarks() {
    try {
      await messenger.storage.local.set({ [REVISED_KEY]: {} });
    } catch {
      // Stale marks still expire after a day.
    }
  }

  return { checked, edited, forgetMarks, onAfterSend, onNewMailReceived };
}
