#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: install what is missing, configure with
# AddressSanitizer and UndefinedBehaviorSanitizer, build, run every test under CTest, then a short
# libFuzzer run over request decoding.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh

jobs=$(nproc)

# kafkajs and node-rdkafka for the Node end-to-end tests come from the npm registry, pinned by
# package-lock.json. node-rdkafka compiles its bundled librdkafka with node-gyp, against the headers
# of the installed Node when they are there (not a download from nodejs.org). Only librdkafka's own
# make runs in parallel: node-gyp's make must stay serial (see submake-jobs.mk).
(
  cd tests/e2e/node
  if [ -f /usr/include/node/common.gypi ]; then export npm_config_nodedir=/usr; fi
  MAKEFILES="$PWD/submake-jobs.mk" npm ci --no-audit --no-fund --loglevel=error
)

build=${RINGBROKER_TEST_BUILD:-build/test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGBROKER_SANITIZE=ON
cmake --build "$build" -j "$jobs"
# librdkafka 2.12's own test suite (from npm, built once under build/compat/): CTest runs its CI subset.
/usr/bin/python3 tests/compat/librdkafka/run --build-only
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j "$jobs"

# The codec fuzzer needs clang's libFuzzer, so it has its own small build.
fuzz_build=${RINGBROKER_FUZZ_BUILD:-build/fuzz}
CC=clang CXX=clang++ cmake -S . -B "$fuzz_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRINGBROKER_FUZZ=ON -DRINGBROKER_BENCH=OFF
cmake --build "$fuzz_build" -j "$jobs" --target fuzz_request_decode fuzz_request_decode_seeds fuzz_records
ctest --test-dir "$fuzz_build" --output-on-failure -L fuzz
