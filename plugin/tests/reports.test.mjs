// Mail Thunderbird sent and received itself, reported to rapportd after the
// fact (lib/reporting.js, lib/reports.js), with a fake `messenger` and a
// fake daemon; tests/daemon.test.mjs has the real rapportd.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRapport, loadSettings } from "../lib/core.js";
import { createReports, bounded, QUEUE_KEY, MAX_REPORTS } from "../lib/reports.js";
import { createReporting, headerBlock, rawHeader, REVISED_KEY } from "../lib/reporting.js";
import { fakeMessenger, fakeDaemon, deadUrl, CV_FINDING } from "./helpers.mjs";

const TOKEN = "b".repeat(64);
const TAB = { id: 11, windowId: 4 };
const OWN = { id: "rapport@rapport.local" };

function details(extra = {}) {
  return {
    from: "Jo Bloggs <jo.bloggs@outlook.example>",
    to: ["Anna Kowalska <anna.kowalska@acme.co.uk>"],
    cc: [],
    bcc: [],
    subject: "Data analyst (ref KA-2291)",
    isPlainText: true,
    plainTextBody: "Dear Ms Kowalska,\n\nI read about the KA-2291 role at Acme.\n\nJo",
    customHeaders: [],
    type: "new",
    ...extra,
  };
}

const HEADERS = {
  from: ["Anna Kowalska <anna.kowalska@acme.co.uk>"],
  to: ["jo.bloggs@outlook.example"],
  subject: ["Re: Data analyst (ref KA-2291)"],
  "message-id": ["<answer-1@acme.co.uk>"],
  "in-reply-to": ["<sent-1@outlook.example>"],
};

// A fake messenger with the message-reading part of the API and a clock the test moves.
function world({ url, local = {}, handlerTimers = false } = {}) {
  const m = fakeMessenger({ local: { daemonUrl: url, token: TOKEN, direct: true, ...local }, attachments: [{ name: "CV.pdf", size: 4000 }] });
  m.calls.getHeaders = [];
  m.calls.getRaw = [];
  m.calls.getFull = [];
  const pages = { "page-2": { id: null, messages: [{ id: 3 }] } };
  m.messages = {
    async getHeaders(id, opts) {
      m.calls.getHeaders.push({ id, opts });
      if (id === 404) throw new Error("Message not found: 404.");
      return { ...HEADERS, "message-id": [`<answer-${id}@acme.co.uk>`] };
    },
    async getRaw(id) {
      m.calls.getRaw.push(id);
      throw new Error("the body must not be read");
    },
    async getFull(id) {
      m.calls.getFull.push(id);
      throw new Error("the body must not be read");
    },
    async continueList(id) {
      return pages[id];
    },
  };
  const timers = [];
  const reports = createReports({
    messenger: m,
    loadSettings,
    ...(handlerTimers
      ? { setTimeout: (f, ms) => (timers.push({ f, ms }), timers.length), clearTimeout: () => {} }
      : { setTimeout: () => 0, clearTimeout: () => {} }),
  });
  const reporting = createReporting({ messenger: m, reports, loadSettings });
  return { m, reports, reporting, timers };
}

const queued = (m) => m.store[QUEUE_KEY] || [];
const posted = (daemon, path) => daemon.requests.filter((r) => r.url === path).map((r) => JSON.parse(r.body));

test("a message Thunderbird sent is reported to POST /api/v1/sent: the draft, message_id, revised false", async () => {
  const daemon = await fakeDaemon(() => ({ json: { recorded: true } }));
  const { m, reports, reporting } = world({ url: daemon.url });
  try {
    reporting.checked(TAB, details(), [{ name: "CV.pdf", size: 4000 }]);
    await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "sent-1@outlook.example", details: details() });
    await reports.flush();
    const sent = posted(daemon, "/api/v1/sent");
    assert.equal(sent.length, 1);
    assert.equal(sent[0].message_id, "<sent-1@outlook.example>");
    assert.equal(sent[0].revised, false);
    assert.deepEqual(sent[0].to, ["Anna Kowalska <anna.kowalska@acme.co.uk>"]);
    assert.equal(sent[0].subject, "Data analyst (ref KA-2291)");
    assert.match(sent[0].body, /KA-2291 role at Acme/);
    assert.deepEqual(sent[0].attachments, [{ name: "CV.pdf", size: 4000 }]);
    assert.equal(daemon.requests[0].headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(queued(m), [], "nothing left waiting");
  } finally {
    await daemon.close();
  }
});

test("without ComposeDetails in sendInfo, the draft onBeforeSend checked is reported", async () => {
  const daemon = await fakeDaemon(() => ({ json: { recorded: true } }));
  const { reports, reporting } = world({ url: daemon.url });
  try {
    reporting.checked(TAB, details({ subject: "Checked before send" }), []);
    await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "sent-2@outlook.example" });
    await reports.flush();
    assert.deepEqual(posted(daemon, "/api/v1/sent").map((s) => s.subject), ["Checked before send"]);
  } finally {
    await daemon.close();
  }
});

test("sending through rapportd (the default): the proxy records the mail itself, nothing is reported", async () => {
  const daemon = await fakeDaemon(() => ({ json: { recorded: true } }));
  const { m, reports, reporting } = world({ url: daemon.url, local: { direct: false } });
  try {
    await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "via-proxy@x", details: details() });
    await reports.flush();
    assert.equal(daemon.requests.length, 0);
    assert.deepEqual(queued(m), []);
  } finally {
    await daemon.close();
  }
});

test("straight to the provider: Send anyway adds no X-Rapport-Confirm, which nobody would remove", async () => {
  const daemon = await fakeDaemon(() => ({ json: { action: "hold", findings: [CV_FINDING] } }));
  const { m, reporting } = world({ url: daemon.url });
  const rapport = createRapport({ messenger: m, reporting });
  try {
    const p = rapport.onBeforeSend(TAB, details());
    const { request } = await m.nextPopup();
    await rapport.onMessage({ type: "popup-answer", request, choice: "send" }, OWN);
    assert.deepEqual(await p, { cancel: false });
  } finally {
    await daemon.close();
  }
});

test("a failed send, 'send later' and a send with no Message-ID report nothing", async () => {
  const daemon = await fakeDaemon(() => ({ json: { recorded: true } }));
  const { m, reports, reporting } = world({ url: daemon.url });
  try {
    await reporting.onAfterSend(TAB, { mode: "sendNow", error: "Connection refused", details: details() });
    await reporting.onAfterSend(TAB, { mode: "sendLater", details: details() });
    await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "  ", details: details() });
    await reports.flush();
    assert.equal(daemon.requests.length, 0);
    assert.deepEqual(queued(m), []);
  } finally {
    await daemon.close();
  }
});

test("Edit message on findings, then a send: revised true, once; the mark survives an unloaded background page", async () => {
  let analyses = 0;
  const daemon = await fakeDaemon((req) =>
    req.url === "/api/v1/analyze"
      ? { json: ++analyses === 1 ? { action: "hold", findings: [CV_FINDING] } : { action: "relay", findings: [] } }
      : { json: { recorded: true } }
  );
  const { m, reports, reporting } = world({ url: daemon.url });
  const rapport = createRapport({ messenger: m, reporting });
  try {
    const first = rapport.onBeforeSend(TAB, details());
    const { request } = await m.nextPopup();
    await rapport.onMessage({ type: "popup-answer", request, choice: "edit" }, OWN);
    assert.deepEqual(await first, { cancel: true });
    assert.ok(String(TAB.id) in m.store[REVISED_KEY], "the mark is kept in storage.local");

    // Thunderbird unloaded the background page while the person edited: a new one starts.
    const again = world({ url: daemon.url, local: { [REVISED_KEY]: m.store[REVISED_KEY] } });
    const rapport2 = createRapport({ messenger: again.m, reporting: again.reporting });
    const fixed = details({ plainTextBody: "Dear Ms Kowalska,\n\nThe KA-2291 role fits my SQL work.\n\nJo" });
    assert.deepEqual(await rapport2.onBeforeSend(TAB, fixed), { cancel: false });
    await again.reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "sent-3@outlook.example", details: fixed });
    await again.reports.flush();
    const sent = posted(daemon, "/api/v1/sent");
    assert.equal(sent.length, 1);
    assert.equal(sent[0].revised, true);
    assert.match(sent[0].body, /SQL work/, "the draft as sent, not as first written");

    // The next message from a new window of the same id is not revised.
    await again.reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "sent-4@outlook.example", details: fixed });
    await again.reports.flush();
    assert.deepEqual(posted(daemon, "/api/v1/sent").map((s) => s.revised), [true, false]);
  } finally {
    await daemon.close();
  }
});

test("Thunderbird starting again forgets Edit message marks (tab ids start again)", async () => {
  const { m, reporting } = world({ url: await deadUrl(), local: { [REVISED_KEY]: { 11: Date.now() } } });
  await reporting.forgetMarks();
  assert.deepEqual(m.store[REVISED_KEY], {});
});

test("Send anyway on findings is not revised", async () => {
  const daemon = await fakeDaemon((req) =>
    req.url === "/api/v1/analyze" ? { json: { action: "hold", findings: [CV_FINDING] } } : { json: { recorded: true } }
  );
  const { m, reports, reporting } = world({ url: daemon.url });
  const rapport = createRapport({ messenger: m, reporting });
  try {
    const p = rapport.onBeforeSend(TAB, details());
    const { request } = await m.nextPopup();
    await rapport.onMessage({ type: "popup-answer", request, choice: "send" }, OWN);
    assert.equal((await p).cancel, false);
    await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "sent-5@outlook.example", details: details() });
    await reports.flush();
    assert.deepEqual(posted(daemon, "/api/v1/sent").map((s) => s.revised), [false]);
  } finally {
    await daemon.close();
  }
});

test("rapportd down: reports wait in storage.local, in order, and go once it answers; the send is never held up", async () => {
  const url = await deadUrl();
  const { m, reports, reporting, timers } = world({ url, handlerTimers: true });
  const t0 = Date.now();
  await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "a@x", details: details({ subject: "first" }) });
  await reporting.onNewMailReceived({ type: "inbox" }, { id: null, messages: [{ id: 1 }] });
  await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "b@x", details: details({ subject: "second" }) });
  assert.ok(Date.now() - t0 < 1000, "the listeners return without waiting for rapportd");
  assert.equal(await reports.flush(), 3, "three reports wait");
  assert.deepEqual(queued(m).map((r) => r.path), ["/api/v1/sent", "/api/v1/incoming", "/api/v1/sent"]);
  assert.ok(timers.length >= 1 && timers[0].ms === 30000, "a retry is scheduled in 30 s");

  const daemon = await fakeDaemon(() => ({ json: { recorded: true } }));
  try {
    m.store.daemonUrl = daemon.url; // rapportd is back (here: at another port)
    timers.at(-1).f(); // the retry timer fires
    await reports.flush();
    assert.deepEqual(daemon.requests.map((r) => r.url), ["/api/v1/sent", "/api/v1/incoming", "/api/v1/sent"]);
    assert.deepEqual(posted(daemon, "/api/v1/sent").map((s) => s.subject), ["first", "second"]);
    assert.deepEqual(queued(m), []);
  } finally {
    await daemon.close();
  }
});

test("retries back off, doubling up to 15 minutes", async () => {
  const { reports, timers } = world({ url: await deadUrl(), handlerTimers: true, local: { [QUEUE_KEY]: [{ path: "/api/v1/sent", body: {}, at: 1 }] } });
  for (let i = 0; i < 8; i++) {
    await reports.flush();
    timers.at(-1).f();
  }
  await reports.flush();
  assert.deepEqual(timers.map((t) => t.ms).slice(0, 7), [30000, 60000, 120000, 240000, 480000, 900000, 900000]);
});

test("a report rapportd cannot take (400) is dropped; one it cannot take yet (401, 503) is kept", async () => {
  const answers = { first: 400, second: 503 };
  const daemon = await fakeDaemon((req, body) => {
    const s = answers[JSON.parse(body).subject];
    return s ? { status: s, json: { error: "x", message: "no" } } : { json: { recorded: true } };
  });
  const { m, reports, reporting } = world({ url: daemon.url });
  try {
    await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "a@x", details: details({ subject: "first" }) });
    await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "b@x", details: details({ subject: "second" }) });
    assert.equal(await reports.flush(), 1);
    assert.deepEqual(queued(m).map((r) => r.body.subject), ["second"]);
    answers.second = 401;
    assert.equal(await reports.flush(), 1, "a refused token: kept until it is fixed");
    delete answers.second;
    assert.equal(await reports.flush(), 0);
  } finally {
    await daemon.close();
  }
});

test("the queue is bounded: the oldest reports are dropped first", async () => {
  const many = Array.from({ length: MAX_REPORTS + 5 }, (_, i) => ({ path: "/api/v1/incoming", body: { headers: `X-N: ${i}\r\n` }, at: i }));
  const kept = bounded(many);
  assert.equal(kept.length, MAX_REPORTS);
  assert.equal(kept[0].at, 5, "the five oldest went");
  assert.equal(kept.at(-1).at, MAX_REPORTS + 4);
  const big = [{ at: 1, body: "x".repeat(600) }, { at: 2, body: "y".repeat(600) }, { at: 3, body: "z".repeat(600) }];
  assert.deepEqual(bounded(big, 10, 1300).map((r) => r.at), [2, 3], "and by size");

  const { m, reporting } = world({ url: await deadUrl(), local: { [QUEUE_KEY]: many.slice(0, MAX_REPORTS) } });
  await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "new@x", details: details() });
  assert.equal(queued(m).length, MAX_REPORTS);
  assert.equal(queued(m)[0].at, 1, "adding one to a full queue drops the oldest");
  assert.equal(queued(m).at(-1).body.message_id, "<new@x>");
});

test("received mail: each message's header block goes to POST /api/v1/incoming, the body is never read", async () => {
  const daemon = await fakeDaemon(() => ({ json: { recorded: true, kind: "replied" } }));
  const { m, reports, reporting } = world({ url: daemon.url });
  try {
    await reporting.onNewMailReceived({ type: "inbox" }, { id: "page-2", messages: [{ id: 1 }, { id: 404 }, { id: 2 }] });
    await reports.flush();
    const got = posted(daemon, "/api/v1/incoming");
    assert.equal(got.length, 3, "messages 1 and 2, and 3 from the list's second page; 404 was gone");
    assert.deepEqual(Object.keys(got[0]), ["headers"]);
    assert.match(got[0].headers, /^from: Anna Kowalska <anna\.kowalska@acme\.co\.uk>\r\n/);
    assert.match(got[0].headers, /\r\nin-reply-to: <sent-1@outlook\.example>\r\n/);
    assert.match(got[2].headers, /message-id: <answer-3@acme\.co\.uk>/);
    assert.ok(m.calls.getHeaders.every((c) => c.opts?.decodeHeaders === false), "raw header values, as they arrived");
    assert.deepEqual([m.calls.getRaw, m.calls.getFull], [[], []], "no body was read");
  } finally {
    await daemon.close();
  }
});

test("header blocks: one field a line, folding kept as CRLF, cut at the empty line when read raw", () => {
  assert.equal(headerBlock({ subject: ["a\n b"], received: ["x", "y"] }), "subject: a\r\n b\r\nreceived: x\r\nreceived: y\r\n");
  assert.equal(rawHeader("From: a\r\nTo: b\r\n\r\nbody text\r\n"), "From: a\r\nTo: b\r\n\r\n");
  assert.equal(rawHeader("From: a\nTo: b\n\nbody"), "From: a\nTo: b\n\n");
});
