#!/usr/bin/python3
"""Headless Thunderbird smoke test for rapport.xpi.

    tb_smoke.py BUILD/rapport.xpi [send|edit]

Makes a throw-away profile (../shared/recipes/thunderbird-headless.md) with
the product add-on and a test-only driver add-on (tests/tb_driver), a fake
rapportd API (answers every draft with one cv-attachment-only finding) and
an SMTP sink, starts `thunderbird --headless`, and checks what a user would
get: the add-on's background loaded with its settings, compose.onBeforeSend
asked the API (from a moz-extension:// Origin, with the token, the draft's
subject and attachment), the findings popup opened, and after "Send anyway"
the mail arrived carrying a valid X-Rapport-Confirm (after "Edit message":
nothing arrived). Exit 77 = skipped (no thunderbird or no aiosmtpd).

The add-on's settings are seeded the way Thunderbird migrates old
storage.local data: PROFILE/browser-extension-data/<id>/storage.js, read on
first use when the profile sets extensions.webextensions.keepStorageOnUninstall.
"""
import hashlib, hmac, json, os, re, shutil, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tb_lib  # noqa: E402
from tb_lib import ADDON_ID, DRIVER_ID, free_port, skip, wait_for  # noqa: E402

TOKEN = "smoke-token-" + "5" * 52
FINDING = {"rule": "cv-attachment-only", "action": "hold", "lang": "en",
           "message": "Your CV is attached, but the message doesn't say which role you want or why you fit."}
HERE = os.path.dirname(os.path.abspath(__file__))


class Api(BaseHTTPRequestHandler):
    seen = []   # analyze requests: (headers, body)
    events = []  # driver reports
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def cors(self):
        o = self.headers.get("Origin", "")
        if o.startswith("moz-extension://"):
            self.send_header("Access-Control-Allow-Origin", o)
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0)).decode("utf-8", "replace")
        if self.path == "/driver":
            with Api.lock:
                Api.events.append(json.loads(body))
            out, status = {}, 200
        elif self.path == "/api/v1/analyze":
            with Api.lock:
                Api.seen.append((dict(self.headers), body))
            ok = self.headers.get("Authorization") == "Bearer " + TOKEN
            out, status = ({"action": "hold", "findings": [FINDING]}, 200) if ok else ({"error": "bad_token"}, 401)
        else:
            out, status = {"error": "not_found"}, 404
        data = json.dumps(out).encode()
        self.send_response(status)
        self.cors()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    xpi, choice = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "send")
    tb = tb_lib.thunderbird_or_skip()
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        skip("python3-aiosmtpd is not installed")
    if not os.path.exists(xpi):
        print("FAIL: no %s (build the rapport_xpi target)" % xpi)
        return 1

    received = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.content)
            return "250 OK"

    smtp_port = free_port()
    sink = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    sink.start()
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api_port = api.server_address[1]
    threading.Thread(target=api.serve_forever, daemon=True).start()

    work = tempfile.mkdtemp(prefix="rapport-tb-")
    driver = (os.path.join(HERE, "tb_driver"), {"__PORT__": str(api_port), "__CHOICE__": choice})
    profile = tb_lib.make_profile(work, smtp_port, {ADDON_ID: xpi, DRIVER_ID: driver}, {
        ADDON_ID: {"daemonUrl": "http://127.0.0.1:%d" % api_port, "token": TOKEN, "testDriver": DRIVER_ID}})
    t0 = time.time()
    thunderbird = tb_lib.Thunderbird(tb, profile, work)
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    def event(name):
        with Api.lock:
            return [e for e in Api.events if e.get("event") == name]

    try:
        check(wait_for(lambda: event("start"), 60), "the driver add-on started (Thunderbird runs, sideloading works)")
        done = lambda: event("sent") or event("send-error") or (choice == "send" and received)
        wait_for(lambda: bool(Api.seen), 40)
        check(bool(Api.seen), "Rapport's onBeforeSend asked the API (background loaded, settings seeded)")
        if Api.seen:
            headers, body = Api.seen[0]
            draft = json.loads(body)
            check(headers.get("Origin", "").startswith("moz-extension://"), "the request came from a moz-extension:// Origin")
            check(headers.get("Authorization") == "Bearer " + TOKEN, "the token was sent as Bearer")
            check(draft.get("subject") == "CV" and "Please find attached my CV" in draft.get("body", ""),
                  "the draft's subject and text: %r" % {k: draft.get(k) for k in ("subject", "to", "from")})
            check([a.get("name") for a in draft.get("attachments", [])] == ["CV_Jo_Bloggs.pdf"]
                  and all(isinstance(a.get("size"), int) for a in draft["attachments"]),
                  "the attachment's name and size: %r" % draft.get("attachments"))
        check(wait_for(lambda: any(e.get("msg", {}).get("type") == "rapport.popup" for e in event("external")), 30),
              "the findings popup opened (the driver was told, with the findings)")
        pops = [e["msg"] for e in event("external") if e.get("msg", {}).get("type") == "rapport.popup"]
        if pops:
            check(pops[0].get("findings") == [FINDING], "the popup shows the API's finding")
        check(wait_for(lambda: event("answered"), 20), "the driver answered %r" % choice)
        if choice == "send":
            check(wait_for(lambda: received, 40), "the mail arrived at the SMTP server after Send anyway")
            if received:
                msg = received[0].decode("utf-8", "replace")
                m = re.search(r"^X-Rapport-Confirm:\s*(\S+)", msg, re.M | re.I)
                check(m is not None, "it carries X-Rapport-Confirm")
                if m:
                    v = m.group(1)
                    parts = re.fullmatch(r"v1:(\d+-[0-9a-f]{32}):([0-9a-f]{64})", v)
                    want = parts and hmac.new(TOKEN.encode(), ("v1:" + parts.group(1)).encode(), hashlib.sha256).hexdigest()
                    check(bool(parts) and want == parts.group(2), "X-Rapport-Confirm is a valid v1 value: " + v)
        else:
            wait_for(done, 15)
            time.sleep(3)
            check(not received, "nothing was sent after Edit message")
            check(bool(event("send-error")), "Thunderbird reported the send as cancelled: %r" % event("send-error"))
        print("time: %.1f s" % (time.time() - t0))
    finally:
        thunderbird.stop()
        api.shutdown()
        sink.stop()
        errs = thunderbird.addon_problems()
        print("Thunderbird log lines about the add-on with error/warning: %d" % len(errs))
        for l in errs[:20]:
            print("  " + l)
        if os.environ.get("RAPPORT_KEEP"):
            print("kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("FAILED: %d check(s)" % len(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
