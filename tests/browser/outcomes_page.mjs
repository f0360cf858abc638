// outcomes_page.mjs - "Did it work?" on the held-mail page, in a real browser.
//
//   node outcomes_page.mjs LOGIN_URL SCREENSHOT_DIR PROFILE_DIR
//
// Started by tests/daemon/ledger_e2e.py (case "page"), which runs rapportd,
// an upstream and a Dovecot, and has sent applications and delivered their
// answers. Logs in with the one-time link and checks the reply rate, the
// classes, the follow-ups due and the latest applications; prints
// "phase 1 ok" and then waits (reloading) until the page says the inbox
// cannot be read because the password was refused - the test breaks it
// meanwhile. Prints {"screenshots": [...]} at the end.
import path from "node:path";
import assert from "node:assert/strict";
import { launch } from "./chromium.mjs";

const [url, shotDir, profile] = process.argv.slice(2);
const context = await launch(profile);
const shots = [];
const errors = [];
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.setDefaultTimeout(15000);

  await page.goto(url);
  await page.locator("#outcomes").waitFor({ state: "visible" });
  const status = page.locator("#inbox-status");
  assert.match(await status.textContent(), /^Rapport reads your inbox for replies/);
  assert.equal(await status.evaluate((e) => e.classList.contains("problem")), false);
  assert.equal(await page.locator("#oc-headline").textContent(),
    "2 replies from 3 applications that arrived (67%), 1 bounced.");
  const cards = await page.locator("#oc-classes li").allTextContents();
  assert.equal(cards.length, 3, cards.join("|"));
  assert.equal(cards[0], "100%Sent clean2 of 2 replied, 1 bounced");
  assert.equal(cards[1], "–Improved after Rapport's advice0 of 0 replied");
  assert.equal(cards[2], "0%Sent despite Rapport's advice0 of 1 replied");
  await page.locator("#oc-due li").first().waitFor();
  assert.equal(await page.locator("#oc-due li").count(), 1);
  assert.match(await page.locator("#oc-due").textContent(), /Veterinary receptionist vacancy/);
  await page.locator("#oc-recent-box summary").click();
  const recent = await page.locator("#oc-recent li").allTextContents();
  assert.equal(recent.length, 4, recent.join("|"));
  assert.ok(recent.some((t) => t.includes("Data analyst role") && t.includes("Replied")), recent.join("|"));
  assert.ok(recent.some((t) => t.includes("Lettings negotiator") && t.includes("Replied (probably)")), recent.join("|"));
  assert.ok(recent.some((t) => t.includes("Site administrator") && t.includes("Bounced")), recent.join("|"));
  shots.push(path.join(shotDir, "outcomes.png"));
  await page.locator("#outcomes").screenshot({ path: shots.at(-1) });
  console.log("phase 1 ok");

  // The test changes the password and restarts the server: the page says so.
  const end = Date.now() + 60000;
  for (;;) {
    await page.reload();
    await page.locator("#outcomes").waitFor({ state: "visible" });
    const text = await status.textContent();
    if (text === "Rapport can't read your inbox: the password was refused") break;
    assert.ok(Date.now() < end, "the page never said the password was refused; last: " + text);
    await page.waitForTimeout(500);
  }
  assert.equal(await status.evaluate((e) => e.classList.contains("problem")), true);
  shots.push(path.join(shotDir, "outcomes-inbox-problem.png"));
  await page.locator("#outcomes").screenshot({ path: shots.at(-1) });
  assert.deepEqual(errors, []);
  console.log(JSON.stringify({ screenshots: shots }));
} finally {
  await context.close();
}
