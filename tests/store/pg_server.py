"""pg_server.py - a throw-away PostgreSQL 15 for tests (Debian's `postgresql`).

initdb into a temporary folder, pg_ctl start on a free loopback port,
a role `rapport` with a password (scram-sha-256 over TCP, as a real
deployment) and a database `rapport`. The server refuses to run as root:
as root it runs as the `postgres` user the package creates, otherwise as
the current user. Nothing listens beyond 127.0.0.1. A missing binary is an
error, never a skip.

As a module:   pg = PgServer(workdir).start(); pg.url ...; pg.stop()
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
    def __init__(self, workdir, port=None):
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not os.access(os.path.join(BIN, tool), os.X_OK):
                raise RuntimeError("PostgreSQL 15 is not installed (%s/%s missing): scripts/deps.sh --test installs "
                                   "the Debian package postgresql" % (BIN, tool))
        if not shutil.which("psql"):
            raise RuntimeError("psql is missing (Debian package postgresql-client)")
        self.dir = os.path.join(workdir, "pg")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.port = port or _free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.url = "postgresql://rapport@127.0.0.1:%d/rapport" % self.port
        self.password = PASSWORD

    def _run(self, args, check=True, **kw):
        if os.geteuid() == 0:
            args = ["runuser", "-u", self.user, "--"] + args
        return subprocess.run(args, check=check, capture_output=True, text=True, **kw)

    def _owned_dir(self, path):
        os.makedirs(path, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(path, 0o700)

    def start(self, fsync=False):
        # The server's user must get through the work folder (a mkdtemp
        # folder, 0700); the folders above it are the system's temporary
        # folder, open to all, and are left alone.
        top = os.path.dirname(self.dir)
        os.chmod(top, os.stat(top).st_mode | 0o011)
        self._owned_dir(self.dir)
        self._owned_dir(self.sock)
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self._run([os.path.join(BIN, "initdb"), "-D", self.data, "-U", "postgres", "-N", "-E", "UTF8",
                       "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256"])
        self.start_server(fsync)
        self._run(["psql", "-h", self.sock, "-p", str(self.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                   "-c", "CREATE ROLE rapport LOGIN PASSWORD '%s'" % PASSWORD,
                   "-c", "CREATE DATABASE rapport OWNER rapport"])
        return self

    def start_server(self, fsync=False):
        opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200" % (self.port, self.sock)
        if not fsync:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "pg.log"), "-w",
                   "-t", "30", "-o", opts, "start"])

    def stop(self, mode="fast"):
        """mode 'immediate' stands for a crash."""
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def psql(self, sql):
        r = self._run(["psql", "-h", self.sock, "-p", str(self.port), "-U", "postgres", "-d", "rapport", "-At",
                       "-v", "ON_ERROR_STOP=1", "-c", sql])
        return r.stdout.strip()

    def password_file(self, directory):
        path = os.path.join(directory, "store.secret")
        with open(path, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(path, 0o600)
        return path


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
