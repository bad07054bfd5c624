#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The test command of the README and CI: install packages, build twice
# (plain, then AddressSanitizer + UndefinedBehaviorSanitizer) and run the
# whole CTest suite on each build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && [ "${BM_SKIP_DEPS:-0}" != 1 ]; then
  tools/deps.sh
fi
jobs=$(nproc)
# run_suite DIR "CTEST ARGS" CMAKE ARGS...
run_suite() {
  local dir=$1 ctest_args=$2; shift 2
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  # shellcheck disable=SC2086
  (cd "$dir" && ctest --output-on-failure -j"$jobs" $ctest_args ${BM_CTEST_ARGS:-})
}
# The plain build is optimized (what users run, and gcc's -O2 warnings are errors too).
echo "== plain build (RelWithDebInfo): every test"
run_suite build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
# The guest kernels of vmtest run the plain binaries; sanitizers add nothing there.
echo "== sanitized build (ASan + UBSan): every test but vmtest"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan "-LE vmtest" -DCMAKE_BUILD_TYPE=Debug -DBM_SANITIZE=ON
