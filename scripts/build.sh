#!/usr/bin/env bash
# Configures and builds one flavour of the tree.
#   scripts/build.sh            -> build/        (RelWithDebInfo)
#   scripts/build.sh asan       -> build-asan/   (ASan + UBSan)
#   scripts/build.sh fuzz       -> build-fuzz/   (clang, libFuzzer targets only)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
jobs=${RAPPORT_JOBS:-2}
case "$flavour" in
  release) dir=build; args=() ;;
  asan)    dir=build-asan; args=(-DRAPPORT_SANITIZE=ON -DRAPPORT_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug) ;;
  fuzz)    dir=build-fuzz; args=(-DRAPPORT_FUZZ=ON -DRAPPORT_BENCH=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${args[@]}" >/dev/null
fi
shift || true
cmake --build "$dir" -j"$jobs" "$@"
