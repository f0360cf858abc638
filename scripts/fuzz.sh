#!/usr/bin/env bash
# Fuzzes for SECONDS in total (default 60), split 2:1 between two libFuzzer
# targets built in build-fuzz/ (clang, libFuzzer + ASan + UBSan):
#   mime_fuzz  mime::parse and the DSN reader, seeded with tests/data/mime,
#              tests/data/dsn and, when present,
#              ../shared/corpus/cases and ../shared/mime-torture  (2/3)
#   smtp_fuzz  the SMTP layer (daemon/lib/smtp_protocol), DATA framing
#              against smuggling included, seeded with tests/fuzz/smtp-seeds (1/3)
# so `scripts/fuzz.sh 60` (what scripts/test runs) is 40 s + 20 s. Both run
# even if the first fails; exits non-zero on any crash, leak, timeout or
# broken invariant. New interesting inputs are kept between runs in
# build-fuzz/mime-corpus and build-fuzz/smtp-corpus; crash inputs land in
# build-fuzz/ (crash-*, leak-*, timeout-*). SECONDS=0 fuzzes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
if [ "$seconds" -le 0 ]; then
  echo "fuzz.sh: 0 seconds, nothing fuzzed"
  exit 0
fi
smtp_seconds=$(( seconds / 3 > 0 ? seconds / 3 : 1 ))
mime_seconds=$(( seconds - smtp_seconds > 0 ? seconds - smtp_seconds : 1 ))

scripts/build.sh fuzz --target mime_fuzz --target smtp_fuzz

mime_seeds=(tests/data/mime tests/data/dsn)
for d in ../shared/corpus/cases ../shared/mime-torture; do
  [ -d "$d" ] && mime_seeds+=("$d")
done

# run NAME SECONDS MAX_LEN SEEDS...: one target, its final stats, its status.
failed=()
run() {
  local name=$1 secs=$2 max_len=$3; shift 3
  local work=build-fuzz/${name%_fuzz}-corpus
  mkdir -p "$work"
  echo "== fuzz.sh: $name for ${secs}s (seeds: $*)"
  local rc=0
  build-fuzz/"$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix=build-fuzz/ "$work" "$@" || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "== fuzz.sh: $name passed (${secs}s)"
  else
    echo "== fuzz.sh: $name FAILED (exit $rc); the input is in build-fuzz/ (crash-*, leak-*, timeout-*)"
    failed+=("$name")
  fi
}

run mime_fuzz "$mime_seconds" 262144 "${mime_seeds[@]}"
run smtp_fuzz "$smtp_seconds" 4096 tests/fuzz/smtp-seeds

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: mime_fuzz ${mime_seconds}s + smtp_fuzz ${smtp_seconds}s, no crash"
