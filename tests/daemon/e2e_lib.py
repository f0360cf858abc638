"""e2e_lib.py - real parts for rapportd's end-to-end tests.

A real upstream (aiosmtpd, in this process, optionally STARTTLS + AUTH), a real
rapportd (subprocess, port 0, its own state dir), raw-socket SMTP for the
protocol-abuse cases. Run with /usr/bin/python3 (Debian's, which has aiosmtpd).
Nothing here binds a fixed port.
"""
import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import traceback

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

CRLF = b"\r\n"
# Non-zero exits after SIGTERM (a sanitizer report ends that way); checked by e2e.py.
EXIT_PROBLEMS = []


def sanitizer_reports(workdir):
    """Sanitizer findings in any rapportd log under workdir."""
    found = []
    for root, _, files in os.walk(workdir):
        for f in files:
            if f == "rapportd.log":
                text = open(os.path.join(root, f), errors="replace").read()
                for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                    if marker in text:
                        found.append("%s in %s" % (marker, os.path.join(root, f)))
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def make_cert(directory, cn="localhost"):
    """Self-signed cert for 127.0.0.1/localhost via the openssl CLI."""
    cert, key = os.path.join(directory, "up-cert.pem"), os.path.join(directory, "up-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


class _Handler:
    def __init__(self, up):
        self.up = up

    async def handle_DATA(self, server, session, envelope):
        if self.up.delay:
            await asyncio.sleep(self.up.delay)
        with self.up.lock:
            self.up.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                     session.authenticated if hasattr(session, "authenticated") else None))
        if self.up.on_data:
            self.up.on_data(envelope)  # e.g. fill the disk between delivery and rapportd's bookkeeping
        return "250 2.0.0 OK queued"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject"):
            return "550 5.1.1 no such user"
        if address.lower().startswith("later"):
            return "450 4.2.1 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class Upstream:
    """aiosmtpd upstream. tls=True: STARTTLS required, AUTH required over TLS."""

    def __init__(self, workdir, port=None, tls=False, user=None, password=None, delay=0.0, on_data=None):
        self.port = port or free_port()
        self.messages, self.lock, self.delay = [], threading.Lock(), delay
        self.on_data = on_data  # called with each envelope after it is stored, before the 250
        kwargs = {}
        self.cert = None
        if tls:
            self.cert, key = make_cert(workdir)
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.cert, key)
            def auth(server, session, envelope, mechanism, data):
                ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
                return AuthResult(success=ok)
            kwargs = dict(tls_context=ctx, require_starttls=True, auth_required=True,
                          auth_require_tls=True, authenticator=auth)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     data_size_limit=50 * 1024 * 1024, **kwargs)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def count(self):
        with self.lock:
            return len(self.messages)

    def contents(self):
        with self.lock:
            return [m[2] for m in self.messages]


class Rapportd:
    def __init__(self, binary, workdir, upstream=None, config="", policy=None, listen="127.0.0.1:0", env=None,
                 state=None):
        self.binary, self.workdir = binary, workdir
        self.env = env  # extra environment variables (e.g. the SQLite fault library)
        self.state = state or os.path.join(workdir, "state")
        self.upstream, self.policy, self.listen = upstream, policy, listen
        self.config_path = os.path.join(workdir, "rapportd.toml")
        with open(self.config_path, "w") as f:
            f.write(config)
        os.chmod(self.config_path, 0o600)
        self.log_path = os.path.join(workdir, "rapportd.log")
        self.proc, self.port = None, None

    def args(self):
        a = [self.binary, "--config", self.config_path, "--listen", self.listen, "--state", self.state,
             "--http", "127.0.0.1:0"]
        if self.upstream:
            a += ["--upstream", self.upstream]
        if self.policy:
            a += ["--policy", self.policy]
        return a

    def start(self, expect_fail=False):
        addr = os.path.join(self.state, "smtp-address")
        if os.path.exists(addr):
            os.unlink(addr)
        self.logf = open(self.log_path, "ab")
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen(self.args(), stdout=self.logf, stderr=self.logf, env=env)
        if expect_fail:
            return self.proc.wait(timeout=20)
        ok = wait_for(lambda: os.path.exists(addr) and open(addr).read().endswith("\n") or self.proc.poll() is not None, 30)
        if not ok or self.proc.poll() is not None:
            raise RuntimeError("rapportd did not start:\n" + self.log())
        self.port = int(open(addr).read().strip().rsplit(":", 1)[1])
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
            if self.proc.returncode != 0:
                EXIT_PROBLEMS.append("rapportd exited %s after SIGTERM (%s)" % (self.proc.returncode, self.log_path))
        return self.proc.returncode if self.proc else None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logf.close()

    def log(self):
        try:
            return open(self.log_path, errors="replace").read()
        except OSError:
            return ""

    def db_rows(self):
        import sqlite3
        con = sqlite3.connect(os.path.join(self.state, "queue.db"))
        try:
            return con.execute("SELECT id, status, action, findings, mail_from FROM messages ORDER BY id").fetchall()
        finally:
            con.close()


class RawClient:
    """A socket speaking SMTP byte by byte, for the cases real clients refuse to produce."""

    def __init__(self, port, timeout=10, read_greeting=True, source=None):
        # source: another loopback address (127.0.0.2, ...) stands for another client machine.
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                          source_address=(source, 0) if source else None)
        self.buf = b""
        if read_greeting:
            self.greeting = self.reply()

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """One whole (possibly multi-line) reply as (code, text); (None, b'') on EOF."""
        lines = []
        while True:
            while CRLF not in self.buf:
                try:
                    chunk = self.s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    chunk = b""
                if not chunk:
                    return (None, b"".join(lines))
                self.buf += chunk
            line, self.buf = self.buf.split(CRLF, 1)
            lines.append(line + CRLF)
            if len(line) < 4 or line[3:4] == b" ":
                return (int(line[:3]), b"".join(lines))

    def cmd(self, line):
        self.send(line + CRLF)
        return self.reply()

    def closed(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def message(subject="Hello", body=b"Hi Anna,\r\n\r\nSee you at ten.\r\n\r\nBen\r\n", frm="ben@example.org",
            to="anna@example.net", extra_headers=b"", msgid=None):
    msgid = msgid or ("<%s@example.org>" % os.urandom(8).hex())
    head = (b"From: Ben <" + frm.encode() + b">\r\nTo: Anna <" + to.encode() + b">\r\nSubject: " +
            subject.encode() + b"\r\nDate: Mon, 3 Mar 2025 09:12:40 +0000\r\nMessage-ID: " + msgid.encode() +
            b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" + extra_headers + b"\r\n")
    return head + body, msgid


def tempdir(name):
    return tempfile.mkdtemp(prefix="rapport-e2e-%s-" % name)


def run_case(name, body):
    """Runs body(workdir) for one test case in a new work directory and returns
    the exit status for CTest: 0 when it passed, 77 when body returned 77
    (skipped), 1 when it raised or a rapportd left a sanitizer report. A
    failure prints the end of rapportd's log and keeps the work directory."""
    w = tempdir(name)
    try:
        rc = 77 if body(w) == 77 else 0
        problems = EXIT_PROBLEMS + sanitizer_reports(w)
        assert not problems, "\n".join(problems)
    except Exception:
        traceback.print_exc()
        log = os.path.join(w, "rapportd.log")
        if os.path.exists(log):
            print("---- rapportd log ----")
            print(open(log, errors="replace").read()[-6000:])
        print("(work dir kept: %s)" % w)
        return 1
    shutil.rmtree(w, ignore_errors=True)
    print("ok" if rc == 0 else "skipped", name)
    return rc
