#!/usr/bin/env bash
# Captures the requests that carry topic ids (Fetch v13-v16, Metadata v10-v12) as librdkafka 2.12
# really sends them, one file per version, into tests/vectors/. librdkafka always sends the newest
# version it shares with the broker, so the proxy lowers the advertised maximum (--max-version) to
# make it send each older one too. The client is Debian's confluent-kafka with librdkafka 2.12
# loaded in place of Debian's (LD_LIBRARY_PATH), built by tests/compat/librdkafka/run.
# Usage: tests/capture/capture_topic_id_vectors.sh path/to/ringbroker path/to/librdkafka-2.12/src
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
broker_bin=${1:?usage: capture_topic_id_vectors.sh path/to/ringbroker path/to/librdkafka/src}
librdkafka_src=$(cd "${2:?usage: capture_topic_id_vectors.sh path/to/ringbroker path/to/librdkafka/src}" && pwd)
out="$here/../vectors"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

broker_port=29194
proxy_port=29195
"$broker_bin" --smp 1 --override "listeners=PLAINTEXT://127.0.0.1:$broker_port" \
  --override "advertised.listeners=PLAINTEXT://127.0.0.1:$proxy_port" --override "log.dirs=$work/data" \
  >"$work/broker.log" 2>&1 &
sleep 1

capture() {  # capture LABEL API:MAX PYTHON_CODE
  mkdir -p "$work/$1"
  /usr/bin/python3 "$here/capture_proxy.py" --listen "$proxy_port" --upstream "127.0.0.1:$broker_port" \
    --out "$work/$1" --label "$1" --apis 1,3 --max-version "$2" &
  local proxy=$!
  sleep 0.5
  LD_LIBRARY_PATH="$librdkafka_src" /usr/bin/python3 -c "$3"
  kill "$proxy"
  wait "$proxy" 2>/dev/null || true
}

client="
import confluent_kafka
from confluent_kafka import Producer, Consumer, TopicPartition
assert confluent_kafka.libversion()[0] == '2.12.0', confluent_kafka.libversion()
p = Producer({'bootstrap.servers': '127.0.0.1:$proxy_port', 'client.id': 'vector-capture'})
p.produce('vectors-ids', value=b'value')
p.flush(10)
c = Consumer({'bootstrap.servers': '127.0.0.1:$proxy_port', 'client.id': 'vector-capture', 'group.id': 'v',
              'enable.auto.commit': False})
c.assign([TopicPartition('vectors-ids', 0, 0)])
m = c.poll(10)
assert m is not None and m.error() is None, m
c.close()
"
rm -f "$out"/librdkafka-2.12-*.bin
for v in 13 14 15 16; do
  capture "fetch$v" "1:$v" "$client"
  # The first fetch of the partition, which names the topic by id.
  cp "$work/fetch$v/fetch$v-fetch-v$v-0.bin" "$out/librdkafka-2.12-fetch-v$v-0.bin"
done
for v in 10 11 12; do
  capture "metadata$v" "3:$v" "$client"
  # The first Metadata naming the topic (the very first asks for brokers only).
  for f in "$work/metadata$v"/metadata$v-metadata-v$v-*.bin; do
    if grep -q vectors-ids "$f"; then cp "$f" "$out/librdkafka-2.12-metadata-v$v-0.bin"; break; fi
  done
done
ls "$out"/librdkafka-2.12-*
