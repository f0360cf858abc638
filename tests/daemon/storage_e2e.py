#!/usr/bin/python3
"""storage_e2e.py - rapportd on a failing disk: every accepted message reaches
the upstream exactly once and nothing is stranded.

    storage_e2e.py RAPPORTD FAULT_LIBRARY CASE

Real rapportd, real SMTP clients (smtplib), a real aiosmtpd upstream. The disk
fails in one of two ways:
  - FAULT_LIBRARY (tests/daemon/sqlite_faults.c) preloaded into the unchanged
    rapportd binary: SQLite writes to queue.db (or history.db) fail with
    SQLITE_FULL when and where a control file says;
  - a real, small tmpfs filled to the last page (case tmpfs_full; needs root
    to mount, and says so with exit status 77 otherwise).
Cases:
  outcome_unrecorded  the upstream accepted, then the disk filled before the
                      "sent" could be written: never sent again; recorded
                      once writes succeed; the log says disk full and shows
                      SQLite's own error
  each_write          a write fails at each step of intake and relaying in
                      turn (the Nth write to queue.db, N = 0, 1, 2, ...)
  stranded_intake     250 given, the state row could not be written: the
                      daemon finishes the message by itself once writes
                      succeed; meanwhile new mail hears 452 4.3.1
  tmpfs_full          the same on a real full filesystem
  checker_failure_log the checker fails in capture mode: the log does not
                      claim the message is relayed
"""
import collections
import json
import os
import shutil
import smtplib
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import run_case  # noqa: E402
from e2e_lib import Rapportd, Upstream, free_port, message, tempdir, wait_for  # noqa: E402

BIN = None
FAULTS = None
FAST_RETRY = "[relay]\nretry_initial = 1\nretry_max = 2\n"


class Faults:
    """The control file of the preloaded fault library, and its failure log."""

    def __init__(self, w):
        self.control = os.path.join(w, "sqlite-faults")
        self.log = os.path.join(w, "sqlite-faults.log")
        self.set("")

    def env(self):
        # The library comes before the ASan runtime in the load order; the
        # check for that is for programs that forgot to link ASan, not this.
        asan = os.environ.get("ASAN_OPTIONS", "")
        return {"LD_PRELOAD": FAULTS, "RAPPORT_SQLITE_FAULTS": self.control,
                "RAPPORT_SQLITE_FAULTS_LOG": self.log,
                "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}

    def set(self, rules):
        tmp = self.control + ".tmp"
        with open(tmp, "w") as f:
            f.write(rules + "\n")
        os.rename(tmp, self.control)  # a new inode: the library reads it again

    def failures(self):
        try:
            return open(self.log).read().count("\n")
        except OSError:
            return 0


def msgid_counts(up):
    """{Message-ID: deliveries} at the upstream."""
    counts = collections.Counter()
    for data in up.contents():
        for line in data.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                counts[line.split(b":", 1)[1].strip().decode()] += 1
                break
    return counts


def rows(state):
    con = sqlite3.connect(os.path.join(state, "queue.db"))
    try:
        return con.execute("SELECT id, status, attempts FROM messages WHERE notice = 0 ORDER BY id").fetchall()
    finally:
        con.close()


def spool_left(state):
    """Spool files still on disk (finished messages leave none)."""
    return sorted(os.listdir(os.path.join(state, "spool")))


def send(port, subject, timeout=10):
    """Sends one message; returns (msgid, None) when accepted, (msgid, (code, text)) when refused."""
    m, mid = message(subject=subject)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as s:
            s.sendmail("ben@example.org", ["anna@example.net"], m)
        return mid, None
    except smtplib.SMTPResponseException as e:
        return mid, (e.smtp_code, e.smtp_error.decode(errors="replace"))
    except smtplib.SMTPSenderRefused as e:
        return mid, (e.smtp_code, e.smtp_error.decode(errors="replace"))


def send_until_accepted(port, subject, seconds=30):
    """Sends again while the daemon answers 4xx (disk full), as a mail client would."""
    end = time.time() + seconds
    while True:
        mid, refused = send(port, subject)
        if not refused:
            return mid
        assert 400 <= refused[0] < 500, refused
        assert time.time() < end, "still refused after %ds: %r" % (seconds, refused)
        time.sleep(0.5)


def api_list(state, status):
    token = open(os.path.join(state, "api-token")).read().strip()
    addr = open(os.path.join(state, "http-address")).read().strip()
    req = urllib.request.Request("http://%s/api/v1/messages?status=%s" % (addr, status),
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)["messages"]


def all_finished(d, up, ids):
    counts = msgid_counts(up)
    return (all(counts[i] >= 1 for i in ids) and all(r[1] == "relayed" for r in rows(d.state)) and
            len(rows(d.state)) == len(ids) and not spool_left(d.state))


# --- cases ---------------------------------------------------------------------

def case_outcome_unrecorded(w):
    """Four queued messages; the upstream comes up and the disk fills the
    moment it accepts the first one: none goes out twice, the log shows
    SQLite's own error (not the ROLLBACK's "cannot rollback - no transaction
    is active") and says disk full."""
    faults = Faults(w)
    port = free_port()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % port, config=FAST_RETRY, env=faults.env()).start()
    up = None
    try:
        ids = [send_until_accepted(d.port, "queued %d" % i) for i in range(4)]
        assert wait_for(lambda: all(r[2] >= 1 for r in rows(d.state)), 10), rows(d.state)  # upstream was down
        filled = []

        def fill_once(envelope):  # the disk fills as the first message is accepted
            if not filled:
                filled.append(True)
                faults.set("queue.db write 0 full")

        up = Upstream(w, port=port, on_data=fill_once).start()
        assert wait_for(lambda: up.count() >= 1, 15), "nothing delivered:\n" + d.log()
        time.sleep(8)  # four retry periods (retry_max = 2): anything re-sent would be here by now
        counts = msgid_counts(up)
        print("deliveries while the disk was full: %s" % dict(counts))
        assert max(counts.values()) == 1, "sent again after the upstream accepted: %s" % dict(counts)
        assert faults.failures() > 0, "the fault was never hit"
        log = d.log()
        assert "cannot rollback" not in log, "SQLite's error was hidden by the rollback's"
        assert "disk full" in log and "database or disk is full" in log, log[-3000:]
        faults.set("")  # space returns
        assert wait_for(lambda: all_finished(d, up, ids), 30), (rows(d.state), dict(msgid_counts(up)), d.log()[-3000:])
        time.sleep(2)
        counts = msgid_counts(up)
        assert all(counts[i] == 1 for i in ids) and len(counts) == 4, dict(counts)
        print("after space returned: %s, rows %s" % (dict(counts), rows(d.state)))
    finally:
        d.stop()
        if up:
            up.stop()


def case_each_write(w):
    """The Nth write to queue.db fails (and every one after it, until the
    test clears the fault), for N = 0, 1, 2, ... until a message goes through
    without reaching the fault: every step of intake (the state row) and of
    relaying (intent, outcome) fails once. Each accepted message reaches the
    upstream exactly once; none is left behind."""
    faults = Faults(w)
    up = Upstream(w).start()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port, config=FAST_RETRY, env=faults.env()).start()
    try:
        ids, n, hit = [], 0, []
        while True:
            before = faults.failures()
            faults.set("queue.db write %d full" % n)
            mid, refused = send(d.port, "write %d" % n)
            time.sleep(1.0)  # let intake, verdict and relay run into the fault
            faults.set("")
            if refused:
                assert 400 <= refused[0] < 500, refused
                mid = send_until_accepted(d.port, "write %d again" % n)
            ids.append(mid)
            assert wait_for(lambda: all_finished(d, up, ids), 30), \
                "write %d: %s %s\n%s" % (n, rows(d.state), dict(msgid_counts(up)), d.log()[-3000:])
            counts = msgid_counts(up)
            assert all(counts[i] == 1 for i in ids), "write %d: delivered twice: %s" % (n, dict(counts))
            failed = faults.failures() - before
            if failed == 0:
                break
            hit.append(n)
            n += 1
            assert n < 60, "more than 60 writes for one message?"
        print("a failing write at each of %d steps (%s); %d messages, each delivered once" % (len(hit), hit, len(ids)))
        assert len(hit) >= 3, "expected intake, intent and outcome writes, got %s" % hit
        log = d.log()
        assert "cannot rollback" not in log, log[-3000:]
    finally:
        d.stop()
        up.stop()


def case_stranded_intake(w):
    """250 is given once the message is on disk; then its state row cannot be
    written: it is listed and relayed once writes succeed, without a
    restart."""
    faults = Faults(w)
    up = Upstream(w).start()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port, config=FAST_RETRY, env=faults.env()).start()
    try:
        faults.set("queue.db write 0 full")
        mid, refused = send(d.port, "stranded")
        assert refused is None, refused  # on disk: 250
        assert wait_for(lambda: "cannot record" in d.log(), 10), d.log()
        # While the queue cannot be written, new mail is refused at MAIL FROM.
        mid2, refused2 = send(d.port, "refused")
        assert refused2 and refused2[0] == 452 and "4.3.1" in refused2[1], refused2
        time.sleep(2)
        assert up.count() == 0
        faults.set("")
        assert wait_for(lambda: all_finished(d, up, [mid]), 30), (rows(d.state), d.log()[-3000:])
        listed = [m["id"] for m in api_list(d.state, "relayed")]
        assert listed == [rows(d.state)[0][0]], listed
        mid2 = send_until_accepted(d.port, "accepted again")
        assert wait_for(lambda: all_finished(d, up, [mid, mid2]), 30), rows(d.state)
        time.sleep(1)
        counts = msgid_counts(up)
        assert counts[mid] == 1 and counts[mid2] == 1 and len(counts) == 2, dict(counts)
    finally:
        d.stop()
        up.stop()


def case_checker_failure_log(w):
    """The checker fails (history.db unreadable) in capture mode: the message
    is kept, and the log says so instead of 'relaying unchecked'."""
    faults = Faults(w)
    d = Rapportd(BIN, w, env=faults.env()).start()
    try:
        faults.set("history.db any 0 ioerr")
        mid, refused = send(d.port, "checker down")
        assert refused is None, refused
        assert wait_for(lambda: "checker failed" in d.log(), 10), d.log()
        assert wait_for(lambda: [r[1] for r in rows(d.state)] == ["captured"], 10), rows(d.state)
        line = [l for l in d.log().splitlines() if "checker failed" in l][0]
        print(line)
        assert "relaying" not in line and "capture" in line, line
    finally:
        faults.set("")
        d.stop()


class Tmpfs:
    def __init__(self, path, size):
        self.path = path
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path], check=True)

    def fill(self):
        """Writes a file until the filesystem has no page left."""
        filler = os.path.join(self.path, "filler")
        with open(filler, "ab", buffering=0) as f:
            for chunk in (1 << 20, 4096, 1):
                try:
                    while True:
                        f.write(b"\0" * chunk)
                except OSError:
                    pass
        return filler

    def free(self):
        try:
            os.unlink(os.path.join(self.path, "filler"))
        except FileNotFoundError:
            pass

    def umount(self):
        subprocess.run(["umount", "-l", self.path], capture_output=True)


def case_tmpfs_full(w):
    """A real 24 MiB tmpfs filled to its last page: (1) the upstream accepts a
    message and the disk fills before "sent" is recorded: it goes out once;
    (2) a message spooled into the preallocated spool log whose row cannot be
    written is finished once space returns; (3) meanwhile new mail gets 4xx."""
    if os.geteuid() != 0:
        print("SKIPPED: mounting a tmpfs needs root (the fault-injection cases run everywhere)")
        return 77
    disk = Tmpfs(os.path.join(w, "disk"), "24m")
    filled = []

    def fill_once(envelope):
        if not filled:
            filled.append(disk.fill())

    up = Upstream(w, on_data=fill_once).start()
    cfg = FAST_RETRY + "[spool]\nsegment_size = 262144\nready_segments = 2\nmax_segments = 8\nthreads = 2\n"
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg,
                 state=os.path.join(disk.path, "state"))
    try:
        d.start()
        assert wait_for(lambda: "spool: log ready" in d.log(), 10), d.log()
        # (1) delivered, then the disk is full before the outcome is written.
        m1 = send_until_accepted(d.port, "first")
        assert wait_for(lambda: filled and up.count() >= 1, 15), d.log()
        time.sleep(6)
        assert msgid_counts(up)[m1] == 1, "sent again on a full disk: %s" % dict(msgid_counts(up))
        assert "disk full" in d.log(), d.log()[-3000:]
        _, refused = send(d.port, "while full")
        assert refused and 400 <= refused[0] < 500, refused
        disk.free()
        assert wait_for(lambda: all_finished(d, up, [m1]), 30), (rows(d.state), d.log()[-3000:])
        # (2) the disk fills again; the spool log still has room (preallocated), the queue does not.
        disk.fill()
        before = d.log().count("cannot record")
        m2, refused = send(d.port, "into the spool log")
        assert refused is None, refused
        assert wait_for(lambda: d.log().count("cannot record") > before, 10), \
            "the row was written on a full disk; the test proves nothing:\n" + d.log()[-3000:]
        time.sleep(2)
        assert msgid_counts(up)[m2] == 0
        disk.free()
        assert wait_for(lambda: all_finished(d, up, [m1, m2]), 30), (rows(d.state), d.log()[-3000:])
        time.sleep(1)
        counts = msgid_counts(up)
        assert counts[m1] == 1 and counts[m2] == 1, dict(counts)
        print("on a real full tmpfs: %s" % dict(counts))
    finally:
        d.stop()
        up.stop()
        disk.umount()
    return 0


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    global BIN, FAULTS
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print("usage: storage_e2e.py RAPPORTD FAULT_LIBRARY CASE   (cases: %s)" % " ".join(CASES))
        return 2
    BIN, FAULTS = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    return run_case(sys.argv[3], CASES[sys.argv[3]])


if __name__ == "__main__":
    sys.exit(main())
