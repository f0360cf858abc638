// The small pieces: confirm value, draft building, the client's tolerance.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { confirmValue, verifyConfirm, hmacHex } from "../lib/confirm.js";
import { buildDraft, addressOf, recipientsOf, REPLY_MARKER } from "../lib/draft.js";
import { readAnalysis, normaliseUrl, callApi, DaemonError } from "../lib/client.js";
import { allAllowed, addEntries, choicesFor } from "../lib/allow.js";
import { fakeDaemon } from "./helpers.mjs";

test("confirm value: v1:<seconds>-<32 hex>:<HMAC-SHA256(token, 'v1:'+nonce)>", async () => {
  const token = "0123456789abcdef".repeat(4);
  const nonce = "1767225600-00112233445566778899aabbccddeeff";
  const v = await confirmValue(token, { nonce });
  const mac = createHmac("sha256", token).update(`v1:${nonce}`).digest("hex");
  assert.equal(v, `v1:${nonce}:${mac}`);
  assert.equal(await hmacHex("key", "The quick brown fox jumps over the lazy dog"),
    "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"); // RFC 4231-style known vector
  const fresh = await confirmValue(token, { now: 1767225600123 });
  assert.match(fresh, /^v1:1767225600-[0-9a-f]{32}:[0-9a-f]{64}$/);
  assert.notEqual(fresh, await confirmValue(token, { now: 1767225600123 }), "a fresh nonce each time");
  assert.ok(await verifyConfirm(token, fresh, { now: 1767225600123 + 3600e3 }));
  assert.ok(!(await verifyConfirm(token, fresh, { now: 1767225600123 + 8 * 86400e3 })), "too old");
  assert.ok(!(await verifyConfirm(token, fresh.replace(/.$/, (c) => (c === "0" ? "1" : "0")), { now: 1767225600123 })));
});

test("draft: plain text preferred, HTML only without text, attachments by name and size, replies marked", () => {
  const d = buildDraft(
    {
      from: "Jake <jake@example.org>",
      to: ["A <a@x.com>", { id: "contact-1", type: "contact" }],
      cc: "b@y.com",
      subject: "Junior developer at Acme",
      isPlainText: false,
      body: "<p>Hello <b>Anna</b></p>",
      plainTextBody: "Hello Anna",
      type: "new",
    },
    [{ id: 1, name: "CV.pdf", size: 1234.0 }, { id: 2, name: "x" }, null]
  );
  assert.deepEqual(d, {
    to: ["A <a@x.com>"],
    cc: ["b@y.com"],
    bcc: [],
    subject: "Junior developer at Acme",
    attachments: [{ name: "CV.pdf", size: 1234 }, { name: "x" }],
    from: "Jake <jake@example.org>",
    body: "Hello Anna",
  });
  const h = buildDraft({ isPlainText: false, body: "<p>Hi</p>", plainTextBody: "", type: "reply" });
  assert.equal(h.html, true);
  assert.equal(h.body, "<p>Hi</p>");
  assert.equal(h.in_reply_to, REPLY_MARKER);
  assert.equal(addressOf('"Kowalska, Anna" <Anna.Kowalska@Acme.PL>'), "anna.kowalska@acme.pl");
  assert.deepEqual(recipientsOf({ to: ["A <a@x.com>", "a@X.com"], bcc: ["c@z.org"] }), ["a@x.com", "c@z.org"]);
});

test("allow-list: all recipients must be allowed; free-mail domains are never offered whole", () => {
  const list = addEntries([], [{ type: "domain", value: "Acme.co.uk" }, { type: "address", value: "jo@gmail.com" }, { type: "address", value: "bad" }]);
  assert.deepEqual(list, [{ type: "domain", value: "acme.co.uk" }, { type: "address", value: "jo@gmail.com" }]);
  assert.ok(allAllowed(list, ["hr@acme.co.uk", "Jo <jo@gmail.com>"]));
  assert.ok(!allAllowed(list, ["hr@acme.co.uk", "al@gmail.com"]));
  assert.ok(!allAllowed(list, []));
  assert.deepEqual(choicesFor(["jo@gmail.com", "hr@acme.co.uk"]), [
    { type: "address", value: "jo@gmail.com" },
    { type: "address", value: "hr@acme.co.uk" },
    { type: "domain", value: "acme.co.uk" },
  ]);
});

test("client: tolerant reading; only local daemon addresses; never sends the token elsewhere", async () => {
  assert.deepEqual(readAnalysis({ action: "hold", flags: [{ rule: "r", message: " m ", action: "hold" }, { rule: "x" }] }), {
    action: "hold",
    findings: [{ rule: "r", message: "m", action: "hold", lang: "" }],
  });
  // The language rapportd wrote each message in comes along (for the popup's lang attribute).
  assert.deepEqual(readAnalysis({ action: "warn", findings: [{ rule: "r", message: "Temat „CV”", action: "warn", lang: "pl" },
    { rule: "s", message: "m", action: "warn", lang: "<x>" }] }).findings.map((f) => f.lang), ["pl", ""]);
  assert.deepEqual(readAnalysis({ findings: [] }), { action: "relay", findings: [] });
  assert.throws(() => readAnalysis({ hello: 1 }), DaemonError);
  assert.equal(normaliseUrl("http://127.0.0.1:2526/"), "http://127.0.0.1:2526");
  assert.equal(normaliseUrl("http://localhost:9"), "http://localhost:9");
  assert.equal(normaliseUrl("http://example.org:2526"), null);
  assert.equal(normaliseUrl("ftp://127.0.0.1"), null);
  assert.equal(normaliseUrl(""), "http://127.0.0.1:2526");
  await assert.rejects(callApi({ daemonUrl: "http://evil.example", token: "t" }, "/api/v1/ping"), { kind: "not-configured" });
  const d = await fakeDaemon(() => ({ status: 200, json: "oops" }));
  try {
    // A body that is not a JSON object.
    await assert.rejects(callApi({ daemonUrl: d.url, token: "t" }, "/api/v1/ping"), { kind: "bad-response" });
  } finally {
    await d.close();
  }
  // A fetch that ignores the abort signal still loses to the budget.
  const t0 = Date.now();
  await assert.rejects(
    callApi({ daemonUrl: "http://127.0.0.1:1", token: "t" }, "/x", { budgetMs: 100, fetch: () => new Promise(() => {}) }),
    { kind: "timeout" }
  );
  assert.ok(Date.now() - t0 < 1000);
});
