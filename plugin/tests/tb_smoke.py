#!/usr/bin/python3
"""Headless Thunderbird smoke test for rapport.xpi (issue 6).

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
import hashlib, hmac, json, os, re, shutil, socket, subprocess, sys, tempfile, threading, time, zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADDON_ID = "rapport@rapport.local"
DRIVER_ID = "driver@rapport.test"
TOKEN = "smoke-token-" + "5" * 52
FINDING = {"rule": "cv-attachment-only", "action": "hold",
           "message": "Your CV is attached, but the message doesn't say which role you want or why you fit."}
HERE = os.path.dirname(os.path.abspath(__file__))


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


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


def user_js(smtp_port):
    prefs = {
        "extensions.autoDisableScopes": 0, "extensions.enabledScopes": 15,
        "xpinstall.signatures.required": False, "mail.shell.checkDefaultClient": False,
        "app.update.enabled": False, "mail.accountmanager.accounts": "account1,account2",
        "mail.accountmanager.localfoldersserver": "server2", "mail.account.account1.identities": "id1",
        "mail.account.account1.server": "server1", "mail.account.account2.server": "server2",
        "mail.server.server1.type": "none", "mail.server.server1.hostname": "test.local",
        "mail.server.server1.userName": "jo", "mail.server.server2.type": "none",
        "mail.server.server2.hostname": "Local Folders", "mail.server.server2.userName": "nobody",
        "mail.identity.id1.useremail": "jo.bloggs@example.org", "mail.identity.id1.fullName": "Jo Bloggs",
        "mail.identity.id1.smtpServer": "smtp1", "mail.identity.id1.valid": True, "mail.identity.id1.fcc": False,
        "mail.smtpservers": "smtp1", "mail.smtp.defaultserver": "smtp1",
        "mail.outgoingservers": "smtp1", "mail.outgoingserver.smtp1.type": "smtp",
        # add-on errors and console output reach the log this test reads
        "devtools.console.stdout.chrome": True, "devtools.console.stdout.content": True,
        "browser.dom.window.dump.enabled": True,
        # Without this a freshly installed add-on is marked "storage migrated"
        # and the seeded storage.js below would be ignored (Extension.sys.mjs).
        "extensions.webextensions.keepStorageOnUninstall": True,
    }
    for prefix in ("mail.smtpserver.smtp1.", "mail.outgoingserver.smtp1."):
        prefs.update({prefix + "hostname": "127.0.0.1", prefix + "port": smtp_port,
                      prefix + "authMethod": 1, prefix + "try_ssl": 0})
    return "".join("user_pref(%s, %s);\n" % (json.dumps(k), json.dumps(v)) for k, v in prefs.items())


def wait_for(pred, secs):
    end = time.time() + secs
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    xpi, choice = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "send")
    tb = shutil.which("thunderbird")
    if not tb:
        skip("thunderbird is not installed (apt-get install -y --no-install-recommends thunderbird)")
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
    profile = os.path.join(work, "profile")
    os.makedirs(os.path.join(profile, "extensions"))
    shutil.copy(xpi, os.path.join(profile, "extensions", ADDON_ID + ".xpi"))
    with zipfile.ZipFile(os.path.join(profile, "extensions", DRIVER_ID + ".xpi"), "w") as z:
        z.write(os.path.join(HERE, "tb_driver", "manifest.json"), "manifest.json")
        src = open(os.path.join(HERE, "tb_driver", "background.js")).read()
        z.writestr("background.js", src.replace("__PORT__", str(api_port)).replace("__CHOICE__", choice))
    seed = os.path.join(profile, "browser-extension-data", ADDON_ID)
    os.makedirs(seed)
    with open(os.path.join(seed, "storage.js"), "w") as f:
        json.dump({"daemonUrl": "http://127.0.0.1:%d" % api_port, "token": TOKEN, "testDriver": DRIVER_ID}, f)
    with open(os.path.join(profile, "user.js"), "w") as f:
        f.write(user_js(smtp_port))

    log_path = os.path.join(work, "thunderbird.log")
    logf = open(log_path, "wb")
    env = dict(os.environ, MOZ_HEADLESS="1", HOME=work)
    t0 = time.time()
    proc = subprocess.Popen([tb, "--headless", "--no-remote", "--profile", profile], stdout=logf, stderr=logf, env=env)
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
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        logf.close()
        api.shutdown()
        sink.stop()
        log = open(log_path, encoding="utf-8", errors="replace").read()
        errs = [l for l in log.splitlines() if re.search(r"rapport|moz-extension", l, re.I) and re.search(r"error|warn|exception", l, re.I)]
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
