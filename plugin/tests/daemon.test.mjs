// The add-on against a real rapportd (capture mode: no upstream, nothing
// leaves). Skips, saying why, when no rapportd binary is found: set RAPPORTD,
// or build one (cmake --build build --target rapportd).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import http from "node:http";
import net from "node:net";
import { createRapport, CONFIRM_HEADER } from "../lib/core.js";
import { fakeMessenger } from "./helpers.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BINARY = [process.env.RAPPORTD, join(ROOT, "build", "rapportd"), join(ROOT, "build-plugin", "rapportd")].find(
  (p) => p && existsSync(p)
);
const SKIP = BINARY ? false : "no rapportd binary (set RAPPORTD or build the rapportd target)";
const TAB = { id: 1, windowId: 2 };
const OWN = { id: "rapport@rapport.local" };

let work, proc, httpAddr, smtpAddr, token, log = "";

async function waitFor(fn, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

const readLine = (p) => (existsSync(p) ? readFileSync(p, "utf8") : "");

before(async () => {
  if (SKIP) return;
  work = mkdtempSync(join(tmpdir(), "rapport-plugin-"));
  const state = join(work, "state");
  const config = join(work, "rapportd.toml");
  writeFileSync(config, "", { mode: 0o600 });
  proc = spawn(BINARY, ["--config", config, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--state", state], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  const ok = await waitFor(
    () => readLine(join(state, "http-address")).endsWith("\n") && readLine(join(state, "smtp-address")).endsWith("\n"),
    20000
  );
  if (!ok) throw new Error("rapportd did not start:\n" + log);
  httpAddr = readLine(join(state, "http-address")).trim();
  smtpAddr = readLine(join(state, "smtp-address")).trim();
  token = readLine(join(state, "api-token")).trim();
});

after(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill("SIGTERM");
    await waitFor(() => proc.exitCode !== null, 10000);
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

function addon(attachments = []) {
  const m = fakeMessenger({ local: { daemonUrl: `http://${httpAddr}`, token }, attachments });
  return { m, rapport: createRapport({ messenger: m }) };
}

const cvDraft = {
  from: "Jo Bloggs <jo.bloggs@example.org>",
  to: ["Anna Kowalska <anna.kowalska@acme-widgets.co.uk>"],
  subject: "CV",
  isPlainText: true,
  plainTextBody: "Hello,\n\nPlease find attached my CV.\n\nJo",
  customHeaders: [],
  type: "new",
};

test("a personal note goes without a popup", { skip: SKIP }, async () => {
  const { m, rapport } = addon();
  const r = await rapport.onBeforeSend(TAB, {
    ...cvDraft,
    subject: "Lunch on Friday?",
    plainTextBody: "Hi Anna,\n\nAre we still on for Friday at one?\n\nJo",
  });
  assert.deepEqual(r, { cancel: false });
  assert.equal(m.calls.created.length, 0);
  assert.equal(m.calls.notifications.length, 0, JSON.stringify(m.calls.notifications));
});

test("a CV-only application opens the popup with rapportd's own words; Send anyway confirms", { skip: SKIP }, async () => {
  const { m, rapport } = addon([{ id: 1, name: "CV_Jo_Bloggs.pdf", size: 48213 }]);
  const sending = rapport.onBeforeSend(TAB, cvDraft);
  const { request } = await m.nextPopup();
  const data = await rapport.onMessage({ type: "popup-get", request }, OWN);
  const rules = data.findings.map((f) => f.rule);
  assert.ok(rules.includes("cv-attachment-only"), JSON.stringify(data));
  assert.equal(data.action, "hold");
  assert.ok(data.findings.every((f) => f.message.length > 10));
  await rapport.onMessage({ type: "popup-answer", request, choice: "send" }, OWN);
  const r = await sending;
  assert.equal(r.details.customHeaders[0].name, CONFIRM_HEADER);
  console.log("findings shown:", data.findings.map((f) => `${f.rule}: ${f.message}`).join(" | "));
});

// The request a moz-extension:// page makes: preflight, then POST with Origin.
function rawRequest(method, path, headers, body) {
  const [host, port] = httpAddr.split(":");
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, headers: { Host: httpAddr, ...headers } }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("CORS as Thunderbird sends it: moz-extension Origin, preflight, token", { skip: SKIP }, async () => {
  const origin = "moz-extension://4d1f9e7c-0000-4000-8000-000000000001";
  const pre = await rawRequest("OPTIONS", "/api/v1/analyze", {
    Origin: origin,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
  });
  assert.ok(pre.status >= 200 && pre.status < 300, `preflight ${pre.status}`);
  assert.equal(pre.headers["access-control-allow-origin"], origin);
  assert.match(pre.headers["access-control-allow-headers"].toLowerCase(), /authorization/);
  const body = JSON.stringify({ to: ["a@b.example"], subject: "Hello", body: "Hi" });
  const res = await rawRequest(
    "POST",
    "/api/v1/analyze",
    { Origin: origin, Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
    body
  );
  assert.equal(res.status, 200, res.body);
  assert.equal(res.headers["access-control-allow-origin"], origin);
  const foreign = await rawRequest("POST", "/api/v1/analyze", { Origin: "http://evil.example", Authorization: `Bearer ${token}` }, "");
  assert.equal(foreign.status, 403);
});

// Minimal SMTP client: one message, replies checked by their first digit.
function smtpSend(addr, from, rcpts, data) {
  const [host, port] = addr.split(":");
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host);
    const steps = [
      null,
      `EHLO plugin.test`,
      `MAIL FROM:<${from}>`,
      ...rcpts.map((r) => `RCPT TO:<${r}>`),
      "DATA",
      data.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..") + "\r\n.",
      "QUIT",
    ];
    let buf = "";
    s.setTimeout(15000, () => s.destroy(new Error("SMTP timeout")));
    s.on("data", (d) => {
      buf += d;
      const lines = buf.split("\r\n");
      buf = lines.pop();
      for (const line of lines) {
        if (/^\d{3}-/.test(line)) continue;
        if (!/^[23]/.test(line)) return s.destroy(new Error("SMTP: " + line));
        steps.shift();
        if (!steps.length) return s.end(), resolve();
        s.write(steps[0] + "\r\n");
      }
    });
    s.on("error", reject);
  });
}

async function api(path) {
  const res = await fetch(`http://${httpAddr}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return res.json();
}

test("rapportd relays a Send-anyway mail without a hold (X-Rapport-Confirm v1)", { skip: SKIP }, async () => {
  const { m, rapport } = addon([{ id: 1, name: "CV.pdf", size: 100 }]);
  const sending = rapport.onBeforeSend(TAB, { ...cvDraft, subject: "CV." });
  const { request } = await m.nextPopup();
  await rapport.onMessage({ type: "popup-answer", request, choice: "send" }, OWN);
  const header = (await sending).details.customHeaders[0];
  const mid = `<plugin-confirm-${Date.now()}@example.org>`;
  const msg = [
    "From: Jo Bloggs <jo.bloggs@example.org>",
    "To: Anna Kowalska <anna.kowalska@acme-widgets.co.uk>",
    "Subject: CV.",
    `Message-ID: ${mid}`,
    "Date: " + new Date().toUTCString(),
    `${header.name}: ${header.value}`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b"',
    "",
    "--b",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Hello,",
    "",
    "Please find attached my CV.",
    "",
    "Jo",
    "--b",
    'Content-Type: application/pdf; name="CV.pdf"',
    'Content-Disposition: attachment; filename="CV.pdf"',
    "Content-Transfer-Encoding: base64",
    "",
    "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK",
    "--b--",
    "",
  ].join("\n");
  await smtpSend(smtpAddr, "jo.bloggs@example.org", ["anna.kowalska@acme-widgets.co.uk"], msg);
  let status = "";
  await waitFor(async () => {
    for (const s of ["held", "captured", "relayed", "queued"]) {
      const list = (await api(`/api/v1/messages?status=${s}`)).messages || [];
      for (const rec of list) {
        const d = await api(`/api/v1/messages/${rec.id}`);
        if (d.message_id === mid || `<${d.message_id}>` === mid) status = s;
      }
    }
    return status !== "";
  }, 10000);
  // rapportd accepts the v1 form since f4df797 (daemon/lib/hold.h).
  assert.ok(["captured", "relayed", "queued"].includes(status), `status ${status}\n${log.slice(-2000)}`);
});

test("sent straight to the provider, then answered: the reports reach the real rapportd's ledger", { skip: SKIP }, async () => {
  const { createReports } = await import("../lib/reports.js");
  const { createReporting } = await import("../lib/reporting.js");
  const { loadSettings } = await import("../lib/core.js");
  const m = fakeMessenger({ local: { daemonUrl: `http://${httpAddr}`, token, direct: true } });
  m.messages = {
    async getHeaders() {
      return {
        from: ["Ben Okafor <ben.okafor@birch-analytics.co.uk>"],
        to: ["Jo Bloggs <jo.bloggs@example.org>"],
        subject: ["Re: Data analyst (ref BA-77)"],
        date: [new Date().toUTCString()],
        "message-id": ["<answer-ba77@birch-analytics.co.uk>"],
        "in-reply-to": ["<sent-ba77@example.org>"],
      };
    },
  };
  const reports = createReports({ messenger: m, loadSettings, setTimeout: () => 0, clearTimeout: () => {} });
  const reporting = createReporting({ messenger: m, reports, loadSettings });
  const before = await api("/api/v1/outcomes");
  const details = {
    from: "Jo Bloggs <jo.bloggs@example.org>",
    to: ["Ben Okafor <ben.okafor@birch-analytics.co.uk>"],
    subject: "Data analyst (ref BA-77)",
    isPlainText: true,
    plainTextBody:
      "Dear Mr Okafor,\n\nI would like to apply for the Data Analyst role (ref BA-77) at Birch Analytics.\n" +
      "For three years I have built the weekly sales reporting at a wholesaler in SQL and Python.\n\nKind regards,\nJo",
    type: "new",
  };
  await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "sent-ba77@example.org", details });
  assert.equal(await reports.flush(), 0, "the sent report was taken");
  let o = await api("/api/v1/outcomes");
  assert.equal(o.applications, before.applications + 1, "one more application");
  await reporting.onAfterSend(TAB, { mode: "sendNow", headerMessageId: "sent-ba77@example.org", details });
  assert.equal(await reports.flush(), 0);
  assert.equal((await api("/api/v1/outcomes")).applications, before.applications + 1, "the same Message-ID again counts once");
  await reporting.onNewMailReceived({ type: "inbox" }, { id: null, messages: [{ id: 1 }] });
  assert.equal(await reports.flush(), 0, "the incoming report was taken");
  assert.ok(await waitFor(async () => (await api("/api/v1/outcomes")).replied === before.replied + 1, 5000), "counted as a reply");
  o = await api("/api/v1/outcomes");
  const r = o.recent.find((x) => x.subject === "Data analyst (ref BA-77)");
  assert.equal(r.outcome, "replied");
  assert.equal(r.match, "exact");
});
