// Preview only (tests/preview/screenshot.py): a stand-in `messenger` so the
// real popup page renders in a plain browser with example findings.
(function () {
  const x = new XMLHttpRequest();
  x.open("GET", "/_locales/en/messages.json", false);
  x.send();
  const messages = JSON.parse(x.responseText);
  const getMessage = (name, subs = []) => {
    const m = messages[name];
    if (!m) return "";
    return m.message.replace(/\$([A-Za-z0-9_]+)\$/g, (all, ph) => {
      const p = m.placeholders && m.placeholders[ph.toLowerCase()];
      return p ? p.content.replace(/\$(\d)/g, (_, i) => subs[Number(i) - 1] ?? "") : all;
    });
  };
  const data = {
    request: "preview",
    kind: "send",
    action: "hold",
    findings: [
      { rule: "cv-attachment-only", action: "hold", message: "Your CV is attached, but the message doesn't say which role you want or why you fit. Add two or three sentences: the role, where you saw it, and one thing you'd bring." },
      { rule: "generic-greeting", action: "warn", message: "\"Hello,\" doesn't address anyone. This goes to Anna Kowalska: greet them by name." },
      { rule: "vague-subject", action: "warn", message: "The subject \"CV\" is too general: it doesn't say what you're applying for. Put the role (and any reference number) in it, e.g. \"Warehouse Team Leader - application\"." },
    ],
    recipients: ["anna.kowalska@acme-widgets.co.uk"],
    choices: [
      { type: "address", value: "anna.kowalska@acme-widgets.co.uk" },
      { type: "domain", value: "acme-widgets.co.uk" },
    ],
  };
  window.messenger = {
    i18n: { getMessage },
    runtime: { sendMessage: async (msg) => (msg.type === "popup-get" ? data : true) },
  };
})();
