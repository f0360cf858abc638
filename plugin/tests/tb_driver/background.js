// Test-only driver for tb_smoke.py: reports to the test's HTTP server
// (text/plain POSTs, so no CORS preflight), composes one CV-only draft,
// sends it, and answers Rapport's popup with the choice the test asked for.
const BASE = "http://127.0.0.1:__PORT__";
const CHOICE = "__CHOICE__";

function report(event, data = {}) {
  return fetch(`${BASE}/driver`, { method: "POST", body: JSON.stringify({ event, ...data }) }).catch(() => {});
}

browser.runtime.onMessageExternal.addListener((msg, sender) => {
  report("external", { from: sender.id, msg });
  if (sender.id === "rapport@rapport.local" && msg?.type === "rapport.popup") {
    setTimeout(async () => {
      try {
        const r = await browser.runtime.sendMessage("rapport@rapport.local", { type: "rapport.answer", request: msg.request, choice: CHOICE });
        report("answered", { result: r });
      } catch (e) {
        report("answer-error", { error: String(e) });
      }
    }, 1500); // leave the window up long enough to be seen in a screenshot
  }
});

async function main() {
  await new Promise((r) => setTimeout(r, 4000)); // let every add-on start
  report("start");
  try {
    const tab = await browser.compose.beginNew({
      to: ["Anna Kowalska <anna.kowalska@acme-widgets.co.uk>"],
      subject: "CV",
      plainTextBody: "Hello,\n\nPlease find attached my CV.\n\nJo",
      isPlainText: true,
    });
    const bytes = new TextEncoder().encode("%PDF-1.4\n%%EOF\n");
    await browser.compose.addAttachment(tab.id, { file: new File([bytes], "CV_Jo_Bloggs.pdf", { type: "application/pdf" }) });
    report("composed", { tab: tab.id });
    const result = await browser.compose.sendMessage(tab.id, { mode: "sendNow" });
    report("sent", { result });
  } catch (e) {
    report("send-error", { error: String(e) });
  }
}
main();
