#!/usr/bin/env bash
# Builds Ringbroker (Release) and starts one broker on 127.0.0.1:9092 with the embedded metadata
# store and its data in ./data. Extra arguments go to the broker, e.g. --smp 2 or
# --override num.partitions=3.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
build=${RINGBROKER_BUILD:-build/release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRINGBROKER_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target ringbroker
mkdir -p data
exec "$build/broker/ringbroker" --config server.properties --override log.dirs=./data "$@"
