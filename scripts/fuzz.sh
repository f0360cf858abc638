#!/usr/bin/env bash
# Fuzzes the MIME parser for SECONDS (default 60): builds only rapport_mime
# and tests/fuzz/mime_fuzz in build-fuzz/ (clang, libFuzzer + ASan + UBSan),
# seeds it with tests/data/mime and, when present, ../shared/corpus/cases and
# ../shared/mime-torture, and exits non-zero on any crash, leak or timeout.
# New interesting inputs are kept in build-fuzz/mime-corpus between runs;
# crash inputs land in build-fuzz/ (crash-*, leak-*, timeout-*).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

scripts/build.sh fuzz --target mime_fuzz

work=build-fuzz/mime-corpus
mkdir -p "$work"
seeds=(tests/data/mime)
for d in ../shared/corpus/cases ../shared/mime-torture; do
  [ -d "$d" ] && seeds+=("$d")
done

echo "fuzzing mime::parse for ${seconds}s (seeds: ${seeds[*]})"
exec build-fuzz/mime_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=262144 -print_final_stats=1 -artifact_prefix=build-fuzz/ "$work" "${seeds[@]}"
