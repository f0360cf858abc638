#!/usr/bin/python3
"""End-to-end tests for rapportd: real clients (swaks, curl, smtplib), a real
upstream (aiosmtpd), a real rapportd. One case per ctest:

    e2e.py RAPPORTD_BINARY CASE

Exit 0 on success; on failure the assertion and rapportd's log are printed.
"""
import base64
import os
import shutil
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import run_case  # noqa: E402
from e2e_lib import CRLF, RawClient, Rapportd, Upstream, free_port, make_cert, message, tempdir, wait_for  # noqa: E402

BIN = None
FAST_RETRY = "[relay]\nretry_initial = 1\nretry_max = 2\n"


def strip_fields(msg, names):
    """What rapportd must deliver: msg without the named header fields."""
    head, body = msg.split(b"\r\n\r\n", 1)
    out, dropping = [], False
    for l in head.split(b"\r\n"):
        if l[:1] in (b" ", b"\t"):
            if not dropping:
                out.append(l)
            continue
        dropping = l.split(b":", 1)[0].lower() in names
        if not dropping:
            out.append(l)
    return b"\r\n".join(out) + b"\r\n\r\n" + body


def spool_log_records(state):
    """{id: spool image} of the valid records in <state>/spool-log, read
    independently of rapportd (format: daemon/lib/spool_log.h)."""
    import hashlib
    import struct
    out = {}
    logdir = os.path.join(state, "spool-log")
    if not os.path.isdir(logdir):
        return out
    for name in sorted(os.listdir(logdir)):
        raw = open(os.path.join(logdir, name), "rb").read()
        magic = b"RAPPORT-SPOOL-LOG 1\n"
        if not raw.startswith(magic):
            continue
        gen = raw[len(magic):len(magic) + 8]
        off = 4096
        while off + 56 <= len(raw):
            h = raw[off:off + 56]
            if h[:8] != b"RSLREC01" or h[8:16] != gen:
                break
            id_len, image_len = struct.unpack("<II", h[16:24])
            body = raw[off + 56:off + 56 + id_len + image_len]
            if id_len == 0 or len(body) != id_len + image_len or hashlib.sha256(body).digest() != h[24:56]:
                break
            out[body[:id_len].decode()] = body[id_len:]
            off = (off + 56 + id_len + image_len + 4095) // 4096 * 4096
    return out


def spool_messages(state):
    """{id: message bytes} of the messages rapportd keeps on disk: spool
    files and spool log records. Removal from the log is not written down,
    so a record of a finished message counts until its segment is reused:
    only ids rapportd still lists as in flight (queued/held/captured rows)
    are taken from the log."""
    def parse(raw):
        head, rest = raw.split(b"\n\n", 1)
        size = [int(l.split()[1]) for l in head.split(b"\n") if l.startswith(b"size ")][0]
        return rest[:size]
    out = {}
    spool = os.path.join(state, "spool")
    for name in os.listdir(spool):
        raw = open(os.path.join(spool, name), "rb").read()
        if raw:
            out[name] = parse(raw)
    kept = {r[0] for r in sqlite3.connect(os.path.join(state, "queue.db")).execute(
        "SELECT id FROM messages WHERE status IN ('queued', 'held', 'captured', 'expired')")}
    for mid, image in spool_log_records(state).items():
        if mid in kept:
            out[mid] = parse(image)
    return out


# --- cases ---------------------------------------------------------------------

def case_clean_relay(w):
    """Clean mail from swaks, curl and smtplib arrives byte-identical (Bcc and
    X-Rapport-Confirm removed, Message-ID kept, dot lines intact)."""
    up = Upstream(w).start()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port).start()
    try:
        body = (b"Hi Anna,\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nline after a lone dot\r\n"
                b"trailing spaces   \r\n\xc3\xa9t\xc3\xa9 8bit\r\n\r\nBen\r\n")
        extra = b"Bcc: secret@example.com,\r\n  other@example.com\r\nX-Rapport-Confirm: abc123\r\n"
        sent = []
        # smtplib
        m1, id1 = message(body=body, extra_headers=extra)
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.sendmail("ben@example.org", ["anna@example.net", "secret@example.com"], m1)
        sent.append(m1)
        # curl
        m2, id2 = message(subject="From curl", body=body)
        p = os.path.join(w, "m2.eml")
        open(p, "wb").write(m2)
        r = subprocess.run(["curl", "-sS", "smtp://127.0.0.1:%d" % d.port, "--mail-from", "ben@example.org",
                            "--mail-rcpt", "anna@example.net", "--upload-file", p], capture_output=True, timeout=20)
        assert r.returncode == 0, r.stderr
        sent.append(m2)
        # swaks (sends the file as DATA; it converts to CRLF itself)
        m3, id3 = message(subject="From swaks", body=body)
        p3 = os.path.join(w, "m3.eml")
        open(p3, "wb").write(m3[:-2])  # swaks ends DATA with its own CRLF "." CRLF
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % d.port, "--from", "ben@example.org",
                            "--to", "anna@example.net", "--data", "@" + p3, "--silent", "2"],
                           capture_output=True, timeout=20)
        assert r.returncode == 0, r.stdout + r.stderr
        sent.append(m3)
        assert wait_for(lambda: up.count() == 3, 15), "upstream got %d of 3" % up.count()
        got = up.contents()
        for m in sent:
            want = strip_fields(m, {b"bcc", b"x-rapport-confirm"})
            assert want in got, "not delivered byte-identical:\n%r\nreceived:\n%r" % (want, got)
        assert all(b"X-Rapport" not in g and b"Bcc:" not in g for g in got)
        assert any(id1.encode() in g for g in got)
        assert wait_for(lambda: [r[1] for r in d.db_rows()] == ["relayed"] * 3, 10), d.db_rows()
        # Bcc'd recipient still got it (envelope), and per-recipient results recorded.
        con = sqlite3.connect(os.path.join(d.state, "queue.db"))
        rc = con.execute("SELECT rcpt, status, code FROM recipients ORDER BY rcpt").fetchall()
        assert ("secret@example.com", "sent", 250) in rc, rc
    finally:
        d.stop()
        up.stop()


def case_starttls_auth_upstream(w):
    """The upstream demands STARTTLS and AUTH; credentials come from a secret
    file and never show in the log."""
    up = Upstream(w, tls=True, user="relayuser", password="s3cret-Pa55").start()
    secret = os.path.join(w, "secret")
    open(secret, "w").write("relayuser:s3cret-Pa55\n")
    os.chmod(secret, 0o600)
    cfg = '[upstream]\nsecret_file = "%s"\nca_file = "%s"\n' % (secret, up.cert)
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg).start()
    try:
        m, mid = message()
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.ehlo()
            s.starttls()  # our own STARTTLS too (self-signed cert; smtplib does not verify by default)
            s.ehlo()
            s.sendmail("ben@example.org", ["anna@example.net"], m)
        assert wait_for(lambda: up.count() == 1, 15), "not delivered through STARTTLS+AUTH upstream\n" + d.log()
        assert up.contents()[0] == m
        assert "s3cret" not in d.log()
        assert os.path.exists(os.path.join(d.state, "tls", "cert.pem"))
    finally:
        d.stop()
        up.stop()


CV_MAIL = (b"From: Jake Turner <jake.turner@gmail.com>\r\nTo: careers@brightwater.co.uk\r\n"
           b"Subject: Warehouse Operative vacancy (ref WH-221)\r\nDate: Mon, 3 Mar 2025 09:12:40 +0000\r\n"
           b"Message-ID: <cv-only-1@gmail.com>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
           b"--XYZ\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
           b"Dear Hiring Manager,\r\n\r\nMy CV is attached.\r\n\r\nKind regards,\r\nJake Turner\r\n\r\n"
           b"--XYZ\r\nContent-Type: application/pdf; name=\"CV_Jake_Turner.pdf\"\r\n"
           b"Content-Disposition: attachment; filename=\"CV_Jake_Turner.pdf\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" +
           base64.encodebytes(b"%PDF-1.4\n" + b"x" * 600).replace(b"\n", b"\r\n") + b"--XYZ--\r\n")


def case_hold_cv(w):
    """A CV-only mail is held under the default policy (250, not relayed) and
    stays held across a restart."""
    up = Upstream(w).start()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port).start()
    try:
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.sendmail("jake.turner@gmail.com", ["careers@brightwater.co.uk"], CV_MAIL)
        time.sleep(1.5)
        rows = d.db_rows()
        assert len(rows) == 1 and rows[0][1] == "held", rows
        assert "cv-attachment-only" in rows[0][3], rows
        d.stop()
        d.start()
        time.sleep(1.5)
        assert up.count() == 0, "held mail was relayed"
        rows = d.db_rows()
        assert rows[0][1] == "held", rows
        assert rows[0][0] in spool_messages(d.state), "held spool file gone"
    finally:
        d.stop()
        up.stop()


def case_reject_findings(w):
    """With a policy that rejects, the client sees 550 5.7.1 and the findings."""
    pol = os.path.join(w, "reject.toml")
    open(pol, "w").write('version = 1\n[rules.unfilled-placeholder]\naction = "reject"\n')
    up = Upstream(w).start()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port, policy=pol).start()
    try:
        m, _ = message(subject="Application for [Company Name]",
                       body=b"Dear {{first_name}},\r\n\r\nI would love to work at [Company Name] as a chef, "
                            b"I have ten years of experience in busy kitchens.\r\n\r\nBen\r\n")
        try:
            with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
                s.sendmail("ben@example.org", ["anna@example.net"], m)
            raise AssertionError("rejected mail was accepted")
        except smtplib.SMTPDataError as e:
            assert e.smtp_code == 550, e
            text = e.smtp_error.decode()
            assert "unfilled-placeholder" in text and "5.7.1" in text, text
            print("reject reply:", text)
        time.sleep(1)
        assert up.count() == 0
        rows = d.db_rows()
        assert rows and rows[0][1] == "rejected", rows
        assert spool_messages(d.state) == {}, spool_messages(d.state)
    finally:
        d.stop()
        up.stop()


def case_upstream_down(w):
    """Upstream down: the client still gets 250 at once; mail is delivered when
    the upstream comes up."""
    port = free_port()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % port, config=FAST_RETRY).start()
    up = None
    try:
        ids = []
        t0 = time.time()
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            for i in range(3):
                m, mid = message(subject="down %d" % i)
                s.sendmail("ben@example.org", ["anna@example.net"], m)
                ids.append(mid)
        assert time.time() - t0 < 2, "client waited for the upstream"
        time.sleep(2.5)
        rows = d.db_rows()
        assert all(r[1] == "queued" for r in rows), rows
        con = sqlite3.connect(os.path.join(d.state, "queue.db"))
        att = con.execute("SELECT max(attempts) FROM messages").fetchone()[0]
        assert att >= 2, "no retries: %s" % att
        up = Upstream(w, port=port).start()
        assert wait_for(lambda: up.count() == 3, 15), "delivered %d of 3 after upstream came up" % up.count()
        assert wait_for(lambda: all(r[1] == "relayed" for r in d.db_rows()), 5), d.db_rows()
    finally:
        d.stop()
        if up:
            up.stop()


def case_sigkill_recovery(w):
    """SIGKILL right after the 250s with a slow upstream: after a restart every
    accepted message arrives (at least once)."""
    port = free_port()
    slow = Upstream(w, port=port, delay=0.7).start()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % port, config="[relay]\nworkers = 2\nretry_initial = 1\n").start()
    n = 20
    ids = []
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
        for i in range(n):
            m, mid = message(subject="kill %d" % i)
            s.sendmail("ben@example.org", ["anna@example.net"], m)
            ids.append(mid)
    d.kill()
    before = slow.count()
    slow.stop()
    assert before < n, "the test needs mail still queued at the kill (got %d)" % before
    time.sleep(0.5)
    up = Upstream(w, port=port).start()
    try:
        d.start()
        def all_there():
            got = b"".join(slow.contents() + up.contents())
            return all(mid.encode() in got for mid in ids)
        assert wait_for(all_there, 30), "lost mail after SIGKILL: %d before kill, %d after" % (before, up.count())
        print("delivered before kill: %d, after restart: %d (of %d accepted)" % (before, up.count(), n))
        print([l for l in d.log().splitlines() if "recovered" in l][-1])
    finally:
        d.stop()
        up.stop()


SMUGGLE = [b"\n.\n", b"\r.\r", b"\r.\n", b"\n.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r"]


def case_smuggling(w):
    """All eight end-of-data look-alikes get 5xx and nothing passes on."""
    up = Upstream(w).start()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port).start()
    try:
        for v in SMUGGLE:
            c = RawClient(d.port)
            assert c.cmd(b"EHLO client.example")[0] == 250
            assert c.cmd(b"MAIL FROM:<ben@example.org>")[0] == 250
            assert c.cmd(b"RCPT TO:<anna@example.net>")[0] == 250
            assert c.cmd(b"DATA")[0] == 354
            c.send(b"Subject: innocent\r\n\r\nhello" + v +
                   b"MAIL FROM:<admin@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
                   b"Subject: smuggled\r\n\r\nevil\r\n.\r\n")
            code, text = c.reply()
            assert code is not None and 500 <= code < 600, "variant %r: %r %r" % (v, code, text)
            extra = c.reply()
            assert extra[0] is None, "variant %r: more replies after the 5xx: %r" % (v, extra)
            c.close()
        # Bare LF / CR in a command line.
        for bad in [b"EHLO a\nMAIL FROM:<x@y>\r\n", b"EHLO a\rMAIL FROM:<x@y>\r\n"]:
            c = RawClient(d.port)
            c.send(bad)
            code, _ = c.reply()
            assert code == 521, (bad, code)
            c.close()
        # CR, LF or NUL inside an envelope address.
        for bad in [b"MAIL FROM:<a\x00b@example.org>", b"MAIL FROM:<a\rb@example.org>"]:
            c = RawClient(d.port)
            c.cmd(b"EHLO a")
            code, _ = c.cmd(bad)
            assert 500 <= code < 600, (bad, code)
            c.close()
        c = RawClient(d.port)
        c.cmd(b"EHLO a")
        c.cmd(b"MAIL FROM:<a@example.org>")
        code, text = c.cmd(b"RCPT TO:<b\x00c@example.net>")
        assert code == 500 and b"NUL" in text, (code, text)  # the line is not interpreted at all
        c.close()
        time.sleep(1.5)
        assert up.count() == 0, "something passed on: %r" % up.contents()
        assert d.db_rows() == []
    finally:
        d.stop()
        up.stop()


def case_limits(w):
    """Oversize mail gets 552 5.3.4 (by SIZE= and by counting); too many
    recipients 452 4.5.3; long lines 5xx."""
    cfg = "[smtp]\nmax_message_size = 100000\nmax_recipients = 3\nmax_data_line = 2000\n"
    up = Upstream(w).start()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg).start()
    try:
        c = RawClient(d.port)
        ehlo = c.cmd(b"EHLO a")[1]
        assert b"SIZE 100000" in ehlo, ehlo
        code, text = c.cmd(b"MAIL FROM:<ben@example.org> SIZE=200000")
        assert code == 552 and b"5.3.4" in text, text
        c.close()
        # No SIZE= announced (smtplib would send one): counted while reading.
        big, _ = message(body=(b"x" * 70 + b"\r\n") * 2000)
        c = RawClient(d.port)
        c.cmd(b"EHLO a")
        assert c.cmd(b"MAIL FROM:<ben@example.org>")[0] == 250
        assert c.cmd(b"RCPT TO:<anna@example.net>")[0] == 250
        assert c.cmd(b"DATA")[0] == 354
        c.send(big + b".\r\n")
        code, text = c.reply()
        assert code == 552 and b"5.3.4" in text, (code, text)
        assert c.cmd(b"NOOP")[0] == 250  # the session goes on
        c.close()
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.ehlo()
            s.mail("ben@example.org")
            for i in range(3):
                assert s.rcpt("r%d@example.net" % i)[0] == 250
            code, text = s.rcpt("r4@example.net")
            assert code == 452 and b"4.5.3" in text, (code, text)
            s.rset()
        longline, _ = message(body=b"y" * 3000 + b"\r\n")
        try:
            with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
                s.sendmail("ben@example.org", ["anna@example.net"], longline)
            raise AssertionError("over-long line accepted")
        except smtplib.SMTPDataError as e:
            assert 500 <= e.smtp_code < 600, e
        c = RawClient(d.port)
        code, _ = c.cmd(b"EHLO " + b"a" * 3000)
        assert code == 500, code
        c.close()
        time.sleep(0.5)
        assert up.count() == 0
    finally:
        d.stop()
        up.stop()


def case_timeouts(w):
    """A client silent too long between commands, or in the middle of DATA,
    gets 421 4.4.2 and is closed; the half-sent message goes nowhere, and
    other sessions are not held up meanwhile."""
    cfg = "[smtp]\ncommand_timeout = 2\ndata_timeout = 2\n"
    up = Upstream(w).start()
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg).start()
    try:
        idle = RawClient(d.port)
        idle.cmd(b"EHLO a")
        stalled = RawClient(d.port)
        stalled.cmd(b"EHLO a")
        assert stalled.cmd(b"MAIL FROM:<ben@example.org>")[0] == 250
        assert stalled.cmd(b"RCPT TO:<anna@example.net>")[0] == 250
        assert stalled.cmd(b"DATA")[0] == 354
        m, _ = message()
        stalled.send(m[: len(m) // 2])  # then nothing
        # Meanwhile a well-behaved client is served at once.
        t0 = time.time()
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.sendmail("ben@example.org", ["anna@example.net"], message()[0])
        assert time.time() - t0 < 1.5, "a stalled session held up another"
        for c, what in ((idle, "command"), (stalled, "data")):
            c.s.settimeout(6)
            code, text = c.reply()
            assert code == 421 and b"4.4.2" in text, (what, code, text)
            assert c.closed(), what + " timeout did not close the connection"
        assert wait_for(lambda: up.count() == 1, 10), up.count()
        time.sleep(0.5)
        assert up.count() == 1 and len(d.db_rows()) == 1, d.db_rows()  # the half message was never taken
        assert "timeout from 127.0.0.1 in DATA" in d.log(), d.log()
    finally:
        d.stop()
        up.stop()


def case_protocol_abuse(w):
    """Postfix-style handling of talkers: pre-greeting bytes, pipelining
    without PIPELINING, DATA followed by blind data, STARTTLS injection,
    idle timeout, error limit, connection limit."""
    cfg = "[smtp]\ncommand_timeout = 1\nmax_connections = 20\n"
    d = Rapportd(BIN, w, config=cfg).start()
    try:
        # Pre-greeting: connect and talk at once.
        s = socket.create_connection(("127.0.0.1", d.port))
        s.sendall(b"EHLO eager\r\n")
        time.sleep(0.05)
        c = RawClient.__new__(RawClient)
        c.s, c.buf = s, b""
        code, text = c.reply()
        # The 220 may have gone out before the bytes arrived; then EHLO is normal.
        if code == 220:
            assert c.reply()[0] == 250
        else:
            assert code == 554, text
        c.close()
        # HELO (no PIPELINING offered) followed by pipelined commands.
        c = RawClient(d.port)
        c.send(b"HELO a\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n")
        code, text = c.reply()
        assert code == 503 and b"pipelining" in text, text
        assert c.closed()
        # DATA followed by the message without waiting for 354.
        c = RawClient(d.port)
        c.cmd(b"EHLO a")
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n")
        replies = [c.reply()[0] for _ in range(3)]
        assert replies == [250, 250, 503], replies
        c.close()
        # STARTTLS with a command pipelined behind it (CVE-2011-0411).
        c = RawClient(d.port)
        c.cmd(b"EHLO a")
        c.send(b"STARTTLS\r\nRSET\r\n")
        assert c.reply()[0] == 503
        c.close()
        # Correct pipelining after EHLO works.
        c = RawClient(d.port)
        c.cmd(b"EHLO a")
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        assert [c.reply()[0] for _ in range(3)] == [250, 250, 354]
        c.send(b"Subject: ok\r\n\r\nfine\r\n.\r\nQUIT\r\n")
        assert c.reply()[0] == 250 and c.reply()[0] == 221
        c.close()
        # Idle client: 421 4.4.2 after command_timeout.
        c = RawClient(d.port)
        t0 = time.time()
        code, text = c.reply()
        assert code == 421 and b"4.4.2" in text and time.time() - t0 < 5, (code, text)
        c.close()
        # Error limit.
        c = RawClient(d.port)
        codes = [c.cmd(b"BOGUS")[0] for _ in range(10)]
        assert codes[-1] == 421 or c.reply()[0] == 421, codes
        c.close()
        # Connection limit.
        socks = [RawClient(d.port) for _ in range(20)]
        extra = RawClient(d.port, read_greeting=False)
        code, text = extra.reply()
        assert code == 421 and b"4.7.0" in text, (code, text)
        for s in socks:
            s.close()
        extra.close()
    finally:
        d.stop()


def case_slow_clients(w):
    """200 concurrent slow clients (half idle mid-command, half dribbling DATA)
    while a normal client is still served promptly."""
    d = Rapportd(BIN, w).start()
    stop = threading.Event()
    try:
        slow = []
        for i in range(200):
            c = RawClient(d.port)
            c.cmd(b"EHLO slow%d" % i)
            if i % 2:
                c.cmd(b"MAIL FROM:<slow@example.org>")
                c.cmd(b"RCPT TO:<x@example.net>")
                c.cmd(b"DATA")
            c.send(b"MAIL FROM:<" if i % 2 == 0 else b"Subject: slow\r\n\r\n")
            slow.append(c)

        def dribble():
            while not stop.is_set():
                for c in slow[1::2]:
                    try:
                        c.send(b"z")
                    except OSError:
                        pass
                time.sleep(0.1)
        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        times = []
        for i in range(5):
            m, _ = message(subject="fast %d" % i)
            t0 = time.time()
            with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
                s.sendmail("ben@example.org", ["anna@example.net"], m)
            times.append(time.time() - t0)
        print("normal client session times with 200 slow clients: %s" % ["%.3f" % x for x in times])
        assert max(times) < 2.0, times
        stop.set()
        t.join()
        for c in slow:
            c.close()
    finally:
        stop.set()
        d.stop()


def case_recipient_results(w):
    """Per-recipient results: a 5xx recipient fails at once (sender gets a
    notice), a 4xx one is retried until the lifetime, the good one is sent."""
    up = Upstream(w).start()
    cfg = FAST_RETRY + "lifetime = 3\n"
    d = Rapportd(BIN, w, upstream="smtp://127.0.0.1:%d" % up.port, config=cfg).start()
    try:
        m, mid = message()
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.sendmail("ben@example.org", ["anna@example.net", "reject-me@example.net", "later@example.net"], m)
        con = lambda: sqlite3.connect(os.path.join(d.state, "queue.db"))
        def final():
            st = dict(con().execute("SELECT rcpt, status FROM recipients").fetchall())
            return st.get("later@example.net") == "failed"
        assert wait_for(final, 15), con().execute("SELECT * FROM recipients").fetchall()
        st = {r[0]: (r[1], r[2]) for r in con().execute("SELECT rcpt, status, code FROM recipients").fetchall()}
        assert st["anna@example.net"] == ("sent", 250), st
        assert st["reject-me@example.net"] == ("failed", 550), st
        # Notices go to the sender, with a null envelope sender.
        assert wait_for(lambda: sum(1 for x in up.messages if x[0] in ("", "<>") and x[1] == ["ben@example.org"]) >= 2, 10), \
            [(x[0], x[1]) for x in up.messages]
        notice = [x[2] for x in up.messages if x[0] in ("", "<>")][0]
        assert b"reject-me@example.net" in notice and b"550" in notice, notice
        att = con().execute("SELECT count(*) FROM attempts").fetchone()[0]
        assert att >= 2, att
    finally:
        d.stop()
        up.stop()


def case_auth_beyond_loopback(w):
    """Listening beyond loopback: refuses to start without users and a
    certificate (jobclub_e2e.py refuse_public has each case); with both,
    MAIL needs AUTH and AUTH needs TLS."""
    d = Rapportd(BIN, w, listen="0.0.0.0:0")
    rc = d.start(expect_fail=True)
    assert rc == 2, rc
    assert "refusing to listen" in d.log(), d.log()
    w2 = os.path.join(w, "b")
    os.makedirs(w2)
    cert, key = make_cert(w2)
    d = Rapportd(BIN, w2, listen="0.0.0.0:0",
                 config='[tls]\ncert = "%s"\nkey = "%s"\n[auth.users]\njake = "correct horse"\n' % (cert, key)).start()
    try:
        c = RawClient(d.port)
        ehlo = c.cmd(b"EHLO a")[1]
        assert b"AUTH" not in ehlo and b"STARTTLS" in ehlo, ehlo
        assert c.cmd(b"MAIL FROM:<a@example.org>")[0] == 530
        assert c.cmd(b"AUTH PLAIN " + base64.b64encode(b"\0jake\0correct horse"))[0] == 538
        c.close()
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.starttls()
            s.ehlo()
            assert "auth" in s.esmtp_features
            try:
                s.login("jake", "wrong")
                raise AssertionError("bad password accepted")
            except smtplib.SMTPAuthenticationError:
                pass
            s.login("jake", "correct horse")
            m, _ = message()
            s.sendmail("ben@example.org", ["anna@example.net"], m)
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:  # AUTH LOGIN, two steps
            s.starttls()
            s.ehlo()
            s.user, s.password = "jake", "correct horse"
            code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            assert code == 235, code
        assert wait_for(lambda: [r[1] for r in d.db_rows()] == ["captured"], 10), d.db_rows()
        assert "correct horse" not in d.log()
    finally:
        d.stop()


def case_capture_mode(w):
    """No upstream: says so at start-up, keeps every message."""
    d = Rapportd(BIN, w).start()
    try:
        assert "capture mode" in d.log()
        m, _ = message()
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.sendmail("ben@example.org", ["anna@example.net"], m)
        assert wait_for(lambda: [r[1] for r in d.db_rows()] == ["captured"], 10), d.db_rows()
        rows = d.db_rows()
        assert spool_messages(d.state) == {rows[0][0]: m}
    finally:
        d.stop()


def case_storage_failure(w):
    """When the spool cannot be written the client gets 451, never 250.
    (Spool log off: its segment files exist already, so an immutable directory would
    not stop its appends; a failing append takes the same 451 path.)"""
    d = Rapportd(BIN, w, config="[spool]\nsegment_size = 0\n").start()
    spool = os.path.join(d.state, "spool")
    try:
        # Root ignores permissions; an immutable directory stops even root.
        if subprocess.run(["chattr", "+i", spool], capture_output=True).returncode != 0:
            print("skipped: chattr +i not supported here")
            return
        m, _ = message()
        try:
            with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
                s.sendmail("ben@example.org", ["anna@example.net"], m)
            raise AssertionError("250 without stable storage")
        except smtplib.SMTPDataError as e:
            assert e.smtp_code == 451 and b"4.3.0" in e.smtp_error, e
        subprocess.run(["chattr", "-i", spool], check=True)
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:  # and it recovers
            s.sendmail("ben@example.org", ["anna@example.net"], m)
    finally:
        subprocess.run(["chattr", "-i", spool], capture_output=True)
        d.stop()


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    global BIN
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print("usage: e2e.py RAPPORTD CASE   (cases: %s)" % " ".join(CASES))
        return 2
    BIN = os.path.abspath(sys.argv[1])
    return run_case(sys.argv[2], CASES[sys.argv[2]])


if __name__ == "__main__":
    sys.exit(main())
