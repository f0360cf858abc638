#!/usr/bin/python3
"""failover_e2e.py - three rapportd behind HAProxy on a PostgreSQL primary
with a synchronous streaming replica: the primary dies, or the replica.

    failover_e2e.py RAPPORTD CASE

Everything is set up as docs/multi-node.md tells an operator, from the
files an operator copies, with the addresses and paths changed to the
test's own:

  - PostgreSQL 15 "db1" (pg_server.py: initdb in a temporary folder, the
    configuration outside the data directory as Debian keeps it) with
    docs/multi-node/postgresql-primary.conf and pg_hba.conf, TLS from a CA
    of the test's, the roles from postgresql-roles.sql (psql asking for
    the passwords);
  - "db2" made by the doc's pg_basebackup command, then started with
    postgresql-replica.conf; it streams synchronously (pg_stat_replication
    on db1);
  - an aiosmtpd upstream and three rapportd whose [store] section is
    docs/multi-node/rapportd.toml's (both database hosts,
    target_session_attrs=read-write, sslmode=verify-full), each with its
    own HAProxy from docs/multi-node/haproxy-node.cfg (HTTPS for the page),
    behind the front HAProxy with docs/multi-node/haproxy.cfg (SMTP, and
    the page passed through to the nodes' HAProxy: the page, /metrics with
    the shared API token, a form from another site refused, all checked
    through it); ordinary mail flows through the front the whole time, and
    every message that had its 250 must reach the upstream exactly once.

Cases:

  failover      four copies of one letter are relayed; db1 is stopped in
                immediate mode (a crash) right after the fourth is
                recorded; the fifth copy is sent; every node's /metrics
                says rapport_store_up 0; db2 is promoted 10 s after the
                crash; every node finds it by itself (rapport_store_up 1,
                nothing waiting), and the fifth copy is held for
                template-reuse (db1's four records are on db2). Then the
                old primary is rebuilt as db2's replica with the doc's
                commands and streams synchronously, mail still flows, and
                the doc's backup command runs on it and its restore
                command restores the dump.
  replica_down  db2 stops: db1 holds every commit for it, mail is still
                accepted and none is relayed, every node's /metrics says
                rapport_store_up 0 (a statement waiting too long) and its
                log says why; the doc's command lets db1 run alone and
                everything waiting is judged and relayed; db2 starts again
                and db1 waits for it again (the doc's reset).
"""
import http.client
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, HERE)
from e2e_lib import EXIT_PROBLEMS, Rapportd, Upstream, free_port, sanitizer_reports, tempdir, wait_for  # noqa: E402
from multi_node_e2e import Api, letter, ordinary, send, upstream_ids  # noqa: E402
from pg_server import PASSWORD, PgServer, replica_of  # noqa: E402

DOCS = os.path.join(HERE, "..", "..", "docs", "multi-node")
DOC = os.path.join(HERE, "..", "..", "docs", "multi-node.md")
REPLICATOR_PASSWORD = "replicator-test-password"
OUTAGE = 10  # seconds from db1's crash to db2's promotion: an operator's, or Patroni's, reaction


def doc_file(name):
    return open(os.path.join(DOCS, name)).read()


class Tls:
    """A CA of the test's, and a certificate for 127.0.0.1 signed by it for
    each database server (the doc's db1.pem/db1.key, db2.pem/db2.key)."""

    def __init__(self, w):
        self.dir = os.path.join(w, "tls")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.ca, self.ca_key = os.path.join(self.dir, "db-ca.pem"), os.path.join(self.dir, "db-ca.key")
        self._openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                       "-keyout", self.ca_key, "-out", self.ca, "-days", "2", "-subj", "/CN=rapport test database CA"])
        os.chmod(self.ca, 0o644)

    def _openssl(self, args):
        subprocess.run(["openssl"] + args, check=True, capture_output=True)

    def page(self, w):
        """The service's certificate and key for the page, in one file as
        HAProxy takes them (the doc's rapport-page.pem)."""
        cert, key = os.path.join(w, "page.pem.crt"), os.path.join(w, "page.pem.key")
        csr, ext = cert + ".csr", cert + ".ext"
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:rapport.example.org\n")
        self._openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                       "-out", csr, "-subj", "/CN=rapport.example.org"])
        self._openssl(["x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
                       "-out", cert, "-days", "2", "-extfile", ext])
        pem = os.path.join(w, "rapport-page.pem")
        with open(pem, "w") as f:
            f.write(open(cert).read() + open(key).read())
        os.chmod(pem, 0o600)
        return pem

    def server(self, pg):
        """pg's certificate and key, owned by its user; returns their paths."""
        cert, key = os.path.join(pg.dir, pg.name + ".pem"), os.path.join(pg.dir, pg.name + ".key")
        csr, ext = cert + ".csr", cert + ".ext"
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        self._openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                       "-out", csr, "-subj", "/CN=" + pg.name])
        self._openssl(["x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
                       "-out", cert, "-days", "2", "-extfile", ext])
        pg.give(cert, 0o644)
        pg.give(key, 0o600)
        return cert, key


def server_conf(name, pg, cert, key):
    """docs/multi-node/postgresql-{primary,replica}.conf for this server:
    loopback only, the test's certificate."""
    text = doc_file(name)
    text, n = re.subn(r"^listen_addresses = '[^']*'", "listen_addresses = '127.0.0.1'", text, flags=re.M)
    assert n == 1, name + ": no listen_addresses"
    text, n = re.subn(r"^ssl_cert_file = '[^']*'", "ssl_cert_file = '%s'" % cert, text, flags=re.M)
    assert n == 1, name + ": no ssl_cert_file"
    text, n = re.subn(r"^ssl_key_file = '[^']*'", "ssl_key_file = '%s'" % key, text, flags=re.M)
    assert n == 1, name + ": no ssl_key_file"
    return text


def hba():
    """docs/multi-node/pg_hba.conf with every address the test's loopback."""
    text = doc_file("pg_hba.conf")
    text, n = re.subn(r"\b10\.0\.\d+\.\d+/\d+", "127.0.0.1/32", text)
    assert n >= 3, "pg_hba.conf: fewer lines than the nodes, db1 and db2 need"
    return text


def basebackup_command(source, tls, name):
    """The doc's pg_basebackup command (docs/multi-node.md, the replica's
    part), as the server's user, pointed at `source`; `name` is the new
    replica's (db2 in the doc; db1 when the old primary is rebuilt: the
    doc says to swap the names)."""
    doc = open(DOC).read()
    m = re.search(r"^sudo -u postgres (pg_basebackup (?:.*\\\n)*.*)$", doc, re.M)
    assert m, "docs/multi-node.md has no pg_basebackup command"
    line = re.sub(r"\s*#.*$", "", m.group(1).replace("\\\n", " "), flags=re.M)
    args = shlex.split(line)
    i = args.index("-d")
    conninfo = args[i + 1]
    assert "application_name=db2" in conninfo and "sslmode=verify-full" in conninfo, conninfo
    conninfo, n = re.subn(r"host=\S+", "host=127.0.0.1 port=%d" % source.port, conninfo)
    assert n == 1, conninfo
    conninfo, n = re.subn(r"sslrootcert=\S+", "sslrootcert=" + tls.ca, conninfo)
    assert n == 1, conninfo
    args[i + 1] = conninfo.replace("application_name=db2", "application_name=" + name)
    args = [a.replace("--slot=db2", "--slot=" + name) for a in args]
    assert "--slot=" + name in args and "-R" in args, args
    return [os.path.join("/usr/lib/postgresql/15/bin", args[0])] + args[1:]


def pgpass(w):
    """The replicator's password where libpq looks for it: ~postgres/.pgpass
    in the doc, PGPASSFILE here."""
    path = os.path.join(w, "pgpass")
    with open(path, "w") as f:
        f.write("*:*:replication:replicator:%s\n" % REPLICATOR_PASSWORD)
    return path


def start_primary(w, tls):
    db1 = PgServer(w, name="db1")
    db1.env = {"PGPASSFILE": pgpass(w)}
    db1.init()
    db1.give(os.path.join(w, "pgpass"), 0o600)
    cert, key = tls.server(db1)
    db1.configure(server_conf("postgresql-primary.conf", db1, cert, key), hba())
    db1.start_server()
    # psql asks for each password twice: rapport's, then replicator's.
    db1.psql_file(os.path.join(DOCS, "postgresql-roles.sql"),
                  stdin="%s\n%s\n%s\n%s\n" % (PASSWORD, PASSWORD, REPLICATOR_PASSWORD, REPLICATOR_PASSWORD))
    return db1


def start_replica(w, tls, source, name, conf):
    r = replica_of(source, w, name, basebackup_command(source, tls, name))
    cert, key = tls.server(r)
    r.configure(server_conf(conf, r, cert, key), hba())
    r.start_server()
    return r


def replication(primary):
    """pg_stat_replication on `primary`: [(application_name, state, sync_state)]."""
    out = primary.psql("SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1")
    return [tuple(l.split("|")) for l in out.splitlines() if l]


def store_section(dbs, secret, tls):
    """docs/multi-node/rapportd.toml's [store] section, its two hosts the
    test's db1 and db2, its CA the test's."""
    text = doc_file("rapportd.toml")
    m = re.search(r"^\[store\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    assert m, "docs/multi-node/rapportd.toml has no [store] section"
    section = m.group(0)
    hosts = ",".join("127.0.0.1:%d" % d.port for d in dbs)
    section, n = re.subn(r'postgresql://rapport@[^,/"]+,[^/"]+/rapport', "postgresql://rapport@%s/rapport" % hosts,
                         section)
    assert n == 1, "the example's url does not list two hosts: " + section
    for key in ("target_session_attrs=read-write", "sslmode=verify-full"):
        assert key in section, "the example's url has no " + key
    section, n = re.subn(r"sslrootcert=[^&\"]+", "sslrootcert=" + tls.ca, section)
    assert n == 1, "the example's url names no sslrootcert: " + section
    section, n = re.subn(r'^password_file = ".*?"', 'password_file = "%s"' % secret, section, flags=re.M)
    assert n == 1, section
    return section


def run_haproxy(w, name, cfg):
    """One HAProxy in the foreground with `cfg` (checked first)."""
    cfg = cfg.replace("    daemon\n", "")
    path = os.path.join(w, name + ".cfg")
    open(path, "w").write(cfg)
    check = subprocess.run(["haproxy", "-c", "-f", path], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = open(os.path.join(w, name + ".log"), "w")
    return subprocess.Popen(["haproxy", "-db", "-f", path], stdout=log, stderr=subprocess.STDOUT)


def start_node_proxy(w, node, pem):
    """docs/multi-node/haproxy-node.cfg for one node: HTTPS with the page's
    certificate on a port of its own, to the node's API on loopback."""
    cfg = doc_file("haproxy-node.cfg")
    port = free_port()
    cfg, n = re.subn(r"bind \S+:8443 ssl crt \S+", "bind 127.0.0.1:%d ssl crt %s" % (port, pem), cfg)
    assert n == 1, "haproxy-node.cfg: no HTTPS bind on 8443"
    api = Api(node).addr
    cfg, n = re.subn(r"127\.0\.0\.1:2526", api, cfg)
    assert n == 3, "haproxy-node.cfg: the API's address is not in the backend, Host and Origin"
    return run_haproxy(os.path.dirname(node.workdir), os.path.basename(node.workdir) + "-haproxy", cfg), port


def start_haproxy(w, nodes, page_ports):
    """docs/multi-node/haproxy.cfg in front of the three nodes: SMTP to
    each, the page to each node's own HAProxy."""
    cfg = doc_file("haproxy.cfg")
    port, page = free_port(), free_port()
    cfg = re.sub(r"^\s*bind \S*:587\n", "", cfg, flags=re.M)
    cfg, n = re.subn(r"bind \S*:25\b", "bind 127.0.0.1:%d" % port, cfg)
    assert n == 1, "haproxy.cfg: no bind on port 25"
    cfg, n = re.subn(r"bind \S*:443\b", "bind 127.0.0.1:%d" % page, cfg)
    assert n == 1, "haproxy.cfg: no bind on port 443"
    ports = iter(n.port for n in nodes)
    cfg, n = re.subn(r"(server node\d) \S+:2525", lambda m: "%s 127.0.0.1:%d" % (m.group(1), next(ports)), cfg)
    assert n == 3, "haproxy.cfg lists %d SMTP servers, not three" % n
    ports = iter(page_ports)
    cfg, n = re.subn(r"(server node\d) \S+:8443", lambda m: "%s 127.0.0.1:%d" % (m.group(1), next(ports)), cfg)
    assert n == 3, "haproxy.cfg lists %d page servers, not three" % n
    proxy = run_haproxy(w, "haproxy", cfg)

    def answers():
        try:
            return proxy.poll() is None and subprocess.run(
                ["swaks", "--server", "127.0.0.1:%d" % port, "--quit-after", "EHLO"], capture_output=True,
                timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False
    assert wait_for(answers, 20, 0.2), open(os.path.join(w, "haproxy.log")).read()
    time.sleep(2.5)  # every server's first health checks (inter 1s) before mail
    return proxy, port, page


def page_get(tls, port, path, token=None, headers=None, method="GET"):
    """An HTTPS request to the front's page port, checking the page's
    certificate for the service's name."""
    ctx = ssl.create_default_context(cafile=tls.ca)
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=ctx)
    c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                             server_hostname="rapport.example.org")
    h = {"Host": "rapport.example.org"}
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    c.request(method, path, headers=h)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def metric(node, name):
    m = re.search(r"^%s (\d+)$" % name, Api(node).metrics(), re.M)
    assert m, "no %s in %s's /metrics" % (name, node.workdir)
    return int(m.group(1))


class Deployment:
    """db1 and its synchronous replica db2, an upstream, three nodes, the
    front HAProxy: everything as the doc sets it up."""

    def __init__(self, w, smtp=""):
        self.smtp = smtp  # an [smtp] section before the doc's [store]
        self.w, self.db1, self.db2, self.nodes, self.proxy, self.up = w, None, None, [], None, None
        self.node_proxies = []
        self.tls = Tls(w)

    def start(self):
        w = self.w
        self.db1 = start_primary(w, self.tls)
        self.db2 = start_replica(w, self.tls, self.db1, "db2", "postgresql-replica.conf")
        assert wait_for(lambda: replication(self.db1) == [("db2", "streaming", "sync")], 30, 0.2), \
            replication(self.db1)
        secret = os.path.join(w, "store.secret")
        with open(secret, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(secret, 0o600)
        config = self.smtp + store_section([self.db1, self.db2], secret, self.tls)
        self.up = Upstream(w).start()
        for i in (1, 2, 3):
            d = os.path.join(w, "node%d" % i)
            os.makedirs(d)
            self.nodes.append(Rapportd(RAPPORTD, d, upstream="smtp://127.0.0.1:%d" % self.up.port, config=config))
        for n in self.nodes:
            n.start()
        # The nodes reached db1 over verified TLS.
        ssl_rows = self.db1.psql("SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                                 "WHERE ssl AND application_name = 'rapportd'")
        assert int(ssl_rows) >= 3, ssl_rows
        pem = self.tls.page(w)
        page_ports = []
        for n in self.nodes:
            proxy, port = start_node_proxy(w, n, pem)
            self.node_proxies.append(proxy)
            page_ports.append(port)
        self.proxy, self.port, self.page_port = start_haproxy(w, self.nodes, page_ports)
        # The page through the front and a node's HAProxy: the page itself,
        # /metrics with the API token (the same on every node), and a form
        # from another site refused.
        token = Api(self.nodes[0]).token
        assert all(Api(n).token == token for n in self.nodes)
        st, body = page_get(self.tls, self.page_port, "/")
        assert st == 200 and b"<html" in body.lower(), (st, body[:200])
        st, body = page_get(self.tls, self.page_port, "/metrics", token=token)
        assert st == 200 and b"rapport_store_up 1" in body, (st, body[-300:])
        st, _ = page_get(self.tls, self.page_port, "/metrics")
        assert st == 401, st
        st, _ = page_get(self.tls, self.page_port, "/api/v1/login", method="POST",
                         headers={"Origin": "https://evil.example", "Content-Length": "0"})
        assert st == 403, st
        return self

    def relayed(self):
        return upstream_ids(self.up)

    def stop(self):
        for p in [self.proxy] + self.node_proxies:
            if p:
                p.terminate()
                p.wait(timeout=10)
        for n in self.nodes:
            if n.proc:
                n.stop()
        if self.up:
            self.up.stop()
        for d in (self.db1, self.db2):
            if d:
                d.stop("immediate")


class Flow:
    """Ordinary mail through the front, from three senders, until stopped;
    `sent` holds the Message-IDs that had their 250, in order."""

    def __init__(self, port):
        self.port, self.sent, self.errors, self.done = port, [], [], threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self):
        i = 0
        while not self.done.is_set() and i < 5000:
            mail, msgid = ordinary(i, "ben%d@example.org" % (i % 3))
            try:
                send(self.port, mail, "sam%d@example.net" % i, frm="ben%d@example.org" % (i % 3))
                self.sent.append(msgid)
            except Exception as e:  # every refusal is a failure of the test
                self.errors.append("%d: %r" % (i, e))
            i += 1
            time.sleep(0.03)

    def more(self, n, timeout, why):
        at = len(self.sent)
        assert wait_for(lambda: len(self.sent) >= at + n, timeout, 0.05), why + " (%s)" % self.errors[:3]

    def stop(self):
        self.done.set()
        self.thread.join(timeout=120)
        assert not self.errors, self.errors[:5]


def exactly_once(dep, expected):
    """Every message in `expected` reaches the upstream, and nothing twice."""
    assert wait_for(lambda: set(expected) <= set(dep.relayed()), 120, 0.2), \
        "%d accepted messages never reached the upstream" % len(set(expected) - set(dep.relayed()))
    time.sleep(2)
    ids = dep.relayed()
    doubled = sorted(i for i in set(ids) if ids.count(i) > 1)
    assert not doubled, "relayed more than once: %s" % doubled[:5]
    return ids


def case_failover(w):
    dep = Deployment(w)
    try:
        dep.start()
        nodes, up, db1, db2 = dep.nodes, dep.up, dep.db1, dep.db2
        flow = Flow(dep.port)
        try:
            flow.more(20, 30, "no mail through the front")
            # Four copies of one letter, each relayed before the next.
            tmpl = []
            for i in range(4):
                mail, msgid, to = letter(i)
                send(dep.port, mail, to)
                tmpl.append(msgid)
                assert wait_for(lambda: msgid in upstream_ids(up), 20, 0.05), "copy %d not relayed" % (i + 1)
            # The fourth copy's record was committed (it was relayed after
            # its verdict was written): db1 crashes now.
            assert replication(db1) == [("db2", "streaming", "sync")], replication(db1)
            db1.stop("immediate")
            crashed = time.time()
            before = len(flow.sent)
            mail, msgid, to = letter(4)
            send(dep.port, mail, to)
            tmpl.append(msgid)
            flow.more(30, 60, "mail stopped flowing without db1")
            for n in nodes:
                assert wait_for(lambda: metric(n, "rapport_store_up") == 0, 30, 0.1), n.workdir
                assert wait_for(lambda: "not judged" in n.log(), 10, 0.1), n.workdir
            waiting = [metric(n, "rapport_store_waiting_messages") for n in nodes]
            assert sum(waiting) > 0, waiting
            assert tmpl[4] not in upstream_ids(up), "the fifth copy was relayed unjudged"
            # The operator promotes db2 some seconds later (the nodes' backoff
            # has grown meanwhile); the nodes find it by themselves.
            time.sleep(max(0.0, crashed + OUTAGE - time.time()))
            db2.promote()
            promoted = time.time()
            back = []
            for n in nodes:
                assert wait_for(lambda: metric(n, "rapport_store_up") == 1, 90, 0.1), n.workdir
                back.append(time.time() - promoted)
            more = len(flow.sent)
            flow.more(30, 60, "mail stopped flowing on db2")
        finally:
            flow.stop()
        for n in nodes:
            assert wait_for(lambda: metric(n, "rapport_store_waiting_messages") == 0, 120, 0.2), n.workdir
        ids = exactly_once(dep, flow.sent + tmpl[:4])
        assert len(ids) == len(flow.sent) + 4, (len(ids), len(flow.sent))
        # The fifth copy, judged on db2 against the four records made on db1.
        assert tmpl[4] not in ids, "the fifth copy left: the history on db2 lacks db1's records"
        held = [l for n in nodes for l in n.log().splitlines() if "held " in l and "template-reuse" in l]
        assert len(held) == 1, held
        assert db2.psql("SELECT count(*) FROM history_msg WHERE sender = 'priya.shah@example.org'") == "5"
        for n in nodes:
            assert "store: back" in n.log() or "reachable again" in n.log(), n.workdir

        # The doc's next step: db1 rebuilt as db2's replica, synchronous again.
        shutil.rmtree(db1.dir)
        dep.db1 = db1 = start_replica(w, dep.tls, db2, "db1", "postgresql-primary.conf")
        db2.psql("ALTER SYSTEM SET synchronous_standby_names = 'db1'", db="postgres")
        db2.psql("SELECT pg_reload_conf()", db="postgres")
        assert wait_for(lambda: replication(db2) == [("db1", "streaming", "sync")], 30, 0.2), replication(db2)
        mail, msgid = ordinary(9999, "ben0@example.org")
        send(dep.port, mail, "sam9999@example.net", frm="ben0@example.org")
        assert wait_for(lambda: msgid in upstream_ids(up), 30, 0.1), "no mail relayed with db1 as replica"
        # The doc's backup, taken on the replica.
        dump = os.path.join(db1.dir, "rapport.dump")
        db1._run(["pg_dump", "-Fc", "-f", dump, "-h", db1.sock, "-p", str(db1.port), "rapport"])
        listing = subprocess.run(["pg_restore", "--list", dump], capture_output=True, text=True, check=True).stdout
        assert "TABLE DATA public history_msg" in listing, listing[:2000]
        # ... and the doc's restore, into a database of its own beside the live one.
        db2.psql("CREATE DATABASE rapport_restored OWNER rapport", db="postgres")
        db2._run(["pg_restore", "-d", "rapport_restored", "--no-owner", "--role=rapport", "-h", db2.sock, "-p",
                  str(db2.port), "-U", "postgres", dump])
        assert db2.psql("SELECT count(*) FROM history_msg WHERE sender = 'priya.shah@example.org'",
                        db="rapport_restored") == "5"
        assert db2.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'history_msg'",
                        db="rapport_restored") == "rapport"
        print("failover: %d messages accepted through HAProxy, %d from db1's crash until every node used db2; "
              "db2 promoted %.1f s after the crash; the nodes used db2 %s s after the promotion" %
              (len(flow.sent) + 5, more - before + 1, promoted - crashed, ", ".join("%.1f" % t for t in back)))
    finally:
        dep.stop()


def case_replica_down(w):
    # Few connections per node: a session that had its 250 must not hold
    # one while its message waits for db1's commit (hundreds of messages
    # wait here).
    dep = Deployment(w, smtp="[smtp]\nmax_connections = 20\n\n")
    try:
        dep.start()
        nodes, db1, db2 = dep.nodes, dep.db1, dep.db2
        flow = Flow(dep.port)
        try:
            flow.more(20, 30, "no mail through the front")
            # db2 goes away: db1 holds every commit for it.
            db2.stop("fast")
            stopped = time.time()
            before = len(flow.sent)
            flow.more(30, 60, "mail stopped flowing without db2")
            for n in nodes:
                assert wait_for(lambda: metric(n, "rapport_store_up") == 0, 60, 0.2), n.workdir
                assert wait_for(lambda: "a statement has waited" in n.log(), 10, 0.1), n.workdir
            noticed = time.time() - stopped
            # Nothing accepted since is judged, so nothing leaves.
            late = set(flow.sent[before + 10:])
            assert late and not (late & set(dep.relayed())), "mail was relayed while db1 held its commits"
            # The doc's command: db1 runs alone for now.
            db1._run(["psql", "-h", db1.sock, "-p", str(db1.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                      "-c", "ALTER SYSTEM SET synchronous_standby_names = ''", "-c", "SELECT pg_reload_conf()"],
                     timeout=30)
            released = time.time()
            for n in nodes:
                assert wait_for(lambda: metric(n, "rapport_store_up") == 1, 60, 0.2), n.workdir
            back = time.time()
            flow.more(30, 60, "mail stopped flowing with db1 alone")
            # db2 is back; db1 waits for it again.
            db2.start_server()
            db1._run(["psql", "-h", db1.sock, "-p", str(db1.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                      "-c", "ALTER SYSTEM RESET synchronous_standby_names", "-c", "SELECT pg_reload_conf()"],
                     timeout=30)
            assert wait_for(lambda: replication(db1) == [("db2", "streaming", "sync")], 60, 0.2), replication(db1)
            flow.more(30, 60, "mail stopped flowing with db2 back")
        finally:
            flow.stop()
        exactly_once(dep, flow.sent)
        for n in nodes:
            assert "a statement finished after waiting" in n.log(), n.workdir
            assert metric(n, "rapport_store_up") == 1
        print("replica_down: %d messages accepted through HAProxy; every node said rapport_store_up 0 within %.1f s "
              "of db2's stop; every node up again %.1f s after db1 was told to run alone" %
              (len(flow.sent), noticed, back - released))
    finally:
        dep.stop()


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}
RAPPORTD = None


def main():
    global RAPPORTD
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print("usage: failover_e2e.py RAPPORTD CASE   (cases: %s)" % " ".join(CASES))
        return 2
    RAPPORTD = os.path.abspath(sys.argv[1])
    w = tempdir("store-" + sys.argv[2])
    ok = False
    try:
        CASES[sys.argv[2]](w)
        assert not EXIT_PROBLEMS, EXIT_PROBLEMS
        assert not sanitizer_reports(w), sanitizer_reports(w)
        ok = True
        print("ok: " + sys.argv[2])
    except Exception:
        traceback.print_exc()
        for root, _, files in os.walk(w):
            for f in files:
                if f in ("rapportd.log", "pg.log", "haproxy.log"):
                    print("--- %s ---" % os.path.join(root, f))
                    print(open(os.path.join(root, f), errors="replace").read()[-5000:])
    finally:
        if ok:
            shutil.rmtree(w, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
