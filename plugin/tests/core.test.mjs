// The add-on's behaviour with a fake `messenger` and a fake daemon.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRapport, CONFIRM_HEADER } from "../lib/core.js";
import { verifyConfirm } from "../lib/confirm.js";
import { fakeMessenger, fakeDaemon, deadUrl, CV_FINDING, GREETING_FINDING } from "./helpers.mjs";

const TOKEN = "a".repeat(64);
const TAB = { id: 7, windowId: 3 };
const OWN = { id: "rapport@rapport.local" };

function draft(extra = {}) {
  return {
    from: "Jake Ward <jake@example.org>",
    to: ["Anna Kowalska <anna.kowalska@acme.co.uk>"],
    cc: [],
    bcc: [],
    subject: "CV",
    isPlainText: true,
    plainTextBody: "Dear Sir/Madam,\n\nPlease find attached my CV.\n\nJake",
    customHeaders: [],
    type: "new",
    ...extra,
  };
}

async function setup(handler, { local = {}, attachments = [], budgetMs } = {}) {
  const daemon = await fakeDaemon(handler);
  const m = fakeMessenger({ local: { daemonUrl: daemon.url, token: TOKEN, ...local }, attachments });
  const rapport = createRapport({ messenger: m, ...(budgetMs ? { budgetMs } : {}) });
  return { daemon, m, rapport };
}

const flagged = (findings = [CV_FINDING], action = "hold") => () => ({ json: { action, findings } });

async function popupAnswer(m, rapport, choice, extra = {}) {
  const { win, request } = await m.nextPopup();
  const data = await rapport.onMessage({ type: "popup-get", request }, OWN);
  await rapport.onMessage({ type: "popup-answer", request, choice, ...extra }, OWN);
  return { win, request, data };
}

test("clean draft: sent silently, the daemon got the draft with the token", async () => {
  const { daemon, m, rapport } = await setup(() => ({ json: { action: "relay", findings: [] } }), {
    attachments: [{ id: 1, name: "CV.pdf", size: 40321 }],
  });
  try {
    const r = await rapport.onBeforeSend(TAB, draft({ cc: ["Bob <bob@acme.co.uk>"] }));
    assert.deepEqual(r, { cancel: false });
    assert.equal(m.calls.created.length, 0, "no popup");
    assert.equal(m.calls.notifications.length, 0, "no notification");
    assert.equal(daemon.requests.length, 1);
    const req = daemon.requests[0];
    assert.equal(req.method, "POST");
    assert.equal(req.url, "/api/v1/analyze");
    assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
    assert.match(req.headers["content-type"], /^application\/json/);
    const body = JSON.parse(req.body);
    assert.deepEqual(body.to, ["Anna Kowalska <anna.kowalska@acme.co.uk>"]);
    assert.deepEqual(body.cc, ["Bob <bob@acme.co.uk>"]);
    assert.equal(body.subject, "CV");
    assert.equal(body.from, "Jake Ward <jake@example.org>");
    assert.match(body.body, /Please find attached my CV/);
    assert.deepEqual(body.attachments, [{ name: "CV.pdf", size: 40321 }]);
    assert.equal(body.html, undefined);
  } finally {
    await daemon.close();
  }
});

test("flagged draft: the popup opens with the daemon's messages", async () => {
  const { daemon, m, rapport } = await setup(flagged([CV_FINDING, GREETING_FINDING]));
  try {
    const sending = rapport.onBeforeSend(TAB, draft());
    const { win, data } = await popupAnswer(m, rapport, "edit");
    await sending;
    assert.equal(m.calls.created[0].opts.type, "popup");
    assert.match(m.calls.created[0].opts.url, /^popup\/popup\.html\?request=/);
    assert.equal(data.kind, "send");
    assert.equal(data.action, "hold");
    assert.deepEqual(
      data.findings.map((f) => f.message),
      [CV_FINDING.message, GREETING_FINDING.message]
    );
    assert.deepEqual(data.recipients, ["anna.kowalska@acme.co.uk"]);
    assert.deepEqual(data.choices, [
      { type: "address", value: "anna.kowalska@acme.co.uk" },
      { type: "domain", value: "acme.co.uk" },
    ]);
    assert.deepEqual(m.calls.removed, [win.id], "the background closes the popup");
  } finally {
    await daemon.close();
  }
});

test("Edit message cancels the send and returns to the compose window", async () => {
  const { daemon, m, rapport } = await setup(flagged());
  try {
    const sending = rapport.onBeforeSend(TAB, draft());
    await popupAnswer(m, rapport, "edit");
    assert.deepEqual(await sending, { cancel: true });
    assert.deepEqual(m.calls.updated, [{ id: TAB.windowId, props: { focused: true } }]);
    assert.equal(m.calls.notifications.length, 0);
  } finally {
    await daemon.close();
  }
});

test("closing the popup window means edit", async () => {
  const { daemon, m, rapport } = await setup(flagged());
  try {
    const sending = rapport.onBeforeSend(TAB, draft());
    const { win } = await m.nextPopup();
    await new Promise((r) => setTimeout(r, 10));
    rapport.onWindowRemoved(win.id);
    assert.deepEqual(await sending, { cancel: true });
    assert.equal(rapport.pending.size, 0);
  } finally {
    await daemon.close();
  }
});

test("Send anyway sends with X-Rapport-Confirm and keeps other custom headers", async () => {
  const { daemon, m, rapport } = await setup(flagged());
  try {
    const sending = rapport.onBeforeSend(TAB, draft({ customHeaders: [{ name: "X-Job-Ref", value: "42" }] }));
    await popupAnswer(m, rapport, "send");
    const r = await sending;
    assert.equal(r.cancel, false);
    const headers = r.details.customHeaders;
    assert.deepEqual(headers[0], { name: "X-Job-Ref", value: "42" });
    assert.equal(headers.length, 2);
    assert.equal(headers[1].name, CONFIRM_HEADER);
    assert.match(headers[1].value, /^v1:\d+-[0-9a-f]{32}:[0-9a-f]{64}$/);
    assert.ok(await verifyConfirm(TOKEN, headers[1].value), "valid for the daemon's token");
    assert.ok(!(await verifyConfirm("b".repeat(64), headers[1].value)), "not for another token");
  } finally {
    await daemon.close();
  }
});

test("a confirmation left from an earlier attempt is removed on a clean send", async () => {
  const { daemon, rapport } = await setup(() => ({}));
  try {
    const r = await rapport.onBeforeSend(
      TAB,
      draft({ customHeaders: [{ name: "X-Rapport-Confirm", value: "v1:old" }, { name: "X-Other", value: "1" }] })
    );
    assert.deepEqual(r, { cancel: false, details: { customHeaders: [{ name: "X-Other", value: "1" }] } });
  } finally {
    await daemon.close();
  }
});

test("daemon down: the send proceeds with exactly one notification", async () => {
  const m = fakeMessenger({ local: { daemonUrl: await deadUrl(), token: TOKEN } });
  const rapport = createRapport({ messenger: m });
  const r = await rapport.onBeforeSend(TAB, draft());
  assert.deepEqual(r, { cancel: false });
  assert.equal(m.calls.created.length, 0);
  assert.equal(m.calls.notifications.length, 1);
  assert.match(m.calls.notifications[0].message, /sent without Rapport's check: Rapport is not running/);
});

test("slow daemon: gives up after the 1.5 s budget, sends, one notification", async () => {
  const { daemon, m, rapport } = await setup(() => ({ delayMs: 4000, json: { action: "hold", findings: [CV_FINDING] } }));
  try {
    const t0 = Date.now();
    const r = await rapport.onBeforeSend(TAB, draft());
    const took = Date.now() - t0;
    assert.deepEqual(r, { cancel: false });
    assert.ok(took >= 1400 && took < 2500, `took ${took} ms`);
    assert.equal(m.calls.notifications.length, 1);
    assert.match(m.calls.notifications[0].message, /took too long/);
    assert.equal(m.calls.created.length, 0, "no popup after giving up");
  } finally {
    await daemon.close();
  }
});

test("token missing: no request, the send proceeds, one notification saying how to set it up", async () => {
  const { daemon, m, rapport } = await setup(flagged(), { local: { token: "" } });
  try {
    const r = await rapport.onBeforeSend(TAB, draft());
    assert.deepEqual(r, { cancel: false });
    assert.equal(daemon.requests.length, 0);
    assert.equal(m.calls.notifications.length, 1);
    assert.match(m.calls.notifications[0].message, /rapportctl token/);
  } finally {
    await daemon.close();
  }
});

test("token refused (401): the send proceeds, the notification names the token", async () => {
  const { daemon, m, rapport } = await setup(() => ({ status: 401, json: { error: "bad_token", message: "The API token is wrong." } }));
  try {
    assert.deepEqual(await rapport.onBeforeSend(TAB, draft()), { cancel: false });
    assert.equal(m.calls.notifications.length, 1);
    assert.match(m.calls.notifications[0].message, /token in Rapport's options is not the current one/);
  } finally {
    await daemon.close();
  }
});

test("the checker's `flags` shape is understood; info-only findings never nag", async () => {
  const { daemon, m, rapport } = await setup((req, body) =>
    JSON.parse(body).subject === "info"
      ? { json: { action: "relay", findings: [{ rule: "vague-subject", message: "x", action: "info" }] } }
      : { json: { action: "warn", flags: [GREETING_FINDING] } }
  );
  try {
    assert.deepEqual(await rapport.onBeforeSend(TAB, draft({ subject: "info" })), { cancel: false });
    assert.equal(m.calls.created.length, 0);
    const sending = rapport.onBeforeSend(TAB, draft());
    const { data } = await popupAnswer(m, rapport, "edit");
    assert.deepEqual(data.findings, [GREETING_FINDING]);
    assert.deepEqual(await sending, { cancel: true });
  } finally {
    await daemon.close();
  }
});

test("don't warn me for this one: stored, then that recipient's mail goes without a popup", async () => {
  const { daemon, m, rapport } = await setup(flagged());
  try {
    const first = rapport.onBeforeSend(TAB, draft());
    await popupAnswer(m, rapport, "send", { allow: [{ type: "domain", value: "ACME.co.uk" }], share: false });
    assert.equal((await first).cancel, false);
    assert.deepEqual(m.store.allow, [{ type: "domain", value: "acme.co.uk" }]);
    assert.equal(daemon.requests.filter((r) => r.url === "/api/v1/allow").length, 0, "not shared unless asked");

    const second = await rapport.onBeforeSend(TAB, draft({ to: ["hr@acme.co.uk"] }));
    assert.equal(m.calls.created.length, 1, "no second popup");
    assert.equal(second.details.customHeaders[0].name, CONFIRM_HEADER, "confirmed so the proxy does not hold it");

    // One recipient not on the list is enough to show the findings.
    const third = rapport.onBeforeSend(TAB, draft({ to: ["hr@acme.co.uk", "jobs@other.com"] }));
    await popupAnswer(m, rapport, "edit");
    assert.deepEqual(await third, { cancel: true });
  } finally {
    await daemon.close();
  }
});

test("sharing the allow-list: the daemon is asked; without the endpoint it is kept locally and the user told once", async () => {
  const { daemon, m, rapport } = await setup((req) =>
    req.url === "/api/v1/allow" ? { status: 404, json: { error: "not_found", message: "No such API endpoint." } } : flagged()()
  );
  try {
    const sending = rapport.onBeforeSend(TAB, draft());
    await popupAnswer(m, rapport, "edit", { allow: [{ type: "address", value: "anna.kowalska@acme.co.uk" }], share: true });
    assert.deepEqual(await sending, { cancel: true });
    const shared = daemon.requests.filter((r) => r.url === "/api/v1/allow");
    assert.equal(shared.length, 1);
    assert.deepEqual(JSON.parse(shared[0].body), { entries: [{ type: "address", value: "anna.kowalska@acme.co.uk" }] });
    assert.deepEqual(m.store.allow, [{ type: "address", value: "anna.kowalska@acme.co.uk" }]);
    assert.equal(m.calls.notifications.length, 1);
    assert.match(m.calls.notifications[0].message, /Saved in Thunderbird/);
  } finally {
    await daemon.close();
  }
});

test("a policy that rejects: no Send anyway; choosing it still cancels", async () => {
  const { daemon, m, rapport } = await setup(flagged([CV_FINDING], "reject"), {
    local: { allow: [{ type: "domain", value: "acme.co.uk" }] },
  });
  try {
    const sending = rapport.onBeforeSend(TAB, draft());
    const { data } = await popupAnswer(m, rapport, "send");
    assert.equal(data.action, "reject");
    assert.deepEqual(await sending, { cancel: true });
  } finally {
    await daemon.close();
  }
});

test("popup cannot be opened: the mail goes on, one notification with the finding", async () => {
  const daemon = await fakeDaemon(flagged());
  const m = fakeMessenger({
    local: { daemonUrl: daemon.url, token: TOKEN },
    windowsCreate: async () => {
      throw new Error("no window");
    },
  });
  try {
    const r = await createRapport({ messenger: m }).onBeforeSend(TAB, draft());
    assert.deepEqual(r, { cancel: false });
    assert.equal(m.calls.notifications.length, 1);
    assert.match(m.calls.notifications[0].message, /could not open its window.*Your CV is attached/);
  } finally {
    await daemon.close();
  }
});

test("compose button: a clean draft gets a reassuring note, a flagged one the popup without Send", async () => {
  const { daemon, m, rapport } = await setup((req, body) => (JSON.parse(body).subject === "clean" ? {} : flagged()()));
  try {
    m.compose.getComposeDetails = async () => draft({ subject: "clean" });
    await rapport.onComposeAction(TAB);
    assert.equal(m.calls.notifications.length, 1);
    assert.match(m.calls.notifications[0].message, /nothing to point out/);

    m.compose.getComposeDetails = async () => draft();
    const checking = rapport.onComposeAction(TAB);
    const { data } = await popupAnswer(m, rapport, "close");
    await checking;
    assert.equal(data.kind, "check");
    assert.deepEqual(data.findings, [CV_FINDING]);
  } finally {
    await daemon.close();
  }
});

test("the test driver: ignored unless configured; then told of the popup and may answer it", async () => {
  const { daemon, m, rapport } = await setup(flagged());
  try {
    // Not configured: any add-on is refused.
    const sending = rapport.onBeforeSend(TAB, draft());
    const { request } = await m.nextPopup();
    assert.deepEqual(await rapport.onMessageExternal({ type: "rapport.answer", request, choice: "send" }, { id: "evil@x" }), {
      ok: false,
      error: "not allowed",
    });
    assert.equal(rapport.pending.size, 1, "still waiting for the user");
    rapport.onWindowRemoved(m.calls.created[0].win.id);
    assert.deepEqual(await sending, { cancel: true });

    m.store.testDriver = "driver@rapport.test";
    const again = rapport.onBeforeSend(TAB, draft());
    const p = await m.nextPopup();
    await new Promise((r) => setTimeout(r, 10));
    const told = m.calls.external.find((c) => c.target === "driver@rapport.test" && c.msg.type === "rapport.popup");
    assert.ok(told, "the driver hears of the popup");
    assert.deepEqual(told.msg.findings, [CV_FINDING]);
    assert.deepEqual((await rapport.onMessageExternal({ type: "rapport.answer", request: p.request, choice: "send" }, { id: "other@x" })).ok, false);
    assert.deepEqual(await rapport.onMessageExternal({ type: "rapport.answer", request: p.request, choice: "send" }, { id: "driver@rapport.test" }), { ok: true });
    const r = await again;
    assert.equal(r.details.customHeaders[0].name, CONFIRM_HEADER);
  } finally {
    await daemon.close();
  }
});

test("messages from other extensions' pages are not taken as popup answers", async () => {
  const { daemon, m, rapport } = await setup(flagged());
  try {
    const sending = rapport.onBeforeSend(TAB, draft());
    const { request } = await m.nextPopup();
    assert.equal(rapport.onMessage({ type: "popup-answer", request, choice: "send" }, { id: "other@x" }), undefined);
    await rapport.onMessage({ type: "popup-answer", request, choice: "edit" }, OWN);
    assert.deepEqual(await sending, { cancel: true });
  } finally {
    await daemon.close();
  }
});
