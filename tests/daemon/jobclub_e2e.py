#!/usr/bin/python3
"""End-to-end tests of the job club deployment: one rapportd on a
"LAN" address (0.0.0.0, so TLS and AUTH are required) that several members
send through with their own SMTP AUTH passwords, a real upstream that itself
demands STARTTLS and AUTH, members managed with `rapportctl member`, and the
HTTP API's roles. One case per ctest:

    jobclub_e2e.py RAPPORTD RAPPORTCTL CASE

Exit 0 on success; on failure the assertion and rapportd's log are printed.
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "http"))
from e2e_lib import EXIT_PROBLEMS, Rapportd, Upstream, make_cert, tempdir, wait_for  # noqa: E402
from http_e2e import Api  # noqa: E402

RAPPORTD = RAPPORTCTL = BROWSER_DIR = None

# A club policy: a template is held from its 3rd recipient; members of the
# group "new" are held from the 2nd.
POLICY = """version = 1
[rules.template-reuse]
action = "hold"
min_recipients = 3
window_days = 30

[groups.new.rules.template-reuse]
action = "hold"
min_recipients = 2
"""

TEMPLATE = (b"Hello,\r\n\r\nI am writing to ask whether your team has any openings for a junior "
            b"bookkeeper. I have two years of experience with payroll, supplier invoices and month-end "
            b"reconciliations at a small wholesaler, and I am finishing my AAT level 3 this spring. I work "
            b"carefully, I like tidy ledgers, and I am happy to start with temporary cover.\r\n\r\n"
            b"I would be glad to come in for a chat at any time that suits you.\r\n\r\nBest wishes,\r\n")


def template_mail(sender_name, to):
    msgid = "<%s@club.example>" % os.urandom(8).hex()
    return (b"From: " + sender_name.encode() + b" <jobclub@club.example>\r\nTo: <" + to.encode() + b">\r\n"
            b"Subject: Junior bookkeeper - payroll and reconciliations experience\r\n"
            b"Date: Mon, 3 Mar 2025 09:12:40 +0000\r\nMessage-ID: " + msgid.encode() + b"\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + TEMPLATE +
            sender_name.encode() + b"\r\n"), msgid


def ctl(state, *args, stdin=None, check=0):
    r = subprocess.run([RAPPORTCTL] + list(args) + ["--state", state], input=stdin, capture_output=True,
                       timeout=60, text=True)
    if check is not None:
        assert r.returncode == check, "rapportctl %s -> %d\n%s\n%s" % (args, r.returncode, r.stdout, r.stderr)
    return r


def club(w, up):
    """A club rapportd on 0.0.0.0 with its own certificate and the club policy."""
    os.makedirs(os.path.join(w, "club", "state"))  # make_cert's file names are fixed: not beside the upstream's
    cert, key = make_cert(os.path.join(w, "club"), cn="club")
    policy = os.path.join(w, "club.toml")
    open(policy, "w").write(POLICY)
    cfg = ('[tls]\ncert = "%s"\nkey = "%s"\n' % (cert, key) +
           '[upstream]\nusername = "relayuser"\npassword = "s3cret-Pa55"\nca_file = "%s"\n' % up.cert)
    return Rapportd(RAPPORTD, os.path.join(w, "club"), upstream="smtp://127.0.0.1:%d" % up.port, config=cfg, policy=policy,
                    listen="0.0.0.0:0"), cert


def club_of_three(w):
    """A started club rapportd with members amira and ben and the adviser sue."""
    up = Upstream(w, tls=True, user="relayuser", password="s3cret-Pa55").start()
    d, cert = club(w, up)
    ctl(d.state, "member", "add", "amira", "--password-stdin", stdin="amira-pass-1\n")
    ctl(d.state, "member", "add", "ben", "--password-stdin", stdin="ben-pass-22\n")
    ctl(d.state, "member", "add", "sue", "--adviser", "--password-stdin", stdin="sue-adviser-9\n")
    d.start()
    return up, d, cert


def send_as(d, cafile, user, password, mail, to):
    """Submits like a member's mail client: STARTTLS (certificate checked), AUTH, send."""
    ctx = ssl.create_default_context(cafile=cafile)  # checked, name (IP 127.0.0.1) included
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.starttls(context=ctx)
        s.ehlo()
        s.login(user, password)
        s.sendmail("jobclub@club.example", [to], mail)


def by_msgid(api, msgid):
    for m in api.json("GET", "/api/v1/messages?status=all&limit=500")["messages"]:
        d = api.json("GET", "/api/v1/messages/" + m["id"])
        if d["message_id"] == msgid.strip("<>"):
            return d
    return None


def wait_status(api, msgid, statuses, timeout=20):
    found = {}

    def ok():
        d = by_msgid(api, msgid)
        found["d"] = d
        return d is not None and d["status"] in statuses
    assert wait_for(ok, timeout, step=0.2), "message %s: %s" % (msgid, found.get("d"))
    return found["d"]


def case_members(w):
    """Two members (and one of the group "new") send the same letter through
    the club's rapportd over STARTTLS+AUTH to a real STARTTLS+AUTH upstream:
    the template memory counts each member separately, the group's stricter
    rule applies to its member, the envelope account is the member."""
    up = Upstream(w, tls=True, user="relayuser", password="s3cret-Pa55").start()
    d, cert = club(w, up)
    # Members exist before the daemon starts ...
    ctl(d.state, "member", "add", "amira", "--password-stdin", stdin="amira-pass-1\n")
    ctl(d.state, "member", "add", "Ben.Okafor@club.example", "--password-stdin", stdin="ben-pass-22\n")
    ctl(d.state, "member", "add", "dana", "--group", "nwe", "--password-stdin", stdin="dana-pass-4444\n")
    d.start()
    # A group the policy does not define is pointed out (dana gets the main rules).
    assert 'warning: member dana is in group "nwe", which the policy does not define' in d.log(), d.log()
    ctl(d.state, "member", "remove", "dana")
    try:
        # ... and one is added while it runs: no restart needed.
        ctl(d.state, "member", "add", "chen", "--group", "new", "--password-stdin", stdin="chen-pass-333\n")
        listing = json.loads(ctl(d.state, "member", "list", "--json").stdout)
        assert [(m["name"], m["group"], m["role"]) for m in listing] == [
            ("amira", "", "member"), ("ben.okafor@club.example", "", "member"), ("chen", "new", "member")], listing
        db = open(os.path.join(d.state, "members.db"), "rb").read()
        for pw in (b"amira-pass-1", b"ben-pass-22", b"chen-pass-333"):
            assert pw not in db, "a password is stored in plain text"
        assert b"$argon2id$" in db, "passwords are not argon2id hashes"
        assert oct(os.stat(os.path.join(d.state, "members.db")).st_mode & 0o777) == "0o600"

        # Wrong password and unknown member: 535, nothing sent.
        for user, pw in (("amira", "wrong-password"), ("nobody", "amira-pass-1")):
            try:
                send_as(d, cert, user, pw, template_mail("Amira", "x@firm0.example")[0], "x@firm0.example")
                raise AssertionError("accepted a wrong login")
            except smtplib.SMTPAuthenticationError as e:
                assert e.smtp_code == 535, e

        api = Api(d)
        plan = [("amira", "amira-pass-1", "Amira Haddad", "hr@firm1.example", "relayed"),
                ("amira", "amira-pass-1", "Amira Haddad", "hr@firm2.example", "relayed"),
                ("amira", "amira-pass-1", "Amira Haddad", "hr@firm3.example", "held"),
                ("ben.okafor@club.example", "ben-pass-22", "Ben Okafor", "jobs@firm4.example", "relayed"),
                ("ben.okafor@club.example", "ben-pass-22", "Ben Okafor", "jobs@firm5.example", "relayed"),
                ("ben.okafor@club.example", "ben-pass-22", "Ben Okafor", "jobs@firm6.example", "held"),
                ("chen", "chen-pass-333", "Chen Wei", "office@firm7.example", "relayed"),
                ("chen", "chen-pass-333", "Chen Wei", "office@firm8.example", "held")]
        for user, pw, name, to, want in plan:
            mail, msgid = template_mail(name, to)
            send_as(d, cert, user, pw, mail, to)
            got = wait_status(api, msgid, ("relayed", "held", "failed"))
            print("%-26s -> %-22s %s %s" % (user, to, got["status"], got["rules"]))
            assert got["status"] == want, (user, to, got)
            assert got["envelope"]["account"] == user, got["envelope"]
            # Only template reuse holds; the greeting and personalisation findings only warn.
            assert ("template-reuse" in got["rules"]) == (want == "held"), got
        assert wait_for(lambda: up.count() == 5, 20), up.count()
        # Upstream saw rapportd's own AUTH, and the mail unchanged.
        assert all(m[3] for m in up.messages), "upstream AUTH not used"
        assert all(b"X-Rapport" not in m[2] for m in up.messages)
        stats = {s["sender"]: s for s in api.json("GET", "/api/v1/stats")["senders"]}
        for who in ("amira", "ben.okafor@club.example", "chen"):
            assert stats[who]["member"] is True and stats[who]["held"] == 1, stats[who]
        assert stats["amira"]["sent"] == 2 and stats["chen"]["group"] == "new", stats
        assert "pass" not in d.log(), "a password reached the log"
    finally:
        d.stop()
        up.stop()


def case_roles(w):
    """A member sees and decides only about their own mail; the adviser sees everyone's."""
    up, d, cert = club_of_three(w)
    try:
        api = Api(d)
        ids = {}
        for user, pw, name, n in (("amira", "amira-pass-1", "Amira", 3), ("ben", "ben-pass-22", "Ben", 3)):
            for i in range(n):
                mail, msgid = template_mail(name, "hr@%s-firm%d.example" % (user, i))
                send_as(d, cert, user, pw, mail, "hr@%s-firm%d.example" % (user, i))
                got = wait_status(api, msgid, ("relayed", "held"))
            assert got["status"] == "held", got
            ids[user] = got["id"]

        # The add-on token of a member: their own mail only.
        amira_tok = ctl(d.state, "member", "token", "amira").stdout.strip()
        mine = api.json("GET", "/api/v1/messages?status=held", token=amira_tok)["messages"]
        assert [m["id"] for m in mine] == [ids["amira"]], mine
        assert "account" not in mine[0]
        api.json("GET", "/api/v1/messages/" + ids["ben"], token=amira_tok, expect=404)
        api.json("GET", "/api/v1/messages/" + ids["ben"] + "/raw", token=amira_tok, expect=404)
        api.json("POST", "/api/v1/messages/" + ids["ben"] + "/release", token=amira_tok, expect=404)
        api.json("POST", "/api/v1/messages/" + ids["ben"] + "/drop", token=amira_tok, expect=404)
        assert [s["sender"] for s in api.json("GET", "/api/v1/stats", token=amira_tok)["senders"]] == ["amira"]
        api.json("GET", "/metrics", token=amira_tok, expect=403)
        api.json("POST", "/api/v1/allow", {"entries": []}, token=amira_tok, expect=403)
        api.json("POST", "/api/v1/login-links", token=amira_tok, expect=403)
        assert api.json("GET", "/api/v1/me", token=amira_tok) == {"role": "member", "name": "amira", "members": True,
                                                                  "lang": "auto"}
        # "Send anyway" in Amira's add-on signs with her token: relayed, not held.
        # Ben's token cannot sign for Amira's mail.
        ben_tok = ctl(d.state, "member", "token", "ben").stdout.strip()
        for tok, want in ((ben_tok, "held"), (amira_tok, "relayed")):
            nonce = "%d-%s" % (time.time(), os.urandom(16).hex())
            confirm = "v1:%s:%s" % (nonce, hmac.new(tok.encode(), ("v1:" + nonce).encode(), hashlib.sha256).hexdigest())
            mail, msgid = template_mail("Amira", "hr@amira-firm9.example")
            mail = mail.replace(b"MIME-Version:", b"X-Rapport-Confirm: " + confirm.encode() + b"\r\nMIME-Version:")
            send_as(d, cert, "amira", "amira-pass-1", mail, "hr@amira-firm9.example")
            got = wait_status(api, msgid, ("relayed", "held"))
            assert got["status"] == want and "template-reuse" in got["rules"], (want, got)
            if want == "held":
                api.json("POST", "/api/v1/messages/%s/drop" % got["id"])
        assert wait_for(lambda: up.count() == 5, 20), up.count()
        assert b"X-Rapport-Confirm" not in up.messages[-1][2]
        # A new token replaces the old one.
        ctl(d.state, "member", "token", "amira")
        api.json("GET", "/api/v1/messages", token=amira_tok, expect=401)

        # The page: a member signs in with their password; the session is theirs.
        page = {"X-Rapport-Page": "1"}
        st, _, _ = api.req("POST", "/api/v1/login", {"name": "ben", "password": "wrong-one"}, token=False,
                           headers=page)
        assert st == 401, st
        st, h, body = api.req("POST", "/api/v1/login", {"name": "ben", "password": "ben-pass-22"}, token=False)
        assert st == 403, "a login without the page header was accepted"
        st, h, body = api.req("POST", "/api/v1/login", {"name": "ben", "password": "ben-pass-22"}, token=False,
                              headers=page)
        assert st == 200 and json.loads(body) == {"name": "ben", "role": "member"}, (st, body)
        cookie = h["set-cookie"].split(";")[0]
        assert "HttpOnly" in h["set-cookie"] and "SameSite=Strict" in h["set-cookie"]
        ben = dict(token=False, headers={"Cookie": cookie, "X-Rapport-Page": "1"})
        listed = api.json("GET", "/api/v1/messages?status=held", **ben)["messages"]
        assert [m["id"] for m in listed] == [ids["ben"]], listed
        api.json("POST", "/api/v1/messages/" + ids["amira"] + "/release", expect=404, **ben)
        r = api.json("POST", "/api/v1/messages/" + ids["ben"] + "/release", **ben)
        assert r["released"] is True, r
        assert wait_for(lambda: up.count() == 6, 20), up.count()  # 2 + 2 relayed, the confirmed one, Ben's release

        # The adviser (password login) and the API token see everyone's.
        st, h, body = api.req("POST", "/api/v1/login", {"name": "sue", "password": "sue-adviser-9"}, token=False,
                              headers=page)
        assert st == 200 and json.loads(body)["role"] == "adviser", body
        sue = dict(token=False, headers={"Cookie": h["set-cookie"].split(";")[0], "X-Rapport-Page": "1"})
        every = api.json("GET", "/api/v1/messages?status=all", **sue)["messages"]
        assert {m["account"] for m in every} == {"amira", "ben"}, every
        summary = {s["sender"]: s for s in api.json("GET", "/api/v1/stats", **sue)["senders"]}
        assert summary["ben"]["released"] == 1 and summary["amira"]["held"] == 2, summary
        assert summary["amira"]["sent"] == 3 and summary["amira"]["confirmed"] == 1, summary
        assert summary["amira"]["flagged_by_rule"]["template-reuse"] == 3 and summary["amira"]["dropped"] == 1, summary
        r = api.json("POST", "/api/v1/messages/" + ids["amira"] + "/drop", **sue)
        assert r["dropped"] is True, r
        assert len(api.json("GET", "/api/v1/messages?status=dropped")["messages"]) == 2
        assert api.json("GET", "/api/v1/me")["role"] == "adviser"

        # Removed members can no longer log in.
        ctl(d.state, "member", "remove", "ben")
        st, _, _ = api.req("POST", "/api/v1/login", {"name": "ben", "password": "ben-pass-22"}, token=False,
                           headers=page)
        assert st == 401, st
        try:
            send_as(d, cert, "ben", "ben-pass-22", template_mail("Ben", "x@y.example")[0], "x@y.example")
            raise AssertionError("a removed member could still send")
        except smtplib.SMTPAuthenticationError:
            pass
    finally:
        d.stop()
        up.stop()


def case_refuse_public(w):
    """Beyond loopback rapportd needs TLS and AUTH accounts, and keeps the HTTP API on loopback."""
    def attempt(sub, listen="0.0.0.0:0", http="127.0.0.1:0", config="", members=()):
        wd = os.path.join(w, sub)
        os.makedirs(wd)
        state = os.path.join(wd, "state")
        os.makedirs(state)
        for name in members:
            ctl(state, "member", "add", name, "--password-stdin", stdin="long-enough-1\n")
        cfgp = os.path.join(wd, "rapportd.toml")
        open(cfgp, "w").write(config)
        os.chmod(cfgp, 0o600)
        r = subprocess.run([RAPPORTD, "--config", cfgp, "--listen", listen, "--http", http, "--state", state],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    cert, key = make_cert(w)
    tls = '[tls]\ncert = "%s"\nkey = "%s"\n' % (cert, key)
    rc, out = attempt("none")
    assert rc == 2 and "refusing to listen" in out and "TLS certificate" in out and "AUTH accounts" in out, out
    rc, out = attempt("members-no-tls", members=["amira"])
    assert rc == 2 and "TLS certificate" in out and "AUTH accounts" not in out, out
    rc, out = attempt("tls-no-members", config=tls)
    assert rc == 2 and "AUTH accounts" in out and "TLS certificate" not in out, out
    rc, out = attempt("http-public", listen="127.0.0.1:0", http="0.0.0.0:0")
    assert rc == 2 and "refusing to serve the HTTP API" in out, out
    for line in out.splitlines():
        print(line)
    # With both it starts (and a member can send, see case_members).
    os.makedirs(os.path.join(w, "ok", "state"))
    ctl(os.path.join(w, "ok", "state"), "member", "add", "amira", "--password-stdin", stdin="long-enough-1\n")
    d = Rapportd(RAPPORTD, os.path.join(w, "ok"), config=tls, listen="0.0.0.0:0").start()
    try:
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.ehlo()
            assert "auth" not in s.esmtp_features, "AUTH offered before TLS"
            code, _ = s.mail("a@example.org")
            assert code == 530, code
    finally:
        d.stop()


def case_page(w):
    """The page in headless chromium: a member signs in and sees their own
    held mail; the adviser sees everyone's and the per-member summary."""
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("SKIP: node or /usr/bin/chromium missing")
        return 77
    if not BROWSER_DIR or not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        print("SKIP: playwright-core not installed in %s" % BROWSER_DIR)
        return 77
    up, d, cert = club_of_three(w)
    try:
        api = Api(d)
        for user, pw in (("amira", "amira-pass-1"), ("ben", "ben-pass-22")):
            for i in range(3):
                mail, msgid = template_mail(user.title(), "hr@%s-firm%d.example" % (user, i))
                send_as(d, cert, user, pw, mail, "hr@%s-firm%d.example" % (user, i))
                wait_status(api, msgid, ("relayed", "held"))
        assert len(api.json("GET", "/api/v1/messages?status=held")["messages"]) == 2
        shot_dir = os.environ.get("RAPPORT_SCREENSHOT_DIR", w)
        os.makedirs(shot_dir, exist_ok=True)
        script = os.path.join(HERE, "..", "browser", "member_page.mjs")
        env = dict(os.environ, RAPPORT_NODE_MODULES=os.path.join(BROWSER_DIR, "node_modules"))
        r = subprocess.run(["node", script, "http://" + api.addr, shot_dir, os.path.join(w, "chromium-profile"),
                            "amira", "amira-pass-1", "sue", "sue-adviser-9"],
                           capture_output=True, text=True, timeout=150, env=env)
        print(r.stdout)
        print(r.stderr, file=sys.stderr)
        assert r.returncode == 0, "browser test failed"
    finally:
        d.stop()
        up.stop()


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    global RAPPORTD, RAPPORTCTL, BROWSER_DIR
    if len(sys.argv) not in (4, 5) or sys.argv[3] not in CASES:
        print("usage: jobclub_e2e.py RAPPORTD RAPPORTCTL CASE [BROWSER_DIR]   (cases: %s)" % " ".join(CASES))
        return 2
    RAPPORTD, RAPPORTCTL = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    BROWSER_DIR = sys.argv[4] if len(sys.argv) == 5 else None
    w = tempdir(sys.argv[3])
    ok = False
    try:
        if CASES[sys.argv[3]](w) == 77:
            shutil.rmtree(w, ignore_errors=True)
            return 77
        assert not EXIT_PROBLEMS, EXIT_PROBLEMS
        ok = True
        print("ok: " + sys.argv[3])
    except Exception:
        traceback.print_exc()
        for root, _, files in os.walk(w):
            for f in files:
                if f == "rapportd.log":
                    print("--- %s ---" % os.path.join(root, f))
                    print(open(os.path.join(root, f), errors="replace").read()[-6000:])
    finally:
        if ok:
            shutil.rmtree(w, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
