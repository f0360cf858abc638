#!/usr/bin/python3
"""Every message Rapport shows, in every language it ships, from the code to
the catalogues:

    catalogues_test.py SOURCE_DIR

1. The gettext domains (the findings, policies/po/; rapportctl and the held
   notice, daemon/po/): the messages are extracted from the code afresh
   (scripts/update-po --check: xgettext, then msgcmp), and each shipped
   <lang>.po must have every one of them translated - not missing, not
   empty, not fuzzy (msgfmt leaves those out, so they would read in
   English), not the English text itself (unless a translator's comment
   says "identical to the English"), with exactly the {placeholders} of
   the English in every plural form, and as many plural forms as its
   Plural-Forms header says.
2. The page (daemon/web/i18n/<lang>.json) and the add-on
   (plugin/_locales/<lang>/messages.json) ship the same languages as the
   findings; their own completeness is checked by node tests
   (tests/i18n/web_catalogues.test.mjs, plugin/tests/locales.test.mjs).

Exit 0 when all is well, 1 with one line per problem.
"""
import os
import re
import subprocess
import sys
import tempfile

import polib

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


def nplurals(po):
    m = re.search(r"nplurals\s*=\s*(\d+)", po.metadata.get("Plural-Forms", ""))
    return int(m.group(1)) if m else None


def check_domain(name, pot_path, po_dir, problems):
    pot = polib.pofile(pot_path)
    langs = sorted(f[:-3] for f in os.listdir(po_dir) if f.endswith(".po"))
    if not langs:
        problems.append("%s: no catalogues in %s" % (name, po_dir))
    for lang in langs:
        path = os.path.join(po_dir, lang + ".po")
        po = polib.pofile(path)
        where = os.path.relpath(path)
        if po.metadata.get("Language") != lang:
            problems.append("%s: header Language is %r, not %r" % (where, po.metadata.get("Language"), lang))
        n = nplurals(po)
        if n is None:
            problems.append("%s: no Plural-Forms header" % where)
        entries = {(e.msgctxt, e.msgid): e for e in po if not e.obsolete}
        for t in pot:
            label = "%s [%s] %r" % (where, t.msgctxt, t.msgid[:60])
            e = entries.get((t.msgctxt, t.msgid))
            if e is None:
                problems.append(label + ": missing")
                continue
            if "fuzzy" in e.flags:
                problems.append(label + ": fuzzy (it would read in English)")
            want = placeholders(t.msgid)
            if t.msgid_plural:
                if placeholders(t.msgid_plural) != want:
                    problems.append(label + ": the English singular and plural differ in placeholders")
                forms = [e.msgstr_plural.get(i, "") for i in range(len(e.msgstr_plural))]
                if n is not None and len(forms) != n:
                    problems.append(label + ": %d plural forms, the header says %d" % (len(forms), n))
                english = {t.msgid, t.msgid_plural}
            else:
                forms = [e.msgstr]
                english = {t.msgid}
            same_ok = "identical to the english" in (e.tcomment or "").lower()
            for i, s in enumerate(forms):
                if not s.strip():
                    problems.append(label + ": form %d untranslated" % i)
                elif s in english and not same_ok:
                    problems.append(label + ": form %d is the English text" % i)
                elif placeholders(s) != want:
                    problems.append(label + ": form %d has placeholders %s, the English %s" % (i, placeholders(s), want))
    return langs


def main():
    src = os.path.abspath(sys.argv[1])
    os.chdir(src)
    problems = []
    with tempfile.TemporaryDirectory() as pot_dir:
        env = dict(os.environ, RAPPORT_POT_DIR=pot_dir)
        r = subprocess.run(["scripts/update-po", "--check"], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            problems.append("scripts/update-po --check (msgcmp) failed:\n" + r.stdout + r.stderr)
        coach = check_domain("findings", os.path.join(pot_dir, "coach.pot"), "policies/po", problems)
        daemon = check_domain("rapport", os.path.join(pot_dir, "rapport.pot"), "daemon/po", problems)

    shipped = sorted(["en"] + coach)
    if sorted(["en"] + daemon) != shipped:
        problems.append("daemon/po ships %s, policies/po %s" % (sorted(daemon), sorted(coach)))
    web_dir = "daemon/web/i18n"
    if os.path.isdir(web_dir):
        web = sorted(f[:-5] for f in os.listdir(web_dir) if re.fullmatch(r"[a-z]{2,3}\.json", f))
        if web != shipped:
            problems.append("the page ships %s, the findings %s" % (web, shipped))
    else:
        problems.append("no %s" % web_dir)
    addon = sorted(d for d in os.listdir("plugin/_locales") if os.path.isfile(os.path.join("plugin/_locales", d, "messages.json")))
    if addon != shipped:
        problems.append("the add-on ships %s, the findings %s" % (addon, shipped))

    for p in problems:
        print("FAIL " + p)
    if problems:
        return 1
    print("ok: %d languages (%s), every message in every catalogue" % (len(shipped), ", ".join(shipped)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
