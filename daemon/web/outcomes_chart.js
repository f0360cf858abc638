// outcomes_chart.js - the "Did it work?" part's chart: reply rate by week and
// by how the applications were sent, drawn as inline SVG from
// GET /api/v1/outcomes' by_week (no library, no external script or font).
// Also the follow-up suggestion line of each follow-up due.
//
//   drawReplyChart(container, outcomes.by_week);   // app.js, loadOutcomes()
//   followUpLine(due)                               // a <span> with the suggestion
//
// Each week has a bar per class that sent something that week: its height
// is the share of that week's applications of that class that got a reply
// (bounced ones left out, as in the reply rate). A class that sent
// nothing that week has no bar; one with 0% has a thin line on the axis, so
// "none sent" and "none answered" look different. Every bar has a <title>
// with its figures for a pointer or a screen reader; the legend and the
// caption are plain HTML. Everything shown is set as text, never as HTML,
// in the page's language (t(), tn(), pct() and I18N from app.js; the words
// are in daemon/web/i18n/<lang>.json under "chart.*" and "followUp*").
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART_CLASSES = ["clean", "revised", "despite-findings"];

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// "1 Dec": the Monday a week starts on (weeks are counted in UTC).
function weekLabel(unix) {
  return new Date(unix * 1000).toLocaleDateString(I18N.locale, { day: "numeric", month: "short", timeZone: "UTC" });
}

function drawReplyChart(box, weeks) {
  box.replaceChildren();
  weeks = weeks || [];
  const sent = weeks.some((w) => w.applications > 0);
  box.hidden = weeks.length === 0;
  if (box.hidden) return;

  const head = document.createElement("h3");
  head.id = "oc-chart-title";
  head.textContent = t("chart.title");
  box.append(head);
  if (!sent) {
    const p = document.createElement("p");
    p.className = "small";
    p.textContent = t("chart.nothingYet");
    box.append(p);
    return;
  }

  // Geometry, in the viewBox's units (the SVG scales to the box's width).
  const W = 640, H = 220, left = 44, right = 8, top = 10, bottom = 30;
  const plotW = W - left - right, plotH = H - top - bottom;
  // At least six weeks' room, so that the first weeks of a new job search
  // are not stretched across the whole width; they start at the left.
  const slot = plotW / Math.max(weeks.length, 6);
  const barW = Math.min(18, (slot - 8) / CHART_CLASSES.length);
  const y = (r) => top + plotH * (1 - r);

  const svg = svgEl("svg", {
    viewBox: "0 0 " + W + " " + H, class: "reply-chart", role: "img",
    "aria-labelledby": "oc-chart-title oc-chart-desc", preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(svgEl("desc", { id: "oc-chart-desc" }, tn("chartSummary", weeks.length)));

  // The scale: 0, 25, 50, 75 and 100%.
  for (const r of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(svgEl("line", { x1: left, x2: left + slot * Math.max(weeks.length, 6), y1: y(r), y2: y(r),
      class: r === 0 ? "axis" : "grid" }));
    svg.append(svgEl("text", { x: left - 6, y: y(r) + 4, class: "tick", "text-anchor": "end" }, pct(r)));
  }

  weeks.forEach((w, i) => {
    const x0 = left + i * slot + (slot - barW * CHART_CLASSES.length) / 2;
    const label = weekLabel(w.week);
    const g = svgEl("g", { class: "week", "data-week": w.week });
    CHART_CLASSES.forEach((cls, k) => {
      const c = (w.by_class || {})[cls];
      if (!c || !c.applications) return;
      const of = c.applications - (c.bounced || 0);
      const rate = c.reply_rate;
      const h = rate === null || rate === undefined ? 0 : Math.max(plotH * rate, 2);
      const bar = svgEl("rect", {
        x: x0 + k * barW + 1, y: y(0) - h, width: barW - 2, height: h,
        class: "bar bar-" + cls, "data-class": cls, "data-rate": rate === null ? "" : rate,
      });
      bar.append(svgEl("title", {}, t("chart.weekOf", { date: label }) + " - " +
        t("chart.bar", { what: t("class." + cls), replied: num(c.replied), sent: num(of), rate: pct(rate) })));
      g.append(bar);
    });
    // Label every week when there is room, else every other one.
    if (weeks.length <= 8 || (weeks.length - 1 - i) % 2 === 0)
      g.append(svgEl("text", { x: left + i * slot + slot / 2, y: H - 10, class: "tick", "text-anchor": "middle" }, label));
    svg.append(g);
  });
  box.append(svg);

  const legend = document.createElement("ul");
  legend.className = "chart-legend";
  for (const cls of CHART_CLASSES) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch bar-" + cls;
    swatch.setAttribute("aria-hidden", "true");
    li.append(swatch, document.createTextNode(t("class." + cls)));
    legend.append(li);
  }
  box.append(legend);
  const caption = document.createElement("p");
  caption.className = "small";
  caption.textContent = t("chart.caption");
  box.append(caption);
}

// The follow-up's one-line suggestion ("It's been 9 days - a short, polite
// follow-up to Anna Kowalska asking about your application is fine."), in
// the page's language from the figures the API gives (the API's own
// "suggestion" is its English wording of the same).
function followUpLine(due) {
  const s = document.createElement("span");
  s.className = "suggestion";
  const who = due.name || (due.to || [])[0] || "";
  // How long, in the largest whole unit, by rapportd's clock: 9 days, 5 hours.
  const secs = due.waited || 0;
  const time = duration(secs >= 86400 ? Math.floor(secs / 86400) : secs >= 3600 ? Math.floor(secs / 3600) / 24
    : Math.max(1, Math.floor(secs / 60)) / 1440);
  s.textContent = t(due.acknowledged ? "followUpSuggestionAck" : "followUpSuggestion", { time, who });
  return s;
}
