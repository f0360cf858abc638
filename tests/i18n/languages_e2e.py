#!/usr/bin/python3
"""A job seeker writing in English, French, German, Spanish or Polish meets
Rapport in that language, end to end - real rapportctl, real rapportd, a
real aiosmtpd upstream, real HTTP, headless chromium. One case per ctest:

    languages_e2e.py RAPPORTD RAPPORTCTL CASE [BROWSER_DIR]

  check   rapportctl check --json: a lazy application in each language gets
          every finding in that language ("lang" and the catalogue's very
          sentence); --lang overrides it; an unknown language is refused
  daemon  the same mails through SMTP: held, and GET /messages/ID,
          POST /analyze and the held notice mailed to the sender are in the
          mail's language; rapportctl held show / outcomes speak the
          terminal's language (LANG); a job club member's --lang and the
          daemon's [coach] language win over the mail's
  page    the held-mail page in chromium, once per language with that
          language as the browser's (Accept-Language): its main texts are the
          catalogue's, the mail in that language shows its findings in it,
          dates are the language's; the page's switch changes and keeps the
          language; a member whose language is Spanish gets the page in
          Spanish in an English browser

Expected texts come from the catalogues themselves (policies/po, daemon/po
read with polib; the page's JSON in the browser script), so the test says
"in that language", not "this exact wording". Exit 0 on success, 77 when a
case cannot run here (no chromium/node).
"""
import base64
import http.client
import json
import os
import shutil
import smtplib
import subprocess
import sys
import time
import traceback

import polib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "daemon"))
from e2e_lib import EXIT_PROBLEMS, Rapportd, Upstream, tempdir, wait_for  # noqa: E402

RAPPORTD = RAPPORTCTL = BROWSER_DIR = None
LANGS = ["en", "fr", "de", "es", "pl"]
LOCALE = {"en": "en_GB.UTF-8", "fr": "fr_FR.UTF-8", "de": "de_DE.UTF-8", "es": "es_ES.UTF-8", "pl": "pl_PL.UTF-8"}

# A lazy application in each language: a CV and two lines, a greeting to
# nobody, a vague subject, the employer never named.
LAZY = {
    "en": ("Priya Shah <priya.shah@halden.co.uk>", "CV",
           "Dear Sir/Madam,\n\nPlease find attached my CV. I am looking for work and would like to hear from you.\n\n"
           "Kind regards,\nJake\n"),
    "fr": ("Claire Martin <claire.martin@valcourt.fr>", "Candidature",
           "Madame, Monsieur,\n\nVous trouverez ci-joint mon CV. Je cherche un poste à Lyon.\n\n"
           "Cordialement,\nJulie\n"),
    "de": ("Katharina Vogt <katharina.vogt@kronwald.de>", "Bewerbung",
           "Sehr geehrte Damen und Herren,\n\nanbei sende ich Ihnen meinen Lebenslauf. Ich suche eine Stelle und "
           "freue mich auf Ihre Antwort.\n\nMit freundlichen Grüßen\nJonas\n"),
    "es": ("Nuria Prats <nuria.prats@solmar.es>", "Currículum",
           "Estimados señores:\n\nLes adjunto mi currículum. Estoy buscando trabajo y quedo a la espera de su "
           "respuesta.\n\nAtentamente,\nLucía\n"),
    "pl": ("Anna Kowalska <anna.kowalska@baltimex.pl>", "CV",
           "Szanowni Państwo,\n\nw załączniku przesyłam moje CV. Szukam pracy i jestem do dyspozycji.\n\n"
           "Z poważaniem,\nMagdalena\n"),
}
SENDER = "jo.bloggs@example.org"


def header_word(s):
    return "=?UTF-8?B?" + base64.b64encode(s.encode()).decode() + "?=" if any(ord(c) > 127 for c in s) else s


def lazy_mail(lang, frm=SENDER, msgid=None):
    to, subject, body = LAZY[lang]
    name, addr = to.split(" <")
    pdf = base64.encodebytes(b"%PDF-1.4\n" + b"0" * 600).decode().replace("\n", "\r\n")
    return ("From: Jo Bloggs <%s>\r\nTo: %s <%s\r\nSubject: %s\r\nDate: Mon, 3 Mar 2025 09:12:40 +0000\r\n"
            "Message-ID: <%s@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n"
            "--b1\r\nContent-Type: application/pdf; name=\"cv.pdf\"\r\nContent-Disposition: attachment; filename=\"cv.pdf\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s--b1--\r\n"
            % (frm, header_word(name), addr, header_word(subject), msgid or os.urandom(6).hex(),
               body.replace("\n", "\r\n"), pdf)).encode()


def recipient(lang):
    return LAZY[lang][0].split("<")[1].rstrip(">")


def draft(lang):
    to, subject, body = LAZY[lang]
    return {"from": "Jo Bloggs <%s>" % SENDER, "to": to, "subject": subject, "body": body,
            "attachments": [{"name": "cv.pdf", "size": 48000}]}


# --- the catalogues ------------------------------------------------------------

def catalogue(domain_dir, lang):
    return polib.pofile(os.path.join(ROOT, domain_dir, "po", lang + ".po"))


def said(domain_dir, lang, ctx, msgid):
    """The catalogue's text of a message (the msgid itself in English)."""
    if lang == "en":
        return msgid
    for e in catalogue(domain_dir, lang):
        if e.msgctxt == ctx and e.msgid == msgid:
            assert e.msgstr, (lang, ctx, msgid)
            return e.msgstr
    raise AssertionError("no %s %r in %s" % (ctx, msgid, lang))


CV_ADVICE = ("Your CV is attached, but the message doesn't say which role you want or why you fit. "
             "Add two or three sentences: the role, where you saw it, and one thing you'd bring.")


def assert_in_language(findings, lang, where):
    """Every finding in `lang`, the CV one word for word from the catalogue."""
    assert findings, where + ": no findings"
    for f in findings:
        assert f.get("lang") == lang, "%s: %s in %r, not %r: %s" % (where, f["rule"], f.get("lang"), lang, f["message"])
    cv = [f for f in findings if f["rule"] == "cv-attachment-only"]
    assert cv and cv[0]["message"] == said("policies", lang, "cv-attachment-only", CV_ADVICE), (where, cv)


# --- helpers ---------------------------------------------------------------------

def ctl(state, *args, lang=None, stdin=None, check=0):
    env = dict(os.environ)
    for v in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        env.pop(v, None)
    env["LANG"] = LOCALE[lang] if lang else "C.UTF-8"
    r = subprocess.run([RAPPORTCTL] + list(args) + (["--state", state] if state else []), capture_output=True,
                       text=True, timeout=60, env=env, input=stdin)
    if check is not None:
        assert r.returncode == check, "rapportctl %s -> %d\n%s\n%s" % (args, r.returncode, r.stdout, r.stderr)
    return r


class Api:
    def __init__(self, d):
        self.addr = open(os.path.join(d.state, "http-address")).read().strip()
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)
        self.token = open(os.path.join(d.state, "api-token")).read().strip()

    def json(self, method, path, body=None, token=None, expect=200):
        h = {"Host": self.addr, "Authorization": "Bearer " + (token or self.token)}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c = http.client.HTTPConnection(self.host, self.port, timeout=20)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        out = r.read()
        c.close()
        assert r.status == expect, "%s %s: %d %s" % (method, path, r.status, out[:300])
        return json.loads(out)

    def held(self):
        return self.json("GET", "/api/v1/messages?status=held")["messages"]


def smtp_send(d, msg, rcpt, login=None):
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        if login:
            s.ehlo()
            s.login(*login)
        s.sendmail(SENDER, [rcpt], msg)


DAEMONS = []


def start(w, config="", upstream=True):
    os.makedirs(w, exist_ok=True)
    up = Upstream(w).start() if upstream else None
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port if up else None, config=config).start()
    DAEMONS.append((d, up))
    return up, d, Api(d)


def hold_all(d, api):
    """Each language's lazy mail sent and held; {lang: message id}."""
    for lang in LANGS:
        smtp_send(d, lazy_mail(lang), recipient(lang))
    assert wait_for(lambda: len(api.held()) == len(LANGS), 20), "not all held: %s" % api.held()
    return {lang: next(m["id"] for m in api.held() if m["to"] == recipient(lang)) for lang in LANGS}


# --- cases -----------------------------------------------------------------------

def case_check(w):
    files = {}
    for lang in LANGS:
        files[lang] = os.path.join(w, lang + ".eml")
        open(files[lang], "wb").write(lazy_mail(lang))
    r = ctl(None, "check", "--json", *[files[l] for l in LANGS])
    results = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["file"] for x in results] == [files[l] for l in LANGS]
    for lang, x in zip(LANGS, results):
        assert x["action"] == "hold", x
        assert_in_language(x["flags"], lang, "check " + lang)
        assert {"generic-greeting", "vague-subject"} <= {f["rule"] for f in x["flags"]}, x
    # --lang: one language for every mail, whatever it is written in.
    for forced in ("pl", "en"):
        r = ctl(None, "check", "--json", "--lang", forced, files["fr"], files["de"])
        for line in r.stdout.splitlines():
            assert_in_language(json.loads(line)["flags"], forced, "check --lang " + forced)
    r = ctl(None, "check", "--json", "--lang=auto", files["es"])
    assert_in_language(json.loads(r.stdout)["flags"], "es", "check --lang=auto")
    r = ctl(None, "check", "--lang", "it", files["en"], check=2)
    assert "auto or one of en, de, es, fr, pl" in r.stderr, r.stderr
    # The text output says "nothing to flag" in the terminal's language.
    ok = os.path.join(w, "ok.eml")
    open(ok, "wb").write(b"From: a@example.org\r\nTo: b@example.org\r\nSubject: Sunday\r\n\r\nSee you on Sunday.\r\n")
    for lang in LANGS:
        out = ctl(None, "check", ok, lang=lang).stdout
        assert said("daemon", lang, "check", "(nothing to flag)") in out, (lang, out)


def case_daemon(w):
    up, d, api = start(os.path.join(w, "one"), config="[hold]\nnotify_sender = true\n")
    ids = hold_all(d, api)
    for lang in LANGS:
        m = api.json("GET", "/api/v1/messages/" + ids[lang])
        assert_in_language(m["findings"], lang, "GET /messages " + lang)
        a = api.json("POST", "/api/v1/analyze", draft(lang))
        assert_in_language(a["findings"], lang, "POST /analyze " + lang)
    # The held notices, one per message, each in its mail's language.
    assert wait_for(lambda: len([x for x in up.messages if x[0] in ("", "<>")]) == len(LANGS), 20), up.messages
    notices = [x[2].decode() for x in up.messages if x[0] in ("", "<>")]
    for lang in LANGS:
        mine = [n for n in notices if ids[lang] in n]
        assert len(mine) == 1, (lang, len(mine))
        why = said("daemon", lang, "held-notice", "Why:")
        assert "\r\n" + why + "\r\n  - " + said("policies", lang, "cv-attachment-only", CV_ADVICE) in mine[0], mine[0]
    # rapportctl speaks the terminal's language; --json never changes.
    for lang in LANGS:
        out = ctl(d.state, "held", "show", ids["pl"], lang=lang).stdout
        assert said("daemon", lang, "held", "Why Rapport stopped it:") in out, (lang, out)
        assert said("policies", "pl", "cv-attachment-only", CV_ADVICE) in out, out  # the findings stay Polish
        out = ctl(d.state, "outcomes", lang=lang).stdout
        assert said("daemon", lang, "outcomes", "no rate yet") in out, (lang, out)
    assert json.loads(ctl(d.state, "held", "list", "--json", lang="de").stdout)[0]["id"] in ids.values()

    # A job club member's language wins over the mail's: Amira is coached in German.
    ctl(d.state, "member", "add", "amira", "--lang", "de", "--password-stdin", stdin="amira-pass-1\n")
    assert json.loads(ctl(d.state, "member", "list", "--json").stdout)[0]["lang"] == "de"
    token = ctl(d.state, "member", "token", "amira").stdout.strip()
    a = api.json("POST", "/api/v1/analyze", draft("fr"), token=token)
    assert_in_language(a["findings"], "de", "a member's draft")
    assert api.json("GET", "/api/v1/me", token=token)["lang"] == "de"
    before = {m["id"] for m in api.held()}
    smtp_send(d, lazy_mail("pl", msgid="amira-pl"), recipient("pl"), login=("amira", "amira-pass-1"))
    assert wait_for(lambda: len(api.held()) == len(before) + 1, 20)
    new = [m["id"] for m in api.held() if m["id"] not in before][0]
    assert_in_language(api.json("GET", "/api/v1/messages/" + new)["findings"], "de", "a member's mail over SMTP")
    ctl(d.state, "member", "set", "amira", "--lang", "auto")
    a = api.json("POST", "/api/v1/analyze", draft("fr"), token=token)
    assert_in_language(a["findings"], "fr", "a member back on auto")
    r = ctl(d.state, "member", "set", "amira", "--lang", "xx", check=1)
    assert "auto or one of" in r.stderr, r.stderr

    # The daemon's [coach] language: every mail in Spanish.
    up2, d2, api2 = start(os.path.join(w, "two"), config="[coach]\nlanguage = \"es\"\n", upstream=False)
    for lang in ("en", "pl"):
        assert_in_language(api2.json("POST", "/api/v1/analyze", draft(lang))["findings"], "es", "[coach] es, " + lang)
    assert api2.json("GET", "/api/v1/me")["lang"] == "es"
    # A bad one keeps rapportd from starting, and says why.
    os.makedirs(os.path.join(w, "three"))
    bad = Rapportd(RAPPORTD, os.path.join(w, "three"), config="[coach]\nlanguage = \"klingon\"\n")
    assert bad.start(expect_fail=True) != 0
    assert "coach.language" in bad.log() and "auto or one of" in bad.log(), bad.log()


def case_page(w):
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("SKIP: node or /usr/bin/chromium missing")
        return 77
    if not os.path.isdir(os.path.join(BROWSER_DIR or "", "node_modules", "playwright-core")):
        print("SKIP: playwright-core not installed in %s" % BROWSER_DIR)
        return 77
    up, d, api = start(w)
    ids = hold_all(d, api)
    ctl(d.state, "member", "add", "lucia", "--lang", "es", "--password-stdin", stdin="lucia-pass-1\n")
    shot_dir = os.environ.get("RAPPORT_SCREENSHOT_DIR", w)
    os.makedirs(shot_dir, exist_ok=True)
    env = dict(os.environ, RAPPORT_NODE_MODULES=os.path.join(BROWSER_DIR, "node_modules"))
    script = os.path.join(ROOT, "tests", "browser", "languages_page.mjs")
    for lang in LANGS:
        url = ctl(d.state, "open").stdout.strip()
        r = subprocess.run(["node", script, url, lang, ids[lang], shot_dir,
                            os.path.join(w, "chromium-" + lang)], capture_output=True, text=True, timeout=150, env=env)
        print(r.stdout)
        print(r.stderr, file=sys.stderr)
        assert r.returncode == 0, "the page in %s failed" % lang
    # The switch, kept across a reload; and a Spanish member in an English browser.
    url = ctl(d.state, "open").stdout.strip()
    r = subprocess.run(["node", script, url, "switch", ids["de"], shot_dir,
                        os.path.join(w, "chromium-switch"), "lucia", "lucia-pass-1"],
                       capture_output=True, text=True, timeout=150, env=env)
    print(r.stdout)
    print(r.stderr, file=sys.stderr)
    assert r.returncode == 0, "the language switch failed"
    assert len(api.held()) == len(LANGS), "the page changed nothing"


def main():
    global RAPPORTD, RAPPORTCTL, BROWSER_DIR
    RAPPORTD, RAPPORTCTL, case = sys.argv[1], sys.argv[2], sys.argv[3]
    BROWSER_DIR = sys.argv[4] if len(sys.argv) > 4 else None
    fn = globals().get("case_" + case)
    if not fn:
        print("unknown case " + case)
        return 2
    w = tempdir("languages-" + case)
    try:
        rc = fn(w)
        for d, up in DAEMONS:
            d.stop()
            if up:
                up.stop()
        if rc == 77:
            return 77
        for d, _ in DAEMONS:
            log = d.log()
            for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "panic:"):
                assert bad not in log, "%s in rapportd's log:\n%s" % (bad, log[-4000:])
        assert not EXIT_PROBLEMS, EXIT_PROBLEMS
    except Exception:
        traceback.print_exc()
        for d, up in DAEMONS:
            d.stop()
            if up:
                up.stop()
            print("--- rapportd log ---\n" + d.log()[-6000:])
        return 1
    shutil.rmtree(w, ignore_errors=True)
    print("ok " + case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
