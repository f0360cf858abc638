// languages_page.mjs - the held-mail page in each language, in a real browser.
//
//   node languages_page.mjs LOGIN_URL LANG MESSAGE_ID SCREENSHOT_DIR PROFILE_DIR
//   node languages_page.mjs LOGIN_URL switch MESSAGE_ID SCREENSHOT_DIR PROFILE_DIR MEMBER PASSWORD
//
// Started by tests/i18n/languages_e2e.py (case "page"), which holds a lazy
// application in each of the five languages. LANG: chromium speaks LANG (its
// Accept-Language); the page's main texts must be LANG's catalogue
// (daemon/web/i18n/LANG.json), the message MESSAGE_ID, written in LANG, must show its
// findings marked and written in LANG, and its dates must use LANG's month
// and day names. "switch": in an English browser the page's switch turns it
// German, and German it stays after a reload; then, in a fresh English
// browser, MEMBER (whose language is Spanish) signs in and gets Spanish.
// Uses Debian's chromium (chromium.mjs). Prints {"ok": true, "screenshots": [...]}.
import fs from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { launch } from "./chromium.mjs";

const [url, mode, id, shotDir, profile, member, password] = process.argv.slice(2);
const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "daemon", "web", "i18n");
const cat = (l) => JSON.parse(fs.readFileSync(path.join(web, l + ".json"), "utf8"));
const text = (c, key) => c[key].message;
const LOCALE = { en: "en-GB", fr: "fr-FR", de: "de-DE", es: "es-ES", pl: "pl-PL" };
const base = new URL(url).origin;
const shots = [];
const errors = [];

function watch(page) {
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.setDefaultTimeout(15000);
}

// The page's main texts are `lang`'s.
async function speaks(page, lang) {
  const c = cat(lang);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  assert.equal(await page.title(), text(c, "pageTitle"));
  for (const key of ["tagline", "listTitle", "listHint", "outcomesTitle"])
    assert.equal((await page.locator(`[data-i18n="${key}"]`).first().textContent()).trim(), text(c, key), key);
  assert.equal(await page.locator("#lang-switch").inputValue(), lang);
  assert.equal(await page.locator("#lang-switch option:checked").textContent(), text(c, "languageName"));
}

// The month and weekday of `unix` as `locale` writes them in the page's long date.
function dateWords(unix, locale) {
  const parts = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", hour: "2-digit",
    minute: "2-digit" }).formatToParts(new Date(unix * 1000));
  return ["weekday", "month"].map((t) => parts.find((p) => p.type === t).value);
}

async function onePage(lang) {
  const context = await launch(profile, LOCALE[lang]);
  try {
    const page = context.pages()[0] || (await context.newPage());
    watch(page);
    await page.goto(url);
    await page.locator("#list .item").first().waitFor();
    await speaks(page, lang);
    const c = cat(lang);
    assert.equal((await page.locator("#logout button").textContent()).trim(), text(c, "signOut"));

    // The mail written in this language: its findings in it, labelled in it.
    await page.locator(`#list .item[data-id="${id}"]`).click();
    await page.locator("#m-findings .finding").first().waitFor();
    for (const key of ["whyTitle", "sendAnyway", "discard", "yourMessage", "attachments"])
      assert.equal((await page.locator(`#message [data-i18n="${key}"]`).first().textContent()).trim(), text(c, key), key);
    const findings = await page.locator("#m-findings .finding").evaluateAll((els) =>
      els.map((e) => ({ label: e.querySelector(".label").textContent, lang: e.querySelector(".text").lang,
        text: e.querySelector(".text").textContent })));
    assert.ok(findings.length >= 3, JSON.stringify(findings));
    const labels = Object.entries(c).filter(([k]) => k.startsWith("rule.")).map(([, v]) => v.message);
    for (const f of findings) {
      assert.equal(f.lang, lang, JSON.stringify(f));
      assert.ok(labels.includes(f.label), `${f.label} is not a ${lang} rule label`);
    }
    const m = await page.evaluate(async (i) => (await fetch("/api/v1/messages/" + encodeURIComponent(i))).json(), id);
    assert.deepEqual(findings.map((f) => f.text), m.findings.map((f) => f.message));
    // Dates in the reader's language: the weekday and month names are its own.
    const received = await page.locator("#m-received").textContent();
    for (const word of dateWords(m.received, LOCALE[lang])) assert.ok(received.includes(word), `${received} lacks ${word}`);
    const kept = text(c, "keptUntil");
    assert.ok((await page.locator("#m-expiry").textContent()).startsWith(kept.slice(0, kept.indexOf("{date}"))));
    const label = (await page.locator(`#list .item[data-id="${id}"]`).locator(".chip").first().textContent());
    assert.ok(labels.includes(label), label);
    shots.push(path.join(shotDir, `held-page-${lang}.png`));
    await page.screenshot({ path: shots.at(-1), fullPage: true });
  } finally {
    await context.close();
  }
}

async function switchAndMember() {
  let context = await launch(profile, "en-GB");
  try {
    const page = context.pages()[0] || (await context.newPage());
    watch(page);
    await page.goto(url);
    await page.locator("#list .item").first().waitFor();
    await speaks(page, "en");
    // The switch: German now, and German again after a reload (kept in this browser).
    await page.locator("#lang-switch").selectOption("de");
    await speaks(page, "de");
    await page.locator(`#list .item[data-id="${id}"]`).click();
    await page.locator("#m-findings .finding").first().waitFor();
    assert.equal(await page.locator("#send").textContent(), text(cat("de"), "sendAnyway"));
    await page.locator("#lang-switch").selectOption("pl");
    await speaks(page, "pl");
    assert.equal(await page.locator("#send").textContent(), text(cat("pl"), "sendAnyway")); // the open message too
    await page.locator("#lang-switch").selectOption("de");
    await page.goto(base + "/");
    await page.locator("#list .item").first().waitFor();
    await speaks(page, "de");
    shots.push(path.join(shotDir, "held-page-switch-de.png"));
    await page.screenshot({ path: shots.at(-1), fullPage: true });
  } finally {
    await context.close();
  }
  // A member whose language is Spanish, in an English browser: English until
  // she signs in, then Spanish.
  context = await launch(profile + "-member", "en-GB");
  try {
    const page = context.pages()[0] || (await context.newPage());
    watch(page);
    await page.goto(base + "/");
    await page.locator("#member-login").waitFor({ state: "visible" });
    await page.waitForFunction(() => document.documentElement.lang === "en");
    assert.equal((await page.locator('[data-i18n="memberLoginTitle"]').textContent()).trim(), text(cat("en"), "memberLoginTitle"));
    errors.length = 0; // the 401 before signing in is expected and logged by chromium
    await page.locator("#ml-name").fill(member);
    await page.locator("#ml-password").fill(password);
    await page.locator("#member-login button[type=submit]").click();
    await page.locator("#outcomes").waitFor({ state: "visible" });
    await speaks(page, "es");
    assert.equal(await page.locator("#whoami").textContent(), text(cat("es"), "signedIn").replace("{name}", member));
    assert.equal(await page.locator("#oc-headline").textContent(), text(cat("es"), "noApplications"));
  } finally {
    await context.close();
  }
}

try {
  if (mode === "switch") await switchAndMember();
  else await onePage(mode);
  assert.deepEqual(errors, []);
  console.log(JSON.stringify({ ok: true, screenshots: shots }));
} catch (e) {
  console.error(e);
  console.error("page errors: " + JSON.stringify(errors));
  process.exitCode = 1;
}
