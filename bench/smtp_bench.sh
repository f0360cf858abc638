#!/usr/bin/env bash
# smtp_bench.sh - rapportd vs a Postfix relay, same load, same machine, same run.
#
#   smtp-source -> rapportd 127.0.0.1:P -> smtp-sink 127.0.0.1:A
#   smtp-source -> Postfix  (via /work/shared/tools/postfix-baseline or $POSTFIX_BASELINE)
#
# Both fsync every accepted message (rapportd: file + directory before 250;
# Postfix: its default queue-file fsync). Prints msgs/s accepted, msgs/s fully
# relayed (sink has every message), and rapportd's end-of-DATA -> 250 latency
# percentiles (measured inside rapportd: from the parser seeing CRLF.CRLF to
# the reply's write completing; printed at shutdown).
#
# Usage: bench/smtp_bench.sh [RAPPORTD]   (default: build/rapportd)
# Env: MSG_COUNT [2000], MSG_SIZE [20480], SESSIONS [20], WARMUP [100],
#      BENCH_TMPDIR [/tmp] (must be a real disk for fsync),
#      SKIP_POSTFIX=1 to run only rapportd, RAPPORTD_EXTRA_CONFIG: TOML lines
#      appended to rapportd's config (diagnostics, e.g. "[spool]\nmax_segments = 64"). Needs root for the Postfix part.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
RAPPORTD=${1:-$HERE/../build/rapportd}
MSG_COUNT=${MSG_COUNT:-2000}
MSG_SIZE=${MSG_SIZE:-20480}
SESSIONS=${SESSIONS:-20}
WARMUP=${WARMUP:-100}
BENCH_TMPDIR=${BENCH_TMPDIR:-/tmp}
POSTFIX_BASELINE=${POSTFIX_BASELINE:-$HERE/../../shared/tools/postfix-baseline}
HOST=127.0.0.1

die() { echo "smtp_bench: $*" >&2; exit 1; }
[ -x "$RAPPORTD" ] || die "no rapportd at $RAPPORTD (build it first)"
for b in smtp-source smtp-sink; do command -v "$b" >/dev/null || die "missing $b (Debian package postfix)"; done

now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

WORK=$(mktemp -d "$BENCH_TMPDIR/smtp-bench.XXXXXX")
SINK_PID="" RD_PID=""
cleanup() {
    set +e
    [ -n "$RD_PID" ] && kill "$RD_PID" 2>/dev/null && wait "$RD_PID" 2>/dev/null
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    if [ -n "${KEEP_LOG:-}" ]; then cp "$WORK/rapportd.log" "$KEEP_LOG"; fi
    rm -rf -- "$WORK"
}
trap cleanup EXIT

SINK_PORT=$(free_port)
smtp-sink -4 -c -u nobody "$HOST:$SINK_PORT" 1000 >"$WORK/sink.log" 2>&1 &
SINK_PID=$!

cat >"$WORK/rapportd.toml" <<EOT
[smtp]
max_connections = 1000
[relay]
workers = 8
${RAPPORTD_EXTRA_CONFIG:-}
EOT
# smtp-source's filler lines ("1XXXX...") read as an unfilled placeholder,
# which the default policy holds; as "warn" every message still runs the full
# check (and is recorded) but takes the relay path the benchmark is about.
cat >"$WORK/policy.toml" <<EOT
version = 1
[rules.unfilled-placeholder]
action = "warn"
EOT
"$RAPPORTD" --config "$WORK/rapportd.toml" --listen "$HOST:0" --state "$WORK/state" \
    --policy "$WORK/policy.toml" --upstream "smtp://$HOST:$SINK_PORT" 2>"$WORK/rapportd.log" &
RD_PID=$!
for i in $(seq 100); do [ -s "$WORK/state/smtp-address" ] && break; sleep 0.1; done
[ -s "$WORK/state/smtp-address" ] || { cat "$WORK/rapportd.log" >&2; die "rapportd did not start"; }
RD_PORT=$(cut -d: -f2 "$WORK/state/smtp-address")
# A running daemon has its spool log segments ready; wait for the first ones.
for i in $(seq 600); do grep -q "spool: log ready" "$WORK/rapportd.log" && break; sleep 0.1; done

source_run() {   # $1 = port, $2 = count
    smtp-source -s "$SESSIONS" -l "$MSG_SIZE" -m "$2" -d -c -f sender@example.org -t rcpt@example.net \
        "$HOST:$1" >"$WORK/source.log" 2>&1 || { cat "$WORK/source.log" >&2; die "smtp-source failed"; }
}
wait_sink() {    # $1 = expected total; echoes the time the last one arrived
    # One process reading only what the sink appended since its last look,
    # every 10 ms: the relay being measured shares two cores with it, so the
    # watcher must cost next to nothing (a pipeline of four new processes
    # per tick halved the rate it reported).
    /usr/bin/python3 - "$WORK/sink.log" "$1" <<'PY' || die "sink has fewer than $1 messages"
import re, sys, time
path, want = sys.argv[1], int(sys.argv[2])
pat = re.compile(rb"mesg=(\d+)")
got, tail, deadline = 0, b"", time.time() + 60
with open(path, "rb") as f:
    while time.time() < deadline:
        chunk = f.read()
        if chunk:
            found = pat.findall(tail + chunk)
            if found:
                got = max(got, int(found[-1]))
            tail = chunk[-32:]
            if got >= want:
                print("%.9f" % time.time())
                sys.exit(0)
        time.sleep(0.01)
sys.exit(1)
PY
}

if [ "$WARMUP" -gt 0 ]; then source_run "$RD_PORT" "$WARMUP"; wait_sink "$WARMUP" >/dev/null; fi
sync
kill -USR1 "$RD_PID"   # latency sample restarts here: the timed run only
T0=$(now)
source_run "$RD_PORT" "$MSG_COUNT"
T_ACCEPT=$(now)
kill -USR1 "$RD_PID"   # end of the timed sample (accepting phase)
T_RELAYED=$(wait_sink $((WARMUP + MSG_COUNT)))
# Cross-check from the client side, after the timed run (not part of it).
CLIENT_LAT=""
if [ -x /usr/bin/python3 ]; then
    CLIENT_LAT=$(/usr/bin/python3 "$HERE/smtp_latency.py" "$HOST:$RD_PORT" "$SESSIONS" 50 "$MSG_SIZE" || true)
fi
kill "$RD_PID"; wait "$RD_PID" 2>/dev/null || true; RD_PID=""
# Lines: after warm-up (discarded), after the timed run, at exit (the probe).
LAT=$(grep -o 'end-of-DATA to reply latency: .*' "$WORK/rapportd.log" | sed -n 2p)
SPOOL_FS=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")

rate() { awk -v n="$MSG_COUNT" -v a="$1" -v b="$2" 'BEGIN{printf "%9.1f msgs/s  (%7.3f s)", n/(b-a), b-a}'; }
echo "smtp_bench: $MSG_COUNT msgs x $MSG_SIZE B, $SESSIONS sessions, warm-up $WARMUP, spool on $SPOOL_FS, $(nproc) CPUs"
printf '%-30s %s\n' "accepted by rapportd" "$(rate "$T0" "$T_ACCEPT")"
printf '%-30s %s\n' "fully relayed by rapportd" "$(rate "$T0" "$T_RELAYED")"
echo "rapportd $LAT (server side, timed run)"
[ -n "$CLIENT_LAT" ] && echo "rapportd $CLIENT_LAT"

if [ -z "${SKIP_POSTFIX:-}" ]; then
    [ -x "$POSTFIX_BASELINE" ] || die "no postfix baseline script at $POSTFIX_BASELINE"
    MSG_COUNT=$MSG_COUNT MSG_SIZE=$MSG_SIZE SESSIONS=$SESSIONS WARMUP=$WARMUP BENCH_TMPDIR=$BENCH_TMPDIR \
        "$POSTFIX_BASELINE"
fi
