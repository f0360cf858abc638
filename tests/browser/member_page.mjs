// member_page.mjs - the held-mail page for a job club, in a real browser.
//
//   node member_page.mjs BASE_URL SCREENSHOT_DIR PROFILE_DIR MEMBER PASSWORD ADVISER PASSWORD
//
// Started by tests/daemon/jobclub_e2e.py (case "page"), which runs a club
// rapportd where two members each have one held message. A member signs in
// with their password and sees only their own; the adviser sees both, whose
// each is, and the per-member summary. Prints {"ok": true, "screenshots": [...]}.
import path from "node:path";
import assert from "node:assert/strict";
import { launch } from "./chromium.mjs";

const [base, shotDir, profile, member, memberPw, adviser, adviserPw] = process.argv.slice(2);
const context = await launch(profile);
const shots = [];
const errors = [];

async function signIn(page, name, password) {
  await page.locator("#ml-name").fill(name);
  await page.locator("#ml-password").fill(password);
  await page.locator("#member-login button[type=submit]").click();
}

try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.setDefaultTimeout(15000);

  await page.goto(base + "/");
  await page.locator("#member-login").waitFor({ state: "visible" });

  // A wrong password is said plainly, and the field is emptied.
  await signIn(page, member, "not-the-password");
  await page.locator("#ml-error", { hasText: "do not match" }).waitFor();
  assert.equal(await page.locator("#ml-password").inputValue(), "");
  errors.length = 0; // the 401s so far are expected and logged by chromium

  // The member: their own held message only, no member summary.
  await signIn(page, member, memberPw);
  await page.locator("#list .item").first().waitFor();
  assert.equal(await page.locator("#list .item").count(), 1);
  assert.match(await page.locator("#whoami").textContent(), new RegExp("Signed in as " + member + "$"));
  assert.equal(await page.locator("#members").isVisible(), false);
  assert.equal(await page.locator("#list .account").count(), 0);
  shots.push(path.join(shotDir, "member-page.png"));
  await page.screenshot({ path: shots.at(-1), fullPage: true });

  // Sign out, then the adviser.
  await page.locator("#logout button").click();
  await page.locator("#member-login").waitFor({ state: "visible" }); // (a bug found here: Origin: null)
  errors.length = 0;
  await signIn(page, adviser, adviserPw);
  await page.locator("#members").waitFor({ state: "visible" });
  assert.equal(await page.locator("#list .item").count(), 2);
  const owners = await page.locator("#list .account").allTextContents();
  assert.equal(owners.length, 2, owners.join("|"));
  assert.ok(owners.some((o) => o.includes(member)), owners.join("|"));
  const rows = await page.locator("#members-body tr").allTextContents();
  assert.equal(rows.length, 2, rows.join("|"));
  // Member, sent 2, flagged 3, held now 1, sent anyway 0, discarded 0, then the commonest finding.
  const cells = await page.locator("#members-body tr").first().locator("th, td").allTextContents();
  assert.deepEqual(cells.slice(0, 6), ["amira", "2", "3", "1", "0", "0"]);
  assert.match(await page.locator("#whoami").textContent(), /\(adviser\)$/);
  shots.push(path.join(shotDir, "adviser-page.png"));
  await page.screenshot({ path: shots.at(-1), fullPage: true });

  assert.deepEqual(errors, []);
  console.log(JSON.stringify({ ok: true, screenshots: shots }));
} finally {
  await context.close();
}
