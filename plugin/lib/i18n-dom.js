// i18n-dom.js - fills [data-i18n] elements of an extension page from
// _locales (HTML pages get no automatic __MSG_ substitution), and marks the
// page with the language its strings are in: each _locales/<lang>/messages.json
// names its own in "localeCode" (Thunderbird picks the file from its UI
// language, the manifest's default_locale when it has none for it).
export function localise(doc, t) {
  const lang = t("localeCode");
  if (lang && lang !== "localeCode") doc.documentElement.lang = lang;
  for (const el of doc.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of doc.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}
