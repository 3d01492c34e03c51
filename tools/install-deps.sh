#!/usr/bin/env bash
# Installs the Debian 12 packages Ringbroker builds and tests with, only those missing.
# Run as root, or with sudo available. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config python3 clang libclang-rt-14-dev
  liburing-dev libabsl-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  libzookeeper-mt-dev zookeeper
  librdkafka-dev kcat burrow python3-kafka python3-confluent-kafka rapidjson-dev
  python3-lz4 python3-snappy python3-zstandard
  libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libssl-dev
)

missing=()
# Node.js (for kafkajs and node-rdkafka; build-essential and python3 above build node-rdkafka) may come
# from Debian or another packager; install Debian's only when absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
  "${sudo_cmd[@]}" apt-get update
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi
