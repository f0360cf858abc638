// allow.js - "don't warn me for this one": recipients and domains the user
// chose not to be warned about, kept in storage.local under "allow" as
// [{type: "address"|"domain", value}] (lower case).
//
// A draft skips the popup only when every recipient is allowed; one
// unknown recipient is enough to show the findings.

import { addressOf, domainOf } from "./draft.js";

export function normaliseEntry(e) {
  if (!e || (e.type !== "address" && e.type !== "domain")) return null;
  const value = String(e.value || "").trim().toLowerCase();
  if (!value || (e.type === "address" && !value.includes("@")) || (e.type === "domain" && value.includes("@"))) return null;
  return { type: e.type, value };
}

export function isAllowed(entries, recipient) {
  const a = addressOf(recipient), d = domainOf(recipient);
  return (entries || []).some((e) => (e.type === "address" && e.value === a) || (e.type === "domain" && e.value === d));
}

export function allAllowed(entries, recipients) {
  return recipients.length > 0 && recipients.every((r) => isAllowed(entries, r));
}

export function addEntries(entries, more) {
  const out = (entries || []).map(normaliseEntry).filter(Boolean);
  for (const e of (more || []).map(normaliseEntry).filter(Boolean))
    if (!out.some((x) => x.type === e.type && x.value === e.value)) out.push(e);
  return out;
}

// Whole free-mail domains are never offered: "anyone at gmail.com" is
// everyone. (Short list; an address there can still be allowed.)
const FREE_MAIL = /^(gmail\.com|googlemail\.com|outlook\.[a-z.]+|hotmail\.[a-z.]+|live\.[a-z.]+|msn\.com|yahoo\.[a-z.]+|ymail\.com|aol\.[a-z.]+|icloud\.com|me\.com|mac\.com|gmx\.[a-z.]+|web\.de|t-online\.de|wp\.pl|o2\.pl|onet\.pl|interia\.pl|orange\.fr|free\.fr|laposte\.net|proton\.me|protonmail\.com|mail\.com|yandex\.[a-z.]+)$/;

export function isFreeMail(domain) {
  return FREE_MAIL.test(String(domain).toLowerCase());
}

// The choices the popup offers for these recipients: each address, then
// each organisation's domain ("anyone at acme.co.uk").
export function choicesFor(recipients) {
  const out = [];
  for (const r of recipients) out.push({ type: "address", value: addressOf(r) });
  for (const d of [...new Set(recipients.map(domainOf).filter(Boolean))])
    if (!isFreeMail(d)) out.push({ type: "domain", value: d });
  return out;
}
