"""Incremental fetch sessions (KIP-227), spoken raw with kafka-python's protocol classes: a session is
created, incremental fetches carry only changes and hear only news, and a wrong epoch or an unknown
session gets Kafka's errors."""
import io
import socket
import struct
import unittest
import uuid

from kafka import KafkaProducer
from kafka.protocol.fetch import FetchResponse_v7

from broker_process import BrokerProcess


def string(s):
    return struct.pack(">h", len(s)) + s.encode()


def encode_fetch_v7(session_id, epoch, topics, forgotten):
    # kafka-python 2.0.2's FetchRequest_v7 cannot encode forgotten topics (a schema bug), so the
    # body is written here by hand, field by field as the v7 layout has them.
    out = struct.pack(">iiiibii", -1, 0, 0, 1 << 20, 0, session_id, epoch)
    out += struct.pack(">i", len(topics))
    for topic, partitions in topics:
        out += string(topic) + struct.pack(">i", len(partitions))
        for partition, fetch_offset, log_start, max_bytes in partitions:
            out += struct.pack(">iqqi", partition, fetch_offset, log_start, max_bytes)
    out += struct.pack(">i", len(forgotten))
    for topic, partitions in forgotten:
        out += string(topic) + struct.pack(">i", len(partitions)) + b"".join(struct.pack(">i", p) for p in partitions)
    return out


class FetchSessionTest(unittest.TestCase):
    def setUp(self):
        self.broker = BrokerProcess(overrides={"num.partitions": "2"}).start()
        self.sock = socket.create_connection(("127.0.0.1", self.broker.port), timeout=10)
        self.correlation = 0

    def tearDown(self):
        self.sock.close()
        self.broker.cleanup()

    def fetch(self, session_id, epoch, topics, forgotten=()):
        self.correlation += 1
        body = encode_fetch_v7(session_id, epoch, topics, forgotten)
        header = struct.pack(">hhih", 1, 7, self.correlation, 4) + b"test"
        self.sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        (size,) = struct.unpack(">i", self.recv(4))
        payload = self.recv(size)
        (correlation,) = struct.unpack(">i", payload[:4])
        self.assertEqual(correlation, self.correlation)
        return FetchResponse_v7.decode(io.BytesIO(payload[4:]))

    def recv(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            self.assertTrue(chunk, "broker closed the connection")
            out += chunk
        return out

    @staticmethod
    def partitions_in(response):
        return {(t[0], p[0]) for t in response.topics for p in t[1]}

    def test_incremental_session(self):
        topic = f"sessions-{uuid.uuid4().hex[:8]}"
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap)
        for i in range(3):
            producer.send(topic, value=b"v", partition=0).get(timeout=10)
        producer.send(topic, value=b"w", partition=1).get(timeout=10)

        # A new session: a full response with both partitions.
        full = self.fetch(0, 0, [(topic, [(0, 0, -1, 1 << 20), (1, 0, -1, 1 << 20)])])
        self.assertEqual(full.error_code, 0)
        session_id = full.session_id
        self.assertNotEqual(session_id, 0)
        self.assertEqual(self.partitions_in(full), {(topic, 0), (topic, 1)})

        # Nothing changed and the positions moved to the ends: no partition has news.
        quiet = self.fetch(session_id, 1, [(topic, [(0, 3, -1, 1 << 20), (1, 1, -1, 1 << 20)])])
        self.assertEqual(quiet.error_code, 0)
        self.assertEqual(quiet.session_id, session_id)
        self.assertEqual(self.partitions_in(quiet), set())

        # New data on partition 1 only: an empty incremental request hears about partition 1 alone.
        producer.send(topic, value=b"x", partition=1).get(timeout=10)
        producer.close()
        news = self.fetch(session_id, 2, [])
        self.assertEqual(self.partitions_in(news), {(topic, 1)})
        partition = news.topics[0][1][0]
        self.assertEqual(partition[3], 2)  # high watermark
        self.assertGreater(len(partition[-1]), 0)  # the new record batch

        # A stale epoch and an unknown session get Kafka's errors.
        self.assertEqual(self.fetch(session_id, 2, []).error_code, 71)  # INVALID_FETCH_SESSION_EPOCH
        self.assertEqual(self.fetch(session_id ^ 0x7000, 1, []).error_code, 70)  # FETCH_SESSION_ID_NOT_FOUND

        # A forgotten partition is no longer fetched; closing the session (epoch -1) ends it.
        forgotten = self.fetch(session_id, 3, [], forgotten=[(topic, [1])])
        self.assertEqual(forgotten.error_code, 0)
        self.assertEqual(self.fetch(session_id, -1, [(topic, [(0, 0, -1, 1 << 20)])]).session_id, 0)
        self.assertEqual(self.fetch(session_id, 4, []).error_code, 70)


if __name__ == "__main__":
    unittest.main()
