// helpers.mjs - a fake `messenger` (just the parts the add-on uses) and a
// fake rapportd HTTP API for the unit tests.
import { readFileSync } from "node:fs";
import http from "node:http";

const MESSAGES = JSON.parse(readFileSync(new URL("../_locales/en/messages.json", import.meta.url), "utf8"));

export function getMessage(name, subs = []) {
  const m = MESSAGES[name];
  if (!m) return "";
  const s = Array.isArray(subs) ? subs : [subs];
  return m.message.replace(/\$([A-Za-z0-9_]+)\$/g, (all, ph) => {
    const p = m.placeholders?.[ph.toLowerCase()];
    return p ? p.content.replace(/\$(\d)/g, (_, i) => s[Number(i) - 1] ?? "") : all;
  });
}

function event() {
  const listeners = [];
  return { listeners, addListener: (f) => listeners.push(f), removeListener: () => {} };
}

export function fakeMessenger({ local = {}, attachments = [], details = null, windowsCreate = null } = {}) {
  const calls = { notifications: [], created: [], removed: [], updated: [], external: [], storageSets: [] };
  const waiters = [];
  const store = structuredClone(local);
  const m = {
    calls,
    store,
    i18n: { getMessage },
    runtime: {
      id: "rapport@rapport.local",
      async sendMessage(target, msg) {
        calls.external.push({ target, msg });
        return undefined;
      },
      onMessage: event(),
      onMessageExternal: event(),
    },
    storage: {
      local: {
        async get(keys) {
          const ks = keys == null ? Object.keys(store) : Array.isArray(keys) ? keys : [keys];
          const out = {};
          for (const k of ks) if (k in store) out[k] = structuredClone(store[k]);
          return out;
        },
        async set(obj) {
          calls.storageSets.push(structuredClone(obj));
          Object.assign(store, structuredClone(obj));
        },
      },
      managed: {
        async get() {
          throw new Error("Managed storage manifest not found");
        },
      },
    },
    notifications: {
      async create(id, opts) {
        calls.notifications.push({ id, ...opts });
        return id;
      },
    },
    windows: {
      nextId: 100,
      async create(opts) {
        if (windowsCreate) return windowsCreate(opts);
        const win = { id: m.windows.nextId++, type: opts.type };
        const request = new URL(opts.url, "moz-extension://x/").searchParams.get("request");
        calls.created.push({ opts, win, request });
        for (const w of waiters.splice(0)) w({ win, request });
        return win;
      },
      async remove(id) {
        calls.removed.push(id);
      },
      async update(id, props) {
        calls.updated.push({ id, props });
      },
      onRemoved: event(),
    },
    compose: {
      async listAttachments() {
        return attachments;
      },
      async getComposeDetails() {
        return details;
      },
      onBeforeSend: event(),
    },
    composeAction: { onClicked: event() },
    // Resolves with {win, request} when the add-on opens its popup window.
    nextPopup() {
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
  return m;
}

// A stand-in for rapportd's API. `handler(req, body)` returns
// {status, json, delayMs} or nothing (= 200 with no findings).
export async function fakeDaemon(handler = () => ({})) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const r = (await handler(req, body)) || {};
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(r.status || 200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(r.json ?? { action: "relay", findings: [] }));
      };
      if (r.delayMs) setTimeout(send, r.delayMs);
      else send();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}

// A port nothing listens on.
export async function deadUrl() {
  const s = http.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

export const CV_FINDING = {
  rule: "cv-attachment-only",
  message: "Your CV is attached, but the message doesn't say which job it is for or why you fit it.",
  action: "hold",
  lang: "en",
};
export const GREETING_FINDING = {
  rule: "generic-greeting",
  message: "\"Dear Sir/Madam\" greets nobody; the recipient's name is Anna Kowalska.",
  action: "warn",
  lang: "en",
};
