#!/usr/bin/python3
"""multi_node_e2e.py - several rapportd on one PostgreSQL store ([store] url).

    multi_node_e2e.py RAPPORTD RAPPORTCTL CASE

Every case starts a real PostgreSQL 15 (pg_server.py: initdb in a temporary
folder, a free loopback port, password login over TCP), a real aiosmtpd
upstream and two real rapportd processes ("node A" and "node B") whose
config takes its [store] section from docs/multi-node/rapportd.toml - the
example an operator copies. Cases:

  template_memory  one letter sent five times, alternating A, B, A, B, A:
                   the fifth is held for template-reuse (the first four left)
  haproxy          the same through HAProxy with docs/multi-node/haproxy.cfg
                   (round robin over both nodes): both nodes took mail
  member_login     a member added once (rapportctl with the nodes' config)
                   logs in to SMTP and to the page on either node, and to
                   SMTP while PostgreSQL is down
  store_down       PostgreSQL stopped while mail flows into both nodes and
                   started again: every message got its 250, none was relayed
                   while the store was down (nothing unjudged), each arrives
                   exactly once, one of the template's five copies is
                   held; the log and /metrics said so
  release_elsewhere  two copies of a template held on A are listed and shown
                   (text included) through B's API and `rapportctl held
                   --config` with B's config; one released through B arrives
                   once, the other dropped through B never does; A's API
                   shows both decisions; no copy is left in the store
  race_1000        1000 messages accepted by both nodes while the upstream is
                   down, then it comes up and both relays race for them: the
                   upstream gets each Message-ID exactly once, all 1000, and
                   both nodes sent some
  node_killed_store_down  mail accepted by A while PostgreSQL is down, A
                   killed (SIGKILL) and started again once the store is back:
                   its recovery judges and records what waited in its spool,
                   each message arrives exactly once, the spool ends empty
  store_restart_under_load  PostgreSQL stopped while both nodes take mail and
                   their relays are sending to a slow upstream, then started
                   again: the outcomes the upstream had are kept and written
                   later, every message that got a 250 arrives exactly once,
                   each judged (a row with its verdict); meanwhile the API
                   answers 503 for held mail and /metrics still answers
  ledger_shared    one reply ledger for both nodes, both configured with the
                   same Dovecot inbox: one node reads it, the other waits
                   (standby); an application sent through A is answered
                   through B's POST /api/v1/incoming, another sent through B
                   is answered in the inbox; the same answer reported again
                   counts once; GET /api/v1/outcomes and `rapportctl outcomes
                   --config` give the same figures on both; the reading node
                   killed, the other takes the inbox over and reads the next
                   answer
"""
import http.client
import json
import os
import random
import re
import shutil
import smtplib
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, HERE)
from e2e_lib import EXIT_PROBLEMS, Rapportd, Upstream, free_port, tempdir, wait_for  # noqa: E402
from pg_server import PgServer  # noqa: E402

DOCS = os.path.join(HERE, "..", "..", "docs", "multi-node")
RAPPORTD = RAPPORTCTL = None

LETTER = (b"Dear hiring team,\r\n\r\nI am writing to ask whether your warehouse has any openings for a "
          b"forklift operator. I have three years of experience in busy distribution centres, hold a "
          b"counterbalance and reach truck licence, and picked over four hundred orders a day at my last "
          b"site with an accuracy above ninety nine percent. I am reliable, punctual and happy to work "
          b"early shifts, weekends and overtime. I live close to your site and can start after one week's "
          b"notice.\r\n\r\nKind regards,\r\nPriya Shah\r\n")


def letter(n, frm="priya.shah@example.org"):
    msgid = "<%s@example.org>" % os.urandom(8).hex()
    to = "jobs@firm%d.example" % n
    return (b"From: Priya Shah <" + frm.encode() + b">\r\nTo: <" + to.encode() + b">\r\n"
            b"Subject: Forklift operator - reach truck licence\r\nDate: Mon, 3 Mar 2025 09:12:40 +0000\r\n"
            b"Message-ID: " + msgid.encode() + b"\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + LETTER), msgid, to


WORDS = ("shed key pot tomatoes water rota plot beans compost hose gate lock bench seeds onions frost "
         "netting slugs wheelbarrow rake spade path fence hedge apples pears plums rhubarb leeks carrots "
         "potatoes squash marrow sunflowers bees hive honey rain wind sun shade trellis canes twine").split()


def ordinary(i, frm):
    """Everyday mail, each one its own text: words in an order of its own,
    so that no two share the shingles template-reuse looks for."""
    msgid = "<%s@example.org>" % os.urandom(8).hex()
    rng = random.Random(i)
    text = " ".join(rng.choice(WORDS) for _ in range(40))
    body = "Hi Sam,\r\n\r\nAbout the allotment: %s.\r\n\r\nBen\r\n" % text
    return (("From: Ben <%s>\r\nTo: <sam%d@example.net>\r\nSubject: Allotment rota %d\r\n"
             "Date: Mon, 3 Mar 2025 09:12:40 +0000\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n\r\n" % (frm, i, i, msgid)).encode() + body.encode()), msgid


def store_section(pg, secret):
    """docs/multi-node/rapportd.toml's [store] section, pointed at the test's server."""
    text = open(os.path.join(DOCS, "rapportd.toml")).read()
    m = re.search(r"^\[store\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    assert m, "docs/multi-node/rapportd.toml has no [store] section"
    section = m.group(0)
    section, n = re.subn(r'postgresql://rapport@[^/"]+/rapport', "postgresql://rapport@127.0.0.1:%d/rapport" %
                         pg.port, section)
    assert n == 1, section
    section = re.sub(r'^password_file = ".*?"', 'password_file = "%s"' % secret, section, flags=re.M)
    # The example asks for verified TLS to the database; the test server speaks none.
    section = section.replace("&sslmode=verify-full", "").replace("sslmode=verify-full&", "")
    return section


class Api:
    def __init__(self, d):
        self.addr = open(os.path.join(d.state, "http-address")).read().strip()
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)
        self.token = open(os.path.join(d.state, "api-token")).read().strip()

    def req(self, method, path, body=None, token=True, headers=None):
        h = {"Host": self.addr}
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        h.update(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c = http.client.HTTPConnection(self.host, self.port, timeout=20)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def json(self, method, path, body=None, expect=200, **kw):
        st, _, data = self.req(method, path, body, **kw)
        assert st == expect, "%s %s: %d %s" % (method, path, st, data[:300])
        return json.loads(data) if data else None

    def metrics(self):
        st, _, data = self.req("GET", "/metrics")
        assert st == 200, st
        return data.decode()


class Cluster:
    """PostgreSQL, an upstream, and nodes A and B sharing the store. Both
    run on this machine, so each names itself ([store] node). `extra`:
    more config sections for both; `upstream_up` False: the upstream is
    made but not started (connections refused until up.start())."""

    def __init__(self, w, policy=None, extra="", upstream_up=True, upstream_delay=0.0):
        self.w = w
        self.pg = PgServer(w).start()
        self.secret = self.pg.password_file(w)
        self.up = Upstream(w, delay=upstream_delay)
        if upstream_up:
            self.up.start()
        self.config = store_section(self.pg, self.secret)
        self.nodes = []
        for name in ("a", "b"):
            d = os.path.join(w, name)
            os.makedirs(d)
            # [state] dir as well as --state: rapportctl --config finds the node through it.
            config = self.config + 'node = "%s"\n' % name + extra + '\n[state]\ndir = "%s"\n' % os.path.join(d, "state")
            self.nodes.append(Rapportd(RAPPORTD, d, upstream="smtp://127.0.0.1:%d" % self.up.port, config=config,
                                       policy=policy))
        self.config_path = self.nodes[0].config_path

    def start(self):
        for n in self.nodes:
            n.start()
        return self

    def stop(self):
        for n in self.nodes:
            if n.proc:
                n.stop()
        try:
            self.up.stop()
        except Exception:  # never started
            pass
        self.pg.stop()


def send(port, mail, to, frm="priya.shah@example.org", login=None):
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
        if login:
            s.login(*login)
        s.sendmail(frm, [to], mail)


def upstream_ids(up):
    ids = []
    for c in up.contents():
        m = re.search(rb"^Message-ID: (<[^>]+>)", c, re.M | re.I)
        ids.append(m.group(1).decode() if m else None)
    return ids


def wait_log(d, needle, timeout=20):
    assert wait_for(lambda: needle in d.log(), timeout, step=0.1), "%r not in the log of %s" % (needle, d.workdir)


def case_template_memory(w):
    c = Cluster(w).start()
    try:
        a, b = c.nodes
        ids = []
        for i in range(5):
            mail, msgid, to = letter(i)
            send((a, b)[i % 2].port, mail, to)
            ids.append(msgid)
            if i < 4:  # each copy is judged and recorded before the next goes out
                assert wait_for(lambda: len(c.up.contents()) == i + 1, 20, 0.1), \
                    "copy %d was not relayed (upstream has %d)" % (i + 1, c.up.count())
        # The fifth went to A, which has seen only three copies itself: the
        # two B judged count because B recorded them in the shared store.
        wait_log(a, "held ")
        held = [l for l in a.log().splitlines() if l.split(": ", 1)[-1].startswith("held ")]
        assert len(held) == 1 and "template-reuse" in held[0], held
        time.sleep(1)
        assert upstream_ids(c.up) == ids[:4], (upstream_ids(c.up), ids)
        assert "template-reuse" not in b.log(), "B held something"
        # Both nodes wrote to the same tables.
        assert c.pg.psql("SELECT count(*) FROM history_msg") == "5", c.pg.psql("SELECT sender, time FROM history_msg")
    finally:
        c.stop()


def case_haproxy(w):
    c = Cluster(w).start()
    proxy = None
    try:
        a, b = c.nodes
        cfg = open(os.path.join(DOCS, "haproxy.cfg")).read()
        port = free_port()
        cfg = re.sub(r"^\s*bind \S*:587\n", "", cfg, flags=re.M)
        cfg = re.sub(r"bind \S*:25\b", "bind 127.0.0.1:%d" % port, cfg)
        servers = iter([a.port, b.port])
        cfg, n = re.subn(r"(server node\d) \S+:2525", lambda m: "%s 127.0.0.1:%d" % (m.group(1), next(servers, 1)), cfg)
        assert n >= 2, "haproxy.cfg lists fewer than two SMTP servers"
        # Nodes beyond the two this test runs stay in the file, marked down by their checks.
        cfg = re.sub(r"^frontend page.*?(?=^frontend|^backend smtp|\Z)", "", cfg, flags=re.S | re.M)
        cfg = re.sub(r"^backend page.*?(?=^frontend|^backend|\Z)", "", cfg, flags=re.S | re.M)
        cfg = cfg.replace("daemon\n", "")
        path = os.path.join(w, "haproxy.cfg")
        open(path, "w").write(cfg)
        check = subprocess.run(["haproxy", "-c", "-f", path], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        proxy = subprocess.Popen(["haproxy", "-db", "-f", path], stdout=open(os.path.join(w, "haproxy.log"), "w"),
                                 stderr=subprocess.STDOUT)

        def up_both():
            try:
                r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % port, "--quit-after", "EHLO"],
                                   capture_output=True, timeout=10)
                return r.returncode == 0
            except Exception:
                return False
        assert wait_for(up_both, 20, 0.2), open(os.path.join(w, "haproxy.log")).read()
        time.sleep(2.5)  # both servers' first health checks (inter 1s)
        ids = []
        for i in range(5):
            mail, msgid, to = letter(i)
            send(port, mail, to)
            ids.append(msgid)
            if i < 4:
                assert wait_for(lambda: len(c.up.contents()) == i + 1, 20, 0.1), "copy %d not relayed" % (i + 1)
        assert wait_for(lambda: "rules=" in a.log() + b.log() and
                        any("held " in l and "template-reuse" in l for l in (a.log() + b.log()).splitlines()), 20, 0.1)
        judged_a = len(re.findall(r"message \S+ from=<priya", a.log()))
        judged_b = len(re.findall(r"message \S+ from=<priya", b.log()))
        assert judged_a + judged_b == 5 and judged_a >= 2 and judged_b >= 2, (judged_a, judged_b)
        assert upstream_ids(c.up) == ids[:4]
    finally:
        if proxy:
            proxy.terminate()
            proxy.wait(timeout=10)
        c.stop()


def case_member_login(w):
    c = Cluster(w)
    try:
        # Added once, before either node runs, through the nodes' own config.
        r = subprocess.run([RAPPORTCTL, "member", "add", "amira", "--password-stdin", "--config", c.config_path,
                            "--state", os.path.join(w, "ctl-state")], input="amira-pass-1\n", capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not os.path.exists(os.path.join(w, "ctl-state", "members.db")), "the member went to SQLite"
        c.start()
        a, b = c.nodes
        for node in (a, b):
            mail, msgid = ordinary(1, "amira@club.example")
            send(node.port, mail, "sam1@example.net", frm="amira@club.example", login=("amira", "amira-pass-1"))
            try:
                send(node.port, mail, "sam1@example.net", frm="amira@club.example", login=("amira", "wrong-pass"))
                raise AssertionError("a wrong password was taken")
            except smtplib.SMTPAuthenticationError:
                pass
            api = Api(node)
            page = {"Origin": "http://" + api.addr, "X-Rapport-Page": "1"}
            st, h, body = api.req("POST", "/api/v1/login", {"name": "amira", "password": "amira-pass-1"}, token=False,
                                  headers=page)
            assert st == 200 and json.loads(body) == {"name": "amira", "role": "member"}, (st, body)
            cookie = h["set-cookie"].split(";", 1)[0]
            me = api.json("GET", "/api/v1/me", token=False, headers={"Cookie": cookie, "X-Rapport-Page": "1"})
            assert me["name"] == "amira" and me["role"] == "member", me
        assert wait_for(lambda: c.up.count() == 2, 20, 0.1), c.up.count()
        # The nodes share one API token, so a member's add-on token works on both.
        assert Api(a).token == Api(b).token
        # A member added through node B's machine later logs in on node A at once.
        r = subprocess.run([RAPPORTCTL, "member", "add", "ben", "--password-stdin", "--config", c.config_path,
                            "--state", b.state], input="ben-pass-22\n", capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        mail, _ = ordinary(2, "ben@club.example")
        send(a.port, mail, "sam2@example.net", frm="ben@club.example", login=("ben", "ben-pass-22"))
        assert wait_for(lambda: c.up.count() == 3, 20, 0.1), c.up.count()
        # PostgreSQL down: members still log in on either node, as each node
        # last read them, and their mail waits to be judged.
        c.pg.stop("fast")
        for node, who, pw, n in ((b, "amira", "amira-pass-1", 3), (a, "ben", "ben-pass-22", 4)):
            mail, _ = ordinary(n, "%s@club.example" % who)
            send(node.port, mail, "sam%d@example.net" % n, frm="%s@club.example" % who, login=(who, pw))
        c.pg.start_server()
        assert wait_for(lambda: c.up.count() == 5, 60, 0.2), c.up.count()
    finally:
        c.stop()


def case_store_down(w):
    c = Cluster(w).start()
    try:
        a, b = c.nodes
        sent, errors = [], []
        # Ordinary mail from two senders into both nodes, the whole time.
        stop_flow = threading.Event()

        def flow():
            i = 0
            while not stop_flow.is_set() and i < 400:
                node = (a, b)[i % 2]
                mail, msgid = ordinary(i, "ben%d@example.org" % (i % 2))
                try:
                    send(node.port, mail, "sam%d@example.net" % i, frm="ben%d@example.org" % (i % 2))
                    sent.append(msgid)
                except Exception as e:  # any refusal is a failure of the case
                    errors.append("%d: %r" % (i, e))
                i += 1
                time.sleep(0.02)
        t = threading.Thread(target=flow)
        t.start()
        assert wait_for(lambda: len(sent) >= 20, 30, 0.05), (len(sent), errors)
        c.pg.stop("fast")
        down_at = len(sent)
        # While it is down: the template, five times, alternating nodes.
        tmpl = []
        for i in range(5):
            mail, msgid, to = letter(i)
            send((a, b)[i % 2].port, mail, to)
            tmpl.append(msgid)
        assert wait_for(lambda: len(sent) >= down_at + 20, 30, 0.05), "mail stopped flowing while the store was down"
        relayed_during = set(upstream_ids(c.up))
        wait_log(a, "not judged")
        wait_log(b, "not judged")
        assert "the store is unavailable" in a.log()
        for node in (a, b):
            m = Api(node).metrics()
            assert "rapport_store_up 0" in m, m[-600:]
            waiting = int(re.search(r"^rapport_store_waiting_messages (\d+)", m, re.M).group(1))
            assert waiting > 0, m[-600:]
        time.sleep(1)
        # Nothing accepted during the outage left unjudged: neither the
        # template copies nor the ordinary mail that came after the stop (the
        # first few after it may have been judged just before).
        now = set(upstream_ids(c.up))
        assert not (set(tmpl) & now), "a template copy was relayed unjudged"
        late = set(sent[down_at + 3:])
        assert late and not (late & now), "%d messages relayed while the store was down" % len(late & now)
        assert relayed_during <= now
        c.pg.start_server()
        stop_flow.set()
        t.join(timeout=60)
        assert not errors, errors[:5]
        wait_log(a, "store: back")
        for node in (a, b):
            assert wait_for(lambda: "rapport_store_up 1" in Api(node).metrics(), 30, 0.2)
            assert wait_for(lambda: re.search(r"^rapport_store_waiting_messages 0$", Api(node).metrics(), re.M), 60, 0.2)
        # Which copy of the template is judged fifth depends on the order in
        # which the two nodes judge what waited for the store: each node
        # keeps its own arrival order, not the other's. So: exactly one of
        # the five is held, on either node, and the other four leave.
        def copies_left():
            return [m for m in tmpl if m in set(upstream_ids(c.up))]
        assert wait_for(lambda: set(sent) <= set(upstream_ids(c.up)) and len(copies_left()) == 4, 60, 0.2), \
            "lost: %d ordinary, %d template copies relayed" % (len(set(sent) - set(upstream_ids(c.up))),
                                                             len(copies_left()))
        time.sleep(1)
        ids = upstream_ids(c.up)
        doubled = [i for i in set(ids) if ids.count(i) > 1]
        assert not doubled, "relayed twice: %s" % doubled[:5]
        assert len(copies_left()) == 4, "%d template copies left" % len(copies_left())
        held = [l for l in (a.log() + b.log()).splitlines() if "held " in l and "template-reuse" in l]
        assert len(held) == 1, held
        print("store_down: %d messages accepted, %d while PostgreSQL was down" % (len(sent) + 5, len(sent) - down_at + 5))
    finally:
        c.stop()


RELAY_POLL_S = 5  # Relay::kPollSeconds
RACE = 1000
# Retries come quickly, so the race starts soon after the upstream does.
FAST_RETRY = "\n[relay]\nretry_initial = 1\nretry_max = 2\n"


def held_ids(d):
    """The ids node `d` logged as held, in order."""
    return re.findall(r"^.*?held (\S+) from=", d.log(), re.M)


def ctl(*args):
    r = subprocess.run([RAPPORTCTL] + list(args), capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def case_release_elsewhere(w):
    c = Cluster(w).start()
    try:
        a, b = c.nodes
        ids = []
        # Six copies of one letter through node A: the fifth and sixth are held there.
        for i in range(6):
            mail, msgid, to = letter(i)
            send(a.port, mail, to)
            ids.append(msgid)
            if i < 4:
                assert wait_for(lambda: c.up.count() == i + 1, 20, 0.1), "copy %d not relayed" % (i + 1)
        assert wait_for(lambda: len(held_ids(a)) == 2, 20, 0.1), held_ids(a)
        keep, drop = held_ids(a)
        api_b = Api(b)
        # Node B lists and shows what A holds, its text included.
        listed = [m["id"] for m in api_b.json("GET", "/api/v1/messages?status=held")["messages"]]
        assert sorted(listed) == sorted([keep, drop]), listed
        shown = api_b.json("GET", "/api/v1/messages/" + keep)
        assert shown["status"] == "held" and shown["stored"], shown
        assert "forklift operator" in shown["text"], shown.get("text", "")[:200]
        st, _, raw = api_b.req("GET", "/api/v1/messages/%s/raw" % keep)
        assert st == 200 and ids[4].encode() in raw, (st, raw[:200])
        # rapportctl with B's config: the same list.
        rc, out = ctl("held", "list", "--json", "--config", b.config_path)
        assert rc == 0 and sorted(m["id"] for m in json.loads(out)) == sorted([keep, drop]), out
        rc, out = ctl("held", "show", keep, "--config", b.config_path)
        assert rc == 0 and "forklift" in out, out
        # A's local spool kept no copy: the store's is the one B showed.
        assert not os.path.exists(os.path.join(a.state, "spool", keep))
        # Released through B: it arrives once (either node may send it).
        r = api_b.json("POST", "/api/v1/messages/%s/release" % keep)
        assert r["released"] and r["status"] in ("queued", "relayed"), r
        assert wait_for(lambda: ids[4] in upstream_ids(c.up), 20, 0.1), "the released copy never arrived"
        # Dropped through rapportctl with B's config: never sent.
        rc, out = ctl("held", "drop", drop, "--config", b.config_path)
        assert rc == 0, out
        r = api_b.json("POST", "/api/v1/messages/%s/release" % keep, expect=200)
        assert not r["released"], r  # a second click sends nothing
        time.sleep(RELAY_POLL_S + 1)  # both relays have polled since
        got = upstream_ids(c.up)
        assert got.count(ids[4]) == 1, got
        assert ids[5] not in got, "the dropped copy was sent"
        assert got == ids[:5], (got, ids)
        # A shows both decisions.
        api_a = Api(a)
        assert api_a.json("GET", "/api/v1/messages/" + keep)["status"] == "relayed"
        dropped = api_a.json("GET", "/api/v1/messages/" + drop)
        assert dropped["status"] == "dropped" and not dropped["stored"], dropped
        both = {m["id"]: m for m in api_a.json("GET", "/api/v1/messages?limit=50")["messages"]}
        assert both[keep]["status"] == "relayed" and both[drop]["status"] == "dropped", both
        rc, out = ctl("held", "list", "--json", "--status", "dropped", "--config", a.config_path)
        assert rc == 0 and [m["id"] for m in json.loads(out)] == [drop], out
        assert c.pg.psql("SELECT count(*) FROM queue WHERE image IS NOT NULL") == "0", \
            c.pg.psql("SELECT id, status FROM queue WHERE image IS NOT NULL")
    finally:
        c.stop()


def flood(nodes, n, threads=8):
    """n ordinary messages, spread over `nodes` from 8 senders, 8 clients at a
    time; returns their Message-IDs (every one got its 250)."""
    sent, errors = [], []
    lock = threading.Lock()
    todo = list(range(n))

    def client():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            frm = "ben%d@example.org" % (i % 8)
            mail, msgid = ordinary(i, frm)
            try:
                send(nodes[i % len(nodes)].port, mail, "sam%d@example.net" % i, frm=frm)
                with lock:
                    sent.append(msgid)
            except Exception as e:
                with lock:
                    errors.append("%d: %r" % (i, e))
    ts = [threading.Thread(target=client) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:5]
    return sent


def case_race_1000(w):
    c = Cluster(w, extra=FAST_RETRY, upstream_up=False).start()
    try:
        a, b = c.nodes
        t0 = time.time()
        sent = flood([a, b], RACE)
        assert len(set(sent)) == RACE
        accepted = time.time() - t0
        # Every one judged and queued, and tried at least once against the closed port.
        queued = lambda: c.pg.psql("SELECT count(*) FROM queue WHERE status = 'queued' AND NOT notice "
                                   "AND attempts > 0")
        assert wait_for(lambda: queued() == str(RACE), 120, 0.5), queued()
        assert c.up.count() == 0
        c.up.start()
        t1 = time.time()
        assert wait_for(lambda: c.up.count() >= RACE, 240, 0.2), "%d of %d arrived" % (c.up.count(), RACE)
        drained = time.time() - t1
        time.sleep(RELAY_POLL_S + 1)  # any second copy would come by now
        ids = upstream_ids(c.up)
        doubled = [i for i in set(ids) if ids.count(i) > 1]
        assert not doubled, "%d sent twice, e.g. %s" % (len(doubled), doubled[:3])
        assert len(ids) == RACE and set(ids) == set(sent), (len(ids), len(set(sent) - set(ids)))
        assert c.pg.psql("SELECT count(*) FROM queue WHERE status = 'relayed' AND NOT notice") == str(RACE)
        # Both relays took part, whoever had accepted the message.
        sent_by = {}
        for d in (a, b):
            sent_by[d] = len(re.findall(r"^.*relay \S+ attempt=\d+ ms=\d+ <[^>]+>=sent", d.log(), re.M))
        assert sent_by[a] + sent_by[b] == RACE, sent_by
        assert sent_by[a] > 0 and sent_by[b] > 0, sent_by
        print("race_1000: %d accepted in %.1f s; relayed in %.1f s once the upstream was up (node a %d, node b %d)"
              % (RACE, accepted, drained, sent_by[a], sent_by[b]))
    finally:
        c.stop()


def case_store_restart_under_load(w):
    # A slow upstream (1.5 s a message): when PostgreSQL stops, attempts are
    # under way on both nodes; their outcomes wait in memory for the store.
    c = Cluster(w, upstream_delay=1.5).start()
    try:
        a, b = c.nodes
        sent, errors = [], []
        stop_flow = threading.Event()

        def flow():
            i = 0
            while not stop_flow.is_set() and i < 300:
                node = (a, b)[i % 2]
                frm = "ben%d@example.org" % (i % 4)
                mail, msgid = ordinary(i, frm)
                try:
                    send(node.port, mail, "sam%d@example.net" % i, frm=frm)
                    sent.append(msgid)
                except Exception as e:  # any refusal is a failure of the case
                    errors.append("%d: %r" % (i, e))
                i += 1
                time.sleep(0.02)
        t = threading.Thread(target=flow)
        t.start()
        # Relays busy on both nodes.
        assert wait_for(lambda: c.up.count() >= 4 and len(sent) >= 40, 60, 0.05), (c.up.count(), len(sent), errors)
        c.pg.stop("fast")
        down_at = len(sent)
        assert wait_for(lambda: len(sent) >= down_at + 30, 60, 0.05), "mail stopped flowing while the store was down"
        time.sleep(3)  # the attempts under way finish meanwhile
        parked = [l for l in (a.log() + b.log()).splitlines() if "kept, and not sent again" in l]
        assert parked, "no attempt was under way when the store stopped"
        # Held mail waits in the store: the API says so, /metrics still answers.
        st, _, body = Api(a).req("GET", "/api/v1/messages?status=held")
        assert st == 503 and b"store_unavailable" in body, (st, body)
        m = Api(b).metrics()
        assert "rapport_store_up 0" in m and "rapport_messages{" not in m, m[-600:]
        c.pg.start_server()
        assert wait_for(lambda: len(sent) >= down_at + 60, 60, 0.05)
        stop_flow.set()
        t.join(timeout=60)
        assert not errors, errors[:5]
        for node in (a, b):
            assert wait_for(lambda: re.search(r"^rapport_store_waiting_messages 0$", Api(node).metrics(), re.M), 60, 0.2)
        assert wait_for(lambda: set(sent) <= set(upstream_ids(c.up)), 180, 0.5), \
            "lost: %d of %d" % (len(set(sent) - set(upstream_ids(c.up))), len(sent))
        time.sleep(RELAY_POLL_S + 1)
        ids = upstream_ids(c.up)
        doubled = [i for i in set(ids) if ids.count(i) > 1]
        assert not doubled, "relayed twice: %s" % doubled[:5]
        assert len(ids) == len(sent), (len(ids), len(sent))
        # Every one judged (a row with the checks' action) and relayed once.
        rows = c.pg.psql("SELECT status || ':' || count(*) FROM queue WHERE NOT notice AND action IN ('relay', 'warn') "
                         "GROUP BY status")
        assert rows == "relayed:%d" % len(sent), rows
        assert "outcomes written down" in a.log() + b.log()
        print("store_restart_under_load: %d accepted, %d while PostgreSQL was down, %d outcomes kept in memory"
              % (len(sent), len(sent) - down_at, len(parked)))
    finally:
        c.stop()


def case_node_killed_store_down(w):
    c = Cluster(w).start()
    try:
        a, b = c.nodes
        before = flood([a, b], 20, threads=2)
        assert wait_for(lambda: c.up.count() == 20, 30, 0.1), c.up.count()
        c.pg.stop("fast")
        # Accepted while the store is down: waiting, unjudged, in A's spool only.
        waiting = flood([a], 15, threads=2)
        wait_log(a, "not judged")
        a.kill()
        c.pg.start_server()
        a.start()  # recovery: spool ids without a row are judged and recorded
        wait_log(a, "recovered ")
        assert wait_for(lambda: set(waiting) <= set(upstream_ids(c.up)), 60, 0.2), \
            "lost: %d of %d" % (len(set(waiting) - set(upstream_ids(c.up))), len(waiting))
        time.sleep(RELAY_POLL_S + 1)
        ids = upstream_ids(c.up)
        assert len(ids) == len(set(ids)) == len(before) + len(waiting), (len(ids), len(set(ids)))
        assert not os.listdir(os.path.join(a.state, "spool")), os.listdir(os.path.join(a.state, "spool"))
        line = [l for l in a.log().splitlines() if "recovered " in l][-1]
        assert "(%d re-judged)" % len(waiting) in line, line
    finally:
        c.stop()


def case_ledger_shared(w):
    from dovecot import Dovecot
    import ledger_e2e as le
    le.RAPPORTCTL = RAPPORTCTL
    dv = Dovecot(w, idle=True).start()
    imap, _ = le.imap_config(dv, w, "imaps://127.0.0.1:%d" % dv.tls_port, poll=1)
    c = Cluster(w, extra=imap)
    try:
        c.start()
        a, b = c.nodes
        api = {"a": Api(a), "b": Api(b)}

        def inbox_states():
            return sorted(x.json("GET", "/api/v1/outcomes")["inbox"]["state"] for x in api.values())
        # Both nodes are given the inbox; one reads it, the other waits.
        assert wait_for(lambda: inbox_states() == ["ok", "standby"], 30, 0.2), inbox_states()
        reader, waiter = (a, b) if api["a"].json("GET", "/api/v1/outcomes")["inbox"]["state"] == "ok" else (b, a)
        assert "another rapportd reads" in waiter.log(), waiter.log()[-2000:]

        ids = {}
        for k, node in (("A", a), ("B", b), ("C", a)):
            to, subject, body = le.APPS[k]
            ids[k] = "<%s-%s@example.org>" % (k, os.urandom(4).hex())
            rcpt = re.search(r"<([^>]+)>", to).group(1)
            send(node.port, le.mail(to, subject, body, ids[k]), rcpt)
        assert wait_for(lambda: c.up.count() == 3, 30, 0.1), c.up.count()

        def figures(x):
            o = x.json("GET", "/api/v1/outcomes")
            o.pop("inbox", None)
            for f in o.get("follow_up_due", []):
                f.pop("waited", None)
            return o
        assert wait_for(lambda: figures(api["a"])["applications"] == 3 and figures(api["b"])["applications"] == 3,
                        20, 0.1), (figures(api["a"]), figures(api["b"]))

        # Sent through A, its reply reported through B's API (the add-on on B's machine).
        answer_a = le.reply("Kwame Osei <k.osei@kestrel-analytics.example>", "Re: Data analyst role", ids["A"])
        head = answer_a.split(b"\r\n\r\n")[0].decode() + "\r\n\r\n"
        r = api["b"].json("POST", "/api/v1/incoming", {"headers": head})
        assert r["kind"] == "replied" and r["match"] == "exact", r
        # The same answer reported through A as well: counted once.
        again = api["a"].json("POST", "/api/v1/incoming", {"headers": head})
        assert again["kind"] == "duplicate", again
        # Sent through B, its reply in the shared inbox (read by whichever node reads it).
        dv.append(le.reply("Anna Lewis <jobs@harbourlets.example>", "Re: Lettings negotiator", ids["B"]))

        def both(replied):
            fa, fb = figures(api["a"]), figures(api["b"])
            return fa["replied"] == replied and fa == fb
        assert wait_for(lambda: both(2), 30, 0.2), (figures(api["a"]), figures(api["b"]))
        fa = figures(api["a"])
        subj = {x["subject"]: x for x in fa["recent"]}
        assert subj[le.APPS["A"][1]]["outcome"] == "replied" and subj[le.APPS["A"][1]]["match"] == "exact", subj
        assert subj[le.APPS["B"][1]]["outcome"] == "replied", subj
        assert subj[le.APPS["C"][1]]["outcome"] == "waiting", subj
        assert fa["applications"] == 3 and fa["reply_rate"] == round(2 / 3, 4), fa

        # rapportctl with each node's config (its state directory) says the same.
        ctl = {}
        for name, node in (("a", a), ("b", b)):
            cfg = os.path.join(w, "ctl-%s.toml" % name)
            with open(cfg, "w") as f:
                f.write(c.config + '[state]\ndir = "%s"\n' % node.state)
            os.chmod(cfg, 0o600)
            r = subprocess.run([RAPPORTCTL, "outcomes", "--json", "--config", cfg], capture_output=True, text=True,
                               timeout=60)
            assert r.returncode == 0, r.stdout + r.stderr
            ctl[name] = json.loads(r.stdout)
        le.same_figures(ctl["a"], ctl["b"])
        le.same_figures(ctl["a"], api["a"].json("GET", "/api/v1/outcomes"))
        # /metrics counts the shared ledger on both.
        for x in api.values():
            assert 'rapport_replies_total{match="exact"} 2' in x.metrics(), x.metrics()[-1500:]
        assert c.pg.psql("SELECT count(*) FROM ledger_answer") == "2", c.pg.psql("SELECT * FROM ledger_answer")

        # The reading node dies: the other takes the inbox over and reads
        # the next answer from where the first got to (nothing twice).
        reader.kill()
        reader.proc = None  # killed on purpose: no exit status to check
        wait_log(waiter, "inbox: this rapportd reads", 30)
        live = api["a"] if waiter is a else api["b"]
        assert wait_for(lambda: live.json("GET", "/api/v1/outcomes")["inbox"]["state"] == "ok", 30, 0.2)
        dv.append(le.reply("Hiring Team <hr@brightwater.example>", "Re: Warehouse team leader", ids["C"]))
        assert wait_for(lambda: live.json("GET", "/api/v1/outcomes")["replied"] == 3, 30, 0.2), \
            live.json("GET", "/api/v1/outcomes")
        time.sleep(1.5)  # a poll or two: the first answers are not counted again
        o = live.json("GET", "/api/v1/outcomes")
        assert o["replied"] == 3 and o["applications"] == 3, o
        assert c.pg.psql("SELECT count(*) FROM ledger_answer") == "3", c.pg.psql("SELECT * FROM ledger_answer")
        print("ledger_shared: reader %s, then %s" % (os.path.basename(reader.workdir), os.path.basename(waiter.workdir)))
    finally:
        c.stop()
        dv.stop()


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    global RAPPORTD, RAPPORTCTL
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print("usage: multi_node_e2e.py RAPPORTD RAPPORTCTL CASE   (cases: %s)" % " ".join(CASES))
        return 2
    RAPPORTD, RAPPORTCTL = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    w = tempdir("store-" + sys.argv[3])
    ok = False
    try:
        CASES[sys.argv[3]](w)
        assert not EXIT_PROBLEMS, EXIT_PROBLEMS
        ok = True
        print("ok: " + sys.argv[3])
    except Exception:
        traceback.print_exc()
        for root, _, files in os.walk(w):
            for f in files:
                if f in ("rapportd.log", "pg.log", "haproxy.log"):
                    print("--- %s ---" % os.path.join(root, f))
                    print(open(os.path.join(root, f), errors="replace").read()[-6000:])
    finally:
        if ok:
            shutil.rmtree(w, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
