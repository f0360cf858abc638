#!/usr/bin/python3
"""End-to-end tests of the reply ledger: applications sent through a real
rapportd (SMTP, smtplib) to a real aiosmtpd upstream, answers delivered into
a real Dovecot (APPEND) that rapportd reads over IMAP with TLS verified
against the test's own CA, and the figures read back through
GET /api/v1/outcomes and `rapportctl outcomes --json`. One case per ctest:

    ledger_e2e.py RAPPORTD RAPPORTCTL CASE

    idle_tls     imaps://, IDLE and CONDSTORE: exact and probable replies, an
                 auto-reply, a bounce (RFC 3464), the sender's own copy, a
                 held message released and one revised, classes and rates,
                 follow-ups (time made to pass with [outcomes]
                 follow_up_days), nothing marked \\Seen, each message read
                 once across a restart, the add-on's report of the same reply
    starttls_poll imap:// with STARTTLS to a server without IDLE or
                 CONDSTORE (polling), two folders, a folder rebuilt with a
                 new UIDVALIDITY
    failures     a refused password (log line, API, then corrected without a
                 restart), a certificate from another CA, a server that is
                 not there
    jobclub      members and the adviser: POST /api/v1/sent and
                 /api/v1/incoming with member tokens, who sees what
    page         the page in headless chromium (tests/browser/outcomes_page.mjs):
                 the figures, and the inbox's trouble once the password is
                 refused (skips, exit 77, without node, chromium or playwright-core)
    matching     a reply carrying only References, an applicant tracking
                 system's mail naming the firm (and one naming nobody written
                 to), answers to ordinary mail (to a firm applied to, to a
                 friend) ignored; /metrics' applications by class and replies
                 by match
    dovecot_restart  Dovecot stopped under IDLE and started again, then frozen
                 and killed in the middle of reading 4000 messages: rapportd
                 reconnects by itself and every message counts once
    big_sync     the first sync of a 10 000-message INBOX (written into the
                 Maildir and indexed by Dovecot): under 30 s, headers only
                 (Dovecot's byte count), the RSS peak during the sync bounded
    week         a scripted week and a bit with rapportd's clock moved day by
                 day (libfaketime): every kind of answer, and `rapportctl
                 outcomes --json` then holds SPEC.md's figures, the follow-ups
                 due with their suggestions, the reply rate by week and class;
                 the terminal's text and /metrics agree
    week_page    the same, then the page in headless chromium
                 (tests/browser/outcomes_chart_page.mjs): the chart and the
                 suggestions (skips, exit 77, like page)

Exit 0 on success; on failure the assertion and the logs are printed.
Nothing binds a fixed port. Needs Dovecot (dovecot-imapd) and, for week,
libfaketime (faketime), both installed by scripts/deps.sh --test: without
them the test fails, it does not skip.
"""
import email.utils
import json
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "http"))
from dovecot import DOVECOT, Dovecot  # noqa: E402
from e2e_lib import EXIT_PROBLEMS, Rapportd, Upstream, tempdir, wait_for  # noqa: E402
from http_e2e import Api  # noqa: E402

RAPPORTD = RAPPORTCTL = None
ME = "priya.shah@example.org"
TIMINGS = []  # (what, seconds), printed at the end


# ---------------------------------------------------------------- mail

def mail(to, subject, body, msgid, frm="Priya Shah <%s>" % ME, extra=""):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n%s\r\n%s" % (
                frm, to, subject, email.utils.formatdate(), msgid, extra,
                body.replace("\n", "\r\n"))).encode()


APPS = {
    # key: (To, Subject, body); all clean for the default policy except E (a generic greeting: warn)
    "A": ("Kwame Osei <k.osei@kestrel-analytics.example>", "Data analyst role (ref KA-2291)",
          "Dear Mr Osei,\n\nI am writing to apply for the data analyst role (ref KA-2291) at Kestrel Analytics. In my "
          "current job at a regional grocer I build the weekly sales dashboards in SQL and Power BI, and last year I cut "
          "the time our buyers spend on stock reports from a day to an hour. Your work on footfall forecasting for "
          "councils is exactly the kind of problem I want to spend my days on.\n\nI would be glad to talk about the role "
          "whenever suits you.\n\nKind regards,\nPriya Shah\n"),
    "B": ("Anna Lewis <jobs@harbourlets.example>", "Lettings negotiator vacancy at Harbour Lets",
          "Dear Ms Lewis,\n\nI would like to apply for the lettings negotiator vacancy at Harbour Lets that I saw on your "
          "website. For three years I have worked front of house at a busy dental practice, booking around forty "
          "patients a day and calming the ones who arrive late or worried. I know the streets around the harbour well "
          "and I hold a full driving licence.\n\nCould we arrange a short call next week?\n\nBest wishes,\nPriya Shah\n"),
    "C": ("Hiring Team <hr@brightwater.example>", "Warehouse team leader (ref BW-88) - Brightwater",
          "Dear Brightwater hiring team,\n\nI am applying for the warehouse team leader post (ref BW-88) at Brightwater. "
          "I have run the night shift at a parcel depot for two years, with a team of twelve pickers, and we kept our "
          "error rate under half a percent through two peak seasons. I am used to rotas, safety briefings and the odd "
          "forklift emergency at 3am.\n\nI look forward to hearing from you.\n\nYours sincerely,\nPriya Shah\n"),
    "D": ("Dan Ferrow <careers@ferrowbuild.example>", "Site administrator role at Ferrow Build",
          "Dear Mr Ferrow,\n\nI am writing to apply for the site administrator role at Ferrow Build. At my last employer "
          "I kept the paperwork of four building sites in order: delivery notes, timesheets, permits and the weekly "
          "progress photos for clients. I enjoy being the person who knows where everything is.\n\nI would welcome the "
          "chance to visit one of your sites.\n\nKind regards,\nPriya Shah\n"),
    "E": ("<recruitment@oakfield-vets.example>", "Veterinary receptionist vacancy",
          "Dear Sir/Madam,\n\nI am writing to apply for the veterinary receptionist vacancy at Oakfield Vets. I have "
          "worked on reception at a busy dental practice for three years and I have looked after rescue dogs at "
          "weekends since I was sixteen, so I am used to nervous patients with two legs and with four.\n\n"
          "Yours faithfully,\nPriya Shah\n"),
}
COASTLINE = ("Dear Mr Reid,\n\nI am writing to apply for the leisure assistant vacancy at %s. I have been a volunteer "
             "swimming coach for four years and I hold a current pool lifeguard qualification, so I am comfortable "
             "keeping an eye on a busy pool and on the paperwork that goes with it.\n\nKind regards,\nPriya Shah\n")


def cv_only(msgid):
    """Held by the default policy: a CV and two lines."""
    return ("From: Priya Shah <%s>\r\nTo: <jobs@marlowprint.example>\r\nSubject: Print finisher job\r\nDate: %s\r\n"
            "Message-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\nPlease find attached my CV.\r\n\r\nPriya\r\n"
            "--b1\r\nContent-Type: application/pdf; name=\"Priya_Shah_CV.pdf\"\r\n"
            "Content-Disposition: attachment; filename=\"Priya_Shah_CV.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "JVBERi0xLjQKMSAwIG9iajw8Pj5lbmRvYmoKdHJhaWxlcjw8Pj4KJSVFT0YK\r\n--b1--\r\n" % (
                ME, email.utils.formatdate(), msgid)).encode()


def reply(frm, subject, in_reply_to=None, msgid=None, extra=""):
    h = "From: %s\r\nTo: Priya Shah <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n" % (
        frm, ME, subject, email.utils.formatdate(), msgid or "<%s@answers.example>" % os.urandom(6).hex())
    if in_reply_to:
        h += "In-Reply-To: %s\r\nReferences: %s\r\n" % (in_reply_to, in_reply_to)
    return (h + extra + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Thank you for your letter. (This body is never read.)\r\n").encode()


def bounce(failed, original_msgid, original_to, subject):
    """An RFC 3464 report as Postfix writes it, returning the whole original."""
    return ("Return-Path: <>\r\nFrom: MAILER-DAEMON@mail.example.org (Mail Delivery System)\r\n"
            "To: %s\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: %s\r\nMessage-ID: <%s@mail.example.org>\r\n"
            "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"rpt\"\r\n\r\n"
            "--rpt\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
            "--rpt\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.org\r\n\r\n"
            "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n"
            "--rpt\r\nContent-Type: message/rfc822\r\n\r\nFrom: Priya Shah <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: %s\r\n\r\nThe returned body, never read.\r\n--rpt--\r\n" % (
                ME, email.utils.formatdate(), os.urandom(6).hex(), failed, ME, original_to, subject,
                original_msgid)).encode()


def smtp_send(d, raw, rcpts, frm=ME, login=None):
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        if login:
            s.login(*login)
        s.sendmail(frm, rcpts, raw)


# ---------------------------------------------------------------- the parts

def ctl(state, *args, stdin=None, check=0):
    r = subprocess.run([RAPPORTCTL] + list(args) + ["--state", state], input=stdin, capture_output=True,
                       timeout=60, text=True)
    if check is not None:
        assert r.returncode == check, "rapportctl %s -> %d\n%s\n%s" % (args, r.returncode, r.stdout, r.stderr)
    return r


def imap_config(dv, w, url, ca=None, password=None, folders=("INBOX",), poll=30, follow_up_days=None):
    secret = os.path.join(w, "imap-secret")
    with open(secret, "w") as f:
        f.write((password or Dovecot.PASSWORD) + "\n")
    os.chmod(secret, 0o600)
    cfg = ('[imap]\nurl = "%s"\nuser = "%s"\nsecret_file = "%s"\nca_file = "%s"\nfolders = [%s]\n'
           'poll_seconds = %d\nretry_initial = 1\nretry_max = 2\ntimeout = 10\n' % (
               url, Dovecot.USER, secret, ca or dv.ca, ", ".join('"%s"' % f for f in folders), poll))
    if follow_up_days is not None:
        cfg += "[outcomes]\nfollow_up_days = %s\n" % follow_up_days
    return cfg, secret


def outcomes(api, token=True):
    return api.json("GET", "/api/v1/outcomes", token=token)


def by_subject(o):
    return {a["subject"]: a for a in o["recent"]}


def wait_outcome(api, subject, want, timeout=20, token=True):
    """Waits until the application with `subject` has outcome `want`; returns the seconds it took."""
    t0 = time.time()
    seen = {}

    def ok():
        a = by_subject(outcomes(api, token)).get(subject)
        seen["a"] = a
        return a is not None and a["outcome"] == want
    assert wait_for(ok, timeout, step=0.02), "%s: wanted %s, have %s" % (subject, want, seen.get("a"))
    return time.time() - t0


def wait_inbox(api, state, timeout=20):
    seen = {}

    def ok():
        seen["i"] = outcomes(api)["inbox"]
        return seen["i"]["state"] == state
    assert wait_for(ok, timeout, step=0.1), "inbox: wanted %s, have %s" % (state, seen.get("i"))
    return seen["i"]


def same_figures(a, b):
    """The API's and rapportctl's answers agree (the clock fields aside: the
    reader's, and how many seconds each follow-up has waited, which moves
    between the two calls)."""
    a, b = json.loads(json.dumps(a)), json.loads(json.dumps(b))
    for j in (a, b):
        j.pop("inbox", None)
        for due in [j] + j.get("members", []):
            for f in due.get("follow_up_due", []):
                f.pop("waited", None)
    assert a == b, "API and rapportctl differ:\n%s\n%s" % (json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True))


def metrics(api):
    """GET /metrics as {'name{labels}': value}."""
    st, _, body = api.req("GET", "/metrics")
    assert st == 200, st
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def ledger_metrics(api):
    m = metrics(api)
    return {k: int(v) for k, v in m.items() if k.startswith(("rapport_applications_total", "rapport_replies_total"))}


def rss_kib(pid, field="VmHWM"):
    """A process's resident memory (VmRSS) or its peak so far (VmHWM), in KiB."""
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError("no %s for %d" % (field, pid))


def newsletter(i, body_lines=28):
    """An ordinary inbox message that is no answer: a shop's offer, ~2.4 KB."""
    return ("From: Cornerstone Shop <offers%d@cornerstone-shop.example>\r\nTo: Priya Shah <%s>\r\n"
            "Subject: This week's offer no. %d\r\nDate: %s\r\nMessage-ID: <offer-%d-%s@cornerstone-shop.example>\r\n"
            "List-Unsubscribe: <https://cornerstone-shop.example/u>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n%s" % (
                i % 40, ME, i, email.utils.formatdate(), i, os.urandom(3).hex(),
                ("Twenty per cent off garden furniture until Sunday, while stocks last. " * 1 + "\r\n") * body_lines)).encode()


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


class FakeClock:
    """rapportd's clock moved ahead with libfaketime (package faketime): the
    offset lives in a file that libfaketime reads at every call, so the test
    moves the daemon's days along while it runs. Only wall-clock time moves;
    the monotonic clock (timeouts, retries) stays real."""

    def __init__(self, w):
        self.path = os.path.join(w, "faketime")
        self.at(time.time())

    def at(self, t):
        """From now on rapportd's clock reads `t`, and runs on from there."""
        with open(self.path, "w") as f:
            f.write("%+d\n" % int(round(t - time.time())))
        self.t = t

    def env(self):
        asan = os.environ.get("ASAN_OPTIONS", "")
        return {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME_TIMESTAMP_FILE": self.path, "FAKETIME_NO_CACHE": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                # An ASan build wants its runtime first; libfaketime is preloaded before it.
                "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}


def need_dovecot():
    assert os.path.exists(DOVECOT), ("dovecot is not installed (package dovecot-imapd); scripts/deps.sh --test "
                                     "installs it")


# ---------------------------------------------------------------- cases

def case_idle_tls(w):
    need_dovecot()
    up = Upstream(w).start()
    dv = Dovecot(w, idle=True).start()
    # 0.0001 days = 8.6 s: follow-ups fall due within the test.
    cfg, _ = imap_config(dv, w, "imaps://127.0.0.1:%d" % dv.tls_port, follow_up_days="0.0001")
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg).start()
    try:
        api = Api(d)
        inbox = wait_inbox(api, "ok")
        assert inbox["mode"] == "idle" and inbox["condstore"] is True, inbox
        assert "(TLS, IDLE, CONDSTORE)" in d.log(), d.log()

        # Something already in the inbox before any application: read, matched to nothing.
        dv.append(reply("Newsletter <news@shop.example>", "Our autumn sale"))

        ids = {}
        for k, (to, subject, body) in APPS.items():
            ids[k] = "<%s-%s@example.org>" % (k, os.urandom(4).hex())
            smtp_send(d, mail(to, subject, body, ids[k]), [email.utils.parseaddr(to)[1]])
        # Held (a CV and two lines), then sent anyway from the page's API.
        ids["F"] = "<F-%s@example.org>" % os.urandom(4).hex()
        smtp_send(d, cv_only(ids["F"]), ["jobs@marlowprint.example"])
        # Held (a placeholder left in), then sent again corrected: "revised".
        ids["G1"] = "<G1-%s@example.org>" % os.urandom(4).hex()
        smtp_send(d, mail("Sam Reid <sam.reid@coastline-leisure.example>", "Leisure assistant vacancy at Coastline Leisure",
                          COASTLINE % "[Company Name]", ids["G1"]), ["sam.reid@coastline-leisure.example"])
        assert wait_for(lambda: len(api.json("GET", "/api/v1/messages?status=held")["messages"]) == 2, 20)
        held = {m["subject"]: m["id"] for m in api.json("GET", "/api/v1/messages?status=held")["messages"]}
        ids["G"] = "<G-%s@example.org>" % os.urandom(4).hex()
        smtp_send(d, mail("Sam Reid <sam.reid@coastline-leisure.example>", "Leisure assistant vacancy at Coastline Leisure",
                          COASTLINE % "Coastline Leisure", ids["G"]), ["sam.reid@coastline-leisure.example"])
        api.json("POST", "/api/v1/messages/%s/drop" % held["Leisure assistant vacancy at Coastline Leisure"])
        api.json("POST", "/api/v1/messages/%s/release" % held["Print finisher job"])
        released_at = time.time()
        # Not an application: mail to a friend.
        smtp_send(d, mail("Sam <sam.lee@gmail.com>", "Walk on Sunday?", "Hi Sam,\n\nFancy a walk on Sunday?\n\nPriya\n",
                          "<H-%s@example.org>" % os.urandom(4).hex()), ["sam.lee@gmail.com"])
        assert wait_for(lambda: up.count() == 8, 20), up.count()
        assert wait_for(lambda: outcomes(api)["applications"] == 7, 10), outcomes(api)
        o = outcomes(api)
        assert o["follow_up_due"] == [], "nothing is due straight away: %s" % o["follow_up_due"]
        classes = {a["subject"]: a["class"] for a in o["recent"]}
        assert classes == {
            APPS["A"][1]: "clean", APPS["B"][1]: "clean", APPS["C"][1]: "clean", APPS["D"][1]: "clean",
            APPS["E"][1]: "despite-findings", "Print finisher job": "despite-findings",
            "Leisure assistant vacancy at Coastline Leisure": "revised"}, classes
        assert all(a["outcome"] == "waiting" and a["match"] is None for a in o["recent"]), o["recent"]

        # The answers arrive in the inbox (IDLE tells rapportd at once).
        # A: a person's reply to the application: exact.
        t = dv.append(reply("Kwame Osei <k.osei@kestrel-analytics.example>", "Re: " + APPS["A"][1], ids["A"]))
        TIMINGS.append(("APPEND (IMAPS, Python)", t))
        TIMINGS.append(("IDLE: APPEND to the ledger, exact reply", wait_outcome(api, APPS["A"][1], "replied")))
        # B: from a colleague at the same firm, no In-Reply-To: probable (organisation).
        dv.append(reply("Tom Price <tom.price@harbourlets.example>", "Your application"))
        TIMINGS.append(("IDLE: APPEND to the ledger, probable reply", wait_outcome(api, APPS["B"][1], "replied")))
        # C: an auto-reply: acknowledged, not replied.
        dv.append(reply("Brightwater <hr@brightwater.example>", "Automatic reply: " + APPS["C"][1], ids["C"],
                        extra="Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n"))
        wait_outcome(api, APPS["C"][1], "acknowledged")
        # D: bounced (an RFC 3464 report returning the original).
        dv.append(bounce("careers@ferrowbuild.example", ids["D"], "careers@ferrowbuild.example", APPS["D"][1]))
        TIMINGS.append(("IDLE: APPEND to the ledger, bounce (BODYSTRUCTURE + 3 parts)",
                        wait_outcome(api, APPS["D"][1], "bounced")))
        # The sender's own copy of A (a Bcc to herself): never an answer.
        dv.append(mail(APPS["A"][0], APPS["A"][1], "copy", "<copy-%s@example.org>" % os.urandom(4).hex(),
                       extra="In-Reply-To: %s\r\n" % ids["E"]))
        # G: the add-on reports a reply it received; the same message then lands in the inbox too.
        g_reply = reply("Sam Reid <sam.reid@coastline-leisure.example>", "Re: Leisure assistant", ids["G"])
        r = api.json("POST", "/api/v1/incoming", {"headers": g_reply.split(b"\r\n\r\n")[0].decode() + "\r\n\r\n"})
        assert r["kind"] == "replied" and r["match"] == "exact", r
        dv.append(g_reply)
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] == 7, 20), outcomes(api)["inbox"]

        o = outcomes(api)
        got = {a["subject"]: (a["outcome"], a["match"]) for a in o["recent"]}
        assert got == {
            APPS["A"][1]: ("replied", "exact"), APPS["B"][1]: ("replied", "probable"),
            APPS["C"][1]: ("acknowledged", "exact"), APPS["D"][1]: ("bounced", "exact"),
            APPS["E"][1]: ("waiting", None), "Print finisher job": ("waiting", None),
            "Leisure assistant vacancy at Coastline Leisure": ("replied", "exact")}, got
        assert (o["applications"], o["replied"], o["acknowledged"], o["bounced"]) == (7, 3, 1, 1), o
        assert o["reply_rate"] == 0.5, o  # 3 of the 6 that arrived
        bc = o["by_class"]
        assert (bc["clean"]["applications"], bc["clean"]["replied"], bc["clean"]["bounced"]) == (4, 2, 1), bc
        assert bc["clean"]["reply_rate"] == round(2 / 3, 4), bc
        assert (bc["revised"]["applications"], bc["revised"]["reply_rate"]) == (1, 1.0), bc
        assert (bc["despite-findings"]["applications"], bc["despite-findings"]["reply_rate"]) == (2, 0.0), bc
        assert "H-" not in json.dumps(o) and "Walk on Sunday" not in json.dumps(o), "mail to a friend counted"

        # Nothing was marked read: every message in the inbox is still unseen.
        flags = dv.flags()
        assert len(flags) == 7 and not any("Seen" in f for f in flags.values()), flags
        # rapportd logged no sender or subject of incoming mail.
        assert "Tom Price" not in d.log() and "never read" not in d.log()

        # Time passes ([outcomes] follow_up_days = 0.0001, 9 s in whole seconds): C (only
        # acknowledged), E and F are due; A, B, G replied and D bounced never are.
        want = sorted([APPS["C"][1], APPS["E"][1], "Print finisher job"])
        due = lambda: sorted(a["subject"] for a in outcomes(api)["follow_up_due"])
        assert wait_for(lambda: due() == want, 15, step=0.2), (due(), time.time() - released_at)
        assert time.time() - released_at > 7.5, "due too early"
        # Writing to E's recipient again clears its follow-up (a reply to her own mail: no application).
        smtp_send(d, mail(APPS["E"][0], "Re: " + APPS["E"][1], "Just following up on my application.\n\nPriya\n",
                          "<E2-%s@example.org>" % os.urandom(4).hex(), extra="In-Reply-To: %s\r\n" % ids["E"]),
                  ["recruitment@oakfield-vets.example"])
        assert wait_for(lambda: APPS["E"][1] not in [a["subject"] for a in outcomes(api)["follow_up_due"]], 10)
        assert outcomes(api)["applications"] == 7, "a follow-up is no new application"

        # rapportctl reads the same figures.
        o = outcomes(api)
        same_figures(o, json.loads(ctl(d.state, "outcomes", "--json").stdout))
        text = ctl(d.state, "outcomes").stdout
        assert "Reply rate: 50% (3 of the 6 that arrived)" in text and "Follow-up due" in text, text
        assert "Rapport reads your inbox" in text, text

        # A restart: what was read is not read again; what came meanwhile is.
        d.stop()
        dv.append(reply("Oakfield Vets <recruitment@oakfield-vets.example>", "Re: " + APPS["E"][1], ids["E"]))
        d.start()
        api = Api(d)
        wait_outcome(api, APPS["E"][1], "replied")
        # The reader reports what it read once it has read it: wait for that,
        # then it must be the one new message, not the old ones again.
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] > 0, 15, step=0.2), outcomes(api)["inbox"]
        o = outcomes(api)
        assert o["inbox"]["read"] == 1, "read again after the restart: %s" % o["inbox"]
        assert (o["replied"], o["acknowledged"], o["bounced"]) == (4, 1, 1), o
        assert d.log().count("INBOX: read 1 new message (uid 8) in ") == 1, d.log()
        assert not any("Seen" in f for f in dv.flags().values())
    finally:
        d.stop()
        dv.stop()
        up.stop()


def case_starttls_poll(w):
    need_dovecot()
    up = Upstream(w).start()
    dv = Dovecot(w, idle=False).start()
    dv.create("Jobs")
    cfg, _ = imap_config(dv, w, "imap://127.0.0.1:%d" % dv.port, folders=("INBOX", "Jobs"), poll=1)
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg).start()
    try:
        api = Api(d)
        inbox = wait_inbox(api, "ok")
        assert inbox["mode"] == "poll" and inbox["condstore"] is False, inbox
        assert "(TLS, polling every 1 s)" in d.log(), d.log()
        # STARTTLS was used (Dovecot logs the login as TLS).
        assert wait_for(lambda: "user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1" in dv.log(), 5)
        assert all(", TLS" in l for l in dv.log().splitlines() if "Login: user=<alice>" in l), dv.log()

        ids = {}
        for k in ("A", "B"):
            to, subject, body = APPS[k]
            ids[k] = "<%s-%s@example.org>" % (k, os.urandom(4).hex())
            smtp_send(d, mail(to, subject, body, ids[k]), [email.utils.parseaddr(to)[1]])
        assert wait_for(lambda: outcomes(api)["applications"] == 2, 20), outcomes(api)
        # A reply filed straight into the second folder (a mail rule), found by polling.
        dv.append(reply("Kwame Osei <k.osei@kestrel-analytics.example>", "Re: " + APPS["A"][1], ids["A"]), folder="Jobs")
        TIMINGS.append(("polling (1 s): APPEND to the ledger", wait_outcome(api, APPS["A"][1], "replied")))
        dv.append(reply("Someone <someone@elsewhere.example>", "Unrelated"), folder="INBOX")
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] == 2, 10), outcomes(api)["inbox"]

        # The folder is rebuilt: a new UIDVALIDITY, UIDs start at 1 again.
        before = dv.uidvalidity("Jobs")
        dv.delete("Jobs")
        dv.create("Jobs")
        assert dv.uidvalidity("Jobs") != before
        # A's reply again (the same Message-ID: counted once) and B's reply, now UID 2.
        dv.append(reply("Kwame Osei <k.osei@kestrel-analytics.example>", "Re: " + APPS["A"][1], ids["A"],
                        msgid=None), folder="Jobs")
        dv.append(reply("Anna Lewis <jobs@harbourlets.example>", "Re: " + APPS["B"][1], ids["B"]), folder="Jobs")
        wait_outcome(api, APPS["B"][1], "replied")
        assert "inbox: Jobs: UIDVALIDITY changed (%d -> " % before in d.log(), d.log()
        o = outcomes(api)
        assert (o["applications"], o["replied"], o["reply_rate"]) == (2, 2, 1.0), o
        assert o["inbox"]["read"] == 4, o["inbox"]
        for folder in ("INBOX", "Jobs"):
            assert not any("Seen" in f for f in dv.flags(folder).values()), folder
        same_figures(o, json.loads(ctl(d.state, "outcomes", "--json").stdout))
    finally:
        d.stop()
        dv.stop()
        up.stop()


def case_failures(w):
    need_dovecot()
    dv = Dovecot(w, idle=True).start()
    # A wrong password: a log line, the API (and so the page) says so; corrected, it reads on.
    cfg, secret = imap_config(dv, w, "imaps://127.0.0.1:%d" % dv.tls_port, password="not the password")
    d = Rapportd(RAPPORTD, w, config=cfg).start()
    try:
        api = Api(d)
        inbox = wait_inbox(api, "error")
        assert inbox["message"] == "Rapport can't read your inbox: the password was refused", inbox
        assert wait_for(lambda: "warning: inbox: Rapport can't read your inbox: the password was refused; trying again in"
                        in d.log(), 5), d.log()
        assert "not the password" not in d.log(), "the password reached the log"
        text = ctl(d.state, "outcomes").stdout
        assert "Rapport can't read your inbox: the password was refused" in text, text
        with open(secret, "w") as f:
            f.write(Dovecot.PASSWORD + "\n")
        inbox = wait_inbox(api, "ok", timeout=15)
        assert inbox["message"].startswith("Rapport reads your inbox"), inbox
    finally:
        d.stop()

    # A certificate from a CA rapportd was not told to trust: refused before signing in.
    w2 = os.path.join(w, "other-ca")
    os.makedirs(w2)
    from dovecot import make_ca_and_cert
    other_ca, _, _ = make_ca_and_cert(w2, other_ca=True)
    logins = dv.log().count("Login: user=<alice>")
    cfg, _ = imap_config(dv, w2, "imaps://127.0.0.1:%d" % dv.tls_port, ca=other_ca)
    d = Rapportd(RAPPORTD, w2, config=cfg).start()
    try:
        inbox = wait_inbox(Api(d), "error")
        assert inbox["message"].startswith("Rapport can't read your inbox: the server's certificate could not be "
                                           "verified"), inbox
        time.sleep(1.5)  # a retry or two
        assert dv.log().count("Login: user=<alice>") == logins, "signed in over an unverified connection"
    finally:
        d.stop()
        dv.stop()

    # Nobody there.
    w3 = os.path.join(w, "nobody")
    os.makedirs(w3)
    cfg, _ = imap_config(dv, w3, "imaps://127.0.0.1:%d" % dv.tls_port)
    d = Rapportd(RAPPORTD, w3, config=cfg).start()
    try:
        inbox = wait_inbox(Api(d), "error")
        assert inbox["message"] == "Rapport can't read your inbox: the mail server 127.0.0.1:%d could not be reached" % (
            dv.tls_port), inbox
    finally:
        d.stop()


def case_jobclub(w):
    """Members' outcomes are theirs; the adviser sees each member's. No inbox here:
    the add-on reports what it sent and received (POST /api/v1/sent, /incoming)."""
    up = Upstream(w).start()
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port)
    os.makedirs(d.state)
    ctl(d.state, "member", "add", "amira", "--password-stdin", stdin="amira-pass-1\n")
    ctl(d.state, "member", "add", "sue", "--adviser", "--password-stdin", stdin="sue-adviser-9\n")
    d.start()
    try:
        api = Api(d)
        amira = ctl(d.state, "member", "token", "amira").stdout.strip()
        ids = {}
        for k, who in (("A", ("amira", "amira-pass-1")), ("B", ("amira", "amira-pass-1")), ("C", ("sue", "sue-adviser-9"))):
            to, subject, body = APPS[k]
            ids[k] = "<%s-%s@club.example>" % (k, os.urandom(4).hex())
            smtp_send(d, mail(to, subject, body, ids[k], frm="Eastside Job Club <jobclub@club.example>"),
                      [email.utils.parseaddr(to)[1]], frm="jobclub@club.example", login=who)
        assert wait_for(lambda: outcomes(api)["applications"] == 3, 20), outcomes(api)

        # Amira sent one straight from Thunderbird after editing it: her add-on reports it.
        draft = {"from": "Amira Haddad <amira.haddad@gmail.com>", "to": [APPS["D"][0]], "subject": APPS["D"][1],
                 "body": APPS["D"][2].replace("Priya Shah", "Amira Haddad"), "message_id": "<tb-d-1@gmail.com>",
                 "revised": True}
        # The same letter to another firm is a copy-paste leftover only once Ferrow Build is in her history.
        leftover = dict(draft, to=["Jo Hale <jo.hale@halden-homes.example>"], message_id=None)
        rules = lambda: [f["rule"] for f in api.json("POST", "/api/v1/analyze", leftover, token=amira)["findings"]]
        assert "wrong-organisation" not in rules(), rules()
        assert api.json("POST", "/api/v1/sent", draft, token=amira) == {"recorded": True}
        assert "wrong-organisation" in rules(), "the add-on's report did not join the sending history"
        assert api.json("POST", "/api/v1/sent", draft, token=amira) == {"recorded": True, "duplicate": True}
        api.json("POST", "/api/v1/sent", {"from": "a@b.example", "to": "c@d.example"}, token=amira, expect=400)
        api.json("POST", "/api/v1/sent", dict(draft, revised="yes"), token=amira, expect=400)

        # Replies, as the add-on sees them arrive.
        def incoming(raw, token):
            return api.json("POST", "/api/v1/incoming", {"headers": raw.decode()}, token=token)
        r = incoming(reply("Kwame Osei <k.osei@kestrel-analytics.example>", "Re: data analyst", ids["A"]), amira)
        assert r == {"recorded": True, "kind": "replied", "application": r.get("application"), "match": "exact"}, r
        # Sue's application answered, reported by Amira's add-on (one shared mailbox): she is not told whose.
        r = incoming(reply("Brightwater <hr@brightwater.example>", "Re: team leader"), amira)
        assert r == {"recorded": True, "kind": "replied"}, r
        r = incoming(reply("Ferrow Build <careers@ferrowbuild.example>", "Re: site administrator", "<tb-d-1@gmail.com>"),
                     True)
        assert r["kind"] == "replied" and r["match"] == "exact", r
        api.json("POST", "/api/v1/incoming", {"body": "x"}, token=amira, expect=400)

        mine = outcomes(api, amira)
        assert "members" not in mine, mine
        assert (mine["applications"], mine["replied"]) == (3, 2), mine
        assert {a["account"] for a in mine["recent"]} == {"amira"}, mine["recent"]
        assert by_subject(mine)[APPS["D"][1]]["class"] == "revised", mine
        everyone = outcomes(api)
        assert (everyone["applications"], everyone["replied"]) == (4, 3), everyone
        members = {m["member"]: m for m in everyone["members"]}
        assert set(members) == {"amira", "sue"}, members
        assert (members["amira"]["applications"], members["amira"]["replied"]) == (3, 2), members["amira"]
        assert (members["sue"]["applications"], members["sue"]["reply_rate"]) == (1, 1.0), members["sue"]
        text = ctl(d.state, "outcomes").stdout
        assert "Members:" in text and "  amira: 3 sent, 2 replied" in text, text
        # The add-on's report joined the template memory like relayed mail.
        assert "sent sent-" in d.log() and "reported by amira" in d.log(), d.log()
    finally:
        d.stop()
        up.stop()


def case_page(w):
    """The page in headless chromium: the figures, the follow-up due, and the
    inbox's trouble in plain words once the password stops working."""
    browser_dir = os.environ.get("RAPPORT_BROWSER_DIR", "")
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("SKIP: node or /usr/bin/chromium missing")
        return 77
    if not os.path.isdir(os.path.join(browser_dir, "node_modules", "playwright-core")):
        print("SKIP: playwright-core not installed in %r" % browser_dir)
        return 77
    need_dovecot()
    up = Upstream(w).start()
    dv = Dovecot(w, idle=True).start()
    cfg, secret = imap_config(dv, w, "imaps://127.0.0.1:%d" % dv.tls_port, follow_up_days="0.0001")
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg).start()
    node = None
    try:
        api = Api(d)
        wait_inbox(api, "ok")
        ids = {}
        for k in ("A", "B", "D", "E"):
            to, subject, body = APPS[k]
            ids[k] = "<%s-%s@example.org>" % (k, os.urandom(4).hex())
            smtp_send(d, mail(to, subject, body, ids[k]), [email.utils.parseaddr(to)[1]])
        sent_at = time.time()
        dv.append(reply("Kwame Osei <k.osei@kestrel-analytics.example>", "Re: " + APPS["A"][1], ids["A"]))
        dv.append(reply("Tom Price <tom.price@harbourlets.example>", "Your application"))
        dv.append(bounce("careers@ferrowbuild.example", ids["D"], "careers@ferrowbuild.example", APPS["D"][1]))
        wait_outcome(api, APPS["D"][1], "bounced")
        wait_outcome(api, APPS["B"][1], "replied")
        # E falls due ([outcomes] follow_up_days = 0.0001: 9 s).
        assert wait_for(lambda: len(outcomes(api)["follow_up_due"]) == 1, 15, step=0.2), outcomes(api)
        assert time.time() - sent_at > 7.5, "due too early"
        url = ctl(d.state, "open").stdout.strip()
        shot_dir = os.environ.get("RAPPORT_SCREENSHOT_DIR", w)
        os.makedirs(shot_dir, exist_ok=True)
        env = dict(os.environ, RAPPORT_NODE_MODULES=os.path.join(browser_dir, "node_modules"))
        node = subprocess.Popen(["node", os.path.join(HERE, "..", "browser", "outcomes_page.mjs"), url, shot_dir,
                                 os.path.join(w, "chromium-profile")], stdout=subprocess.PIPE, text=True, env=env)
        line = node.stdout.readline()
        assert line.strip() == "phase 1 ok", "the browser said %r" % line
        # The password changes at the provider: the next sign-in is refused.
        with open(secret, "w") as f:
            f.write("an old password\n")
        dv.stop()
        dv.start()
        rest = node.stdout.read()
        print(line + rest)
        assert node.wait(timeout=90) == 0, "browser test failed"
    finally:
        if node and node.poll() is None:
            node.kill()
        d.stop()
        dv.stop()
        up.stop()


def case_matching(w):
    """Answers that refer to the application only through References, an
    applicant tracking system's mail naming the firm, and answers to mail
    that was no application - all through a real Dovecot; then /metrics."""
    need_dovecot()
    up = Upstream(w).start()
    dv = Dovecot(w, idle=True).start()
    cfg, _ = imap_config(dv, w, "imaps://127.0.0.1:%d" % dv.tls_port)
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg).start()
    try:
        api = Api(d)
        wait_inbox(api, "ok")
        ids = {}
        for k in ("A", "B", "C", "G"):
            to, subject, body = APPS[k] if k != "G" else (
                "Sam Reid <sam.reid@coastline-leisure.example>", "Leisure assistant vacancy at Coastline Leisure",
                COASTLINE % "Coastline Leisure")
            ids[k] = "<%s-%s@example.org>" % (k, os.urandom(4).hex())
            smtp_send(d, mail(to, subject, body, ids[k]), [email.utils.parseaddr(to)[1]])
        # Ordinary mail: to the letting agent B works for (Priya is a tenant), and to a friend.
        ids["tenant"] = "<boiler-%s@example.org>" % os.urandom(4).hex()
        smtp_send(d, mail("Harbour Lets Maintenance <maintenance@harbourlets.example>", "Boiler at 14 Quay Street",
                          "Hello,\n\nThe boiler at 14 Quay Street has stopped again. Could someone come round this "
                          "week?\n\nThanks,\nPriya\n", ids["tenant"]), ["maintenance@harbourlets.example"])
        ids["friend"] = "<walk-%s@example.org>" % os.urandom(4).hex()
        smtp_send(d, mail("Sam <sam.lee@gmail.com>", "Walk on Sunday?", "Hi Sam,\n\nFancy a walk on Sunday?\n\nPriya\n",
                          ids["friend"]), ["sam.lee@gmail.com"])
        assert wait_for(lambda: up.count() == 6, 20), up.count()
        # Each is in the ledger once routed ("message ID ..." follows the route; the relay may come first).
        assert wait_for(lambda: d.log().count(" rapportd: message ") == 6, 10), d.log()
        assert wait_for(lambda: outcomes(api)["applications"] == 4, 10), outcomes(api)
        assert ledger_metrics(api) == {
            'rapport_applications_total{class="clean"}': 4, 'rapport_applications_total{class="revised"}': 0,
            'rapport_applications_total{class="despite-findings"}': 0,
            'rapport_replies_total{match="exact"}': 0, 'rapport_replies_total{match="probable"}': 0}, ledger_metrics(api)

        # The agency's maintenance team answers the tenant's mail: the same
        # firm as B's application, but an answer to that mail, not to B.
        dv.append(reply("Harbour Lets Maintenance <maintenance@harbourlets.example>", "Re: Boiler at 14 Quay Street",
                        ids["tenant"]))
        # The friend answers the walk: nothing.
        dv.append(reply("Sam <sam.lee@gmail.com>", "Re: Walk on Sunday?", ids["friend"]))
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] == 2, 20), outcomes(api)["inbox"]
        o = outcomes(api)
        assert o["replied"] == 0 and by_subject(o)[APPS["B"][1]]["outcome"] == "waiting", by_subject(o)[APPS["B"][1]]
        assert d.log().count("an answer to mail that was no application") == 0, "the log names no why for unrelated mail"

        # G: a reply from the recruiter's own address that carries only
        # References (no In-Reply-To), the application's Message-ID last.
        raw = ("From: Sam Reid <samreid.home@gmail.com>\r\nTo: Priya Shah <%s>\r\nSubject: Re: Leisure assistant\r\n"
               "Date: %s\r\nMessage-ID: <refs-%s@gmail.com>\r\nReferences: <thread-start@coastline-leisure.example> %s\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nCould you come in on Thursday?\r\n" % (
                   ME, email.utils.formatdate(), os.urandom(4).hex(), ids["G"])).encode()
        assert b"In-Reply-To" not in raw
        dv.append(raw)
        wait_outcome(api, "Leisure assistant vacancy at Coastline Leisure", "replied")
        assert by_subject(outcomes(api))["Leisure assistant vacancy at Coastline Leisure"]["match"] == "exact"

        # C: Greenhouse writes for Brightwater, naming it in the sender's name
        # (a person's invitation, not automated): a probable reply to C.
        dv.append(reply("Brightwater Talent Team <no-reply@greenhouse.io>", "Interview invitation: warehouse team leader"))
        # ...and a Greenhouse mail naming a firm Priya never wrote to: nothing.
        dv.append(reply("Oakridge Foods Careers <no-reply@greenhouse.io>", "Roles you might like"))
        wait_outcome(api, APPS["C"][1], "replied")
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] == 5, 20), outcomes(api)["inbox"]
        o = outcomes(api)
        got = {a["subject"]: (a["outcome"], a["match"]) for a in o["recent"]}
        assert got == {
            APPS["A"][1]: ("waiting", None), APPS["B"][1]: ("waiting", None),
            APPS["C"][1]: ("replied", "probable"),
            "Leisure assistant vacancy at Coastline Leisure": ("replied", "exact")}, got
        assert "probable: an applicant tracking system naming the organisation" in d.log(), d.log()
        assert (o["applications"], o["replied"], o["reply_rate"]) == (4, 2, 0.5), o

        # B's real reply, from a colleague without reply headers: probable.
        dv.append(reply("Tom Price <tom.price@harbourlets.example>", "Your application"))
        wait_outcome(api, APPS["B"][1], "replied")
        assert ledger_metrics(api) == {
            'rapport_applications_total{class="clean"}': 4, 'rapport_applications_total{class="revised"}': 0,
            'rapport_applications_total{class="despite-findings"}': 0,
            'rapport_replies_total{match="exact"}': 1, 'rapport_replies_total{match="probable"}': 2}, ledger_metrics(api)
        same_figures(outcomes(api), json.loads(ctl(d.state, "outcomes", "--json").stdout))
    finally:
        d.stop()
        dv.stop()
        up.stop()


def case_dovecot_restart(w):
    """Dovecot goes away under rapportd twice: while it waits in IDLE, and in
    the middle of reading thousands of messages (the imap process frozen,
    then the server killed and started again). rapportd reconnects by itself
    and every message counts once: nothing read twice, nothing lost."""
    need_dovecot()
    up = Upstream(w).start()
    dv = Dovecot(w, idle=True).start()
    cfg, _ = imap_config(dv, w, "imaps://127.0.0.1:%d" % dv.tls_port)
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg).start()
    try:
        api = Api(d)
        wait_inbox(api, "ok")
        ids = {}
        for k in ("A", "B", "C"):
            to, subject, body = APPS[k]
            ids[k] = "<%s-%s@example.org>" % (k, os.urandom(4).hex())
            smtp_send(d, mail(to, subject, body, ids[k]), [email.utils.parseaddr(to)[1]])
        assert wait_for(lambda: outcomes(api)["applications"] == 3, 20), outcomes(api)
        a_reply = reply("Kwame Osei <k.osei@kestrel-analytics.example>", "Re: " + APPS["A"][1], ids["A"],
                        msgid="<a-reply-%s@kestrel-analytics.example>" % os.urandom(4).hex())
        dv.append(a_reply)
        wait_outcome(api, APPS["A"][1], "replied")

        # 1. In IDLE: the server stops; rapportd says so, then comes back by itself.
        dv.stop()
        inbox = wait_inbox(api, "error", timeout=20)
        assert inbox["message"].startswith("Rapport can't read your inbox: "), inbox
        dv.start()
        wait_inbox(api, "ok", timeout=20)
        # B's reply, and A's again (a copy filed twice: a new UID, the same Message-ID).
        dv.append(reply("Anna Lewis <jobs@harbourlets.example>", "Re: " + APPS["B"][1], ids["B"]))
        dv.append(a_reply)
        wait_outcome(api, APPS["B"][1], "replied")
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] == 3, 20), outcomes(api)["inbox"]
        o = outcomes(api)
        assert (o["replied"], o["applications"]) == (2, 3), o
        assert "INBOX: read 2 new messages (uid 2-3) in " in d.log(), d.log()
        assert ledger_metrics(api)['rapport_replies_total{match="exact"}'] == 2, ledger_metrics(api)

        # 2. In the middle of a read: 4000 messages arrive while rapportd is
        # down (C's reply among them), it starts reading them, and Dovecot's
        # imap process is frozen part-way, then killed with its server.
        d.stop()
        n = 4000
        msgs = [newsletter(i, body_lines=4) for i in range(n)]
        msgs[3100] = reply("Hiring Team <hr@brightwater.example>", "Re: " + APPS["C"][1], ids["C"])
        assert dv.deliver_many(msgs) == 3 + n
        d.start()
        api = Api(d)
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] > 0, 30, step=0.01), outcomes(api)["inbox"]
        pids = dv.imap_pids()
        assert pids, "no imap process to freeze"
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(0.5)
        read_then = outcomes(api)["inbox"]["read"]
        print("frozen after %d of %d messages" % (read_then, n))
        assert 0 < read_then < n, "the read was not interrupted part-way (%d of %d): nothing was tested" % (read_then, n)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        dv.stop()
        dv.start()
        wait_outcome(api, APPS["C"][1], "replied", timeout=60)
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] >= n, 60), outcomes(api)["inbox"]
        time.sleep(1.0)  # anything read twice would show by now
        o = outcomes(api)
        assert o["inbox"]["read"] == n, "messages read since the start: %d of %d" % (o["inbox"]["read"], n)
        assert o["inbox"]["state"] == "ok", o["inbox"]
        assert (o["applications"], o["replied"], o["acknowledged"], o["bounced"]) == (3, 3, 0, 0), o
        assert ledger_metrics(api)['rapport_replies_total{match="exact"}'] == 3, ledger_metrics(api)
        assert "warning: inbox: Rapport can't read your inbox: " in d.log(), d.log()
        same_figures(o, json.loads(ctl(d.state, "outcomes", "--json").stdout))
    finally:
        d.stop()
        dv.stop()
        up.stop()


def case_big_sync(w):
    """The first sync of an INBOX of 10 000 messages: headers only, memory
    bounded, under 30 s. The messages are written into the Maildir (Dovecot
    indexes them before rapportd starts); three of them answer applications."""
    need_dovecot()
    up = Upstream(w).start()
    dv = Dovecot(w, idle=True).start()
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port).start()
    try:
        api = Api(d)
        ids = {}
        for k in ("A", "B", "C", "D"):
            to, subject, body = APPS[k]
            ids[k] = "<%s-%s@example.org>" % (k, os.urandom(4).hex())
            smtp_send(d, mail(to, subject, body, ids[k]), [email.utils.parseaddr(to)[1]])
        assert wait_for(lambda: outcomes(api)["applications"] == 4, 20), outcomes(api)
    finally:
        d.stop()
    n = 10000
    msgs = [newsletter(i) for i in range(n)]
    msgs[1234] = reply("Kwame Osei <k.osei@kestrel-analytics.example>", "Re: " + APPS["A"][1], ids["A"])
    msgs[5678] = reply("Tom Price <tom.price@harbourlets.example>", "Your application")
    msgs[9876] = bounce("careers@ferrowbuild.example", ids["D"], "careers@ferrowbuild.example", APPS["D"][1])
    total_bytes = sum(len(m) for m in msgs)
    t = time.time()
    assert dv.deliver_many(msgs) == n
    TIMINGS.append(("10 000 messages into the Maildir and indexed by Dovecot", time.time() - t))
    # rapportd starts with the server away, so that its memory can be read
    # before the sync; then the server comes back and the first sync runs.
    dv.stop()
    cfg, _ = imap_config(dv, w, "imaps://127.0.0.1:%d" % dv.tls_port)
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg)
    try:
        d.start()
        api = Api(d)
        wait_inbox(api, "error")
        before_kib = rss_kib(d.proc.pid, "VmRSS")
        # The peak from here on: Linux starts VmHWM afresh at the current RSS (proc(5), clear_refs).
        with open("/proc/%d/clear_refs" % d.proc.pid, "w") as f:
            f.write("5")
        assert rss_kib(d.proc.pid) < before_kib + 1024, "VmHWM was not reset"
        t0 = time.time()
        dv.start()
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] >= n, 60, step=0.1), outcomes(api)["inbox"]
        wall = time.time() - t0
        peak_kib = rss_kib(d.proc.pid)
        line = [l for l in d.log().splitlines() if "INBOX: read 10000 new messages (uid 1-10000) in " in l]
        assert line, d.log()[-3000:]
        reader_ms = int(line[0].split(" in ")[1].split(" ms")[0])
        o = outcomes(api)
        assert o["inbox"]["read"] == n, o["inbox"]
        got = {a["subject"]: (a["outcome"], a["match"]) for a in o["recent"]}
        assert got == {APPS["A"][1]: ("replied", "exact"), APPS["B"][1]: ("replied", "probable"),
                       APPS["C"][1]: ("waiting", None), APPS["D"][1]: ("bounced", "exact")}, got
        d.stop()
        dv.stop()  # its sessions end: their byte counts reach the log
        # Headers only: Dovecot sent rapportd a fraction of what the messages hold.
        sent_out = max(s[1] for s in dv.sessions())
        print("first sync of %d messages (%.1f MB): %.1f s from the server's return to all read (with up to 2 s "
              "of the reader's retry wait), the reader's own %.1f s; Dovecot sent %.1f MB; rapportd's RSS "
              "peaked at %.1f MiB during the sync, %.1f MiB before it" % (
                  n, total_bytes / 1e6, wall, reader_ms / 1000.0, sent_out / 1e6, peak_kib / 1024.0,
                  before_kib / 1024.0))
        TIMINGS.append(("first sync of 10 000 messages, server back to all read", wall))
        TIMINGS.append(("first sync of 10 000 messages, the reader's own time", reader_ms / 1000.0))
        assert wall < 30, "the first sync took %.1f s" % wall
        assert sent_out < total_bytes * 0.4, "Dovecot sent %d bytes of %d: more than headers" % (sent_out, total_bytes)
        # Memory: 200 messages' headers at a time, and the ledger's page
        # cache: the inbox's 24 MB must not show (it grows by ~5 MiB here).
        assert peak_kib - before_kib < 16 * 1024, "peak RSS %d KiB, %d KiB before the sync" % (peak_kib, before_kib)
    finally:
        d.stop()
        dv.stop()
        up.stop()


def case_week(w, browser=False):
    """A scripted week and a bit of job seeking, with rapportd's clock moved
    on day by day (libfaketime): applications of each class go out Monday to
    Tuesday, answers arrive over the week into a real Dovecot (an exact
    reply, one carrying only References, a colleague's probable reply, an
    auto-reply later followed by a tracking system's invitation, a bounce,
    an answer to ordinary mail, the sender's own copy), one more application
    the next Monday; on the Wednesday after, `rapportctl outcomes --json`
    holds SPEC.md's figures, follow-ups are due with their suggestions, and
    the reply rate by week has two weeks. browser: the page shows them too."""
    need_dovecot()
    assert os.path.exists(FAKETIME_LIB), "libfaketime is not installed (package faketime; scripts/deps.sh --test)"
    browser_dir = os.environ.get("RAPPORT_BROWSER_DIR", "")
    if browser:
        if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
            print("SKIP: node or /usr/bin/chromium missing")
            return 77
        if not os.path.isdir(os.path.join(browser_dir, "node_modules", "playwright-core")):
            print("SKIP: playwright-core not installed in %r" % browser_dir)
            return 77
    up = Upstream(w).start()
    dv = Dovecot(w, idle=True).start()
    clock = FakeClock(w)
    # Day 0 is next Monday, 09:00 UTC (the certificates are good for 30 days).
    now = time.time()
    monday = int(now // 86400) * 86400
    monday -= ((monday // 86400 + 3) % 7) * 86400  # back to this week's Monday (1 Jan 1970 was a Thursday)
    monday += 7 * 86400
    day = lambda n, hour=9: monday + n * 86400 + hour * 3600
    clock.at(day(0))
    cfg, _ = imap_config(dv, w, "imaps://127.0.0.1:%d" % dv.tls_port)
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg, env=clock.env()).start()
    node = None
    try:
        api = Api(d)
        wait_inbox(api, "ok")
        ids = {}
        sent = {}

        # The ledger dates a message when its verdict routes it, after the
        # 250; rapportd logs "message ID ..." once it has. The clock moves
        # on only after that.
        routed = lambda: d.log().count(" rapportd: message ")  # noqa: E731

        def smtp_at(raw, rcpt, at):
            clock.at(at)
            before = routed()
            smtp_send(d, raw, [rcpt])
            assert wait_for(lambda: routed() == before + 1, 20), "not routed: %s" % rcpt

        def send(key, to, subject, body, at):
            ids[key] = "<%s-%s@example.org>" % (key, os.urandom(4).hex())
            smtp_at(mail(to, subject, body, ids[key]), email.utils.parseaddr(to)[1], at)
            sent[key] = subject

        def answer(raw, at):
            """Delivered at `at`: the daemon's clock moves there, the Date says so."""
            clock.at(at)
            dv.append(raw)

        def reply_at(frm, subject, at, in_reply_to=None, extra=""):
            r = reply(frm, subject, in_reply_to, extra=extra)
            head, body = r.split(b"\r\n\r\n", 1)
            lines = [l for l in head.split(b"\r\n") if not l.startswith(b"Date: ")]
            lines.insert(3, b"Date: " + email.utils.formatdate(at).encode())
            return b"\r\n".join(lines) + b"\r\n\r\n" + body

        # Monday: three applications.
        send("A", *APPS["A"], at=day(0, 9))
        send("B", *APPS["B"], at=day(0, 10))
        send("E", *APPS["E"], at=day(0, 11))
        # Tuesday: three more, one held (a CV and two lines) and sent anyway.
        send("C", *APPS["C"], at=day(1, 9))
        send("D", *APPS["D"], at=day(1, 10))
        send("I", "\"Kowalska, Anna\" <anna.kowalska@northgate-care.example>", "Care assistant vacancy at Northgate Care",
             "Dear Ms Kowalska,\n\nI am writing to apply for the care assistant vacancy at Northgate Care. For two years "
             "I have looked after my grandmother at home, and I volunteer on Saturdays at the Quayside day centre, "
             "helping with meals and the afternoon quiz. I hold a first aid certificate and I am happy to work "
             "weekends.\n\nKind regards,\nPriya Shah\n", at=day(1, 11))
        ids["F"] = "<F-%s@example.org>" % os.urandom(4).hex()
        smtp_at(cv_only(ids["F"]), "jobs@marlowprint.example", day(1, 12))
        assert wait_for(lambda: len(api.json("GET", "/api/v1/messages?status=held")["messages"]) == 1, 20)
        held = api.json("GET", "/api/v1/messages?status=held")["messages"][0]["id"]
        clock.at(day(1, 13))
        api.json("POST", "/api/v1/messages/%s/release" % held)
        assert wait_for(lambda: up.count() == 7, 20), up.count()
        # Wednesday: G held with a placeholder, sent again corrected (revised);
        # mail to the agency as a tenant; a walk with a friend.
        g1 = "<G1-%s@example.org>" % os.urandom(4).hex()
        smtp_at(mail("Sam Reid <sam.reid@coastline-leisure.example>", "Leisure assistant vacancy at Coastline Leisure",
                     COASTLINE % "[Company Name]", g1), "sam.reid@coastline-leisure.example", day(2, 9))
        assert wait_for(lambda: len(api.json("GET", "/api/v1/messages?status=held")["messages"]) == 1, 20)
        held_g1 = api.json("GET", "/api/v1/messages?status=held")["messages"][0]["id"]
        send("G", "Sam Reid <sam.reid@coastline-leisure.example>", "Leisure assistant vacancy at Coastline Leisure",
             COASTLINE % "Coastline Leisure", at=day(2, 10))
        api.json("POST", "/api/v1/messages/%s/drop" % held_g1)
        send("tenant", "Harbour Lets Maintenance <maintenance@harbourlets.example>", "Boiler at 14 Quay Street",
             "Hello,\n\nThe boiler has stopped again. Could someone come round?\n\nPriya\n", at=day(2, 11))
        send("walk", "Sam <sam.lee@gmail.com>", "Walk on Sunday?", "Hi Sam,\n\nA walk on Sunday?\n\nPriya\n",
             at=day(2, 11))
        tenant, walk = ids["tenant"], ids["walk"]
        assert wait_for(lambda: up.count() == 10, 20), up.count()
        assert wait_for(lambda: outcomes(api)["applications"] == 8, 10), outcomes(api)
        # Wednesday afternoon: Kwame answers A; Sam (the friend) answers the walk.
        answer(reply_at("Kwame Osei <k.osei@kestrel-analytics.example>", "Re: " + APPS["A"][1], day(2, 15), ids["A"]),
               day(2, 15))
        answer(reply_at("Sam <sam.lee@gmail.com>", "Re: Walk on Sunday?", day(2, 16), walk), day(2, 16))
        wait_outcome(api, APPS["A"][1], "replied")
        # Thursday: C's auto-reply, D bounces, the maintenance team answers the tenant.
        answer(reply_at("Brightwater <hr@brightwater.example>", "Automatic reply: " + APPS["C"][1], day(3, 8), ids["C"],
                        extra="Auto-Submitted: auto-replied\r\n"), day(3, 8))
        answer(bounce("careers@ferrowbuild.example", ids["D"], "careers@ferrowbuild.example", APPS["D"][1]), day(3, 9))
        answer(reply_at("Harbour Lets Maintenance <maintenance@harbourlets.example>", "Re: Boiler at 14 Quay Street",
                        day(3, 10), tenant), day(3, 10))
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] == 5, 20), outcomes(api)["inbox"]
        assert by_subject(outcomes(api))[APPS["B"][1]]["outcome"] == "waiting", "the tenant's answer counted for B"
        # Friday: a colleague of B's answers (no reply headers); Sam Reid answers G
        # from home with References only; Priya's own copy of I lands in the inbox.
        answer(reply_at("Tom Price <tom.price@harbourlets.example>", "Your application", day(4, 9)), day(4, 9))
        refs_only = reply_at("Sam Reid <samreid.home@gmail.com>", "Re: Leisure assistant", day(4, 10),
                             extra="References: <thread@coastline-leisure.example> %s\r\n" % ids["G"])
        assert b"In-Reply-To" not in refs_only
        answer(refs_only, day(4, 10))
        answer(mail("\"Kowalska, Anna\" <anna.kowalska@northgate-care.example>", "Care assistant vacancy at Northgate Care",
                    "(copy)", "<copy-%s@example.org>" % os.urandom(4).hex()), day(4, 11))
        wait_outcome(api, "Leisure assistant vacancy at Coastline Leisure", "replied")
        # Next Monday: one more application; Greenhouse invites Priya to an
        # interview at Brightwater (C had only its auto-reply).
        send("H", "Maria Costa <maria.costa@amberleybakery.example>", "Bakery assistant at Amberley Bakery",
             "Dear Ms Costa,\n\nI would like to apply for the bakery assistant job at Amberley Bakery that I saw in "
             "your window. I have worked early shifts at a supermarket bakery counter for a year, so 5am starts and "
             "trays of rolls do not frighten me, and I am keen to learn proper bread making.\n\nKind regards,\n"
             "Priya Shah\n", at=day(7, 9))
        answer(reply_at("Brightwater Talent Team <no-reply@greenhouse.io>", "Interview invitation: warehouse team leader",
                        day(7, 10)), day(7, 10))
        wait_outcome(api, APPS["C"][1], "replied")
        # The Wednesday after, at noon: what Priya sees.
        clock.at(day(9, 12))
        assert wait_for(lambda: outcomes(api)["inbox"]["read"] == 9, 20), outcomes(api)["inbox"]
        o = json.loads(ctl(d.state, "outcomes", "--json").stdout)
        same_figures(o, outcomes(api))

        # SPEC.md's figures.
        assert (o["applications"], o["replied"], o["acknowledged"], o["bounced"]) == (9, 4, 0, 1), o
        assert o["reply_rate"] == 0.5, o  # 4 of the 8 that arrived
        assert o["by_class"] == {
            "clean": {"applications": 6, "replied": 3, "acknowledged": 0, "bounced": 1, "reply_rate": 0.6},
            "revised": {"applications": 1, "replied": 1, "acknowledged": 0, "bounced": 0, "reply_rate": 1.0},
            "despite-findings": {"applications": 2, "replied": 0, "acknowledged": 0, "bounced": 0, "reply_rate": 0.0},
        }, o["by_class"]
        got = {a["subject"]: (a["class"], a["outcome"], a["match"]) for a in o["recent"]}
        assert got == {
            APPS["A"][1]: ("clean", "replied", "exact"), APPS["B"][1]: ("clean", "replied", "probable"),
            APPS["C"][1]: ("clean", "replied", "probable"), APPS["D"][1]: ("clean", "bounced", "exact"),
            APPS["E"][1]: ("despite-findings", "waiting", None), "Print finisher job": ("despite-findings", "waiting", None),
            "Leisure assistant vacancy at Coastline Leisure": ("revised", "replied", "exact"),
            "Care assistant vacancy at Northgate Care": ("clean", "waiting", None),
            "Bakery assistant at Amberley Bakery": ("clean", "waiting", None)}, got
        for a in o["recent"]:
            assert set(a) >= {"id", "to", "subject", "sent", "class", "outcome", "match"}, a
        assert abs(by_subject(o)[APPS["A"][1]]["sent"] - day(0, 9)) < 60, "A left on Monday at 09:00"
        # Follow-ups: E (Monday), F and I (Tuesday) - a week on, no reply; H is too recent.
        due = o["follow_up_due"]
        assert [a["subject"] for a in due] == [APPS["E"][1], "Care assistant vacancy at Northgate Care",
                                               "Print finisher job"], due
        for a in due:
            assert set(a) >= {"id", "to", "subject", "sent"}, a
        e, i, f = due
        assert e["to"] == ["recruitment@oakfield-vets.example"] and e["name"] is None, e
        assert e["suggestion"] == ("It's been 9 days - a short, polite follow-up to recruitment@oakfield-vets.example "
                                   "asking about your application is fine."), e
        assert i["name"] == "Anna Kowalska", i
        assert i["suggestion"] == ("It's been 8 days - a short, polite follow-up to Anna Kowalska asking about your "
                                   "application is fine."), i
        # The reply rate by week: this week's and last week's.
        weeks = o["by_week"]
        assert [wk["week"] for wk in weeks] == [day(0, 0), day(7, 0)], weeks
        w1, w2 = weeks
        assert (w1["applications"], w1["replied"], w1["bounced"], w1["reply_rate"]) == (8, 4, 1, round(4 / 7, 4)), w1
        assert (w1["by_class"]["clean"]["reply_rate"], w1["by_class"]["revised"]["reply_rate"],
                w1["by_class"]["despite-findings"]["reply_rate"]) == (0.75, 1.0, 0.0), w1
        assert (w2["applications"], w2["by_class"]["clean"]["applications"], w2["reply_rate"]) == (1, 1, 0.0), w2
        assert w2["by_class"]["revised"]["applications"] == 0 and w2["by_class"]["revised"]["reply_rate"] is None, w2
        # Nothing else counted: the friend's and the maintenance team's answers, the own copy.
        assert o["inbox"]["read"] == 9, o["inbox"]
        assert ledger_metrics(api) == {
            'rapport_applications_total{class="clean"}': 6, 'rapport_applications_total{class="revised"}': 1,
            'rapport_applications_total{class="despite-findings"}': 2,
            'rapport_replies_total{match="exact"}': 2, 'rapport_replies_total{match="probable"}': 2}, ledger_metrics(api)

        # The same in a terminal.
        text = ctl(d.state, "outcomes").stdout
        for want in ("Applications: 9 sent, 4 replied, 0 acknowledged automatically, 1 bounced",
                     "Reply rate: 50% (4 of the 8 that arrived)",
                     "    It's been 8 days - a short, polite follow-up to Anna Kowalska asking about your application is fine.",
                     "Reply rate by week",
                     "  %s  8 sent, 4 replied (57%%); clean 75%%, revised 100%%, despite findings 0%%" % time.strftime(
                         "%Y-%m-%d", time.gmtime(day(0, 0))),
                     "  %s  1 sent, 0 replied (0%%); clean 0%%, revised -, despite findings -" % time.strftime(
                         "%Y-%m-%d", time.gmtime(day(7, 0)))):
            assert want in text, "%r not in:\n%s" % (want, text)

        if browser:
            url = ctl(d.state, "open").stdout.strip()
            shot_dir = os.environ.get("RAPPORT_SCREENSHOT_DIR", w)
            os.makedirs(shot_dir, exist_ok=True)
            env = dict(os.environ, RAPPORT_NODE_MODULES=os.path.join(browser_dir, "node_modules"))
            node = subprocess.run(["node", os.path.join(HERE, "..", "browser", "outcomes_chart_page.mjs"), url, shot_dir,
                                   os.path.join(w, "chromium-profile"), json.dumps(o)],
                                  capture_output=True, text=True, env=env, timeout=120)
            print(node.stdout + node.stderr)
            assert node.returncode == 0, "browser test failed"
    finally:
        d.stop()
        dv.stop()
        up.stop()


def case_week_page(w):
    return case_week(w, browser=True)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    global RAPPORTD, RAPPORTCTL
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print("usage: ledger_e2e.py RAPPORTD RAPPORTCTL CASE   (cases: %s)" % " ".join(CASES))
        return 2
    RAPPORTD, RAPPORTCTL = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    w = tempdir("ledger-" + sys.argv[3])
    os.chmod(w, 0o711)  # Dovecot's unprivileged processes walk through it
    ok = False
    t0 = time.time()
    try:
        if CASES[sys.argv[3]](w) == 77:
            shutil.rmtree(w, ignore_errors=True)
            return 77
        assert not EXIT_PROBLEMS, EXIT_PROBLEMS
        ok = True
        for what, secs in TIMINGS:
            print("timing: %-62s %7.1f ms" % (what, secs * 1000))
        print("ok: %s (%.1f s)" % (sys.argv[3], time.time() - t0))
    except Exception:
        traceback.print_exc()
        for root, _, files in os.walk(w):
            for f in files:
                if f in ("rapportd.log", "dovecot.log"):
                    print("--- %s ---" % os.path.join(root, f))
                    print(open(os.path.join(root, f), errors="replace").read()[-6000:])
    finally:
        if ok:
            shutil.rmtree(w, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
