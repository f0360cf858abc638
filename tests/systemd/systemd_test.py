#!/usr/bin/python3
"""rapportd under a service manager, without one: what rapportd.service relies on.

    systemd_test.py RAPPORTD_BINARY CASE

The test plays systemd's part itself: a NOTIFY_SOCKET datagram socket that
collects sd_notify messages, WATCHDOG_USEC, JOURNAL_STREAM, and listening
sockets handed over by systemd-socket-activate (systemd's own tool). Cases:

  notify            READY=1 only once both listeners accept; STATUS=; WATCHDOG=1
                    pings at half WATCHDOG_USEC; STOPPING=1 and exit 0 on SIGTERM
  reload            SIGHUP re-reads the policy: a rule that relayed now holds, on
                    the same open SMTP connection and in /api/v1/analyze;
                    RELOADING=1 then READY=1; a broken policy is logged with
                    file:line:col, the old one kept
  reload_reject     a reload that brings a reject rule: the next message on the
                    open connection gets 550 with the findings
  socket_activation named sockets (FileDescriptorName smtp/http) are adopted
  socket_unnamed    unnamed sockets are matched by the configured ports
  journal           with stderr on the journal: "<N>" priorities, no timestamps
"""
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from e2e_lib import Upstream, free_port, message, tempdir, wait_for  # noqa: E402

BIN = None


class Notify:
    """A NOTIFY_SOCKET: collects every sd_notify datagram, in order."""

    def __init__(self, workdir):
        self.path = os.path.join(workdir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.msgs, self.lock, self.done = [], threading.Lock(), False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(), data.decode()))

    def all(self):
        with self.lock:
            return list(self.msgs)

    def fields(self):
        """Every KEY=VALUE line received, in order."""
        return [l for _, m in self.all() for l in m.split("\n") if l]

    def wait(self, line, timeout=20, after=0):
        return wait_for(lambda: line in self.fields()[after:], timeout)

    def close(self):
        self.done = True
        self.sock.close()


class Daemon:
    """rapportd (or a launcher in front of it) with a given environment."""

    def __init__(self, workdir, args, env=None, prefix=()):
        self.workdir = workdir
        self.state = os.path.join(workdir, "state")
        self.log_path = os.path.join(workdir, "rapportd.log")
        self.logf = open(self.log_path, "ab")
        full_env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                  "LISTEN_FDNAMES", "JOURNAL_STREAM"):
            full_env.pop(k, None)
        full_env.update(env or {})
        cmd = list(prefix) + [BIN, "--state", self.state] + args
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=self.logf, env=full_env)

    def address(self, name):
        p = os.path.join(self.state, name)
        assert wait_for(lambda: os.path.exists(p) and open(p).read().endswith("\n") or self.proc.poll() is not None,
                        30), "no " + name
        assert self.proc.poll() is None, "rapportd exited:\n" + self.log()
        return int(open(p).read().strip().rsplit(":", 1)[1])

    def log(self):
        return open(self.log_path, errors="replace").read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def rows(self):
        import sqlite3
        con = sqlite3.connect(os.path.join(self.state, "queue.db"))
        try:
            return con.execute("SELECT id, status, findings FROM messages ORDER BY rowid").fetchall()
        finally:
            con.close()


def smtp_greeting(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        return s.recv(512)


def http_status(port, path="/"):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def analyze(d, raw):
    """POST /api/v1/analyze (the add-on's check) -> the action."""
    import json
    token = open(os.path.join(d.state, "api-token")).read().strip()
    req = urllib.request.Request("http://127.0.0.1:%d/api/v1/analyze" % d.address("http-address"), data=raw,
                                 method="POST", headers={"Authorization": "Bearer " + token,
                                                         "Content-Type": "message/rfc822"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["action"]


PLACEHOLDER_BODY = b"Dear {{first_name}},\r\n\r\nThanks for the chat yesterday.\r\n\r\nBen\r\n"


def policy(action):
    return 'version = 1\n[rules.unfilled-placeholder]\naction = "%s"\n' % action


# --- cases -------------------------------------------------------------------

def case_notify(w):
    n = Notify(w)
    d = Daemon(w, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"],
               env={"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "400000"})
    try:
        assert n.wait("READY=1"), "no READY=1: %r\n%s" % (n.all(), d.log())
        # READY means both listeners accept now.
        assert smtp_greeting(d.address("smtp-address")).startswith(b"220 "), "SMTP not up at READY"
        assert http_status(d.address("http-address"), "/api/v1/stats") in (200, 401, 403), "HTTP not up at READY"
        status = [f for f in n.fields() if f.startswith("STATUS=")]
        assert any("SMTP 127.0.0.1:" in s and "held" in s for s in status), status
        # Watchdog: every 200 ms (half of 400 ms); over 1.5 s expect several.
        time.sleep(1.5)
        pings = [t for t, m in n.all() if "WATCHDOG=1" in m.split("\n")]
        assert len(pings) >= 5, "only %d WATCHDOG=1 in 1.5 s: %r" % (len(pings), n.all())
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert max(gaps) < 0.4, "watchdog gap %.3f s >= WATCHDOG_USEC" % max(gaps)
        assert "watchdog: pinging systemd every 200 ms" in d.log(), d.log()
        rc = d.stop()
        assert rc == 0, "exit %s" % rc
        assert "STOPPING=1" in n.fields(), n.all()
    finally:
        d.stop()
        n.close()


def case_reload(w):
    pol = os.path.join(w, "policy.toml")
    open(pol, "w").write(policy("warn"))
    up = Upstream(w).start()
    n = Notify(w)
    d = Daemon(w, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--policy", pol,
                   "--upstream", "smtp://127.0.0.1:%d" % up.port], env={"NOTIFY_SOCKET": n.path})
    try:
        assert n.wait("READY=1"), d.log()
        s = smtplib.SMTP("127.0.0.1", d.address("smtp-address"), timeout=10)
        s.ehlo()
        m1, _ = message(subject="Tuesday", body=PLACEHOLDER_BODY)
        s.sendmail("ben@example.org", ["anna@example.net"], m1)
        assert wait_for(lambda: up.count() == 1, 15), "warn policy: not relayed\n" + d.log()
        assert analyze(d, m1) == "warn"

        # The rule now holds; the same SMTP connection stays open across the reload.
        open(pol, "w").write(policy("hold"))
        before = len(n.fields())
        d.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "reload: policy %s loaded" % pol in d.log(), 10), d.log()
        assert n.wait("READY=1", after=before), n.all()
        after = n.fields()[before:]
        assert after.index("RELOADING=1") < after.index("READY=1"), after
        assert any(f.startswith("MONOTONIC_USEC=") for f in after), after
        m2, _ = message(subject="Wednesday", body=PLACEHOLDER_BODY)
        s.sendmail("ben@example.org", ["anna@example.net"], m2)
        assert wait_for(lambda: len(d.rows()) == 2, 15), d.rows()
        time.sleep(0.5)
        assert d.rows()[1][1] == "held", d.rows()
        assert "unfilled-placeholder" in d.rows()[1][2], d.rows()
        assert up.count() == 1, "held mail relayed"
        assert analyze(d, m2) == "hold", "/api/v1/analyze still on the old policy"

        # A broken policy: logged at error with file:line:col, the old one kept.
        open(pol, "w").write('version = 1\n[rules.unfilled-placeholder]\naction = "maybe"\n')
        d.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "error: reload: policy: " + pol + ":3:" in d.log(), 10), d.log()
        assert "keeping the previous policy" in d.log()
        assert d.proc.poll() is None, "rapportd died on a bad policy"
        m3, _ = message(subject="Thursday", body=PLACEHOLDER_BODY)
        s.sendmail("ben@example.org", ["anna@example.net"], m3)  # same connection still
        assert wait_for(lambda: len(d.rows()) == 3, 15), d.rows()
        time.sleep(0.5)
        assert d.rows()[2][1] == "held", "old policy not kept: %r" % (d.rows(),)
        assert analyze(d, m3) == "hold"
        s.quit()
        assert d.stop() == 0
    finally:
        d.stop()
        up.stop()
        n.close()


def case_reload_reject(w):
    pol = os.path.join(w, "policy.toml")
    open(pol, "w").write(policy("warn"))
    up = Upstream(w).start()
    d = Daemon(w, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--policy", pol,
                   "--upstream", "smtp://127.0.0.1:%d" % up.port])
    try:
        s = smtplib.SMTP("127.0.0.1", d.address("smtp-address"), timeout=10)
        m1, _ = message(subject="Tuesday", body=PLACEHOLDER_BODY)
        s.sendmail("ben@example.org", ["anna@example.net"], m1)
        assert wait_for(lambda: up.count() == 1, 15), d.log()
        open(pol, "w").write(policy("reject"))
        d.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "reload: policy %s loaded" % pol in d.log(), 10), d.log()
        m2, _ = message(subject="Wednesday", body=PLACEHOLDER_BODY)
        try:
            s.sendmail("ben@example.org", ["anna@example.net"], m2)
            raise AssertionError("accepted after a reload to reject")
        except smtplib.SMTPDataError as e:
            assert e.smtp_code == 550 and b"unfilled-placeholder" in e.smtp_error, e
        s.quit()
        time.sleep(0.5)
        assert up.count() == 1
        assert d.stop() == 0
    finally:
        d.stop()
        up.stop()


def socket_activated(w, names, order):
    """rapportd behind systemd-socket-activate with two listening sockets."""
    ports = {"smtp": free_port(), "http": free_port()}
    act = shutil.which("systemd-socket-activate")
    assert act, "systemd-socket-activate missing (package systemd)"
    n = Notify(w)
    prefix = [act]
    for k in order:
        prefix += ["-l", "127.0.0.1:%d" % ports[k]]
    if names:
        prefix += ["--fdname=" + ":".join(order)]
    prefix += ["-E", "NOTIFY_SOCKET=" + n.path]
    # With names the configured ports are ignored (deliberately wrong here);
    # without, rapportd matches the sockets by these ports.
    cfg_ports = ports if not names else {"smtp": 1, "http": 2}
    d = Daemon(w, ["--listen", "127.0.0.1:%d" % cfg_ports["smtp"], "--http", "127.0.0.1:%d" % cfg_ports["http"]],
               prefix=prefix)
    try:
        # systemd-socket-activate starts rapportd on the first connection;
        # that connection waits in the backlog and gets the greeting.
        assert wait_for(lambda: "Listening on" in d.log() or d.proc.poll() is not None, 10), d.log()
        time.sleep(0.3)
        g = smtp_greeting(ports["smtp"])
        assert g.startswith(b"220 "), g
        assert n.wait("READY=1"), d.log()
        assert http_status(ports["http"], "/api/v1/stats") in (200, 401, 403)
        log = d.log()
        assert "socket activation: SMTP on 127.0.0.1:%d" % ports["smtp"] in log, log
        assert "socket activation: HTTP on 127.0.0.1:%d" % ports["http"] in log, log
        assert d.address("smtp-address") == ports["smtp"]
        assert d.address("http-address") == ports["http"]
        with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=10) as s:
            s.sendmail("ben@example.org", ["anna@example.net"], message()[0])
        assert wait_for(lambda: len(d.rows()) == 1, 10), d.log()
        assert d.stop() == 0
    finally:
        d.stop()
        n.close()


def case_socket_activation(w):
    socket_activated(w, names=True, order=["http", "smtp"])


def case_socket_unnamed(w):
    socket_activated(w, names=False, order=["http", "smtp"])


def case_journal(w):
    pol = os.path.join(w, "policy.toml")
    open(pol, "w").write(policy("warn"))
    log_path = os.path.join(w, "rapportd.log")
    open(log_path, "ab").close()
    st = os.stat(log_path)
    d = Daemon(w, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--policy", pol],
               env={"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
    try:
        d.address("smtp-address")
        open(pol, "w").write("version = 1\n[rules.nope]\n")
        d.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "reload: policy" in d.log(), 10), d.log()
        assert d.stop() == 0
        lines = d.log().splitlines()
        assert any(l.startswith("<6>listening on 127.0.0.1:") for l in lines), lines
        assert any(l.startswith("<3>error: reload: policy: " + pol + ":2:") for l in lines), lines
        # Every rapportd line carries a priority and no timestamp.
        assert all(l[:1] == "<" and l[2:3] == ">" for l in lines if l.strip()), lines
        assert " rapportd: " not in d.log()
    finally:
        d.stop()
    # Not the journal (JOURNAL_STREAM names another file): plain lines, as before.
    w2 = os.path.join(w, "plain")
    os.mkdir(w2)
    d = Daemon(w2, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"],
               env={"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
    try:
        d.address("smtp-address")
        assert d.stop() == 0
        lines = [l for l in d.log().splitlines() if l.strip()]
        assert lines and all(" rapportd: " in l and l[:1] != "<" for l in lines), lines
    finally:
        d.stop()


def main():
    global BIN
    BIN = os.path.abspath(sys.argv[1])
    case = sys.argv[2]
    w = tempdir("systemd-" + case)
    ok = False
    try:
        globals()["case_" + case](w)
        ok = True
    except Exception:
        traceback.print_exc()
        log = os.path.join(w, "rapportd.log")
        if os.path.exists(log):
            print("--- rapportd.log ---\n" + open(log, errors="replace").read()[-6000:])
    finally:
        if ok:
            shutil.rmtree(w, ignore_errors=True)
    print(("PASS " if ok else "FAIL ") + case)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
