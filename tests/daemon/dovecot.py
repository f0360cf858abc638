"""dovecot.py - a throw-away Dovecot IMAP server for the reply ledger's tests.

A real Dovecot (package dovecot-imapd) on free loopback ports in a temporary
folder, started in the foreground and stopped by its PID: one account
(alice), Maildir, TLS with a certificate made here and signed by a CA made
here (rapportd verifies it against that CA: [imap] ca_file), STARTTLS on the
imap port and TLS from the first byte on the imaps port. Mail goes in with
IMAP APPEND (imaplib), over TLS too. See
../shared/recipes/dovecot-and-postgresql-in-tests.md for how this machine
runs it, as root and as an ordinary user.

    with Dovecot(workdir) as d:            # idle=False: a server without IDLE or CONDSTORE
        d.append(b"From: ...\\r\\n...", folder="INBOX")
        d.deliver_many([b"...", b"..."])   # thousands, written into the Maildir and indexed
        d.flags("INBOX")                   # {uid: flags}, to check nothing was marked \\Seen
        d.imap_pids()                      # the processes serving IMAP sessions now
        d.sessions()                       # [(in_bytes, out_bytes)] of each IMAP session that ended
"""
import imaplib
import os
import re
import pwd
import grp
import shutil
import signal
import socket
import ssl
import subprocess
import time

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ca_and_cert(directory, other_ca=False):
    """A CA and a server certificate it signed, for 127.0.0.1 and localhost, valid
    for 30 days (ledger_e2e.py's scripted week runs rapportd's clock days ahead).
    Returns (ca_cert, server_cert, server_key). other_ca: a second, unrelated CA too
    (returned as ca_cert, to test a certificate that must not verify)."""
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True, cwd=directory)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "30", "-subj", "/CN=Rapport test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                "basicConstraints=CA:FALSE\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
        "-CAcreateserial", "-out", "server.pem", "-days", "30", "-extfile", "server.ext")
    ca = os.path.join(directory, "ca.pem")
    if other_ca:
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "other-ca-key.pem", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=Someone else's CA")
        ca = os.path.join(directory, "other-ca.pem")
    return ca, os.path.join(directory, "server.pem"), os.path.join(directory, "server-key.pem")


class Dovecot:
    USER, PASSWORD = "alice", "correct horse battery"

    def __init__(self, workdir, idle=True):
        self.dir = os.path.join(workdir, "dovecot")
        os.makedirs(self.dir)
        self.idle = idle
        self.port, self.tls_port = _free_port(), _free_port()
        self.proc = None
        self.ca, self.cert, self.key = make_ca_and_cert(self.dir)

    # -- set-up -------------------------------------------------------------
    def _config(self):
        d = self.dir
        root = os.geteuid() == 0
        if root:
            mail_uid = pwd.getpwnam("nobody").pw_uid
            mail_gid = grp.getgrnam("nogroup").gr_gid
            users = "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
            chroots = ""
        else:
            mail_uid, mail_gid = os.geteuid(), os.getegid()
            me = pwd.getpwuid(mail_uid).pw_name
            group = grp.getgrgid(mail_gid).gr_name
            users = ("default_internal_user = %s\ndefault_login_user = %s\ndefault_internal_group = %s\n"
                     % (me, me, group))
            chroots = "".join("service %s {\n  chroot =\n}\n" % s for s in ("anvil", "auth", "auth-worker"))
        home = os.path.join(d, "mail", self.USER)
        os.makedirs(home)
        for p in (d, os.path.join(d, "mail")):
            os.chmod(p, 0o711)
        if root:
            os.chown(home, mail_uid, mail_gid)
        with open(os.path.join(d, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s:%d:%d::%s::\n" % (self.USER, self.PASSWORD, mail_uid, mail_gid, home))
        # Without IDLE (and CONDSTORE): what the server announces once signed in.
        caps = "" if self.idle else "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS\n"
        login_chroot = "" if root else "  chroot =\n"
        conf = """protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
instance_name = rapport-test-{port}
{users}first_valid_uid = 1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
{caps}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
service imap-login {{
{login_chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
{chroots}""".format(d=d, port=self.port, tls_port=self.tls_port, users=users, cert=self.cert, key=self.key,
                    caps=caps, login_chroot=login_chroot, chroots=chroots)
        path = os.path.join(d, "dovecot.conf")
        with open(path, "w") as f:
            f.write(conf)
        return path

    def start(self):
        conf = self._config() if self.proc is None and not os.path.exists(os.path.join(self.dir, "dovecot.conf")) \
            else os.path.join(self.dir, "dovecot.conf")
        self.proc = subprocess.Popen([DOVECOT, "-c", conf, "-F"], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr.log"), "ab"))
        end = time.time() + 20
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited: " + self.log())
            try:
                with socket.create_connection(("127.0.0.1", self.tls_port), timeout=1):
                    pass
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start: " + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self):
        out = ""
        for name in ("dovecot.log", "stderr.log"):
            try:
                out += open(os.path.join(self.dir, name), errors="replace").read()
            except OSError:
                pass
        return out

    # -- mail ---------------------------------------------------------------
    def client(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        c = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=ctx)
        c.login(self.USER, self.PASSWORD)
        return c

    def append(self, message, folder="INBOX"):
        """APPENDs one message (no flags: it arrives unread) and returns the time it took."""
        c = self.client()
        try:
            t0 = time.time()
            typ, data = c.append(folder, None, None, message)
            if typ != "OK":
                raise RuntimeError("APPEND failed: %r" % data)
            return time.time() - t0
        finally:
            c.logout()

    def deliver_many(self, messages, mtime=None):
        """Puts messages straight into the INBOX's Maildir (cur/, unread), the
        way a delivery agent writes files - thousands in a fraction of a
        second, where as many APPENDs take minutes - then has Dovecot index
        them (STATUS), so that the next client finds a mailbox in its usual
        state. Their internal date is the files' time (`mtime`, default now).
        Returns the number of messages the INBOX then holds."""
        c = self.client()  # signing in once makes the Maildir
        try:
            c.select("INBOX", readonly=True)
        finally:
            c.logout()
        maildir = os.path.join(self.dir, "mail", self.USER, "Maildir")
        owner = os.stat(maildir)
        host = socket.gethostname().replace("/", "_").replace(":", "_")
        t = int(time.time())
        for i, m in enumerate(messages):
            path = os.path.join(maildir, "cur", "%d.M%dP%d.%s,S=%d:2," % (t, i, os.getpid(), host, len(m)))
            with open(path, "wb") as f:
                f.write(m)
            os.chown(path, owner.st_uid, owner.st_gid)
            if mtime is not None:
                os.utime(path, (mtime, mtime))
        c = self.client()
        try:
            typ, data = c.status("INBOX", "(MESSAGES)")
            return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
        finally:
            c.logout()

    def imap_pids(self):
        """The PIDs of the imap processes (one per signed-in session) under this Dovecot."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = open("/proc/%s/stat" % entry).read()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if comm == "imap" and self.proc and ppid == self.proc.pid:
                pids.append(int(entry))
        return pids

    def sessions(self):
        """(in, out) bytes of each IMAP session that has ended, from Dovecot's log."""
        return [(int(a), int(b)) for a, b in re.findall(r"imap\(alice\).*? in=(\d+) out=(\d+)", self.log())]

    def create(self, folder):
        c = self.client()
        try:
            c.create(folder)
        finally:
            c.logout()

    def delete(self, folder):
        c = self.client()
        try:
            c.delete(folder)
        finally:
            c.logout()

    def uidvalidity(self, folder="INBOX"):
        c = self.client()
        try:
            typ, data = c.status(folder, "(UIDVALIDITY)")
            return int(data[0].split(b"UIDVALIDITY ")[1].split(b")")[0])
        finally:
            c.logout()

    def flags(self, folder="INBOX"):
        """{uid: flags string} of every message, read with EXAMINE (read-only, changes nothing)."""
        c = self.client()
        try:
            c.select(folder, readonly=True)
            typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
            out = {}
            for item in data:
                if not item:
                    continue
                text = item.decode() if isinstance(item, bytes) else item[0].decode()
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                out[uid] = text.split("FLAGS (")[1].split(")")[0]
            return out
        finally:
            c.logout()
