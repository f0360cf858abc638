// reports.js - telling rapportd, after the fact, about mail Thunderbird sent
// and received itself, so the reply ledger and the sending history see it
// when Thunderbird talks to the provider directly (Gmail, Outlook.com with
// their own OAuth2 sign-in).
//
//   const reports = createReports({ messenger });
//   await reports.add({ path: "/api/v1/sent", body: {...draft, message_id, revised} });
//   reports.flush();                       // also runs by itself: after add(), at start, on a timer
//
// Contract: nothing here ever holds up a send - reports are made after
// compose.onAfterSend, and add() only writes to storage.local. Each report
// is kept (storage.local, key QUEUE_KEY) until rapportd has answered it, so
// a daemon that is stopped, restarting or unreachable loses nothing the
// queue can hold. The queue is bounded (MAX_REPORTS, MAX_BYTES): when full,
// the oldest report is dropped first - recent mail matters more to the
// ledger than mail from weeks ago. Sent in order, one at a time.
//
// What counts as answered: 2xx; and 4xx other than 401/408/429, which no
// retry can change (a report rapportd cannot read would block every report
// behind it). Kept for later: no token yet, unreachable, too slow, 401 (the
// token is being fixed), 408/429 and 5xx. A failed flush is tried again
// after RETRY_MS, doubling up to RETRY_MAX_MS, while Thunderbird keeps the
// background page; in any case at the next send, the next mail received
// and Thunderbird's next start.

import { callApi } from "./client.js";

export const QUEUE_KEY = "reportQueue";
export const MAX_REPORTS = 200;
export const MAX_BYTES = 4 * 1024 * 1024; // of JSON in storage.local, all reports together
export const RETRY_MS = 30 * 1000;
export const RETRY_MAX_MS = 15 * 60 * 1000;
const REPORT_BUDGET_MS = 10 * 1000; // nobody waits for a report; a busy daemon gets time

// A 4xx that waiting will not change.
function permanent(e) {
  return e?.kind === "http" && e.status >= 400 && e.status < 500 && ![401, 408, 429].includes(e.status);
}

// The newest reports that fit both bounds, oldest first.
export function bounded(queue, maxReports = MAX_REPORTS, maxBytes = MAX_BYTES) {
  const out = [];
  let bytes = 0;
  for (let i = queue.length - 1; i >= 0 && out.length < maxReports; i--) {
    const size = JSON.stringify(queue[i]).length;
    if (bytes + size > maxBytes) break;
    bytes += size;
    out.push(queue[i]);
  }
  return out.reverse();
}

export function createReports(deps) {
  const { messenger } = deps;
  const fetchImpl = deps.fetch || ((...a) => globalThis.fetch(...a));
  const load = deps.loadSettings;
  const retryMs = deps.retryMs ?? RETRY_MS;
  const retryMaxMs = deps.retryMaxMs ?? RETRY_MAX_MS;
  const setTimer = deps.setTimeout || ((f, ms) => setTimeout(f, ms));
  const clearTimer = deps.clearTimeout || ((t) => clearTimeout(t));
  let chain = Promise.resolve(); // storage changes, one after another
  let flushing = null;
  let again = false; // flush() asked for while one runs: run once more after it
  let timer = null;
  let delay = retryMs;

  function serial(f) {
    const next = chain.then(f, f);
    chain = next.catch(() => {});
    return next;
  }

  async function read() {
    const got = (await messenger.storage.local.get(QUEUE_KEY)) || {};
    return Array.isArray(got[QUEUE_KEY]) ? got[QUEUE_KEY] : [];
  }

  function add(report) {
    return serial(async () => {
      const queue = bounded([...(await read()), { path: report.path, body: report.body, at: Date.now() }]);
      await messenger.storage.local.set({ [QUEUE_KEY]: queue });
    }).then(() => {
      flush();
    });
  }

  function schedule() {
    if (timer !== null) return;
    timer = setTimer(() => {
      timer = null;
      flush();
    }, delay);
    delay = Math.min(delay * 2, retryMaxMs);
  }

  // Sends what waits, oldest first; resolves with the number still waiting.
  function flush() {
    if (flushing) {
      again = true;
      return flushing;
    }
    again = false;
    flushing = (async () => {
      let settings;
      try {
        settings = await load(messenger);
      } catch {
        schedule();
        return (await read()).length;
      }
      for (;;) {
        const queue = await serial(read);
        if (!queue.length) {
          delay = retryMs;
          return 0;
        }
        const first = queue[0];
        let done = false;
        try {
          await callApi(settings, first.path, {
            method: "POST",
            body: JSON.stringify(first.body),
            fetch: fetchImpl,
            budgetMs: REPORT_BUDGET_MS,
          });
          done = true;
        } catch (e) {
          done = permanent(e);
        }
        if (!done) {
          schedule();
          return (await serial(read)).length; // with any added meanwhile
        }
        // Only the report just sent: others may have been added meanwhile.
        await serial(async () => {
          const now = await read();
          const i = now.findIndex((r) => r.at === first.at && r.path === first.path && JSON.stringify(r.body) === JSON.stringify(first.body));
          if (i >= 0) now.splice(i, 1);
          await messenger.storage.local.set({ [QUEUE_KEY]: now });
        });
      }
    })().finally(() => {
      flushing = null;
      if (again && timer === null) flush();
    });
    return flushing;
  }

  function stop() {
    if (timer !== null) clearTimer(timer);
    timer = null;
  }

  return { add, flush, stop, pending: async () => (await read()).length };
}
