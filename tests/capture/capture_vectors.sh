#!/usr/bin/env bash
# Captures the ApiVersions, Metadata, Produce and Fetch requests that kafka-python (Debian's
# python3-kafka 2.0.2) and librdkafka (2.0.2, through python3-confluent-kafka) really send, into
# tests/vectors/. Usage: tests/capture/capture_vectors.sh path/to/ringbroker
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
broker_bin=${1:?usage: capture_vectors.sh path/to/ringbroker}
out="$here/../vectors"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

broker_port=29192
proxy_port=29193
"$broker_bin" --smp 1 --override "listeners=PLAINTEXT://127.0.0.1:$broker_port" \
  --override "advertised.listeners=PLAINTEXT://127.0.0.1:$proxy_port" --override "log.dirs=$work/data" \
  >"$work/broker.log" 2>&1 &
sleep 1

capture() {  # capture LABEL PYTHON_CODE
  /usr/bin/python3 "$here/capture_proxy.py" --listen "$proxy_port" --upstream "127.0.0.1:$broker_port" \
    --out "$out" --label "$1" &
  local proxy=$!
  sleep 0.5
  /usr/bin/python3 -c "$2"
  kill "$proxy"
  wait "$proxy" 2>/dev/null || true
}

rm -f "$out"/*.bin
capture kafka-python "
from kafka import KafkaProducer, KafkaConsumer
p = KafkaProducer(bootstrap_servers='127.0.0.1:$proxy_port', client_id='vector-capture')
p.send('vectors', key=b'key', value=b'value', headers=[('h', b'v')]).get(timeout=10)
p.close()
c = KafkaConsumer('vectors', bootstrap_servers='127.0.0.1:$proxy_port', client_id='vector-capture',
                  auto_offset_reset='earliest', consumer_timeout_ms=10000)
next(iter(c))
c.close()
"
capture librdkafka "
from confluent_kafka import Producer, Consumer, TopicPartition
p = Producer({'bootstrap.servers': '127.0.0.1:$proxy_port', 'client.id': 'vector-capture', 'linger.ms': 0})
p.produce('vectors', key=b'key', value=b'value', headers=[('h', b'v')])
p.flush(10)
c = Consumer({'bootstrap.servers': '127.0.0.1:$proxy_port', 'client.id': 'vector-capture', 'group.id': 'v',
              'enable.auto.commit': False})
c.assign([TopicPartition('vectors', 0, 0)])
m = c.poll(10)
assert m is not None and m.error() is None, m
c.close()
"
ls "$out"
