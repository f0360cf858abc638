// outcomes_chart_page.mjs - the reply-rate chart and the follow-up
// suggestions on the page, in a real browser, against the figures rapportd
// itself reports.
//
//   node outcomes_chart_page.mjs LOGIN_URL SCREENSHOT_DIR PROFILE_DIR OUTCOMES_JSON
//
// Started by tests/daemon/ledger_e2e.py (case "week_page") after its scripted
// week: OUTCOMES_JSON is `rapportctl outcomes --json` then. Checks that the
// chart is inline SVG (no script, image or font fetched from elsewhere) with
// one group per week and, per class that sent something, a bar as high as
// its reply rate, a thin line for 0% and none for a class that sent
// nothing, each bar titled with its figures; the legend; and that each
// follow-up due carries its suggestion line. Saves a screenshot.
import path from "node:path";
import assert from "node:assert/strict";
import { launch } from "./chromium.mjs";

const [url, shotDir, profile, json] = process.argv.slice(2);
const expected = JSON.parse(json);
const context = await launch(profile);
const errors = [];
const foreign = [];
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  const origin = new URL(url).origin;
  page.on("request", (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) foreign.push(r.url()); });
  page.setDefaultTimeout(15000);
  await page.goto(url);
  await page.locator("#oc-chart svg.reply-chart").waitFor({ state: "visible" });

  const weeks = await page.locator("#oc-chart g.week").evaluateAll((gs) => gs.map((g) => ({
    week: Number(g.dataset.week),
    bars: Array.from(g.querySelectorAll("rect.bar")).map((r) => ({
      cls: r.dataset.class, rate: r.dataset.rate === "" ? null : Number(r.dataset.rate),
      height: Number(r.getAttribute("height")), title: r.querySelector("title").textContent,
    })),
  })));
  assert.equal(weeks.length, expected.by_week.length, JSON.stringify(weeks));
  const full = 220 - 10 - 30; // the plot's height in the chart's units (outcomes_chart.js)
  weeks.forEach((w, i) => {
    const want = expected.by_week[i];
    assert.equal(w.week, want.week);
    const sentClasses = ["clean", "revised", "despite-findings"].filter((k) => want.by_class[k].applications > 0);
    assert.deepEqual(w.bars.map((b) => b.cls), sentClasses, "week " + i + ": a bar for each class that sent something");
    for (const b of w.bars) {
      const c = want.by_class[b.cls];
      assert.equal(b.rate, c.reply_rate, b.cls);
      if (c.reply_rate > 0) assert.ok(Math.abs(b.height - full * c.reply_rate) < 0.5, b.cls + " " + b.height);
      else assert.equal(b.height, 2, "0%: a thin line, not nothing");
      const of = c.applications - c.bounced;
      assert.match(b.title, new RegExp("^Week of .+ - .+: " + c.replied + " of " + of + " replied \\("));
    }
  });
  // Week 1 as the scripted week made it: clean 75%, revised 100%, despite findings 0%.
  assert.deepEqual(weeks[0].bars.map((b) => b.rate), [0.75, 1, 0]);
  assert.deepEqual(await page.locator("#oc-chart .chart-legend li").allTextContents(),
    ["Sent clean", "Improved after Rapport's advice", "Sent despite Rapport's advice"]);
  assert.equal(await page.locator("#oc-chart svg desc").textContent(),
    "Reply rate over 2 weeks, one bar per way of sending.");
  // Nothing of the chart came from elsewhere: no <script src>, <image> or font outside the page's own.
  assert.equal(await page.locator("#oc-chart image, #oc-chart script, #oc-chart foreignObject").count(), 0);

  // The follow-ups due, each with its one-line suggestion.
  const due = await page.locator("#oc-due li .suggestion").allTextContents();
  assert.deepEqual(due, expected.follow_up_due.map((a) => a.suggestion));
  assert.ok(due.some((t) => t.includes("Anna Kowalska")), due.join("|"));

  const shot = path.join(shotDir, "outcomes-week.png");
  await page.locator("#outcomes").screenshot({ path: shot });
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, [], "requests beyond the page's own origin");
  console.log(JSON.stringify({ screenshots: [shot] }));
} finally {
  await context.close();
}
