#!/usr/bin/python3
"""Real Thunderbird + real rapportd + the product add-on, end to end.

    tb_e2e.py RAPPORTD RAPPORT_XPI CASE      CASE: personal | cv | no-addon | template | api-down | direct-template | imap-reply | all

Each case starts a real upstream SMTP server (aiosmtpd), a real rapportd on
free ports (its own state dir, default policy) and a headless Thunderbird
with a fresh profile whose outgoing server is rapportd. The profile holds the
product add-on (the .xpi the build makes, its storage.local seeded with the
daemon's URL and token - what a user types into the options page) and a
test-only driver add-on (tb_e2e_driver/) that composes and sends as a person
would and answers Rapport's popup through the add-on's `testDriver` hook,
which only a test can set (storage.local, no UI).

The add-on on its own (direct-template, imap-reply): Thunderbird's outgoing
server is a test server that wants a login instead of rapportd, which then
serves only its API; in imap-reply the account itself is IMAP on a real
Dovecot. The driver saves those passwords as a person would at Thunderbird's
prompt and presses Get Messages (its test-only experiment API).

Results are read from what reaches the upstream and from rapportd's API,
never from how long something took: every wait is a poll with a generous
limit. Each case prints what arrived upstream. Exit 77 = skipped
(no thunderbird or no aiosmtpd).
"""
import email
import email.policy
import email.utils
import hashlib
import http.client
import importlib.util
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "daemon"))
import tb_lib  # noqa: E402
from tb_lib import ADDON_ID, DRIVER_ID, wait_for  # noqa: E402

SENDER = "Jo Bloggs <jo.bloggs@example.org>"
T_START = 120   # Thunderbird up and both add-ons running (ASan build, busy 2-core machine)
T_STEP = 60     # one send, popup, arrival, API change
CV = {"name": "CV_Jo_Bloggs.pdf", "type": "application/pdf",
      "text": "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"}


class Failed(Exception):
    pass


def log(line=""):
    print(line, flush=True)


def need(ok, what):
    log(("ok   " if ok else "FAIL ") + what)
    if not ok:
        raise Failed(what)


# --- the driver add-on's side channel -------------------------------------

class Driver:
    """HTTP endpoint the driver add-on polls for commands and reports to."""

    def __init__(self):
        self.commands = queue.Queue()
        self.events = []
        self.cond = threading.Condition()
        driver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, obj=None):
                data = json.dumps(obj).encode() if obj is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path != "/next":
                    return self.reply(404, {})
                try:
                    cmd = driver.commands.get(timeout=10)
                except queue.Empty:
                    return self.reply(204)
                self.reply(200, cmd)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                with driver.cond:
                    driver.events.append(json.loads(body.decode("utf-8", "replace")))
                    driver.cond.notify_all()
                self.reply(200, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def do(self, **cmd):
        self.commands.put(cmd)

    def find(self, pred):
        with self.cond:
            return [e for e in self.events if pred(e)]

    def wait(self, pred, secs, what):
        """The first event matching pred (waiting up to secs)."""
        end = time.time() + secs
        with self.cond:
            while True:
                hit = [e for e in self.events if pred(e)]
                if hit:
                    return hit[0]
                left = end - time.time()
                if left <= 0:
                    raise Failed("no driver event: %s (events so far: %s)" % (what, json.dumps(self.events)[-1500:]))
                self.cond.wait(left)

    def rapport(self, kind):
        """What Rapport told the driver: kind "popup" or "notification"."""
        return [e["msg"] for e in self.find(lambda e: e.get("event") == "rapport"
                                            and e.get("msg", {}).get("type") == "rapport." + kind)]

    def stop(self):
        self.server.shutdown()


# --- rapportd's API ------------------------------------------------------

class Api:
    def __init__(self, state):
        self.addr = open(os.path.join(state, "http-address")).read().strip()
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)
        self.url = "http://" + self.addr
        self.token = open(os.path.join(state, "api-token")).read().strip()

    def call(self, method, path, body=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        out = r.read()
        c.close()
        return r.status, out

    def json(self, method, path, body=None):
        status, out = self.call(method, path, body)
        if status != 200:
            raise Failed("%s %s -> %d %s" % (method, path, status, out[:300]))
        return json.loads(out)

    def messages(self, status=None):
        return self.json("GET", "/api/v1/messages" + ("?status=" + status if status else ""))["messages"]

    def analyzed(self):
        status, out = self.call("GET", "/metrics")
        for line in out.decode().splitlines():
            if line.startswith("rapport_analyze_total "):
                return int(float(line.split()[1]))
        return 0


# --- what arrived upstream -------------------------------------------------

def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def text_of(msg):
    part = msg.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    # format=flowed soft breaks and CRLF are transport, not the writer's text
    return "\n".join(l.rstrip() for l in text.replace("\r\n", "\n").split("\n")).strip()


def describe(raw):
    m = parse(raw)
    rapport = [k for k in m.keys() if k.lower().startswith("x-rapport")]
    atts = ["%s (%s)" % (p.get_filename(), p.get_content_type()) for p in m.iter_attachments()]
    log("  upstream got: From=%s | To=%s | Subject=%s" % (m["From"], m["To"], m["Subject"]))
    log("     headers: %s" % ", ".join(m.keys()))
    log("     X-Rapport-*: %s | attachments: %s | body sha256:%s (%d bytes)"
        % (", ".join(rapport) or "none", ", ".join(atts) or "none",
           hashlib.sha256(text_of(m).encode()).hexdigest()[:16], len(text_of(m).encode())))


def body_bytes(raw):
    i = raw.find(b"\r\n\r\n")
    return raw[i + 4:] if i >= 0 else raw


# --- one case's world ------------------------------------------------------

SMTP_USER, SMTP_PASSWORD = "jo.bloggs@example.org", "app-password-1234"


def login_server(work):
    """A provider's submission server stand-in: AUTH required (PLAIN/LOGIN), then it takes anything."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
    from e2e_lib import Upstream, _Handler

    def auth(server, session, envelope, mechanism, data):
        return AuthResult(success=isinstance(data, LoginPassword) and data.login == SMTP_USER.encode()
                          and data.password == SMTP_PASSWORD.encode())
    up = Upstream(work)
    up.controller = Controller(_Handler(up), hostname="127.0.0.1", port=up.port, auth_required=True,
                               auth_require_tls=False, authenticator=auth)
    return up.start()


class World:
    """direct: Thunderbird's outgoing server is a test server that wants a
    login, not rapportd (rapportd runs for its API only). imap: the account
    is IMAP on a real Dovecot."""

    def __init__(self, rapportd, xpi, name, with_addon=True, dead_api=False, display=None, direct=False, imap=False):
        from e2e_lib import Rapportd, Upstream
        self.work = tempfile.mkdtemp(prefix="rapport-tb-e2e-%s-" % name)
        self.direct, self.dovecot = direct, None
        if direct:
            self.up = login_server(self.work)
            self.d = Rapportd(rapportd, self.work).start()  # no upstream: nothing is sent through it here
        else:
            self.up = Upstream(self.work).start()
            self.d = Rapportd(rapportd, self.work, upstream="smtp://127.0.0.1:%d" % self.up.port).start()
        self.api = Api(self.d.state)
        accounts = {}
        if direct:
            accounts["smtp_user"] = SMTP_USER
        if imap:
            from dovecot import Dovecot
            os.chmod(self.work, 0o711)  # Dovecot's own users reach its folder inside
            self.dovecot = Dovecot(self.work).start()
            accounts["imap"] = {"port": self.dovecot.port, "user": Dovecot.USER}
        self.driver = Driver()
        addons = {DRIVER_ID: (os.path.join(HERE, "tb_e2e_driver"), {"__PORT__": str(self.driver.port)})}
        storage = {}
        self.with_addon = with_addon
        if with_addon:
            addons[ADDON_ID] = xpi
            url = "http://127.0.0.1:%d" % tb_lib.free_port() if dead_api else self.api.url
            storage[ADDON_ID] = {"daemonUrl": url, "token": self.api.token, "testDriver": DRIVER_ID}
            if direct:
                storage[ADDON_ID]["direct"] = True  # the options page's "sends straight to my provider"
            log("add-on settings: daemonUrl=%s%s, token from %s/api-token"
                % (url, " (nothing listens there)" if dead_api else "", self.d.state))
        smtp_port = self.up.port if direct else self.d.port
        profile = tb_lib.make_profile(self.work, smtp_port, addons, storage, **accounts)
        log("rapportd: SMTP 127.0.0.1:%d, API %s; upstream 127.0.0.1:%d; Thunderbird's outgoing server: 127.0.0.1:%d%s"
            % (self.d.port, self.api.url, self.up.port, smtp_port, " (with a login)" if direct else ""))
        if self.dovecot:
            log("Thunderbird's account: IMAP 127.0.0.1:%d (Dovecot), user %s" % (self.dovecot.port, self.dovecot.USER))
        self.t0 = time.time()
        self.tb = tb_lib.Thunderbird(tb_lib.thunderbird_or_skip(), profile, self.work, display)
        self.refs = 0

    def ready(self):
        self.driver.wait(lambda e: e.get("event") == "start", T_START, "driver add-on started")
        if not self.with_addon:
            need(True, "Thunderbird runs with the driver add-on only (%.1f s)" % (time.time() - self.t0))
            return
        # The product add-on answers its test hook once its background runs
        # with the seeded settings; ask until it does.
        end = time.time() + T_START
        n = 0
        while True:
            n += 1
            self.driver.do(op="pending")
            ev = self.driver.wait(lambda e: e.get("event") == "pending" and e.get("n") is None, T_STEP, "pending answer")
            ev["n"] = n
            if (ev.get("result") or {}).get("ok"):
                break
            if time.time() > end:
                raise Failed("the Rapport add-on never answered its test hook: %r" % ev)
            time.sleep(0.5)
        need(True, "Thunderbird runs; the Rapport add-on is loaded with its seeded settings (%.1f s)"
             % (time.time() - self.t0))
        # The passwords a person would type at Thunderbird's first prompt, saved.
        logins = []
        if self.direct:
            logins.append(("smtp://127.0.0.1", SMTP_USER, SMTP_PASSWORD))
        if self.dovecot:
            logins.append(("imap://127.0.0.1", self.dovecot.USER, self.dovecot.PASSWORD))
        for origin, user, password in logins:
            self.driver.do(op="login", origin=origin, user=user, password=password)
            self.driver.wait(lambda e: e.get("event") == "login-added" and e.get("origin") == origin, T_STEP,
                             "password saved for " + origin)

    def compose(self, to, subject, body, attachment=None):
        self.refs += 1
        ref = "m%d" % self.refs
        self.driver.do(op="compose", ref=ref, to=to, subject=subject, body=body, attachment=attachment)
        self.driver.wait(lambda e: e.get("event") == "composed" and e.get("ref") == ref, T_STEP, "composed " + ref)
        return ref

    def send(self, ref):
        """Presses Send; returns the number of settled sends for ref before this one."""
        before = len(self.settled(ref))
        self.driver.do(op="send", ref=ref)
        return before

    def settled(self, ref):
        return self.driver.find(lambda e: e.get("ref") == ref and e.get("event") in ("sent", "send-error"))

    def outcome(self, ref, before):
        """Thunderbird's answer to the send: ("sent"|"send-error", event)."""
        wait_for(lambda: len(self.settled(ref)) > before, T_STEP)
        done = self.settled(ref)
        if len(done) <= before:
            raise Failed("Thunderbird never settled the send of %s" % ref)
        return done[before]["event"], done[before]

    def popup(self, n):
        """Waits for Rapport's n-th popup (1-based) and returns what the driver was told."""
        if not wait_for(lambda: len(self.driver.rapport("popup")) >= n, T_STEP):
            raise Failed("Rapport's popup #%d did not open" % n)
        return self.driver.rapport("popup")[n - 1]

    def answer(self, request, choice):
        self.driver.do(op="answer", request=request, choice=choice)
        ev = self.driver.wait(lambda e: e.get("event") == "answered" and e.get("request") == request, T_STEP, "answered")
        need((ev.get("result") or {}).get("ok") is True, "the popup took the answer %r (as its button would)" % choice)

    def arrived(self, n):
        if not wait_for(lambda: self.up.count() >= n, T_STEP):
            raise Failed("upstream has %d message(s), expected %d" % (self.up.count(), n))
        return self.up.contents()

    def close(self):
        problems = []
        try:
            self.driver.do(op="stop")
            self.tb.stop()
        finally:
            self.driver.stop()
            self.d.stop()
            self.up.stop()
            if self.dovecot:
                self.dovecot.stop()
        from e2e_lib import EXIT_PROBLEMS, sanitizer_reports
        problems += sanitizer_reports(self.work) + EXIT_PROBLEMS
        lines = self.tb.addon_problems()
        log("Thunderbird log lines about the add-ons with error/warning: %d" % len(lines))
        for l in lines[:20]:
            log("  " + l)
        if os.environ.get("RAPPORT_KEEP"):
            log("kept: " + self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        return problems


def draft_json(to, subject, body, attachment=None):
    d = {"from": SENDER, "to": to, "subject": subject, "body": body}
    if attachment:
        d["attachments"] = [{"name": attachment["name"], "type": attachment["type"], "size": len(attachment["text"])}]
    return d


def shown(findings):
    return [(f["rule"], f["message"]) for f in findings if f.get("action") not in ("info", "off", "relay")]


def no_rapport_headers(raw):
    return not [k for k in parse(raw).keys() if k.lower().startswith("x-rapport")]


# --- the cases ---------------------------------------------------------------

PERSONAL = dict(to=["Sam Taylor <sam.taylor@example.net>"], subject="Climbing on Saturday",
                body="Hi Sam,\n\nAre we still on for the climbing wall on Saturday morning?\n"
                     "I can bring the spare harness and some flapjack.\n\nSee you there,\nJo")
CV_ONLY = dict(to=["Anna Kowalska <anna.kowalska@acme-widgets.co.uk>"], subject="CV",
               body="Hello,\n\nPlease find attached my CV.\n\nJo", attachment=CV)


def case_personal(w):
    """A personal note with the add-on: no popup, sent at once, body unchanged upstream, no Rapport header."""
    w.ready()
    analyzed = w.api.analyzed()
    ref = w.compose(**PERSONAL)
    outcome, ev = w.outcome(ref, w.send(ref))
    need(outcome == "sent", "Thunderbird sent it (%s)" % json.dumps(ev.get("result") or ev.get("error")))
    need(not w.driver.rapport("popup"), "no popup opened (the send finished without an answer)")
    need(not w.driver.rapport("notification"), "no notification")
    need(w.api.analyzed() == analyzed + 1, "the add-on checked the draft with rapportd (rapport_analyze_total +1)")
    raw = w.arrived(1)[0]
    describe(raw)
    need(w.up.count() == 1, "exactly one message upstream")
    need(text_of(parse(raw)) == PERSONAL["body"], "its text is the text written in Thunderbird")
    need(no_rapport_headers(raw), "no X-Rapport-* header reached the recipient")
    msgs = w.api.messages()
    need(len(msgs) == 1 and msgs[0]["status"] == "relayed" and not msgs[0].get("rules"),
         "rapportd relayed it with no findings: %s" % [(m["status"], m.get("rules")) for m in msgs])
    st, got = w.api.call("GET", "/api/v1/messages/%s/raw" % msgs[0]["id"])
    if st == 200:
        need(body_bytes(got) == body_bytes(raw), "the body upstream is byte for byte the body Thunderbird sent rapportd")
    else:
        log("     (rapportd kept no copy of the relayed message: %d; compared the text instead)" % st)


def case_cv(w):
    """CV-only with the add-on: popup with the daemon's findings; Edit -> nothing sent; Send anyway -> relayed, no hold."""
    w.ready()
    want = shown(w.api.json("POST", "/api/v1/analyze", draft_json(**CV_ONLY))["findings"])
    need("cv-attachment-only" in [r for r, _ in want], "rapportd's analyze flags the draft: %s" % [r for r, _ in want])
    ref = w.compose(**CV_ONLY)
    before = w.send(ref)
    pop = w.popup(1)
    log("     popup #1 findings: %s" % json.dumps([f["message"] for f in pop["findings"]]))
    need(shown(pop["findings"]) == want, "the popup lists exactly the daemon's findings")
    w.answer(pop["request"], "edit")
    outcome, ev = w.outcome(ref, before)
    need(outcome == "send-error", "after Edit message Thunderbird reports the send cancelled: %s" % ev.get("error"))
    need(w.up.count() == 0, "nothing reached the upstream")
    need(w.api.messages() == [], "nothing reached rapportd (its message list is empty)")

    before = w.send(ref)
    pop = w.popup(2)
    need(shown(pop["findings"]) == want, "the same compose window sent again: the popup opens again with the same findings")
    w.answer(pop["request"], "send")
    outcome, ev = w.outcome(ref, before)
    need(outcome == "sent", "after Send anyway Thunderbird sent it")
    raw = w.arrived(1)[0]
    describe(raw)
    need(no_rapport_headers(raw), "it arrived without X-Rapport-Confirm (rapportd removed it)")
    need(parse(raw)["Subject"] == "CV" and [p.get_filename() for p in parse(raw).iter_attachments()] == [CV["name"]],
         "it is the CV mail, with its attachment")
    msgs = w.api.messages()
    need(len(msgs) == 1 and msgs[0]["status"] == "relayed", "rapportd relayed it without a hold: %s"
         % [(m["status"], m.get("rules")) for m in msgs])
    need(w.api.messages("held") == [], "the held list is empty")
    stats = w.api.json("GET", "/api/v1/stats")["senders"]
    need(any(s.get("confirmed") == 1 for s in stats), "rapportd counts it as confirmed: %s" % stats)
    need(w.up.count() == 1, "exactly one message upstream")


def case_no_addon(w):
    """The same CV-only mail without the add-on: sent from Thunderbird, held by rapportd, released once."""
    w.ready()
    ref = w.compose(**CV_ONLY)
    outcome, ev = w.outcome(ref, w.send(ref))
    need(outcome == "sent", "Thunderbird reports it sent (rapportd accepted it)")
    need(wait_for(lambda: len(w.api.messages("held")) == 1, T_STEP), "rapportd holds it")
    held = w.api.messages("held")[0]
    log("     held: id=%s subject=%r rules=%s" % (held["id"], held["subject"], held.get("rules")))
    need(held["subject"] == "CV" and "cv-attachment-only" in held.get("rules", []),
         "the held-mail page's list (GET /api/v1/messages?status=held) shows it, for cv-attachment-only")
    st, page = w.api.call("GET", "/")
    need(st == 200 and b"<html" in page.lower(), "the held-mail page itself is served at /")
    need(w.up.count() == 0, "nothing reached the upstream while it is held")
    st, kept = w.api.call("GET", "/api/v1/messages/%s/raw" % held["id"])
    need(st == 200, "rapportd kept the bytes Thunderbird sent (%d bytes)" % len(kept))
    r = w.api.json("POST", "/api/v1/messages/%s/release" % held["id"])
    need(r.get("released") is True, "released through the API: %s" % r)
    raw = w.arrived(1)[0]
    describe(raw)
    need(body_bytes(raw) == body_bytes(kept), "its body upstream is byte for byte the body Thunderbird sent")
    need(wait_for(lambda: w.api.json("GET", "/api/v1/messages/%s" % held["id"]).get("status") == "relayed", T_STEP),
         "rapportd records it as relayed")
    r = w.api.json("POST", "/api/v1/messages/%s/release" % held["id"])
    need(r.get("released") is False, "a second release sends nothing: %s" % r)
    need(w.up.count() == 1, "it arrived upstream once")
    need(no_rapport_headers(raw), "no X-Rapport-* header reached the recipient")


FIRMS = [("Ann", "Acme"), ("Ben", "Birch"), ("Cara", "Cedar"), ("Dev", "Delta"), ("Eve", "Ember")]


def templated(first, org):
    addr = "%s.smith@%s.co.uk" % (first.lower(), org.lower())
    body = ("Dear %s,\n\nI would like to be considered for the Account Manager vacancy at %s.\n"
            "For the past five years I have managed a book of around forty B2B accounts\n"
            "for a packaging distributor, growing it while keeping churn under 5%%.\n\n"
            "At %s I would bring that same approach, along with solid Salesforce habits.\n\n"
            "Kind regards,\nJo" % (first, org, org))
    return dict(to=["%s Smith <%s>" % (first, addr)], subject="Account Manager vacancy", body=body)


def case_template(w):
    """One letter to five firms, one after another: the fifth is flagged by the add-on."""
    w.ready()
    for i, (first, org) in enumerate(FIRMS):
        mail = templated(first, org)
        ref = w.compose(**mail)
        before = w.send(ref)
        if i < 4:
            outcome, ev = w.outcome(ref, before)
            need(outcome == "sent" and not w.driver.rapport("popup"),
                 "letter %d to %s at %s: sent at once, no popup" % (i + 1, first, org))
            describe(w.arrived(i + 1)[i])
            continue
        pop = w.popup(1)
        rules = [f["rule"] for f in pop["findings"]]
        log("     popup findings: %s" % json.dumps([f["message"] for f in pop["findings"]]))
        need("template-reuse" in rules, "letter 5 to %s at %s: the popup flags template-reuse (%s)" % (first, org, rules))
        w.answer(pop["request"], "send")
        outcome, ev = w.outcome(ref, before)
        need(outcome == "sent", "Send anyway: Thunderbird sent it")
        raw = w.arrived(5)[4]
        describe(raw)
        need(no_rapport_headers(raw), "it arrived without X-Rapport-Confirm")
    need(w.up.count() == 5, "five letters upstream")
    need(w.api.messages("held") == [], "nothing held")
    need(len(w.driver.rapport("popup")) == 1, "exactly one popup in the whole run")


def case_api_down(w):
    """The add-on's API address is dead, SMTP works: the send goes on; one notice per unchecked send."""
    w.ready()
    ref = w.compose(**PERSONAL)
    outcome, ev = w.outcome(ref, w.send(ref))
    need(outcome == "sent", "Thunderbird sent the personal note")
    need(wait_for(lambda: w.driver.rapport("notification"), T_STEP), "the user was told")
    note = w.driver.rapport("notification")[0]
    log("     notification: %r" % note.get("message"))
    need(note.get("kind") == "unchecked" and "without Rapport's check" in note.get("message", ""),
         "the notice says it was not checked")
    raw = w.arrived(1)[0]
    describe(raw)
    need(len(w.driver.rapport("notification")) == 1, "told once")
    ref = w.compose(**CV_ONLY)
    outcome, ev = w.outcome(ref, w.send(ref))
    need(outcome == "sent", "Thunderbird sent the CV-only mail too (no popup: nothing could check it)")
    need(wait_for(lambda: len(w.api.messages("held")) == 1, T_STEP), "rapportd, still on the SMTP path, holds the CV-only mail")
    need(wait_for(lambda: len(w.driver.rapport("notification")) >= 2, T_STEP), "the user was told about the second send")
    need(len(w.driver.rapport("notification")) == 2 and not w.driver.rapport("popup"),
         "one notice per unchecked send, no popup")
    need(w.up.count() == 1, "upstream has only the personal note")
    need(w.api.analyzed() == 0, "the real daemon's API was never asked (rapport_analyze_total 0)")


def outcomes(w):
    return w.api.json("GET", "/api/v1/outcomes")


def case_direct_template(w):
    """Thunderbird sends straight to a server that wants a login, not through rapportd: five letters
    from one template to five firms; the add-on reports each; the fifth is flagged for template reuse
    and all five are applications in GET /api/v1/outcomes."""
    w.ready()
    for i, (first, org) in enumerate(FIRMS):
        mail = templated(first, org)
        ref = w.compose(**mail)
        before = w.send(ref)
        if i == 4:
            pop = w.popup(1)
            rules = [f["rule"] for f in pop["findings"]]
            log("     popup findings: %s" % json.dumps([f["message"] for f in pop["findings"]]))
            need("template-reuse" in rules, "letter 5 to %s at %s: the popup flags template-reuse (%s)" % (first, org, rules))
            w.answer(pop["request"], "send")
        outcome, ev = w.outcome(ref, before)
        need(outcome == "sent", "letter %d to %s at %s: Thunderbird sent it (%s)"
             % (i + 1, first, org, json.dumps(ev.get("result") or ev.get("error"))))
        raw = w.arrived(i + 1)[i]
        describe(raw)
        # The next check reads the history this report adds to.
        need(wait_for(lambda: outcomes(w)["applications"] == i + 1, T_STEP),
             "the add-on reported it: rapportd counts %d application(s)" % (i + 1))
    need(len(w.driver.rapport("popup")) == 1, "exactly one popup in the whole run, on the fifth letter")
    with w.up.lock:
        signed_in = [m[3] for m in w.up.messages]
    need(w.up.count() == 5 and all(signed_in), "five letters reached the test server, each after a login")
    need(all(no_rapport_headers(raw) for raw in w.up.contents()), "none carries an X-Rapport-* header")
    need(w.api.messages() == [], "nothing went through rapportd's SMTP (its message list is empty)")
    o = outcomes(w)
    sent_ids = sorted(parse(raw)["Message-ID"].strip("<>") for raw in w.up.contents())
    log("     outcomes: applications=%d, recent=%s" % (o["applications"], [(r["to"], r["class"]) for r in o["recent"]]))
    want_to = sorted("%s.smith@%s.co.uk" % (f.lower(), g.lower()) for f, g in FIRMS)
    need(o["applications"] == 5 and sorted(a for r in o["recent"] for a in r["to"]) == want_to,
         "GET /api/v1/outcomes: five applications, one to each firm")
    need(len(set(sent_ids)) == 5, "five distinct Message-IDs were sent (Thunderbird's headerMessageId each)")


APPLICATION = dict(to=["Anna Kowalska <anna.kowalska@acme-widgets.co.uk>"], subject="Data analyst (ref KA-2291)",
                   body="Dear Ms Kowalska,\n\nI would like to apply for the Data Analyst role (ref KA-2291) at Acme Widgets\n"
                        "that I saw on your careers page. For three years I have built the weekly sales\n"
                        "reporting at a regional wholesaler in SQL and Python, and cut its run time from\n"
                        "a day to twenty minutes.\n\nKind regards,\nJo Bloggs")


def case_imap_reply(w):
    """An application sent straight from Thunderbird; the answer arrives in Thunderbird's own IMAP
    inbox (a real Dovecot): the add-on reports its header block and rapportd counts a reply."""
    w.ready()
    ref = w.compose(**APPLICATION)
    outcome, ev = w.outcome(ref, w.send(ref))
    need(outcome == "sent", "Thunderbird sent the application (%s)" % json.dumps(ev.get("result") or ev.get("error")))
    raw = w.arrived(1)[0]
    describe(raw)
    msgid = parse(raw)["Message-ID"].strip()
    need(wait_for(lambda: outcomes(w)["applications"] == 1, T_STEP), "reported: one application, waiting")
    need(outcomes(w)["recent"][0]["outcome"] == "waiting", "no answer yet")
    w.driver.do(op="getmail")  # the first sign-in and sync of the (empty) inbox
    ev = w.driver.wait(lambda e: e.get("event") == "getmail-started", T_STEP, "Get Messages")
    need(ev.get("inboxes") == 1, "Thunderbird checks its IMAP inbox")
    need(wait_for(lambda: "Login: user=<alice>" in w.dovecot.log(), T_STEP), "Thunderbird signed in to Dovecot")
    time.sleep(2)  # let the first sync of the empty inbox finish: the reply must arrive as new mail
    reply = ("From: Anna Kowalska <anna.kowalska@acme-widgets.co.uk>\r\nTo: Jo Bloggs <jo.bloggs@example.org>\r\n"
             "Subject: Re: Data analyst (ref KA-2291)\r\nDate: %s\r\nMessage-ID: <interview-1@acme-widgets.co.uk>\r\n"
             "In-Reply-To: %s\r\nReferences: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             "Dear Jo,\r\n\r\nThank you - could you come in on Tuesday at ten?\r\n\r\nAnna\r\n"
             % (email.utils.formatdate(), msgid, msgid)).encode()
    w.dovecot.append(reply)
    analyzed = w.api.analyzed()
    w.driver.do(op="getmail")
    w.driver.wait(lambda e: e.get("event") == "getmail-started" and e is not ev, T_STEP, "Get Messages again")
    need(wait_for(lambda: outcomes(w)["replied"] == 1, T_STEP),
         "the add-on reported the answer (POST /api/v1/incoming): rapportd counts one reply")
    r = outcomes(w)["recent"][0]
    log("     recent: %s" % json.dumps(r))
    need(r["outcome"] == "replied" and r["match"] == "exact", "matched exactly, by In-Reply-To: its Message-ID")
    need(outcomes(w)["reply_rate"] == 1.0, "reply rate 1.0")
    need(w.api.analyzed() == analyzed, "reading mail checked no draft")


CASES = {
    "personal": (case_personal, {}),
    "cv": (case_cv, {}),
    "no-addon": (case_no_addon, {"with_addon": False}),
    "template": (case_template, {}),
    "api-down": (case_api_down, {"dead_api": True}),
    "direct-template": (case_direct_template, {"direct": True}),
    "imap-reply": (case_imap_reply, {"direct": True, "imap": True}),
}


def main():
    if len(sys.argv) < 4 or (sys.argv[3] not in CASES and sys.argv[3] != "all"):
        print(__doc__)
        return 2
    rapportd, xpi, which = sys.argv[1:4]
    tb_lib.thunderbird_or_skip()
    if importlib.util.find_spec("aiosmtpd") is None:
        tb_lib.skip("python3-aiosmtpd is not installed (run with /usr/bin/python3)")
    for path, what in ((rapportd, "rapportd"), (xpi, "rapport.xpi (target rapport_xpi)")):
        if not os.path.exists(path):
            print("FAIL: no %s at %s" % (what, path))
            return 1
    failed = []
    t_all = time.time()
    for name in (CASES if which == "all" else [which]):
        fn, opts = CASES[name]
        log("== case %s: %s" % (name, fn.__doc__))
        t0 = time.time()
        w = World(rapportd, xpi, name, **opts)
        ok = True
        try:
            fn(w)
        except Failed:
            ok = False
        except Exception:
            traceback.print_exc()
            ok = False
        finally:
            problems = w.close()
        for p in problems:
            log("FAIL " + p)
        ok = ok and not problems
        log("== case %s: %s in %.1f s" % (name, "PASS" if ok else "FAIL", time.time() - t0))
        if not ok:
            failed.append(name)
    log("total %.1f s" % (time.time() - t_all))
    if failed:
        log("FAILED: " + ", ".join(failed))
        return 1
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
