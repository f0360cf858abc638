#!/usr/bin/python3
"""rapportd relaying to an upstream that takes OAuth2 tokens only, end to end.

    oauth_upstream_e2e.py RAPPORTD CASE     CASE: accepted | xoauth2 | oauthbearer | refused | command_fails

The upstream is a real SMTP server on a free loopback port (aiosmtpd) that
requires STARTTLS (its own certificate, which rapportd trusts through
[upstream] ca_file) and then AUTH, and checks SASL XOAUTH2 (Gmail's and
Outlook.com's form) and OAUTHBEARER (RFC 7628) the way providers do: a
token it considers stale is answered with a 334 error challenge and then
535. It also offers PLAIN and LOGIN, so using the configured mechanism is
rapportd's choice, not the server's.

The token command is a real program (a shell script written by the test)
that counts its runs in a file and prints "ya29.test-token-N" on run N;
what rapportd must do is read from the upstream's record of the tokens it
was offered and from that count: the command runs when a token is first
needed, not again while the upstream takes the token, and once more when
the upstream refuses it. Mail that cannot be signed in for waits in the
retry queue and leaves once the cause is gone. No token ever appears in
rapportd's log.
"""
import base64
import json
import os
import smtplib
import sqlite3
import ssl
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import Rapportd, free_port, make_cert, message, run_case, wait_for  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import MISSING, AuthResult  # noqa: E402

USER = "jo.bloggs@outlook.example"
TOKEN_PREFIX = "ya29.test-token-"


class OAuthUpstream:
    """An SMTP server requiring AUTH XOAUTH2 or OAUTHBEARER with a valid token.

    stale: tokens it refuses (as an expired access token is refused);
    accept_all_but_stale: any other token of the right form signs in.
    offered: (mechanism, user, token) for every sign-in attempt, in order.
    """

    def __init__(self, work, port=None):
        self.port = port or free_port()
        self.cert, key = make_cert(work)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cert, key)
        self.stale = set()
        self.refuse_everything = False
        self.offered, self.messages, self.lock = [], [], threading.Lock()
        self.wire = []
        up = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with up.lock:
                    up.messages.append((session.auth_data, envelope.original_content))
                return "250 2.0.0 OK queued"

            # aiosmtpd calls auth_<MECHANISM>(server, args) for "AUTH <MECHANISM> [initial-response]".
            async def auth_XOAUTH2(self, server, args):
                raw = await up.initial(server, args)
                if raw is MISSING:
                    return AuthResult(success=False, handled=True)
                fields = raw.decode("utf-8", "replace").split("\x01")
                user = fields[0][5:] if fields[0].startswith("user=") else None
                auth = [f for f in fields if f.startswith("auth=Bearer ")]
                token = auth[0][len("auth=Bearer "):] if auth else None
                ok = fields[-2:] == ["", ""] and user is not None and token is not None
                return await up.decide(server, "XOAUTH2", user, token, ok,
                                       {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"})

            async def auth_OAUTHBEARER(self, server, args):
                raw = await up.initial(server, args)
                if raw is MISSING:
                    return AuthResult(success=False, handled=True)
                # gs2-header "n,a=USER," then key=value pairs separated by ^A (RFC 7628 3.1).
                text = raw.decode("utf-8", "replace")
                gs2, _, rest = text.partition("\x01")
                parts = gs2.split(",")
                user = parts[1][2:] if len(parts) >= 3 and parts[0] == "n" and parts[1].startswith("a=") else None
                kv = dict(p.split("=", 1) for p in rest.split("\x01") if "=" in p)
                token = kv.get("auth", "")[len("Bearer "):] if kv.get("auth", "").startswith("Bearer ") else None
                ok = (user is not None and token is not None and kv.get("host") == "127.0.0.1"
                      and kv.get("port") == str(up.port) and text.endswith("\x01\x01"))
                return await up.decide(server, "OAUTHBEARER", user, token, ok,
                                       {"status": "invalid_token", "scope": "https://mail.google.com/"})

        # PLAIN and LOGIN stay offered (and would fail): the mechanism is rapportd's choice.
        self.handler, self.tls, self.controller = Handler(), tls, None

    async def initial(self, server, args):
        if len(args) == 2:
            with self.lock:
                self.wire.append(args[1])  # the SASL response as it crossed the wire (base64)
            try:
                return base64.b64decode(args[1], validate=True)
            except Exception:
                await server.push("501 5.5.2 Can't decode base64")
                return MISSING
        raw = await server.challenge_auth("")
        if raw is not MISSING:
            with self.lock:
                self.wire.append(base64.b64encode(raw).decode())
        return raw

    async def decide(self, server, mech, user, token, well_formed, error_json):
        with self.lock:
            self.offered.append((mech, user, token))
        good = (well_formed and user == USER and token.startswith(TOKEN_PREFIX)
                and token not in self.stale and not self.refuse_everything)
        if good:
            return AuthResult(success=True, auth_data=(mech, user, token))
        # As Gmail does: the reason as a base64 JSON challenge, the client's
        # empty (XOAUTH2) or ^A (OAUTHBEARER) answer, then the refusal.
        await server.challenge_auth(json.dumps(error_json))
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")

    def start(self):
        """Listens (again) on the same port: a restart drops every connection."""
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, tls_context=self.tls,
                                     require_starttls=True, auth_required=True, auth_require_tls=True,
                                     authenticator=lambda *a: AuthResult(success=False))
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def tokens(self):
        with self.lock:
            return [t for _, _, t in self.offered]

    def delivered(self):
        with self.lock:
            return list(self.messages)


class Helper:
    """The token command: a real executable that counts its runs."""

    def __init__(self, work):
        self.dir = os.path.join(work, "helper")
        os.makedirs(self.dir)
        self.path = os.path.join(self.dir, "token-helper")
        with open(self.path, "w") as f:
            f.write("#!/bin/sh\n"
                    "# Test stand-in for oama / mutt_oauth2.py: prints an access token.\n"
                    "d=$(dirname \"$0\")\n"
                    "n=$(cat \"$d/runs\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$d/runs\"\n"
                    "printf '%s\\n' \"$@\" > \"$d/args\"\n"
                    "if [ -e \"$d/fail\" ]; then echo 'token-helper: cannot reach the token endpoint' >&2; exit 1; fi\n"
                    "echo '" + TOKEN_PREFIX + "'$n\n"
                    "echo 'expires_in=3599'\n")
        os.chmod(self.path, 0o700)
        # Words with a space and a shell metacharacter: run without a shell, they arrive as they are.
        self.command = "%s --account %s 'jo; touch %s/shell-ran'" % (self.path, USER, self.dir)

    def runs(self):
        try:
            return int(open(os.path.join(self.dir, "runs")).read())
        except OSError:
            return 0

    def args(self):
        return open(os.path.join(self.dir, "args")).read().splitlines()

    def fail(self, on):
        flag = os.path.join(self.dir, "fail")
        if on:
            open(flag, "w").close()
        elif os.path.exists(flag):
            os.unlink(flag)


def start(binary, work, mech, helper, up):
    config = ('[upstream]\nusername = "%s"\nauth = "%s"\noauth_token_command = "%s"\nca_file = "%s"\n'
              "[relay]\nretry_initial = 1\nretry_max = 1\n"
              % (USER, mech, helper.command.replace("\\", "\\\\").replace('"', '\\"'), up.cert))
    return Rapportd(binary, work, upstream="smtp://127.0.0.1:%d" % up.port, config=config).start()


def submit(d, subject):
    m, msgid = message(subject=subject, frm="jo.bloggs@outlook.example", to="anna@example.net")
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
        s.sendmail("jo.bloggs@outlook.example", ["anna@example.net"], m)
    return msgid


def statuses(d):
    return [r[1] for r in d.db_rows()]


def attempts(d):
    con = sqlite3.connect(os.path.join(d.state, "queue.db"))
    try:
        return [r[0] for r in con.execute("SELECT attempts FROM messages ORDER BY id")]
    finally:
        con.close()


def no_token_in_log(d, up):
    log = d.log()
    assert TOKEN_PREFIX not in log, "a token reached rapportd's log"
    assert "expires_in" not in log, "the helper's output reached rapportd's log"
    with up.lock:
        wire = list(up.wire)
    assert wire, "the upstream saw the SASL responses"
    assert not any(w in log for w in wire), "a SASL response (base64) reached rapportd's log"


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    assert ok, what


def no_token_on_disk(work, helper, up):
    """Nothing rapportd wrote (state, spool, log, config) holds a token, plain or as sent (base64)."""
    wire = [w.encode() for w in up.wire]
    for root, _, names in os.walk(work):
        if root.startswith(helper.dir):
            continue  # the helper's own files (its run count, its arguments)
        for n in names:
            path = os.path.join(root, n)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    data = f.read()
                check(TOKEN_PREFIX.encode() not in data and not any(w in data for w in wire),
                      "no token in %s" % os.path.relpath(path, work))


def signs_in_with(binary, work, mech):
    up = OAuthUpstream(work).start()
    helper = Helper(work)
    d = start(binary, work, mech.lower(), helper, up)
    try:
        up.stale.add(TOKEN_PREFIX + "1")  # the helper's first token has expired at the provider
        check(helper.runs() == 0, "rapportd starts without running the token command")
        submit(d, "Saturday")
        check(wait_for(lambda: up.delivered(), 20), "the message reached the upstream")
        check(up.tokens() == [TOKEN_PREFIX + "1", TOKEN_PREFIX + "2"],
              "the stale token was refused, a fresh one from a second run signed in: %s" % up.tokens())
        check([m for m, _, _ in up.offered] == [mech, mech], "with %s every time (PLAIN and LOGIN were offered too)" % mech)
        check(up.delivered()[0][0] == (mech, USER, TOKEN_PREFIX + "2"), "as %s" % USER)
        check(helper.runs() == 2, "the command ran twice: the first token, and once on the refusal")
        check(helper.args() == ["--account", USER, "jo; touch %s/shell-ran" % helper.dir],
              "its words arrived as written: %s" % helper.args())
        check(not os.path.exists(os.path.join(helper.dir, "shell-ran")), "no shell interpreted them")
        check(wait_for(lambda: statuses(d) == ["relayed"], 10), "rapportd records it relayed")

        submit(d, "Sunday")
        check(wait_for(lambda: len(up.delivered()) == 2, 20), "a second message reached the upstream")
        check(helper.runs() == 2, "the token was kept in memory: no third run")
        check(up.tokens()[2:] in ([], [TOKEN_PREFIX + "2"]),
              "the second message went with the same token (or the signed-in connection): %s" % up.tokens())
        check(wait_for(lambda: statuses(d) == ["relayed", "relayed"], 10), "both relayed")
        no_token_in_log(d, up)
        check(True, "no token and nothing the helper printed is in rapportd's log")
    finally:
        d.stop()
        up.stop()
    no_token_on_disk(work, helper, up)


def case_accepted(binary, work):
    """A good token relays; it is kept while the upstream takes it; expired, it is renewed once."""
    up = OAuthUpstream(work).start()
    helper = Helper(work)
    d = start(binary, work, "xoauth2", helper, up)
    try:
        submit(d, "Wednesday")
        check(wait_for(lambda: len(up.delivered()) == 1, 20), "relayed over STARTTLS with the first token")
        check(up.delivered()[0][0] == ("XOAUTH2", USER, TOKEN_PREFIX + "1"), "signed in as %s with it" % USER)
        check(helper.runs() == 1, "the command ran once")
        check(wait_for(lambda: statuses(d) == ["relayed"], 10), "rapportd records it relayed")
        # An hour later: the provider has let the access token expire, and
        # the connection rapportd kept is gone (the server restarted).
        up.stop()
        up.stale.add(TOKEN_PREFIX + "1")
        up.start()
        submit(d, "Thursday")
        check(wait_for(lambda: len(up.delivered()) == 2, 20), "the next message relays too")
        check(up.tokens()[-2:] == [TOKEN_PREFIX + "1", TOKEN_PREFIX + "2"],
              "the kept token was offered, refused, and a fresh one signed in: %s" % up.tokens())
        check(helper.runs() == 2, "the command ran once more, on the refusal")
        no_token_in_log(d, up)
    finally:
        d.stop()
        up.stop()
    no_token_on_disk(work, helper, up)


def case_xoauth2(binary, work):
    signs_in_with(binary, work, "XOAUTH2")


def case_oauthbearer(binary, work):
    signs_in_with(binary, work, "OAUTHBEARER")


def case_refused(binary, work):
    """Every token refused: one renewal per attempt, a clear log line, the mail waits and then leaves."""
    up = OAuthUpstream(work).start()
    up.refuse_everything = True
    helper = Helper(work)
    d = start(binary, work, "xoauth2", helper, up)
    try:
        submit(d, "Monday")
        line = "the upstream refused the OAuth2 token, and a fresh one from the oauth_token_command too"
        check(wait_for(lambda: line in d.log(), 20), "rapportd logs: ..." + line)
        check(up.delivered() == [], "nothing was delivered")
        check(statuses(d) == ["queued"], "the message waits in the retry queue: %s" % statuses(d))
        first = [l for l in d.log().splitlines() if line in l][0]
        print("     " + first)
        check("attempt=1" in first, "on its first attempt")
        # The second attempt (retry_initial = 1 s) renews once more; each
        # refusal gets exactly one fresh token, never a loop.
        check(wait_for(lambda: max(attempts(d)) >= 2, 20), "it was tried again")
        up.refuse_everything = False  # the account is fixed at the provider
        check(wait_for(lambda: len(up.delivered()) == 1, 20), "once the provider takes tokens again, it leaves")
        check(wait_for(lambda: statuses(d) == ["relayed"], 10), "relayed")
        # Each attempt offers the token in hand and, refused, one fresh
        # token, then gives up: one run per refusal except an attempt's
        # second, and never more than two offers an attempt. Only the last
        # offer was taken. Never a loop of runs.
        n, offered = max(attempts(d)), len(up.tokens())
        check(helper.runs() == offered - n + 1 and offered <= 2 * n,
              "one fresh token per refusal: %d attempts, %d runs, tokens offered %s" % (n, helper.runs(), up.tokens()))
        no_token_in_log(d, up)
    finally:
        d.stop()
        up.stop()


def case_command_fails(binary, work):
    """The helper fails: a clear log line, nothing sent, the mail waits; fixed, it leaves."""
    up = OAuthUpstream(work).start()
    helper = Helper(work)
    helper.fail(True)
    d = start(binary, work, "oauthbearer", helper, up)
    try:
        submit(d, "Tuesday")
        line = "cannot sign in to the upstream: the oauth_token_command failed (exit status 1)"
        check(wait_for(lambda: line in d.log(), 20), "rapportd logs: ..." + line)
        print("     " + [l for l in d.log().splitlines() if line in l][0])
        check("token-helper: cannot reach the token endpoint" in d.log(),
              "the helper's own complaint (its standard error) is in the log too")
        check(up.offered == [], "rapportd did not even try to sign in")
        check(statuses(d) == ["queued"], "the message waits in the retry queue")
        helper.fail(False)
        check(wait_for(lambda: len(up.delivered()) == 1, 20), "the helper works again: it leaves")
        check(up.delivered()[0][0][0] == "OAUTHBEARER", "signed in with OAUTHBEARER")
        check(wait_for(lambda: statuses(d) == ["relayed"], 10), "relayed")
        no_token_in_log(d, up)
    finally:
        d.stop()
        up.stop()


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print("usage: oauth_upstream_e2e.py RAPPORTD CASE   (cases: %s)" % " ".join(CASES))
        return 2
    binary = os.path.abspath(sys.argv[1])
    return run_case("oauth-" + sys.argv[2], lambda work: CASES[sys.argv[2]](binary, work))


if __name__ == "__main__":
    sys.exit(main())
