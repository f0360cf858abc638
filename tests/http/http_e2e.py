#!/usr/bin/python3
"""End-to-end tests of rapportd's HTTP API, `rapportctl held/token/open` and
the held-mail page: a real rapportd, a real aiosmtpd upstream,
requests over real HTTP (http.client). One case per ctest:

    http_e2e.py RAPPORTD RAPPORTCTL CASE [BROWSER_DIR]

Exit 0 on success, 77 when a case cannot run here (no chromium/node).
"""
import hashlib
import hmac
import http.client
import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from e2e_lib import Rapportd, Upstream, tempdir, wait_for  # noqa: E402

RAPPORTD = RAPPORTCTL = BROWSER_DIR = None


# --- helpers ------------------------------------------------------------------

class Api:
    """The daemon's HTTP API as found in its state dir."""

    def __init__(self, d):
        self.d = d
        self.addr = open(os.path.join(d.state, "http-address")).read().strip()
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)
        self.token = open(os.path.join(d.state, "api-token")).read().strip()

    def req(self, method, path, body=None, headers=None, token=True, host=None):
        h = {"Host": host or self.addr}
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection(self.host, self.port, timeout=20)
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in h.items():
            c.putheader(k, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def json(self, method, path, body=None, expect=200, **kw):
        st, h, data = self.req(method, path, body, **kw)
        assert st == expect, "%s %s: %d %s" % (method, path, st, data[:300])
        if expect >= 400:
            j = json.loads(data)
            assert j.get("error") and j.get("message"), data
            assert h.get("content-type") == "application/json", h
        return json.loads(data) if data else None


def cv_message(frm="jo.bloggs@example.org", to="hiring@acme-widgets.co.uk", msgid=None, extra=b""):
    """A message the default policy holds: a CV and no explanation."""
    msgid = msgid or "<%s@example.org>" % os.urandom(8).hex()
    pdf = b"%PDF-1.4\n" + b"0" * 3000
    import base64
    b64 = base64.encodebytes(pdf).replace(b"\n", b"\r\n")
    m = (b"From: Jo Bloggs <" + frm.encode() + b">\r\nTo: <" + to.encode() + b">\r\nSubject: CV\r\n"
         b"Date: Mon, 3 Mar 2025 09:12:40 +0000\r\nMessage-ID: " + msgid.encode() + b"\r\n" + extra +
         b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\nPlease find attached my CV.\r\n\r\nJo\r\n"
         b"--b1\r\nContent-Type: application/pdf; name=\"jo-bloggs-cv.pdf\"\r\n"
         b"Content-Disposition: attachment; filename=\"jo-bloggs-cv.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
         b64 + b"--b1--\r\n")
    return m, msgid


def send(d, msg, frm="jo.bloggs@example.org", rcpts=("hiring@acme-widgets.co.uk",)):
    with smtplib.SMTP("127.0.0.1", d.port, timeout=20) as s:
        s.sendmail(frm, list(rcpts), msg)


def held_ids(api):
    return [m["id"] for m in api.json("GET", "/api/v1/messages?status=held")["messages"]]


def wait_held(api, n=1):
    assert wait_for(lambda: len(held_ids(api)) >= n, 15), "no held message"
    return held_ids(api)


def ctl(d, *args, check=None):
    r = subprocess.run([RAPPORTCTL] + list(args) + ["--state", d.state], capture_output=True, timeout=30, text=True)
    if check is not None:
        assert r.returncode == check, "rapportctl %s -> %d\n%s\n%s" % (args, r.returncode, r.stdout, r.stderr)
    return r


DAEMONS = []


def start(w, config="", upstream=True):
    up = Upstream(w).start() if upstream else None
    d = Rapportd(RAPPORTD, w, upstream="smtp://127.0.0.1:%d" % up.port if up else None, config=config).start()
    DAEMONS.append(d)
    return up, d, Api(d)


def check_daemons():
    """Every daemon stopped cleanly (exit 0 after SIGTERM) and, under ASan/UBSan, reported nothing."""
    for d in DAEMONS:
        rc = d.stop()
        log = d.log()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "panic:"):
            assert bad not in log, "%s in rapportd's log:\n%s" % (bad, log[-4000:])
        assert rc == 0, "rapportd exited with %s:\n%s" % (rc, log[-4000:])


def originals(up):
    """Upstream messages that are not Rapport's own notices (null sender)."""
    with up.lock:
        return [m for m in up.messages if m[0] not in ("", "<>")]


# --- cases --------------------------------------------------------------------

def case_security(w):
    """Token, Host (DNS rebinding), Origin and CORS, cookies, limits, errors."""
    up, d, api = start(w, upstream=False)
    try:
        st = os.stat(os.path.join(d.state, "api-token"))
        assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
        assert len(api.token) == 64
        api.json("GET", "/api/v1/ping")
        # No token / wrong token.
        st, h, body = api.req("GET", "/api/v1/messages", token=False)
        assert st == 401 and h.get("www-authenticate") == "Bearer" and json.loads(body)["error"] == "unauthorized"
        api.json("GET", "/api/v1/messages", token="0" * 64, expect=401)
        api.json("GET", "/api/v1/messages", token=api.token[:-1], expect=401)
        st, _, _ = api.req("GET", "/api/v1/messages", headers={"Authorization": "Basic Zm9vOmJhcg=="}, token=False)
        assert st == 401
        # Host must be the daemon's own address, even with the token.
        for bad in ["evil.example:%d" % api.port, "127.0.0.1", "127.0.0.1:1", "attacker.test"]:
            j = api.json("GET", "/api/v1/messages", host=bad, expect=403)
            assert j["error"] == "forbidden_host", j
        api.json("GET", "/api/v1/ping", host="localhost:%d" % api.port)
        # Foreign origins are refused, even with the token; an add-on origin is served with CORS.
        for o in ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1:%d" % api.port]:
            j = api.json("GET", "/api/v1/messages", headers={"Origin": o}, expect=403)
            assert j["error"] == "forbidden_origin", j
        ext = "moz-extension://1b2c3d4e-aaaa-bbbb-cccc-123456789abc"
        st, h, _ = api.req("GET", "/api/v1/ping", headers={"Origin": ext})
        assert st == 200 and h.get("access-control-allow-origin") == ext and "Origin" in h.get("vary", ""), h
        st, h, _ = api.req("OPTIONS", "/api/v1/analyze", token=False,
                           headers={"Origin": ext, "Access-Control-Request-Method": "POST",
                                    "Access-Control-Request-Headers": "authorization,content-type"})
        assert st == 204, st
        assert h.get("access-control-allow-origin") == ext
        assert "POST" in h.get("access-control-allow-methods", "")
        assert "authorization" in h.get("access-control-allow-headers", "").lower()
        st, h, _ = api.req("OPTIONS", "/api/v1/analyze", token=False,
                           headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert st == 403 and "access-control-allow-origin" not in h
        # The add-on must use the token; without it 401 (with CORS so it can read why).
        st, h, _ = api.req("GET", "/api/v1/ping", token=False, headers={"Origin": ext})
        assert st == 401 and h.get("access-control-allow-origin") == ext
        # Same-origin page requests are fine.
        api.json("GET", "/api/v1/ping", headers={"Origin": "http://" + api.addr})
        # Session cookie from a one-time link: HttpOnly, SameSite=Strict, single use.
        url = api.json("POST", "/api/v1/login-links")["url"]
        assert url.startswith("http://" + api.addr + "/login?code="), url
        path = url[len("http://" + api.addr):]
        st, h, _ = api.req("GET", path, token=False)
        assert st == 303 and h["location"] == "/", (st, h)
        cookie = h["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie, cookie
        sess = cookie.split(";", 1)[0]
        st, _, body = api.req("GET", path, token=False)
        assert st == 403 and b"expired" in body, st  # the link works once
        api.json("GET", "/api/v1/messages", token=False, headers={"Cookie": sess})
        # Cookie-authenticated changes need the page header; the add-on origin never uses the cookie.
        api.json("POST", "/api/v1/messages/0000/release", token=False, headers={"Cookie": sess}, expect=403)
        api.json("GET", "/api/v1/messages", token=False, headers={"Cookie": sess, "Origin": ext}, expect=401)
        api.json("POST", "/api/v1/login-links", token=False, headers={"Cookie": sess, "X-Rapport-Page": "1"}, expect=403)
        api.json("GET", "/api/v1/messages", token=False, headers={"Cookie": "rapport_session=" + "a" * 64}, expect=401)
        # The page itself: served with a strict CSP, no data in it.
        st, h, body = api.req("GET", "/", token=False)
        assert st == 200 and b"Rapport" in body and "default-src 'none'" in h["content-security-policy"], h
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
        st, h, _ = api.req("GET", "/app.js", token=False)
        assert st == 200 and h["content-type"].startswith("text/javascript")
        st, h, _ = api.req("GET", "/", token=False, host="rebind.attacker.test:%d" % api.port)
        assert st == 403
        # Clear errors.
        api.json("GET", "/api/v1/nothing", expect=404)
        api.json("GET", "/api/v2/messages", expect=404)
        api.json("DELETE", "/api/v1/messages", expect=405)
        api.json("GET", "/api/v1/analyze", expect=405)
        api.json("GET", "/api/v1/messages?status=bogus", expect=400)
        api.json("GET", "/api/v1/messages?limit=x", expect=400)
        api.json("GET", "/api/v1/messages/..%2f..%2fetc%2fpasswd", expect=404)
        api.json("GET", "/api/v1/messages/does-not-exist", expect=404)
        api.json("POST", "/api/v1/messages/does-not-exist/release", expect=404)
        api.json("POST", "/api/v1/analyze", b"{not json", headers={"Content-Type": "application/json"}, expect=400)
        api.json("POST", "/api/v1/analyze", {"to": 5}, expect=400)
        api.json("POST", "/api/v1/analyze", {"attachments": [{"size": 1}]}, expect=400)
        api.json("POST", "/api/v1/analyze", b"", headers={"Content-Type": "message/rfc822"}, expect=400)
        api.json("POST", "/api/v1/analyze", b"\x00\x01garbage", headers={"Content-Type": "message/rfc822"}, expect=400)
        # Limits: an oversized body is refused from its Content-Length; an oversized header too.
        s = socket.create_connection((api.host, api.port), timeout=10)
        s.sendall(("POST /api/v1/analyze HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                   "Content-Length: 999999999\r\n\r\n" % (api.addr, api.token)).encode())
        resp = s.recv(4096)
        s.close()
        assert resp.startswith(b"HTTP/1.1 413"), resp[:100]
        s = socket.create_connection((api.host, api.port), timeout=10)
        s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\n\r\n" % (api.addr, "a" * 40000)).encode())
        resp = s.recv(4096)
        s.close()
        assert resp.startswith(b"HTTP/1.1 431"), resp[:100]
        for junk in [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64), b"GARBAGE\r\n\r\n", b"GET\r\n\r\n"]:
            s = socket.create_connection((api.host, api.port), timeout=10)
            s.sendall(junk)
            try:
                resp = s.recv(4096)
            except ConnectionResetError:
                resp = b""
            s.close()
            assert resp == b"" or resp.startswith(b"HTTP/1.1 400"), resp[:100]
        # Mutated requests (bytes flipped, cut short, chunked garbage): answered or closed, never a crash.
        import random
        rnd = random.Random(5)
        draft = json.dumps({"to": ["a@b.example"], "subject": "CV", "body": "Dear Sir,\nmy CV.",
                            "attachments": [{"name": "cv.pdf", "size": 10}]}).encode()
        base = (b"POST /api/v1/analyze HTTP/1.1\r\nHost: " + api.addr.encode() + b"\r\nAuthorization: Bearer " +
                api.token.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
                str(len(draft)).encode() + b"\r\n\r\n" + draft)
        chunked = (b"POST /api/v1/analyze HTTP/1.1\r\nHost: " + api.addr.encode() + b"\r\nAuthorization: Bearer " +
                   api.token.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
        for i in range(200):
            req = bytearray(chunked if i % 10 == 0 else base)
            for _ in range(rnd.randint(1, 6)):
                req[rnd.randrange(len(req))] = rnd.randrange(256)
            if i % 3 == 0:
                req = req[:rnd.randrange(len(req))]
            s = socket.create_connection((api.host, api.port), timeout=10)
            try:
                s.sendall(bytes(req))
                s.shutdown(socket.SHUT_WR)
                resp = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                resp = b""
            s.close()
            assert resp == b"" or resp.startswith(b"HTTP/1.1 "), resp[:80]
        # A held message with bytes that are not UTF-8 in its header and text still lists and shows.
        bad, _ = cv_message(extra=b"X-Junk: \xff\xfe\xc3\r\n")
        bad = bad.replace(b"Subject: CV", b"Subject: CV \xff\xc3(").replace(b"Please find", b"Please \xfe\xff find")
        send(d, bad)
        [hid] = wait_held(api)
        assert api.json("GET", "/api/v1/messages/" + hid)["id"] == hid
        st, _, raw = api.req("GET", "/api/v1/messages/%s/raw" % hid)
        assert st == 200 and raw == bad
        # Still alive and answering.
        api.json("GET", "/api/v1/ping")
        assert d.proc.poll() is None
    finally:
        d.stop()
        if up:
            up.stop()


def case_release(w):
    """A held message: listed, detailed, raw bytes exact; a double release sends once."""
    up, d, api = start(w)
    try:
        msg, msgid = cv_message()
        send(d, msg)
        [mid] = wait_held(api)
        lst = api.json("GET", "/api/v1/messages?status=held")["messages"]
        m = lst[0]
        assert m["from"] == "jo.bloggs@example.org" and m["to"] == "hiring@acme-widgets.co.uk" and m["subject"] == "CV", m
        assert "cv-attachment-only" in m["rules"] and m["status"] == "held" and m["expires"] > m["received"], m
        det = api.json("GET", "/api/v1/messages/" + mid)
        assert det["expires"] - det["received"] == 7 * 24 * 3600, det  # the default hold period
        rules = {f["rule"]: f for f in det["findings"]}
        assert "cv-attachment-only" in rules and rules["cv-attachment-only"]["message"], det["findings"]
        assert det["envelope"]["mail_from"] == "jo.bloggs@example.org"
        assert [r["rcpt"] for r in det["envelope"]["recipients"]] == ["hiring@acme-widgets.co.uk"]
        assert "Please find attached my CV." in det["text"], det["text"]
        assert det["attachments"] == [{"name": "jo-bloggs-cv.pdf", "type": "application/pdf", "size": 3009, "inline": False}], det["attachments"]
        assert any(h["name"] == "Message-ID" for h in det["headers"])
        st, h, raw = api.req("GET", "/api/v1/messages/%s/raw" % mid)
        assert st == 200 and raw == msg and h["content-type"] == "message/rfc822", (st, len(raw), len(msg))
        assert h["content-disposition"].startswith("attachment")
        assert "held %s from=<jo.bloggs@example.org> rules=" % mid in d.log(), d.log()
        # Nothing left yet.
        time.sleep(0.5)
        assert up.count() == 0
        # Double click: two releases at once.
        results = []
        def rel():
            results.append(api.json("POST", "/api/v1/messages/%s/release" % mid))
        ts = [threading.Thread(target=rel) for _ in range(2)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        assert sorted(r["released"] for r in results) == [False, True], results
        assert wait_for(lambda: up.count() >= 1, 15), "not relayed"
        again = api.json("POST", "/api/v1/messages/%s/release" % mid)
        assert again["released"] is False, again
        time.sleep(1.5)
        assert up.count() == 1, "sent %d times" % up.count()
        assert up.messages[0][2] == msg  # byte for byte
        assert wait_for(lambda: api.json("GET", "/api/v1/messages/" + mid)["status"] == "relayed", 10)
        det = api.json("GET", "/api/v1/messages/" + mid)
        assert det["envelope"]["recipients"][0]["status"] == "sent" and det["envelope"]["recipients"][0]["code"] == 250, det
        assert len(det["attempts"]) == 1 and det["released"] is True, det
        assert det["stored"] is False and "expires" not in det
        assert held_ids(api) == []
        relayed = api.json("GET", "/api/v1/messages?status=relayed")["messages"]
        assert [x["id"] for x in relayed] == [mid]
        api.json("POST", "/api/v1/messages/%s/drop" % mid, expect=409)
        st = api.json("GET", "/api/v1/stats")["senders"]
        assert st == [{"sender": "jo.bloggs@example.org", "messages": 1, "sent": 1, "flagged": 1,
                       "flagged_by_rule": {r: 1 for r in rules}, "held": 1, "released": 1, "confirmed": 0, "dropped": 0,
                       "expired": 0, "rejected": 0}], st
    finally:
        d.stop()
        up.stop()


def case_drop(w):
    """Discard: never sent, copy deleted, idempotent; warned mail listed as warned."""
    up, d, api = start(w)
    try:
        msg, _ = cv_message()
        send(d, msg)
        [mid] = wait_held(api)
        r = api.json("POST", "/api/v1/messages/%s/drop" % mid)
        assert r == {"id": mid, "status": "dropped", "dropped": True}, r
        r = api.json("POST", "/api/v1/messages/%s/drop" % mid)
        assert r["dropped"] is False, r
        api.json("POST", "/api/v1/messages/%s/release" % mid, expect=409)
        api.json("GET", "/api/v1/messages/%s/raw" % mid, expect=404)
        assert api.json("GET", "/api/v1/messages/" + mid)["stored"] is False
        assert [m["id"] for m in api.json("GET", "/api/v1/messages?status=dropped")["messages"]] == [mid]
        # A warned message (generic greeting only) is relayed and listed as warned.
        body = (b"Dear Sir/Madam,\r\n\r\nI am writing to ask whether Acme Widgets has any openings for a junior "
                b"warehouse operative. I have two years of forklift experience at Harbour Logistics and a clean "
                b"licence, and I live ten minutes from your Leeds depot.\r\n\r\nKind regards,\r\nJo\r\n")
        m2 = (b"From: Jo <jo.bloggs@example.org>\r\nTo: <jobs@acme-widgets.co.uk>\r\nSubject: Warehouse operative at Acme Widgets Leeds\r\n"
              b"Message-ID: <w1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body)
        send(d, m2, rcpts=("jobs@acme-widgets.co.uk",))
        assert wait_for(lambda: up.count() == 1, 15)
        warned = api.json("GET", "/api/v1/messages?status=warned")["messages"]
        assert len(warned) == 1 and warned[0]["action"] == "warn" and "generic-greeting" in warned[0]["rules"], warned
        time.sleep(0.5)
        assert len(originals(up)) == 1
        s = api.json("GET", "/api/v1/stats")["senders"][0]
        assert s["dropped"] == 1 and s["held"] == 1 and s["released"] == 0 and s["sent"] == 1, s
    finally:
        d.stop()
        up.stop()


def case_analyze(w):
    """Drafts in (JSON and raw MIME), findings out; nothing sent, nothing recorded."""
    up, d, api = start(w)
    try:
        draft = {"from": "jo.bloggs@example.org", "to": ["Anna Kowalska <anna.kowalska@acme-widgets.co.uk>"],
                 "subject": "CV", "body": "Hello,\n\nPlease find attached my CV.\n\nJo",
                 "attachments": [{"name": "CV_Jo_Bloggs.pdf", "size": 48213}], "message_id": "<draft-1@example.org>"}
        r = api.json("POST", "/api/v1/analyze", draft)
        rules = {f["rule"] for f in r["findings"]}
        assert r["action"] == "hold" and "cv-attachment-only" in rules and "vague-subject" in rules, r
        assert all(f["message"] and f["action"] for f in r["findings"])
        want = hmac.new(api.token.encode(), b"draft-1@example.org", hashlib.sha256).hexdigest()
        assert r["confirm"] == want, r
        clean = {"from": "jo.bloggs@example.org", "to": "anna.kowalska@acme-widgets.co.uk",
                 "subject": "Lunch on Friday?", "body": "Hi Anna,\n\nAre we still on for Friday at one?\n\nJo"}
        r = api.json("POST", "/api/v1/analyze", clean)
        assert r == {"action": "relay", "findings": []}, r
        r = api.json("POST", "/api/v1/analyze", {"subject": "Application for {{job_title}}", "body": "Dear [Company Name],\n\nHi."})
        assert "unfilled-placeholder" in {f["rule"] for f in r["findings"]}, r
        r = api.json("POST", "/api/v1/analyze", {"to": "a@b.c", "subject": "x", "html": "<p>Dear Sir/Madam,</p><p>I attach my CV.</p>"})
        assert isinstance(r["findings"], list)
        # Raw MIME, as a mail client has it.
        msg, msgid = cv_message(msgid="<raw-1@example.org>")
        st, h, body = api.req("POST", "/api/v1/analyze", msg, headers={"Content-Type": "message/rfc822"})
        r = json.loads(body)
        assert st == 200 and "cv-attachment-only" in {f["rule"] for f in r["findings"]}, body
        assert r["confirm"] == hmac.new(api.token.encode(), b"raw-1@example.org", hashlib.sha256).hexdigest()
        # "Expect: 100-continue" (curl, large bodies) is answered before the body is sent.
        s = socket.create_connection((api.host, api.port), timeout=10)
        s.sendall(("POST /api/v1/analyze HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: message/rfc822\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                   % (api.addr, api.token, len(msg))).encode())
        first = s.recv(4096)
        assert first.startswith(b"HTTP/1.1 100 Continue\r\n"), first
        s.sendall(msg)
        resp = b""
        while b"\r\n\r\n" not in resp or not resp.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
        s.close()
        assert resp.startswith(b"HTTP/1.1 200") and b"cv-attachment-only" in resp, resp[:200]
        # The same template to many people through analyze never builds a history.
        tpl = ("I am writing to apply for the role of trainee accountant advertised on your website. I have an AAT "
               "level 3 qualification and two years of bookkeeping experience with a local charity. I would welcome "
               "the chance to discuss how I could help your team.")
        for i in range(8):
            r = api.json("POST", "/api/v1/analyze", {"from": "jo.bloggs@example.org", "to": "p%d@firm%d.co.uk" % (i, i),
                                                     "subject": "Trainee accountant application", "body": "Dear Team,\n\n" + tpl + "\n\nJo"})
            assert "template-reuse" not in {f["rule"] for f in r["findings"]}, (i, r)
        assert api.json("GET", "/api/v1/messages")["messages"] == []
        assert api.json("GET", "/api/v1/stats")["senders"] == []
        time.sleep(0.3)
        assert up.count() == 0
    finally:
        d.stop()
        up.stop()


def case_allow(w):
    """The add-on's "don't warn me for this one": POST /api/v1/allow, then
    analyze and SMTP both let mail only to allowed recipients through."""
    up, d, api = start(w)
    try:
        assert api.json("GET", "/api/v1/allow") == {"entries": []}
        draft = {"from": "jo.bloggs@example.org", "to": "hiring@acme-widgets.co.uk", "subject": "CV",
                 "body": "Hello,\n\nPlease find attached my CV.\n\nJo",
                 "attachments": [{"name": "CV_Jo_Bloggs.pdf", "size": 48213}]}
        assert api.json("POST", "/api/v1/analyze", draft)["findings"], "flagged before"
        for bad in [{"entries": [{"type": "domain", "value": "gmail.com"}]},
                    {"entries": [{"type": "address", "value": "no-at-sign"}]},
                    {"entries": [{"type": "person", "value": "x@y.z"}]},
                    {"entries": "x"}, [1, 2]]:
            api.json("POST", "/api/v1/allow", bad, expect=400)
        api.json("POST", "/api/v1/allow", {"entries": [{"type": "address", "value": "x@y.z"}]}, expect=401, token=False)
        r = api.json("POST", "/api/v1/allow", {"entries": [{"type": "domain", "value": "ACME-widgets.co.uk"}]})
        assert r["entries"] == [{"type": "domain", "value": "acme-widgets.co.uk"}], r
        assert api.json("POST", "/api/v1/analyze", draft) == {"action": "relay", "findings": []}
        # Over SMTP too: a CV-only mail to the allowed domain is relayed, not held.
        msg, _ = cv_message()
        send(d, msg)
        deadline = time.time() + 15
        while up.count() < 1 and time.time() < deadline:
            time.sleep(0.1)
        assert up.count() == 1, "the allowed recipient's mail was not relayed"
        assert held_ids(api) == []
        # Someone else is still judged.
        draft["to"] = "jobs@other-firm.co.uk"
        assert api.json("POST", "/api/v1/analyze", draft)["findings"]
    finally:
        d.stop()
        up.stop()


def case_confirm(w):
    """X-Rapport-Confirm: a valid one relays without a hold (findings recorded),
    a wrong one is held; the field never leaves."""
    up, d, api = start(w)
    try:
        mid_good = "<confirm-good@example.org>"
        value = api.json("POST", "/api/v1/analyze", {"subject": "CV", "message_id": mid_good})["confirm"]
        msg, _ = cv_message(msgid=mid_good, extra=b"X-Rapport-Confirm: " + value.upper().encode() + b"\r\n")
        send(d, msg)
        assert wait_for(lambda: up.count() == 1, 15), "confirmed message not relayed:\n" + d.log()
        got = up.messages[0][2]
        assert b"x-rapport-confirm" not in got.lower() and b"Message-ID: " + mid_good.encode() in got
        assert got == msg.replace(b"X-Rapport-Confirm: " + value.upper().encode() + b"\r\n", b"")
        [rec] = api.json("GET", "/api/v1/messages?status=relayed")["messages"]
        assert rec["action"] == "hold" and "cv-attachment-only" in rec["rules"], rec  # findings still recorded
        assert "confirmed " + rec["id"] in d.log()
        # A value for another message, or garbage, does not pass.
        for i, bad in enumerate([value, "zz", ""]):
            m2, _ = cv_message(msgid="<confirm-bad-%d@example.org>" % i, extra=b"X-Rapport-Confirm: " + bad.encode() + b"\r\n")
            send(d, m2)
        wait_held(api, 3)
        time.sleep(0.5)
        assert up.count() == 1
        st = api.json("GET", "/api/v1/stats")["senders"][0]
        assert (st["messages"], st["confirmed"], st["held"], st["sent"]) == (4, 1, 3, 1), st
        hid = held_ids(api)[0]
        # The v1 form (plugin/lib/confirm.js): nonce + HMAC, good once, for a limited time.
        def v1(t=None, nonce=None):
            n = "%d-%s" % (int(t if t is not None else time.time()), nonce or os.urandom(16).hex())
            return "v1:%s:%s" % (n, hmac.new(api.token.encode(), ("v1:" + n).encode(), hashlib.sha256).hexdigest())
        good = v1()
        m3, _ = cv_message(msgid="<v1-good@example.org>", extra=b"X-Rapport-Confirm: " + good.encode() + b"\r\n")
        send(d, m3)
        assert wait_for(lambda: up.count() == 2, 15), "v1-confirmed message not relayed:\n" + d.log()
        assert b"x-rapport-confirm" not in up.messages[1][2].lower()
        send(d, m3)  # the same message again (a client's retry): the same nonce passes
        assert wait_for(lambda: up.count() == 3, 15), "retry of a v1-confirmed message held:\n" + d.log()
        held_before = len(held_ids(api))
        for i, bad in enumerate([good,                                   # reused for another message
                                 v1(t=time.time() - 8 * 86400),           # too old
                                 v1(t=time.time() + 3600),                # from the future
                                 good[:-1] + ("0" if good[-1] != "0" else "1")]):  # wrong MAC
            m4, _ = cv_message(msgid="<v1-bad-%d@example.org>" % i, extra=b"X-Rapport-Confirm: " + bad.encode() + b"\r\n")
            send(d, m4)
        wait_held(api, held_before + 4)
        log = d.log()
        for why in ("already used for another message", "too old", "dated in the future", "does not match the API token"):
            assert "X-Rapport-Confirm " + why in log, why
        time.sleep(0.5)
        assert up.count() == 3
        # Released later: the field is stripped then too.
        api.json("POST", "/api/v1/messages/%s/release" % hid)
        assert wait_for(lambda: up.count() == 4, 15)
        assert b"x-rapport-confirm" not in up.messages[3][2].lower()
    finally:
        d.stop()
        up.stop()


def case_expiry_notice(w):
    """[hold] expire: not sent, kept visible as expired; notify_sender: one notice mail."""
    up, d, api = start(w, config="[hold]\nexpire = 2\nnotify_sender = true\n")
    try:
        msg, _ = cv_message()
        send(d, msg)
        [mid] = wait_held(api)
        assert wait_for(lambda: up.count() == 1, 15), "no held notice:\n" + d.log()
        frm, rcpts, notice, _ = up.messages[0]
        assert frm in ("", "<>") and rcpts == ["jo.bloggs@example.org"], (frm, rcpts)
        text = notice.decode()
        assert "Subject: Rapport held your message: CV" in text, text
        assert "rapportctl held release " + mid in text and "Auto-Submitted: auto-generated" in text, text
        assert "CV is attached" in text or "CV" in text
        # The notice is not itself a listed message.
        assert [m["id"] for m in api.json("GET", "/api/v1/messages")["messages"]] == [mid]
        assert wait_for(lambda: api.json("GET", "/api/v1/messages/" + mid)["status"] == "expired", 10), d.log()
        assert held_ids(api) == []
        exp = api.json("GET", "/api/v1/messages?status=expired")["messages"]
        assert [m["id"] for m in exp] == [mid]
        det = api.json("GET", "/api/v1/messages/" + mid)
        assert det["stored"] is True and "Please find attached my CV." in det["text"]  # kept visible
        j = api.json("POST", "/api/v1/messages/%s/release" % mid, expect=409)
        assert "expired" in j["message"], j
        time.sleep(0.5)
        assert len(originals(up)) == 0
        assert "expired " + mid in d.log()
        assert api.json("GET", "/api/v1/stats")["senders"][0]["expired"] == 1
        # Discarding an expired message is allowed.
        assert api.json("POST", "/api/v1/messages/%s/drop" % mid)["dropped"] is True
    finally:
        d.stop()
        up.stop()


def case_stats_metrics(w):
    """Per-sender statistics and the Prometheus text."""
    up, d, api = start(w)
    try:
        for frm in ["a.one@example.org", "b.two@example.org", "b.two@example.org"]:
            m, _ = cv_message(frm=frm)
            send(d, m, frm=frm)
        wait_held(api, 3)
        ids = held_ids(api)
        api.json("POST", "/api/v1/messages/%s/release" % ids[0])
        api.json("POST", "/api/v1/messages/%s/drop" % ids[1])
        assert wait_for(lambda: up.count() == 1, 15)
        stats = {s["sender"]: s for s in api.json("GET", "/api/v1/stats")["senders"]}
        assert set(stats) == {"a.one@example.org", "b.two@example.org"}, stats
        tot = lambda k: sum(s[k] for s in stats.values())
        assert (tot("messages"), tot("held"), tot("released"), tot("dropped")) == (3, 3, 1, 1), stats
        assert stats["b.two@example.org"]["flagged_by_rule"]["cv-attachment-only"] == 2
        st, h, body = api.req("GET", "/metrics")
        assert st == 200 and h["content-type"].startswith("text/plain; version=0.0.4"), h
        text = body.decode()
        assert "# TYPE rapport_messages gauge" in text
        assert 'rapport_messages{status="held"} 1' in text and 'rapport_messages{status="dropped"} 1' in text, text
        assert 'rapport_findings_total{rule="cv-attachment-only"} 3' in text
        assert "rapport_released_total 1" in text
        assert 'rapport_http_responses_total{code="200"}' in text
        for line in text.splitlines():  # exposition format: comments or "name{labels} value"
            assert line.startswith("# ") or len(line.rsplit(" ", 1)) == 2 and line.rsplit(" ", 1)[1].isdigit(), line
        st, _, _ = api.req("GET", "/metrics", token=False)
        assert st == 401
    finally:
        d.stop()
        up.stop()


def case_cli(w):
    """rapportctl held list/show/release/drop, token, open against the running daemon."""
    up, d, api = start(w)
    try:
        r = ctl(d, "held", "list", check=0)
        assert "No messages are held." in r.stdout, r.stdout
        assert ctl(d, "held", "list", "--json", check=0).stdout.strip() == "[]"
        for i in range(2):
            m, _ = cv_message(to="hiring%d@acme-widgets.co.uk" % i)
            send(d, m, rcpts=("hiring%d@acme-widgets.co.uk" % i,))
        wait_held(api, 2)
        arr = json.loads(ctl(d, "held", "list", "--json", check=0).stdout)
        assert len(arr) == 2
        for m in arr:
            for k in ("id", "received", "from", "to", "subject", "rules"):
                assert k in m, (k, m)
            assert "cv-attachment-only" in m["rules"]
        a, b = arr[0]["id"], arr[1]["id"]
        out = ctl(d, "held", "list", check=0).stdout
        assert a in out and b in out and "cv-attachment-only" in out, out
        out = ctl(d, "held", "show", a, check=0).stdout
        assert "Why Rapport stopped it" in out and "jo-bloggs-cv.pdf" in out and "Please find attached my CV." in out, out
        assert "rapportctl held release " + a in out
        assert json.loads(ctl(d, "held", "show", a, "--json", check=0).stdout)["id"] == a
        out = ctl(d, "held", "release", a, check=0).stdout
        assert "Released " + a in out, out
        out = ctl(d, "held", "release", a, check=0).stdout
        assert "already released" in out, out
        assert wait_for(lambda: up.count() == 1, 15)
        assert "Discarded " + b in ctl(d, "held", "drop", b, check=0).stdout
        r = ctl(d, "held", "release", b, check=1)
        assert "dropped" in r.stderr, r.stderr
        r = ctl(d, "held", "show", "nosuchid", check=1)
        assert "no message" in r.stderr.lower(), r.stderr
        assert ctl(d, "held", "list", "--status", "relayed", "--json", check=0).stdout.count(a) == 1
        time.sleep(0.5)
        assert up.count() == 1
        # token / open
        assert ctl(d, "token", check=0).stdout.strip() == api.token
        url = ctl(d, "open", check=0).stdout.strip()
        assert url.startswith("http://" + api.addr + "/login?code="), url
        st, h, _ = api.req("GET", url[len("http://" + api.addr):], token=False)
        assert st == 303 and "HttpOnly" in h["set-cookie"]
        # --browser hands the link to xdg-open (a stand-in here), as one argument, no shell.
        bindir = os.path.join(w, "bin")
        os.makedirs(bindir)
        fake = os.path.join(bindir, "xdg-open")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\nprintf '%%s' \"$1\" > %s/opened\n" % w)
        os.chmod(fake, 0o755)
        env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"])
        r = subprocess.run([RAPPORTCTL, "open", "--browser", "--state", d.state], capture_output=True, text=True,
                           timeout=20, env=env)
        assert r.returncode == 0, r.stderr
        assert open(os.path.join(w, "opened")).read() == r.stdout.strip(), r.stdout
        # Usage errors and a stopped daemon.
        ctl(d, "held", check=2)
        ctl(d, "held", "frobnicate", check=2)
        ctl(d, "held", "show", check=2)
        ctl(d, "held", "list", "--bogus", check=2)
    finally:
        d.stop()
        up.stop()
    r = ctl(d, "held", "list", check=1)
    assert "cannot reach rapportd" in r.stderr, r.stderr
    empty = os.path.join(w, "empty-state")
    os.makedirs(empty)
    r = subprocess.run([RAPPORTCTL, "held", "list", "--state", empty], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "no running rapportd" in r.stderr, r.stderr
    r = subprocess.run([RAPPORTCTL, "token", "--state", empty], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "start rapportd once" in r.stderr, r.stderr
    # Default state dir: $XDG_STATE_HOME/rapport, as the daemon's.
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(w, "xdg"))
    os.makedirs(os.path.join(w, "xdg", "rapport"))
    open(os.path.join(w, "xdg", "rapport", "api-token"), "w").write("f" * 64 + "\n")
    r = subprocess.run([RAPPORTCTL, "token"], capture_output=True, text=True, timeout=20, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "f" * 64, (r.stdout, r.stderr)


def case_browser(w):
    """The page in headless Debian chromium (Playwright): log in with the
    one-time link, see the held message, send it anyway; the upstream gets it."""
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("SKIP: node or /usr/bin/chromium missing")
        return 77
    mods = os.path.join(BROWSER_DIR, "node_modules", "playwright-core")
    if not os.path.isdir(mods):
        print("SKIP: playwright-core not installed in " + BROWSER_DIR)
        return 77
    up, d, api = start(w)
    try:
        m, _ = cv_message(to="Priya Shah <priya.shah@acme-widgets.co.uk>".split("<")[1].rstrip(">"))
        send(d, m, rcpts=("priya.shah@acme-widgets.co.uk",))
        body = (b"Dear Hiring Manager,\r\n\r\nI would like to apply for [Job Title] at your company.\r\n\r\nRegards,\r\nJo\r\n")
        m2 = (b"From: Jo Bloggs <jo.bloggs@example.org>\r\nTo: Sam Lee <sam.lee@harbourlets.co.uk>\r\n"
              b"Subject: Application\r\nMessage-ID: <p2@example.org>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)
        send(d, m2, rcpts=("sam.lee@harbourlets.co.uk",))
        m3 = (b"From: Jo Bloggs <jo.bloggs@example.org>\r\nTo: <jobs@oldfirm.example>\r\nSubject: CV\r\n"
              b"Message-ID: <p3@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
              b"Dear Sir/Madam,\r\n\r\nI attach my CV for [Job Title].\r\n\r\nJo\r\n")
        send(d, m3, rcpts=("jobs@oldfirm.example",))
        ids = wait_held(api, 3)
        # One of them waited too long (as if [hold] expire had passed): shown apart, can only be discarded.
        import sqlite3
        old = [m["id"] for m in api.json("GET", "/api/v1/messages?status=held")["messages"] if m["to"] == "jobs@oldfirm.example"][0]
        con = sqlite3.connect(os.path.join(d.state, "queue.db"))
        con.execute("UPDATE messages SET status = 'expired' WHERE id = ?", (old,))
        con.commit()
        con.close()
        ids.remove(old)
        url = ctl(d, "open", check=0).stdout.strip()
        shot_dir = os.environ.get("RAPPORT_SCREENSHOT_DIR", w)
        os.makedirs(shot_dir, exist_ok=True)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser", "held_page.mjs")
        env = dict(os.environ, RAPPORT_NODE_MODULES=os.path.join(BROWSER_DIR, "node_modules"))
        r = subprocess.run(["node", script, url, shot_dir, os.path.join(w, "chromium-profile")],
                           capture_output=True, text=True, timeout=150, env=env)
        print(r.stdout)
        print(r.stderr, file=sys.stderr)
        assert r.returncode == 0, "browser test failed"
        result = json.loads(r.stdout.strip().splitlines()[-1])
        released = result["released"]
        assert released in ids, (released, ids)
        assert wait_for(lambda: up.count() == 1, 15), "upstream did not receive the released message"
        assert up.messages[0][1] == ["priya.shah@acme-widgets.co.uk"], up.messages[0][1]
        assert held_ids(api) == [i for i in ids if i != released]
        assert api.json("GET", "/api/v1/messages/" + old)["status"] == "dropped"  # discarded on the page
        print("screenshots: " + ", ".join(result["screenshots"]))
    finally:
        d.stop()
        up.stop()


def case_browser_file_names(w):
    """Hostile attachment names on the page and signing out, in headless
    chromium (tests/browser/file_names.mjs): "cv\u202efdp.exe" shows its
    override as a code and EXE as its type, names are isolated and a
    300-character one wraps; GET /logout signs nobody out, the page's Sign
    out does (a name reading "cvexe.pdf", or one running out of its box,
    would mislead; a GET that signs out is a request any page can make)."""
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("SKIP: node or /usr/bin/chromium missing")
        return 77
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        print("SKIP: playwright-core not installed in " + BROWSER_DIR)
        return 77
    up, d, api = start(w)
    try:
        import base64
        m, _ = cv_message()
        head, rest = m.split(b"--b1--", 1)
        for name in ("UTF-8''cv%E2%80%AEfdp.exe", "UTF-8''" + "a" * 300 + ".pdf"):
            head += (b"--b1\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Disposition: attachment; filename*=" + name.encode() + b"\r\n"
                     b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(b"MZ" + b"0" * 100).replace(b"\n", b"\r\n"))
        send(d, head + b"--b1--" + rest)
        [mid] = wait_held(api)
        names = [a["name"] for a in api.json("GET", "/api/v1/messages/" + mid)["attachments"]]
        assert "cv\u202efdp.exe" in names and "a" * 300 + ".pdf" in names, names
        url = ctl(d, "open", check=0).stdout.strip()
        shot_dir = os.environ.get("RAPPORT_SCREENSHOT_DIR", w)
        os.makedirs(shot_dir, exist_ok=True)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser", "file_names.mjs")
        env = dict(os.environ, RAPPORT_NODE_MODULES=os.path.join(BROWSER_DIR, "node_modules"))
        r = subprocess.run(["node", script, url, shot_dir, os.path.join(w, "chromium-profile")],
                           capture_output=True, text=True, timeout=150, env=env)
        print(r.stdout)
        print(r.stderr, file=sys.stderr)
        assert r.returncode == 0, "browser test failed"
    finally:
        d.stop()
        up.stop()


def case_headers_logout(w):
    """A second Host or Origin header is refused (400 duplicate_header)
    whatever the order, so no one can pick which is checked; signing out
    is a POST with the page's header: GET /logout (a link or an <img>
    elsewhere) and a header-less POST sign nobody out."""
    up, d, api = start(w, upstream=False)
    try:
        def raw(lines):
            s = socket.create_connection((api.host, api.port), timeout=10)
            s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            resp = b""
            while b"\r\n\r\n" not in resp:
                chunk = s.recv(65536)
                if not chunk:
                    break
                resp += chunk
            s.close()
            return int(resp.split(b" ", 2)[1]), resp
        auth = "Authorization: Bearer " + api.token
        good, evil = "Host: " + api.addr, "Host: evil.example:%d" % api.port
        st, resp = raw(["GET /api/v1/ping HTTP/1.1", good, auth])
        assert st == 200, resp
        for hosts in ([good, evil], [evil, good], [good, good]):
            st, resp = raw(["GET /api/v1/ping HTTP/1.1"] + hosts + [auth, "Connection: close"])
            assert st == 400 and b"duplicate_header" in resp, (hosts, resp[:300])
        ext = "Origin: moz-extension://1b2c3d4e-aaaa-bbbb-cccc-123456789abc"
        for origins in ([ext, "Origin: http://evil.example"], ["Origin: http://evil.example", ext]):
            st, resp = raw(["GET /api/v1/ping HTTP/1.1", good, auth, "Connection: close"] + origins)
            assert st == 400 and b"duplicate_header" in resp, (origins, resp[:300])
        # A page session, then the ways to sign out.
        url = api.json("POST", "/api/v1/login-links")["url"]
        st, h, _ = api.req("GET", url[len("http://" + api.addr):], token=False)
        sess = h["set-cookie"].split(";", 1)[0]
        st, h, body = api.req("GET", "/logout", token=False, headers={"Cookie": sess})
        assert st == 405 and h.get("allow") == "POST", (st, h, body)
        api.json("GET", "/api/v1/messages", token=False, headers={"Cookie": sess})  # still signed in
        st, h, body = api.req("POST", "/logout", token=False, headers={"Cookie": sess})
        assert st == 403 and b"missing_page_header" in body, (st, body)
        api.json("GET", "/api/v1/messages", token=False, headers={"Cookie": sess})  # still signed in
        st, h, body = api.req("POST", "/logout", token=False,
                              headers={"Cookie": sess, "X-Rapport-Page": "1", "Origin": "http://" + api.addr})
        assert st == 200 and "Max-Age=0" in h.get("set-cookie", ""), (st, h)
        api.json("GET", "/api/v1/messages", token=False, headers={"Cookie": sess}, expect=401)
    finally:
        d.stop()


def case_slow_clients(w):
    """Slow clients cannot fill the connection limit: with max_connections = 8,
    eight connections that trickle a header a byte at a time do not keep the
    token holder out (the one waiting longest makes room), and each trickler
    is closed header_timeout after it connected, however steadily it sends.
    (Refusing the newcomer at the cap, or a timer restarted by each byte,
    would let tricklers keep everyone out.)"""
    up, d, api = start(w, upstream=False, config="[http]\nmax_connections = 8\nheader_timeout = 3\n")
    stop = threading.Event()
    socks = []
    try:
        for _ in range(8):
            s = socket.create_connection((api.host, api.port), timeout=10)
            s.sendall(b"GET /api/v1/ping HTTP/1.1\r\n")
            socks.append(s)
        closed_after = {}

        def trickle(i, s, t0):
            while not stop.is_set():
                try:
                    s.sendall(b"X")
                    s.settimeout(0.5)
                    if s.recv(4096) == b"":
                        closed_after[i] = time.time() - t0
                        return
                except socket.timeout:
                    continue
                except OSError:
                    closed_after[i] = time.time() - t0
                    return
        t0 = time.time()
        threads = [threading.Thread(target=trickle, args=(i, s, t0), daemon=True) for i, s in enumerate(socks)]
        [t.start() for t in threads]
        time.sleep(0.5)
        times = []
        for _ in range(3):
            t1 = time.time()
            api.json("GET", "/api/v1/ping")
            times.append(time.time() - t1)
        print("token holder's requests with eight tricklers: %s" % ["%.3f" % x for x in times])
        assert max(times) < 2, times
        assert wait_for(lambda: len(closed_after) == 8, 10), closed_after
        print("tricklers closed after: %s" % sorted("%.1f" % x for x in closed_after.values()))
        assert max(closed_after.values()) < 8, closed_after  # header_timeout = 3 s, in all
    finally:
        stop.set()
        for s in socks:
            s.close()
        d.stop()


def main():
    global RAPPORTD, RAPPORTCTL, BROWSER_DIR
    RAPPORTD, RAPPORTCTL, case = sys.argv[1], sys.argv[2], sys.argv[3]
    BROWSER_DIR = sys.argv[4] if len(sys.argv) > 4 else None
    fn = globals().get("case_" + case)
    if not fn:
        print("unknown case " + case)
        return 2
    w = tempdir("http-" + case)
    try:
        rc = fn(w)
        if rc == 77:
            return 77
        check_daemons()
    except Exception:
        traceback.print_exc()
        for root, _, files in os.walk(w):
            for f in files:
                if f == "rapportd.log":
                    print("--- rapportd log ---\n" + open(os.path.join(root, f), errors="replace").read())
        return 1
    shutil.rmtree(w, ignore_errors=True)
    print("ok " + case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
