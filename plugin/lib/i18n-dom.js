// i18n-dom.js - fills [data-i18n] elements of an extension page from
// _locales (HTML pages get no automatic __MSG_ substitution).
export function localise(doc, t) {
  for (const el of doc.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of doc.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}
