// held_page.mjs - the held-mail page in a real browser.
//
//   node held_page.mjs LOGIN_URL SCREENSHOT_DIR PROFILE_DIR
//
// Started by tests/http/http_e2e.py (case "browser"), which runs rapportd and
// an upstream and holds two messages. Uses Debian's chromium (chromium.mjs).
// Logs in with the one-time link, checks the list and a message's findings,
// works the page with the keyboard only, presses "Send anyway" twice quickly, and prints {"released": ID, "screenshots": [...]}.
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

  // Without a session the page says how to get in.
  const base = new URL(url).origin;
  await page.goto(base + "/");
  await page.locator("#login").waitFor({ state: "visible" });
  errors.length = 0; // that visit's 401 is expected and logged by chromium

  // The one-time link sets the session cookie (HttpOnly: invisible to scripts).
  await page.goto(url);
  await page.locator("#list .item").first().waitFor();
  assert.equal(await page.evaluate(() => document.cookie), "");
  const cookies = await context.cookies();
  const sess = cookies.find((c) => c.name === "rapport_session");
  assert.ok(sess && sess.httpOnly && sess.sameSite === "Strict", JSON.stringify(cookies));
  assert.equal(new URL(page.url()).pathname, "/");
  assert.equal(await page.locator("#list .item").count(), 2);
  assert.equal(await page.locator("#count").textContent(), "2");

  // Open the CV message with the keyboard: Tab to the list, Enter.
  const cvItem = page.locator("#list .item", { hasText: "CV" }).first();
  await cvItem.focus();
  await page.keyboard.press("Enter");
  await page.locator("#message").waitFor({ state: "visible" });
  await page.locator("#m-findings .finding").first().waitFor();
  const findings = await page.locator("#m-findings .finding").allTextContents();
  assert.ok(findings.some((f) => f.includes("CV with no explanation")), findings.join("\n"));
  assert.match(await page.locator("#m-text").textContent(), /Please find attached my CV\./);
  assert.match(await page.locator("#m-attachments").textContent(), /jo-bloggs-cv\.pdf/);
  assert.match(await page.locator("#m-to").textContent(), /priya\.shah@acme-widgets\.co\.uk/);
  const id = decodeURIComponent(new URL(page.url()).hash.replace("#/m/", ""));
  shots.push(path.join(shotDir, "held-page.png"));
  await page.screenshot({ path: shots.at(-1), fullPage: true });

  // Discard, then change of mind: Escape closes the question, nothing happens.
  await page.locator("#discard").focus();
  await page.keyboard.press("Enter");
  await page.locator("#confirm-discard").waitFor({ state: "visible" });
  await page.keyboard.press("Escape");
  await page.locator("#confirm-discard").waitFor({ state: "hidden" });

  // Send anyway, with a double click: one release only (the test checks the upstream).
  await page.locator("#send").dblclick();
  await page.locator("#outcome").waitFor({ state: "visible" });
  assert.match(await page.locator("#outcome").textContent(), /on its way/);
  assert.equal(await page.locator("#list .item").count(), 1);
  shots.push(path.join(shotDir, "held-page-sent.png"));
  await page.screenshot({ path: shots.at(-1), fullPage: true });

  // The expired one: apart from the waiting ones, readable, only "Discard".
  await page.locator("#expired-box summary").focus();
  await page.keyboard.press("Enter");
  const old = page.locator("#expired-list .item").first();
  await old.waitFor();
  assert.equal(await page.locator("#expired-list .item").count(), 1);
  await old.focus();
  await page.keyboard.press("Enter");
  await page.locator("#m-expiry", { hasText: "waited too long" }).waitFor();
  assert.equal(await page.locator("#send").isVisible(), false);
  await page.locator("#discard").click();
  await page.locator("#cd-yes").click();
  await page.locator("#outcome", { hasText: "Discarded" }).waitFor();
  assert.equal(await page.locator("#expired-box").isVisible(), false);

  // A narrow laptop window still works (one column).
  await page.setViewportSize({ width: 760, height: 900 });
  await page.goto(base + "/");
  await page.locator("#list .item").first().waitFor();
  shots.push(path.join(shotDir, "held-page-narrow.png"));
  await page.screenshot({ path: shots.at(-1), fullPage: true });

  assert.deepEqual(errors, []);
  console.log(JSON.stringify({ released: id, screenshots: shots }));
} finally {
  await context.close();
}
