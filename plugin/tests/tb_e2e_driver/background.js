// Test-only driver for tb_e2e.py. It takes commands from the test's HTTP
// server (GET /next, a long poll) and reports what happens (POST /event,
// text/plain so there is no CORS preflight):
//   {op: "compose", ref, to, subject, body, attachment?: {name, type, text}}
//        -> a new plain-text compose window; event "composed" {ref, tab}
//   {op: "send", ref} -> compose.sendMessage on that window, not awaited here:
//        event "sent" {ref, result} or "send-error" {ref, error} when
//        Thunderbird settles it (after Rapport's onBeforeSend answered)
//   {op: "answer", request, choice} -> Rapport's test hook, exactly what the
//        popup's buttons do; event "answered" {request, result}
//   {op: "login", origin, user, password} -> saved in Thunderbird's password
//        manager (experiment/: what a person types at the password prompt);
//        event "login-added" {origin}
//   {op: "getmail"} -> Get Messages on every IMAP inbox (experiment/);
//        event "getmail-started" {inboxes}
//   {op: "pending"} -> asks Rapport (test hook) what popups are open; event
//        "pending" {result} - {ok: true, ...} once Rapport's background runs
//        with this driver seeded as its testDriver
// Everything Rapport tells this add-on (popup opened, notification shown)
// is passed on as event "rapport" {msg}.
const BASE = "http://127.0.0.1:__PORT__";
const RAPPORT = "rapport@rapport.local";
const tabs = new Map(); // ref -> compose tab id

function report(event, data = {}) {
  return fetch(`${BASE}/event`, { method: "POST", body: JSON.stringify({ event, ...data }) }).catch(() => {});
}

browser.runtime.onMessageExternal.addListener((msg, sender) => {
  report("rapport", { from: sender.id, msg });
});

async function run(cmd) {
  switch (cmd.op) {
    case "compose": {
      const tab = await browser.compose.beginNew({
        to: cmd.to,
        subject: cmd.subject,
        plainTextBody: cmd.body,
        isPlainText: true,
      });
      if (cmd.attachment) {
        const a = cmd.attachment;
        const file = new File([new TextEncoder().encode(a.text)], a.name, { type: a.type });
        await browser.compose.addAttachment(tab.id, { file });
      }
      tabs.set(cmd.ref, tab.id);
      return report("composed", { ref: cmd.ref, tab: tab.id });
    }
    case "send": {
      const tabId = tabs.get(cmd.ref);
      browser.compose
        .sendMessage(tabId, { mode: "sendNow" })
        .then((result) => report("sent", { ref: cmd.ref, result }))
        .catch((e) => report("send-error", { ref: cmd.ref, error: String(e) }));
      return report("sending", { ref: cmd.ref });
    }
    case "answer": {
      const result = await browser.runtime.sendMessage(RAPPORT, { type: "rapport.answer", request: cmd.request, choice: cmd.choice });
      return report("answered", { request: cmd.request, result });
    }
    case "login": {
      await browser.testAccounts.addLogin(cmd.origin, cmd.user, cmd.password);
      return report("login-added", { origin: cmd.origin });
    }
    case "getmail": {
      const inboxes = await browser.testAccounts.getNewMail();
      return report("getmail-started", { inboxes });
    }
    case "pending": {
      let result;
      try {
        result = await browser.runtime.sendMessage(RAPPORT, { type: "rapport.pending" });
      } catch (e) {
        result = { ok: false, error: String(e) };
      }
      return report("pending", { result });
    }
    default:
      return report("bad-command", { cmd });
  }
}

async function main() {
  await report("start");
  for (;;) {
    let cmd = null;
    try {
      const res = await fetch(`${BASE}/next`, { cache: "no-store" });
      cmd = res.status === 200 ? await res.json() : null;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (!cmd) continue; // the long poll timed out; ask again
    if (cmd.op === "stop") return;
    try {
      await run(cmd);
    } catch (e) {
      await report("error", { cmd, error: String(e) });
    }
  }
}
main();
