"""Parked fetches and the appends that wake them: every Fetch gets its response, in order, however
an append and the fetch's max_wait_ms deadline fall together. Raw sockets, so a missing response is
seen as such (a client would hang until its request timeout, or take the next response for it:
Sarama's "read i/o timeout" and "correlation ID didn't match")."""
import socket
import struct
import threading
import time
import unittest
import uuid

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.record.default_records import DefaultRecordBatchBuilder

from broker_process import BrokerProcess

SECONDS = 12  # of fetching; before the fix a response went missing within 0.4 to 12 s here
CONNECTIONS = 2
IN_FLIGHT = 32  # fetches pipelined on each connection


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def frame(api_key, version, correlation, body):
    header = struct.pack(">hhi", api_key, version, correlation) + string("long-poll-test")
    return struct.pack(">i", len(header) + len(body)) + header + body


def one_record_batch():
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                        producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                        batch_size=1 << 20)
    builder.append(0, timestamp=int(time.time() * 1000), key=None, value=b"x", headers=[])
    return bytes(builder.build())


def produce_v3_acks0(topic, batch):
    body = struct.pack(">hhi", -1, 0, 30000)  # null transactional id, acks=0, timeout
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
    body += struct.pack(">ii", 0, len(batch)) + batch
    return body


def fetch_v4(topic, max_wait_ms):
    # min_bytes out of reach: the fetch parks, is woken by every append, reads again and parks
    # again, until max_wait_ms ends it. Its offset is the start, so there is always data to read.
    body = struct.pack(">iiiib", -1, max_wait_ms, 1 << 30, 1 << 30, 0)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
    body += struct.pack(">iqi", 0, 0, 64)
    return body


def recv_exact(sock, n):
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError("broker closed the connection")
        out += chunk
    return bytes(out)


class ParkedFetchTest(unittest.TestCase):
    def test_every_parked_fetch_is_answered_while_appends_wake_it(self):
        with BrokerProcess() as broker:
            topic = f"long-poll-{uuid.uuid4().hex[:8]}"
            admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
            admin.create_topics([NewTopic(topic, 1, 1)])
            admin.close()
            stop = threading.Event()
            appended = [0]

            def produce():
                with socket.create_connection(("127.0.0.1", broker.port)) as s:
                    request = produce_v3_acks0(topic, one_record_batch())
                    correlation = 0
                    while not stop.is_set():
                        correlation += 1
                        s.sendall(frame(0, 3, correlation, request))
                        appended[0] += 1
                        if correlation % 8 == 0:
                            time.sleep(0.0005)

            failures = []
            answered = [0]
            lock = threading.Lock()

            def fetch(index):
                with socket.create_connection(("127.0.0.1", broker.port)) as s:
                    s.settimeout(10)
                    sent = []
                    correlation = 0

                    def send_one():
                        nonlocal correlation
                        correlation += 1
                        # Deadlines spread over 1..IN_FLIGHT ms so they fall between appends.
                        s.sendall(frame(1, 4, correlation, fetch_v4(topic, 1 + correlation % IN_FLIGHT)))
                        sent.append(correlation)

                    for _ in range(IN_FLIGHT):
                        send_one()
                    deadline = time.time() + SECONDS
                    while sent:
                        expected = sent.pop(0)
                        try:
                            size = struct.unpack(">i", recv_exact(s, 4))[0]
                            got = struct.unpack(">i", recv_exact(s, size)[:4])[0]
                        except socket.timeout:
                            with lock:
                                failures.append(f"connection {index}: no response to fetch {expected} in 10 s")
                            return
                        if got != expected:
                            with lock:
                                failures.append(f"connection {index}: fetch {expected} unanswered, "
                                                f"the response to {got} came in its place")
                            return
                        with lock:
                            answered[0] += 1
                        if time.time() < deadline:
                            send_one()

            producer = threading.Thread(target=produce, daemon=True)
            producer.start()
            fetchers = [threading.Thread(target=fetch, args=(i,), daemon=True) for i in range(CONNECTIONS)]
            for t in fetchers:
                t.start()
            for t in fetchers:
                t.join(SECONDS + 30)
            stop.set()
            producer.join(10)
            self.assertFalse(any(t.is_alive() for t in fetchers), "a fetch connection is stuck")
            self.assertEqual(failures, [], f"{answered[0]} fetches answered, {appended[0]} appends")
            # The fetches really were woken by appends and ran to their deadlines, many times.
            self.assertGreater(answered[0], 1000)
            self.assertGreater(appended[0], 1000)


if __name__ == "__main__":
    unittest.main()
