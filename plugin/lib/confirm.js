// confirm.js - the X-Rapport-Confirm value the add-on adds on "Send anyway".
//
//   const value = await confirmValue(token);  // "v1:1767225600-3f9a...:9b1c..."
//
// Why not HMAC over the Message-ID (the first design): Thunderbird
// creates the Message-ID inside its MIME writer, after compose.onBeforeSend
// has returned (MimeMessage.sys.mjs), ComposeDetails has no Message-ID field,
// and customHeaders only accepts X-/List- names, so an add-on can neither
// read nor set it before sending.
//
// Format (all ASCII, no spaces):
//   v1:<nonce>:<mac>
//   nonce = <unix seconds, decimal>-<32 lower-case hex digits from 16 random bytes>
//   mac   = lower-case hex HMAC-SHA256(key = the API token's UTF-8 bytes,
//                                      data = "v1:" + nonce, UTF-8)
// Only a holder of the token can make one. The daemon should accept a value
// once (remember the nonce) and only while the time is recent; see README.

const enc = new TextEncoder();

export function toHex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function hmacHex(key, data, subtle = globalThis.crypto.subtle) {
  const k = await subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(await subtle.sign("HMAC", k, enc.encode(data)));
}

export function makeNonce(nowMs = Date.now(), cryptoImpl = globalThis.crypto) {
  const r = new Uint8Array(16);
  cryptoImpl.getRandomValues(r);
  return `${Math.floor(nowMs / 1000)}-${toHex(r)}`;
}

export async function confirmValue(token, { nonce, now = Date.now(), cryptoImpl = globalThis.crypto } = {}) {
  const n = nonce || makeNonce(now, cryptoImpl);
  return `v1:${n}:${await hmacHex(String(token), `v1:${n}`, cryptoImpl.subtle)}`;
}

// The check the daemon is asked to make, here so the tests can pin it.
export async function verifyConfirm(token, value, { now = Date.now(), maxAgeS = 7 * 86400, skewS = 300 } = {}) {
  const m = /^v1:((\d{1,12})-[0-9a-f]{32}):([0-9a-f]{64})$/.exec(String(value).trim());
  if (!m) return false;
  const t = Number(m[2]), s = Math.floor(now / 1000);
  if (t > s + skewS || t < s - maxAgeS) return false;
  return (await hmacHex(String(token), `v1:${m[1]}`)) === m[3];
}
