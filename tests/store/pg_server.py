"""pg_server.py - a throw-away PostgreSQL 15 for tests (Debian's `postgresql`).

initdb into a temporary folder, pg_ctl start on a free loopback port,
a role `rapport` with a password (scram-sha-256 over TCP, as a real
deployment) and a database `rapport`. The server refuses to run as root:
as root it runs as the `postgres` user the package creates, otherwise as
the current user. Nothing listens beyond 127.0.0.1. A missing binary is an
error, never a skip.

As a module:   pg = PgServer(workdir).start(); pg.url ...; pg.stop()
               A server configured as docs/multi-node.md tells an operator:
               pg = PgServer(workdir, name="db1"); pg.init(); pg.configure(conf, hba)
               pg.start_server(); replica = replica_of(pg, ...); replica.promote()
As a program:  pg_server.py start DIR   (a server in a temporary folder; writes DIR/url,
                                         DIR/store.secret, DIR/port, DIR/server; ctest fixture)
               pg_server.py stop DIR    (stops it and removes both folders)
"""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BIN = "/usr/lib/postgresql/15/bin"
PASSWORD = "rapport-test-password"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, workdir, port=None, name="pg"):
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not os.access(os.path.join(BIN, tool), os.X_OK):
                raise RuntimeError("PostgreSQL 15 is not installed (%s/%s missing): scripts/deps.sh --test installs "
                                   "the Debian package postgresql" % (BIN, tool))
        if not shutil.which("psql"):
            raise RuntimeError("psql is missing (Debian package postgresql-client)")
        self.dir = os.path.join(workdir, name)
        self.name = name
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.port = port or _free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.url = "postgresql://rapport@127.0.0.1:%d/rapport" % self.port
        self.password = PASSWORD
        # configure(): a Debian-style configuration folder outside the data
        # directory, which start_server() then leaves alone.
        self.etc = None
        self.env = {}  # for the server and its tools (PGPASSFILE, standing in for ~postgres/.pgpass)

    def _run(self, args, check=True, **kw):
        if os.geteuid() == 0:
            args = ["runuser", "-u", self.user, "--"] + args
        env = dict(os.environ, **self.env) if self.env else None
        r = subprocess.run(args, capture_output=True, text=True, env=env, **kw)
        if check and r.returncode != 0:
            raise RuntimeError("%s exited %d: %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def _owned_dir(self, path):
        os.makedirs(path, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(path, 0o700)

    def prepare(self):
        """The server's folders, owned by its user."""
        # The server's user must get through the work folder (a mkdtemp
        # folder, 0700); the folders above it are the system's temporary
        # folder, open to all, and are left alone.
        top = os.path.dirname(self.dir)
        os.chmod(top, os.stat(top).st_mode | 0o011)
        self._owned_dir(self.dir)
        self._owned_dir(self.sock)

    def init(self):
        """initdb, unless the data directory holds a cluster already."""
        self.prepare()
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self._run([os.path.join(BIN, "initdb"), "-D", self.data, "-U", "postgres", "-N", "-E", "UTF8",
                       "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256"])

    def start(self, fsync=False):
        self.init()
        self.start_server(fsync)
        self._run(["psql", "-h", self.sock, "-p", str(self.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                   "-c", "CREATE ROLE rapport LOGIN PASSWORD '%s'" % PASSWORD,
                   "-c", "CREATE DATABASE rapport OWNER rapport"])
        return self

    def start_server(self, fsync=False):
        opts = "-p %d -k %s" % (self.port, self.sock)
        if not self.etc:
            opts += " -c listen_addresses=127.0.0.1 -c max_connections=200"
            if not fsync:
                opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run([os.path.join(BIN, "pg_ctl"), "-D", self.etc or self.data, "-l", os.path.join(self.dir, "pg.log"),
                   "-w", "-t", "60", "-o", opts, "start"])

    def stop(self, mode="fast"):
        """mode 'immediate' stands for a crash."""
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def promote(self):
        """A replica becomes a primary (pg_ctl promote; Debian: pg_ctlcluster 15 main promote)."""
        self._run([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-w", "-t", "60", "promote"])

    def psql(self, sql, db="rapport"):
        r = self._run(["psql", "-h", self.sock, "-p", str(self.port), "-U", "postgres", "-d", db, "-At",
                       "-v", "ON_ERROR_STOP=1", "-c", sql])
        return r.stdout.strip()

    def psql_file(self, path, stdin="", db="postgres"):
        """psql -f PATH as the postgres user, `stdin` answering its prompts
        (\\password): in a session of its own, without a terminal, psql
        reads them from its input as it would from an operator's keyboard."""
        args = ["psql", "-h", self.sock, "-p", str(self.port), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1",
                "-f", path]
        if os.geteuid() == 0:
            args = ["runuser", "-u", self.user, "--"] + args
        r = subprocess.run(args, input=stdin, capture_output=True, text=True, start_new_session=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql -f %s exited %d: %s%s" % (path, r.returncode, r.stdout, r.stderr))
        return r.stdout

    def give(self, path, mode=0o600):
        """A file the server reads (a key, a certificate): owned by its user."""
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(path, mode)

    def configure(self, conf, hba):
        """The configuration as Debian lays it out, outside the data
        directory (which pg_basebackup copies and a replica must not take
        over): etc/postgresql.conf names the data directory and pg_hba.conf
        and includes conf.d/, where `conf` goes as rapport.conf; `hba` is
        pg_hba.conf after one line that lets the test in as postgres over
        the server's own socket (Debian's is `local all postgres peer`).
        start_server() then sets only the port and the socket's folder."""
        self.etc = os.path.join(self.dir, "etc")
        self._owned_dir(self.etc)
        self._owned_dir(os.path.join(self.etc, "conf.d"))
        files = {
            "postgresql.conf": "data_directory = '%s'\nhba_file = '%s/pg_hba.conf'\nident_file = '%s/pg_ident.conf'\n"
                               "include_dir = 'conf.d'\n" % (self.data, self.etc, self.etc),
            "conf.d/rapport.conf": conf,
            "pg_hba.conf": "local all postgres trust\n" + hba,
            "pg_ident.conf": "",
        }
        for name, text in files.items():
            path = os.path.join(self.etc, name)
            with open(path, "w") as f:
                f.write(text)
            self.give(path, 0o644)

    def password_file(self, directory):
        path = os.path.join(directory, "store.secret")
        with open(path, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(path, 0o600)
        return path


def replica_of(primary, workdir, name, command):
    """A streaming replica of `primary`, made the way docs/multi-node.md
    says: `command` is the doc's pg_basebackup argument list, its host
    already the test's; its -D becomes the new server's data directory.
    Run as the server's user; -R writes primary_conninfo and
    standby.signal. The new server has a port of its own and no
    configuration yet: configure() it, then start_server()."""
    r = PgServer(workdir, name=name)
    r.env = dict(primary.env)
    r.prepare()
    r._owned_dir(r.data)
    command = list(command)
    command[command.index("-D") + 1] = r.data
    r._run(command, timeout=120)
    return r


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: pg_server.py start|stop DIR")
    # DIR (in the build tree) only names the server: its data lives in a
    # temporary folder of its own, so that the server's user needs no access
    # to the build tree or the folders above it.
    info = sys.argv[2]
    server_file = os.path.join(info, "server")
    if os.path.exists(server_file):  # a previous run that did not clean up
        old = open(server_file).read().strip()
        port_file = os.path.join(info, "port")
        port = int(open(port_file).read()) if os.path.exists(port_file) else None
        PgServer(old, port).stop("immediate")
        shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(info, ignore_errors=True)
    if sys.argv[1] == "stop":
        return
    os.makedirs(info)
    workdir = tempfile.mkdtemp(prefix="rapport-pg-")
    with open(server_file, "w") as f:
        f.write(workdir + "\n")
    pg = PgServer(workdir)
    with open(os.path.join(info, "port"), "w") as f:
        f.write("%d\n" % pg.port)
    pg.start()
    with open(os.path.join(info, "url"), "w") as f:
        f.write(pg.url + "\n")
    pg.password_file(info)
    print("PostgreSQL on %s, in %s" % (pg.url, workdir))


if __name__ == "__main__":
    main()
