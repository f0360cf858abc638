#!/usr/bin/env python3
"""store_history.py - the template memory on PostgreSQL at 1M and 10M stored
messages, in one command (figures: BENCHMARKS.md, "Template memory on
PostgreSQL").

    bench/store_history.py build/store_history_bench [--sizes 1000000,10000000]
                           [--timed 5000] [--dir DIR]

For each size: a PostgreSQL 15 (tests/store/pg_server.py) is filled by
store_history_bench in bulk (COPY) under load settings, restarted with the
settings a deployment would run (fsync and synchronous commit on,
wal_level replica), and then store_history_bench times the checks (p50/p99
lines). The server lives in a temporary folder, removed at the end, or in
DIR, kept, so that a later run reuses a fill of the same size (10M takes a
while to fill).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "store"))
import pg_server  # noqa: E402

# A small database server (2-4 cores, 4-8 GB of memory): a quarter of the
# memory for shared_buffers, the rest left to the page cache.
SERVE = {
    "shared_buffers": "1GB",
    "effective_cache_size": "4GB",
    "max_wal_size": "4GB",
    "wal_level": "replica",
}
# Only while filling: nothing to recover if the machine dies mid-fill (the
# fill starts again), so no fsync and no WAL for the COPY into tables
# truncated in the same transaction (wal_level minimal), and memory for
# the index builds.
LOAD = {
    "shared_buffers": "1GB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def start(pg, settings):
    opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200" % (pg.port, pg.sock)
    for k, v in settings.items():
        opts += " -c %s=%s" % (k, v)
    pg._run([os.path.join(pg_server.BIN, "pg_ctl"), "-D", pg.data, "-l", os.path.join(pg.dir, "pg.log"), "-w",
             "-t", "120", "-o", opts, "start"])


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench", help="build/store_history_bench")
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--timed", type=int, default=5000)
    ap.add_argument("--dir", help="keep the server here and reuse its fill")
    a = ap.parse_args()
    if not os.access(a.bench, os.X_OK):
        sys.exit("store_history.py: %s is not an executable" % a.bench)
    workdir = a.dir or tempfile.mkdtemp(prefix="rapport-store-bench-")
    os.makedirs(workdir, exist_ok=True)
    pg = pg_server.PgServer(workdir, port=pg_server._free_port())
    if not os.path.exists(os.path.join(pg.data, "PG_VERSION")):
        pg.start()  # initdb, role and database
        pg.stop()
    url = "postgresql://rapport:%s@127.0.0.1:%d/rapport" % (pg.password, pg.port)
    try:
        for size in [int(s) for s in a.sizes.split(",")]:
            start(pg, LOAD)
            t0 = time.time()
            subprocess.run([a.bench, url, str(size), "0"], check=True, stdout=subprocess.DEVNULL)
            print("size=%d fill_s=%.0f" % (size, time.time() - t0), flush=True)
            pg.stop()
            start(pg, SERVE)
            print("size=%d settings: %s; loadavg before: %s" % (size, " ".join("%s=%s" % kv for kv in SERVE.items()),
                                                                " ".join(loadavg())), flush=True)
            out = subprocess.run([a.bench, url, str(size), str(a.timed)], check=True, capture_output=True,
                                 text=True)
            sys.stderr.write(out.stderr)
            for line in out.stdout.splitlines():
                print("size=%d %s" % (size, line))
            print("size=%d loadavg after: %s" % (size, " ".join(loadavg())), flush=True)
            pg.stop()
    finally:
        pg.stop()
        if not a.dir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
