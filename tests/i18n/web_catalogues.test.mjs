// web_catalogues.test.mjs - the held-mail page's catalogues (daemon/web/i18n/<lang>.json)
// are complete: every text the page shows exists in English and in every
// other shipped language, translated (not the English again, unless its
// description says "identical to the English"), with the same {placeholders},
// and with every plural form the language's rules (Intl.PluralRules) can ask
// for. Also that index.html and the page's scripts ask only for keys that exist.
//
//   node --test tests/i18n/web_catalogues.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = path.join(root, "daemon", "web", "i18n");
const langs = fs.readdirSync(dir).filter((f) => /^[a-z]{2,3}\.json$/.test(f)).map((f) => f.slice(0, -5)).sort();
const cat = Object.fromEntries(langs.map((l) => [l, JSON.parse(fs.readFileSync(path.join(dir, l + ".json"), "utf8"))]));
const en = cat.en;
const CATEGORIES = ["zero", "one", "two", "few", "many", "other"];
// "headlineReplies_few" -> "headlineReplies"; plural entries are top-level
// camelCase keys ("error.too_many" is an error code, not a plural).
const pluralBase = (k) => {
  const m = k.match(/^([A-Za-z]+)_([a-z]+)$/);
  return m && CATEGORIES.includes(m[2]) ? m[1] : null;
};
const placeholders = (s) => [...s.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]).sort();
const bases = [...new Set(Object.keys(en).map(pluralBase).filter(Boolean))];

// The plural categories integers can take in `lang` (what the page will ask for).
function categories(lang) {
  const rules = new Intl.PluralRules(lang);
  const seen = new Set(["other"]);
  for (let n = 0; n <= 1000; n++) seen.add(rules.select(n));
  for (const n of [1e4, 1e5, 1e6, 1e7]) seen.add(rules.select(n));
  return seen;
}

test("the page ships the same five languages as the findings", () => {
  assert.deepEqual(langs, ["de", "en", "es", "fr", "pl"]);
  const po = fs.readdirSync(path.join(root, "policies", "po")).filter((f) => f.endsWith(".po")).map((f) => f.slice(0, -3));
  assert.deepEqual(langs, ["en", ...po].sort());
});

for (const lang of langs) {
  test(`${lang}: every entry is well formed and names its language`, () => {
    for (const [k, v] of Object.entries(cat[lang])) {
      assert.equal(typeof v.message, "string", `${lang} ${k}`);
      assert.ok(v.message.trim().length > 0, `${lang} ${k} is empty`);
    }
    assert.ok(cat[lang].languageName, `${lang} has no languageName`);
  });
  if (lang === "en") continue;

  test(`${lang}: every text of the page is translated, placeholders kept`, () => {
    for (const [k, v] of Object.entries(en)) {
      if (pluralBase(k)) continue;
      const e = cat[lang][k];
      assert.ok(e, `${lang}.json has no "${k}"`);
      const same = /identical to the english/i.test(e.description || "");
      if (!same) assert.notEqual(e.message, v.message, `${lang} "${k}" is the English text`);
      assert.deepEqual(placeholders(e.message), placeholders(v.message), `${lang} "${k}": placeholders`);
    }
  });

  test(`${lang}: every plural form its grammar needs`, () => {
    const need = categories(lang);
    for (const base of bases) {
      const want = placeholders(en[base + "_other"].message);
      for (const c of need) {
        const e = cat[lang][base + "_" + c];
        assert.ok(e, `${lang}.json has no "${base}_${c}" (Intl.PluralRules("${lang}") uses "${c}")`);
        assert.deepEqual(placeholders(e.message), want, `${lang} "${base}_${c}": placeholders`);
      }
    }
  });

  test(`${lang}: nothing the English does not have`, () => {
    for (const k of Object.keys(cat[lang])) {
      const base = pluralBase(k);
      assert.ok(base ? bases.includes(base) : k in en, `${lang}.json: "${k}" is not a text of the page`);
    }
  });
}

test("every key index.html and the page's scripts ask for exists", () => {
  const html = fs.readFileSync(path.join(root, "daemon", "web", "index.html"), "utf8");
  const js = ["app.js", "outcomes_chart.js"]
    .map((f) => fs.readFileSync(path.join(root, "daemon", "web", f), "utf8")).join("\n");
  const keys = new Set();
  for (const m of html.matchAll(/data-i18n(?:-aria)?="([^"]+)"/g)) keys.add(m[1]);
  for (const m of js.matchAll(/\b(?:t|lookup)\("([A-Za-z.-]+)"/g)) keys.add(m[1]);
  for (const m of js.matchAll(/\btn\("([A-Za-z.-]+)"/g)) keys.add(m[1] + "_other");
  // Keys made from what the API says: rule ids, statuses, outcomes, classes.
  const rules = fs.readFileSync(path.join(root, "policies", "rules", "rules.cc"), "utf8");
  for (const m of rules.matchAll(/\{"([a-z-]+)", Scope::/g)) keys.add("rule." + m[1]);
  for (const s of ["held", "warned", "queued", "relayed", "failed", "rejected", "dropped", "expired", "captured"])
    keys.add("status." + s);
  for (const o of ["replied", "acknowledged", "bounced", "waiting"]) keys.add("outcome." + o);
  for (const c of ["clean", "revised", "despite-findings"]) keys.add("class." + c);
  assert.ok(keys.size > 80, `only ${keys.size} keys found`);
  for (const k of keys) if (!k.endsWith(".")) assert.ok(k in en, `en.json has no "${k}"`); // "rule." + id: above
});
