// client.js - rapportd's local HTTP API as the add-on uses it.
//
//   const result = await analyze(settings, draft);   // {action, findings}
//   await ping(settings);                            // throws DaemonError
//
// Contract: every call settles within its budget (default 1.5 s): the
// request is aborted and, in case a fetch ignores the abort, a timer wins the
// race. Failures are DaemonError with a `kind` the caller turns into words:
// "not-configured" (no token), "unreachable", "timeout", "token" (401),
// "http" (other non-2xx), "bad-response" (not the JSON we expect).
// The response is read tolerantly: `findings` (rapportd) or `flags` (the
// offline checker's shape); entries without a message are dropped.

export const DEFAULT_URL = "http://127.0.0.1:2526";
export const BUDGET_MS = 1500;

export class DaemonError extends Error {
  constructor(kind, message, status = 0) {
    super(message);
    this.name = "DaemonError";
    this.kind = kind;
    this.status = status;
  }
}

// Only the local daemon: the token must never travel to another host.
export function normaliseUrl(url) {
  let u;
  try {
    u = new URL(String(url || DEFAULT_URL).trim());
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  if (!["127.0.0.1", "localhost", "[::1]"].includes(u.hostname)) return null;
  return u.origin;
}

export async function callApi(settings, path, opts = {}) {
  const { method = "GET", body, contentType = "application/json", budgetMs = BUDGET_MS } = opts;
  const fetchImpl = opts.fetch || globalThis.fetch;
  const token = String(settings?.token || "").trim();
  if (!token) throw new DaemonError("not-configured", "No API token is set.");
  const base = normaliseUrl(settings?.daemonUrl);
  if (!base) throw new DaemonError("not-configured", "The daemon address must be on this computer (127.0.0.1 or localhost).");

  const controller = new AbortController();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DaemonError("timeout", `No answer within ${budgetMs} ms.`));
    }, budgetMs);
  });
  const request = (async () => {
    let res;
    try {
      res = await fetchImpl(base + path, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { "Content-Type": contentType } : {}) },
        body,
        signal: controller.signal,
        credentials: "omit",
        cache: "no-store",
        redirect: "error",
      });
    } catch (e) {
      if (controller.signal.aborted) throw new DaemonError("timeout", `No answer within ${budgetMs} ms.`);
      throw new DaemonError("unreachable", `Cannot reach ${base}: ${e?.message || e}`);
    }
    const text = await res.text().catch(() => "");
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (res.status === 401) throw new DaemonError("token", json?.message || "The API token was refused.", 401);
    if (!res.ok) throw new DaemonError("http", json?.message || `HTTP ${res.status}`, res.status);
    if (json === null || typeof json !== "object") throw new DaemonError("bad-response", "The answer is not JSON.", res.status);
    return json;
  })();
  try {
    return await Promise.race([request, timeout]);
  } finally {
    clearTimeout(timer);
    request.catch(() => {}); // the loser of the race must not surface as unhandled
  }
}

const ACTIONS = new Set(["relay", "warn", "hold", "reject"]);

// The analyze answer in one shape: {action, findings: [{rule, message, action, lang}]};
// `lang` is the language rapportd wrote the message in (the mail's), "" if it did not say.
export function readAnalysis(json) {
  const list = Array.isArray(json?.findings) ? json.findings : Array.isArray(json?.flags) ? json.flags : null;
  if (!list && !ACTIONS.has(json?.action)) throw new DaemonError("bad-response", "The answer has no findings.");
  const findings = (list || [])
    .filter((f) => f && typeof f.message === "string" && f.message.trim())
    .map((f) => ({
      rule: String(f.rule || ""),
      message: f.message.trim(),
      action: String(f.action || ""),
      lang: typeof f.lang === "string" && /^[a-z]{2,3}$/.test(f.lang) ? f.lang : "",
    }));
  const action = ACTIONS.has(json?.action) ? json.action : findings.length ? "warn" : "relay";
  return { action, findings };
}

export async function analyze(settings, draft, opts = {}) {
  const json = await callApi(settings, "/api/v1/analyze", { ...opts, method: "POST", body: JSON.stringify(draft) });
  return readAnalysis(json);
}

export async function ping(settings, opts = {}) {
  return callApi(settings, "/api/v1/ping", { budgetMs: 5000, ...opts });
}

// Asks the daemon to add entries to its allow-list (kept with its history,
// so the proxy stops judging mail to them too); a 4xx is reported as kind
// "http".
export async function shareAllow(settings, entries, opts = {}) {
  return callApi(settings, "/api/v1/allow", { budgetMs: 5000, ...opts, method: "POST", body: JSON.stringify({ entries }) });
}
