// draft.js - a compose window's state as the JSON draft POST /api/v1/analyze
// takes: {from, to, cc, bcc, subject, body, html, attachments, in_reply_to}.
//
//   const draft = buildDraft(details, await messenger.compose.listAttachments(tab.id));
//
// Recipients given as address-book references ({id, type}) are left out:
// only mailbox strings name an address. A reply (details.type "reply") is
// marked with a placeholder In-Reply-To so the daemon judges it as a reply,
// which only unfilled-placeholder applies to; nothing is sent with it.

export const REPLY_MARKER = "<reply-in-thunderbird@rapport.invalid>";

function list(v) {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).filter((x) => typeof x === "string" && x.trim()).map((x) => x.trim());
}

// "Anna Kowalska <anna@acme.pl>" -> "anna@acme.pl"; a bare address stays.
export function addressOf(mailbox) {
  const s = String(mailbox).trim();
  const m = /<([^<>]*)>\s*$/.exec(s);
  return (m ? m[1] : s).trim().toLowerCase();
}

export function domainOf(address) {
  const a = addressOf(address);
  const at = a.lastIndexOf("@");
  return at >= 0 ? a.slice(at + 1) : "";
}

export function recipientsOf(details) {
  const seen = new Set();
  const out = [];
  for (const k of ["to", "cc", "bcc"])
    for (const r of list(details?.[k])) {
      const a = addressOf(r);
      if (a.includes("@") && !seen.has(a)) {
        seen.add(a);
        out.push(a);
      }
    }
  return out;
}

export function buildDraft(details, attachments = []) {
  const d = details || {};
  const draft = {
    to: list(d.to),
    cc: list(d.cc),
    bcc: list(d.bcc),
    subject: typeof d.subject === "string" ? d.subject : "",
    attachments: (attachments || [])
      .filter((a) => a && typeof a.name === "string")
      .map((a) => ({ name: a.name, ...(Number.isFinite(a.size) && a.size >= 0 ? { size: Math.floor(a.size) } : {}) })),
  };
  if (typeof d.from === "string" && d.from.trim()) draft.from = d.from.trim();
  // Thunderbird gives a plain-text rendering of HTML mail too (quotes as "> "
  // lines); it is what the checks read best. HTML only when there is no text.
  if (d.isPlainText || (typeof d.plainTextBody === "string" && d.plainTextBody.trim())) {
    draft.body = d.plainTextBody || "";
  } else {
    draft.body = typeof d.body === "string" ? d.body : "";
    draft.html = true;
  }
  if (d.type === "reply") draft.in_reply_to = REPLY_MARKER;
  return draft;
}
