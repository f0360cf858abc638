// file_names.mjs - hostile attachment names and signing out, in a real browser.
//
//   node file_names.mjs LOGIN_URL SCREENSHOT_DIR PROFILE_DIR
//
// Started by tests/http/http_e2e.py (case "browser_file_names"), which holds
// one message whose attachments are named "cv\u202Efdp.exe" (a right-to-left
// override: it would read "cvexe.pdf") and 300 characters without a space.
// Checks that the first shows its override as a visible code and its real
// extension, each name is isolated (<bdi>) and the long one wraps inside
// its box; then that GET /logout signs nobody out and the page's Sign out
// (a POST with the page's header) does. Prints {"ok": true, "screenshots": [...]}.
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
  const base = new URL(url).origin;

  await page.goto(url);
  await page.locator("#list .item").first().click();
  await page.locator("#m-attachments li").first().waitFor();
  const items = page.locator("#m-attachments li");
  const texts = await items.allTextContents();
  const rlo = items.filter({ hasText: "fdp.exe" });
  assert.equal(await rlo.count(), 1, texts.join(" | "));
  const name = await rlo.locator(".att-name").textContent();
  assert.equal(name, "cv[U+202E]fdp.exe");
  assert.ok(!texts.join("").includes("\u202e"), "the override reached the page: " + JSON.stringify(texts));
  assert.equal(await rlo.locator(".icon").textContent(), "EXE");
  for (const n of await page.locator("#m-attachments .att-name").all()) {
    assert.equal(await n.evaluate((e) => e.tagName), "BDI");
    assert.equal(await n.evaluate((e) => getComputedStyle(e).unicodeBidi), "isolate");
  }
  // The long name wraps: nothing sticks out of its box or of the message.
  const long = items.filter({ hasText: "aaaaaaaaaa" });
  assert.equal(await long.count(), 1, texts.join(" | "));
  const fits = await long.evaluate((li) => {
    const article = document.getElementById("message").getBoundingClientRect();
    const box = li.getBoundingClientRect();
    const n = li.querySelector(".att-name");
    return { right: box.right, limit: article.right, overflow: n.scrollWidth - n.clientWidth, lines: n.getClientRects()[0].height };
  });
  assert.ok(fits.right <= fits.limit + 0.5, JSON.stringify(fits));
  assert.ok(fits.overflow <= 0, JSON.stringify(fits));
  shots.push(path.join(shotDir, "file-names.png"));
  await page.screenshot({ path: shots.at(-1), fullPage: true });

  // Signing out: a GET (a link, an <img> on another page) does nothing.
  const got = await page.goto(base + "/logout");
  assert.equal(got.status(), 405);
  await page.goto(base + "/");
  await page.locator("#list .item").first().waitFor(); // still signed in
  errors.length = 0; // the 405 above is logged by chromium
  await page.locator("#logout button").click();
  await page.locator("#login").waitFor({ state: "visible" });
  assert.ok(!(await context.cookies()).some((c) => c.name === "rapport_session" && c.value), "the cookie is still set");
  errors.length = 0; // the 401 of the signed-out page is expected
  await page.goto(base + "/");
  await page.locator("#login").waitFor({ state: "visible" });
  errors.length = 0;
  assert.deepEqual(errors, []);
  console.log(JSON.stringify({ ok: true, screenshots: shots }));
} finally {
  await context.close();
}
