// locales.test.mjs - the add-on in every language Rapport ships: each
// _locales/<lang>/messages.json has every string of the English one,
// translated (not the English again, unless its description says
// "identical to the English"), with the same $PLACEHOLDERS$ defined the same
// way, and names its own language in localeCode; every string the add-on's
// pages, scripts and manifest ask for exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const plugin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const root = path.resolve(plugin, "..");
const dir = path.join(plugin, "_locales");
const langs = fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, "messages.json"))).sort();
const read = (l) => JSON.parse(fs.readFileSync(path.join(dir, l, "messages.json"), "utf8"));
const en = read("en");
const tokens = (s) => [...s.matchAll(/\$([A-Za-z0-9_]+)\$/g)].map((m) => m[1].toLowerCase()).sort();

test("the add-on ships the languages of the findings", () => {
  const po = fs.readdirSync(path.join(root, "policies", "po")).filter((f) => f.endsWith(".po")).map((f) => f.slice(0, -3));
  assert.deepEqual(langs, ["en", ...po].sort());
  assert.deepEqual(langs, ["de", "en", "es", "fr", "pl"]);
  const manifest = JSON.parse(fs.readFileSync(path.join(plugin, "manifest.json"), "utf8"));
  assert.equal(manifest.default_locale, "en");
});

for (const lang of langs) {
  test(`${lang}: complete, translated, placeholders kept`, () => {
    const m = read(lang);
    assert.equal(m.localeCode?.message, lang, "localeCode names the folder's language");
    for (const [k, v] of Object.entries(en)) {
      const e = m[k];
      assert.ok(e && typeof e.message === "string" && e.message.trim(), `${lang}: "${k}" missing or empty`);
      if (lang !== "en" && k !== "localeCode" && !/identical to the english/i.test(e.description || ""))
        assert.notEqual(e.message, v.message, `${lang}: "${k}" is the English text`);
      assert.deepEqual(tokens(e.message), tokens(v.message), `${lang}: "${k}" placeholders in the text`);
      assert.deepEqual(e.placeholders || {}, v.placeholders || {}, `${lang}: "${k}" placeholder definitions`);
      for (const t of tokens(e.message)) assert.ok(e.placeholders?.[t], `${lang}: "${k}" uses $${t}$ without defining it`);
    }
    for (const k of Object.keys(m)) assert.ok(k in en, `${lang}: "${k}" is not an English string`);
  });
}

test("every string the pages, scripts and manifest ask for exists", () => {
  const wanted = new Set();
  for (const f of ["popup/popup.html", "options/options.html"]) {
    const html = fs.readFileSync(path.join(plugin, f), "utf8");
    for (const m of html.matchAll(/data-i18n(?:-title)?="([^"]+)"/g)) wanted.add(m[1]);
  }
  for (const f of ["lib/core.js", "popup/popup.js", "options/options.js", "lib/i18n-dom.js"]) {
    const js = fs.readFileSync(path.join(plugin, f), "utf8");
    for (const m of js.matchAll(/\bt\("([A-Za-z]+)"/g)) wanted.add(m[1]);
  }
  const manifest = fs.readFileSync(path.join(plugin, "manifest.json"), "utf8");
  for (const m of manifest.matchAll(/__MSG_([A-Za-z]+)__/g)) wanted.add(m[1]);
  assert.ok(wanted.size > 30, `only ${wanted.size} strings found`);
  for (const k of wanted) assert.ok(k in en, `_locales/en has no "${k}"`);
});

test("the popup marks each finding with the language rapportd wrote it in", async () => {
  const src = fs.readFileSync(path.join(plugin, "popup", "popup.js"), "utf8");
  assert.match(src, /li\.lang = f\.lang/);
  const { readAnalysis } = await import("../lib/client.js");
  const r = readAnalysis({ action: "hold", findings: [{ rule: "vague-subject", message: "Der Betreff „Bewerbung“ ist zu allgemein.", action: "warn", lang: "de" }] });
  assert.equal(r.findings[0].lang, "de");
});
