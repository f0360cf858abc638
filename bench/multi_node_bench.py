#!/usr/bin/python3
"""multi_node_bench.py - relayed messages a second, one rapportd against two
on the same PostgreSQL store, in one run (figures: BENCHMARKS.md, "Several
nodes on one store").

    bench/multi_node_bench.py RAPPORTD [--messages 2000] [--clients 8] [--warmup 100] [--sqlite]
                              [--check-lanes N]

One PostgreSQL 15 (tests/store/pg_server.py, fsync on as a deployment runs
it) and one aiosmtpd upstream serve both phases:

  one   a rapportd on the store takes all the load;
  two   two new rapportd on the same store share it: each client
        connection goes to one node, half of them to each;

and with --sqlite, before them, "lite": one rapportd without a store
(SQLite), the same load, for comparison.

The load: MESSAGES pieces of everyday mail (multi_node_e2e.py's ordinary():
each its own text, so none is a template and every one is relayed), from
50 senders, sent by CLIENTS processes in parallel, each over one SMTP
connection. Each phase starts with WARMUP messages of its own, untimed
(the nodes' spool logs and PostgreSQL's caches warm). The rate is
MESSAGES / (first 250 of the timed load -> last timed message arriving at
the upstream); every message must arrive, once, else the run fails.

The script does not care which node relays a message (the upstream counts
arrivals), so it measures the same way whether each node relays its own
mail or the nodes share one queue.
"""
import argparse
import multiprocessing
import os
import re
import shutil
import smtplib
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "store"))
from e2e_lib import EXIT_PROBLEMS, Rapportd, Upstream, tempdir, wait_for  # noqa: E402
from multi_node_e2e import ordinary, store_section  # noqa: E402
from pg_server import PgServer  # noqa: E402

SENDERS = 50
# rapportd's line for a relay attempt the upstream took (relay.cc).
RELAYED = re.compile(r"relay \S+ attempt=\d+ ms=\d+ <[^>]*>=\w+\(2\d\d\)")


def client(port, items, start, firsts):
    """One SMTP connection sending `items` (index, sender) once `start` is set."""
    mails = [(frm, "sam%d@example.net" % i, ordinary(i, frm)[0]) for i, frm in items]
    start.wait()
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as s:
        for n, (frm, to, mail) in enumerate(mails):
            s.sendmail(frm, [to], mail)
            if n == 0:
                firsts.put(time.time())


def proc_cpu(pid):
    """User + system CPU seconds of process `pid` so far."""
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pg_cpu(pg):
    """CPU seconds of the PostgreSQL server and its live backends (the
    nodes' pooled connections last the phase)."""
    if not pg:
        return 0.0
    master = int(open(os.path.join(pg.data, "postmaster.pid")).readline())
    total = proc_cpu(master)
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if int(open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[1]) == master:
                    total += proc_cpu(int(pid))
            except (OSError, ValueError, IndexError):
                pass
    return total


class Arrivals:
    """The upstream's arrival times (an on_data hook, called per message)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times = []

    def __call__(self, envelope):
        with self.lock:
            self.times.append(time.time())

    def count(self):
        with self.lock:
            return len(self.times)


def push(ports, first, count, clients, arrivals, expect_total):
    """Sends messages first..first+count-1 over `clients` connections spread
    over `ports` in turn; returns (first 250, last arrival)."""
    per = [[] for _ in range(clients)]
    for k in range(count):
        i = first + k
        per[k % clients].append((i, "ben%d@example.org" % (i % SENDERS)))
    ctx = multiprocessing.get_context("fork")
    start, firsts = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=client, args=(ports[c % len(ports)], per[c], start, firsts)) for c in range(clients)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # every client has built its mail
    start.set()
    for p in procs:
        p.join(timeout=600)
        assert p.exitcode == 0, "a client failed (exit %s)" % p.exitcode
    first250 = min(firsts.get(timeout=10) for _ in range(clients))
    assert wait_for(lambda: arrivals.count() >= expect_total, 600, 0.01), \
        "%d of %d messages arrived" % (arrivals.count(), expect_total)
    with arrivals.lock:
        last = max(arrivals.times[expect_total - count:expect_total])
    return first250, last


def phase(name, w, pg, secret, rapportd, nodes, first, a, up, arrivals):
    section = store_section(pg, secret) if pg else ""  # no store: SQLite under the state directory
    # Nodes that share the queue name themselves in their claims ([store]
    # node, the machine's name by default); these share one machine. The
    # key is set where the example config knows it.
    named = re.search(r"^#?\s*node\s*=", section, re.M) is not None
    ds = []
    try:
        for k in range(nodes):
            d = os.path.join(w, "%s-%d" % (name, k))
            os.makedirs(d)
            config = section + ('node = "%s-%d"\n' % (name, k) if named else "") + "\n[relay]\nworkers = 8\n"
            if a.check_lanes:
                config += "\n[spool]\ncheck_lanes = %d\n" % a.check_lanes
            ds.append(Rapportd(rapportd, d, upstream="smtp://127.0.0.1:%d" % up.port, config=config).start())
        for d in ds:  # a running node has its spool log segments ready
            assert wait_for(lambda: "spool: log ready" in d.log(), 60, 0.1), d.log()[-2000:]
        ports = [d.port for d in ds]
        base = arrivals.count()
        cpu0 = [proc_cpu(d.proc.pid) for d in ds], os.times(), pg_cpu(pg)
        if a.warmup:
            push(ports, first, a.warmup, a.clients, arrivals, base + a.warmup)
        t0, t1 = push(ports, first + a.warmup, a.messages, a.clients, arrivals, base + a.warmup + a.messages)
        time.sleep(1)
        assert arrivals.count() == base + a.warmup + a.messages, "more messages arrived than were sent"
        held = [l for d in ds for l in d.log().splitlines() if "held " in l]
        assert not held, held[:3]
        per_node = [len(RELAYED.findall(d.log())) for d in ds]
        t = os.times()
        cpu = ([proc_cpu(d.proc.pid) - c for d, c in zip(ds, cpu0[0])], t.user + t.system - cpu0[1].user -
               cpu0[1].system, t.children_user + t.children_system - cpu0[1].children_user - cpu0[1].children_system,
               pg_cpu(pg) - cpu0[2])
    finally:
        for d in ds:
            d.stop()
    rate = a.messages / (t1 - t0)
    print("%-4s: %d messages, %d clients: %.1f msg/s relayed (%.2f s first 250 -> last arrival);"
          " relayed by each node (warm-up included): %s; loadavg %s" %
          (name, a.messages, a.clients, rate, t1 - t0, per_node, " ".join(open("/proc/loadavg").read().split()[:3])),
          flush=True)
    print("     CPU seconds, warm-up included: rapportd %s, PostgreSQL %.1f, upstream and this script %.1f,"
          " clients %.1f" % (" ".join("%.1f" % c for c in cpu[0]), cpu[3], cpu[1], cpu[2]), flush=True)
    return rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rapportd")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--sqlite", action="store_true", help="first, one rapportd without a store, for comparison")
    ap.add_argument("--check-lanes", type=int, default=0, help="[spool] check_lanes (default: one per core)")
    a = ap.parse_args()
    rapportd = os.path.abspath(a.rapportd)
    if not os.access(rapportd, os.X_OK):
        sys.exit("multi_node_bench.py: %s is not an executable" % rapportd)
    w = tempdir("multi-node-bench")
    pg = up = None
    ok = False
    try:
        pg = PgServer(w).start(fsync=True)
        secret = pg.password_file(w)
        arrivals = Arrivals()
        up = Upstream(w, on_data=arrivals).start()
        if a.sqlite:
            phase("lite", w, None, None, rapportd, 1, 2000000, a, up, arrivals)
        one = phase("one", w, pg, secret, rapportd, 1, 0, a, up, arrivals)
        two = phase("two", w, pg, secret, rapportd, 2, 1000000, a, up, arrivals)
        print("two nodes / one node: %.2f" % (two / one))
        assert not EXIT_PROBLEMS, EXIT_PROBLEMS
        ok = True
    finally:
        if up:
            up.stop()
        if pg:
            pg.stop()
        if ok:
            shutil.rmtree(w, ignore_errors=True)
        else:
            print("(work dir kept: %s)" % w)


if __name__ == "__main__":
    main()
