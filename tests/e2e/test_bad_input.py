"""Bad input never crashes or wedges the broker: random bytes, a frame claiming 2 GiB, an unknown API
key, an unsupported version, a truncated request, and a client that never reads its responses. Each
gets Kafka's error or a closed connection, while other clients keep being served in bounded memory."""
import os
import random
import socket
import struct
import time
import unittest

from kafka import KafkaProducer

from broker_process import BrokerProcess


def frame(api_key, api_version, correlation_id, body=b"", client_id=b"bad-input", flexible_header=False):
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(client_id)) + client_id
    if flexible_header:
        header += b"\x00"  # no tagged fields
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def read_response(sock, timeout=10):
    sock.settimeout(timeout)
    size_bytes = recv_exact(sock, 4)
    if size_bytes is None:
        return None
    (size,) = struct.unpack(">i", size_bytes)
    return recv_exact(sock, size)


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        try:
            chunk = sock.recv(n - len(out))
        except (ConnectionResetError, socket.timeout):
            return None
        if not chunk:
            return None
        out += chunk
    return out


def closed_by_peer(sock, timeout=10):
    """True when the broker closes the connection (EOF or reset) within the timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = BrokerProcess(overrides={"socket.request.max.bytes": str(1 << 20)}).start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.broker.port), timeout=10)

    def assert_still_serving(self):
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks=1)
        meta = producer.send("bad-input-canary", b"alive").get(timeout=15)
        producer.close()
        self.assertGreaterEqual(meta.offset, 0)
        self.assertIsNone(self.broker.proc.poll(), "broker exited")

    def test_random_bytes(self):
        rng = random.Random(7)
        for _ in range(50):
            with self.connect() as s:
                s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))))
                s.shutdown(socket.SHUT_WR)
                closed_by_peer(s, timeout=5)
        self.assert_still_serving()

    def test_frame_claiming_two_gib(self):
        with self.connect() as s:
            s.sendall(struct.pack(">i", 0x7FFFFFF0) + b"\x00\x12\x00\x00")
            self.assertTrue(closed_by_peer(s))
        with self.connect() as s:
            s.sendall(struct.pack(">i", -5))
            self.assertTrue(closed_by_peer(s))
        self.assert_still_serving()

    def test_unknown_api_key_closes(self):
        with self.connect() as s:
            s.sendall(frame(9999, 0, 1))
            self.assertTrue(closed_by_peer(s))
        self.assert_still_serving()

    def test_unsupported_api_versions_version_gets_v0_error_response(self):
        with self.connect() as s:
            # A client newer than the broker sends its newest (flexible) ApiVersions: header v2 and
            # a compact body the broker cannot know.
            s.sendall(frame(18, 999, 42, body=b"\x04rdk\x041.0\x00", flexible_header=True))
            resp = read_response(s)
            self.assertIsNotNone(resp)
            correlation_id, error_code = struct.unpack(">ih", resp[:6])
            self.assertEqual(correlation_id, 42)
            self.assertEqual(error_code, 35)  # UNSUPPORTED_VERSION
            # The v0 body still lists the supported versions so the client can retry.
            (count,) = struct.unpack(">i", resp[6:10])
            entries = {struct.unpack(">h", resp[10 + 6 * i:12 + 6 * i])[0]:
                       struct.unpack(">hh", resp[12 + 6 * i:16 + 6 * i]) for i in range(count)}
            self.assertEqual(entries[18], (0, 3))  # ApiVersions itself, v0 to v3
            self.assertIn(0, entries)  # Produce
            self.assertIn(1, entries)  # Fetch

    def test_unsupported_version_of_other_api_closes(self):
        with self.connect() as s:
            s.sendall(frame(3, 999, 1, body=b"\x00\x00\x00\x00"))
            self.assertTrue(closed_by_peer(s))
        self.assert_still_serving()

    def test_truncated_request_body(self):
        # A Metadata v1 frame whose topic array claims 1000 entries but holds none.
        with self.connect() as s:
            s.sendall(frame(3, 1, 5, body=struct.pack(">i", 1000)))
            self.assertTrue(closed_by_peer(s))
        # A frame that stops midway: the broker waits for the rest, then the client hangs up.
        with self.connect() as s:
            s.sendall(struct.pack(">i", 100) + b"\x00\x03")
        self.assert_still_serving()

    def test_client_that_never_reads_keeps_memory_bounded(self):
        rss_before = self.broker.rss_kib()
        with self.connect() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            request = frame(18, 0, 1)
            s.settimeout(0.5)
            sent = 0
            deadline = time.time() + 10
            # Pipelined ApiVersions requests whose responses are never read: the broker must stop
            # reading this connection once its unsent responses pass a bound.
            try:
                while time.time() < deadline and sent < 200 * 1024 * 1024:
                    s.sendall(request * 1000)
                    sent += len(request) * 1000
            except (socket.timeout, BlockingIOError):
                pass
            self.assert_still_serving()
            rss_after = self.broker.rss_kib()
        self.assertLess(rss_after - rss_before, 256 * 1024, "broker memory grew by more than 256 MiB")

    def test_deep_pipeline_is_slowed_down_not_dropped(self):
        # librdkafka lets a producer pipeline up to a million requests on one connection. Far past
        # the broker's bound on requests in progress, it must stop reading (as Kafka mutes a
        # channel), then answer every request, in order, on the same connection.
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks=1)
        producer.send("bad-input-pipeline", b"one").get(timeout=15)
        producer.close()
        topic = b"bad-input-pipeline"
        # Fetch v4 from the log end with min_bytes 1: each waits out its 100 ms max_wait.
        body = (struct.pack(">iiiib", -1, 100, 1, 1 << 20, 0) + struct.pack(">ih", 1, len(topic)) + topic +
                struct.pack(">iiqi", 1, 0, 1, 1 << 20))
        count = 1500
        with self.connect() as s:
            s.sendall(b"".join(frame(1, 4, i, body) for i in range(count)))
            for i in range(count):
                response = read_response(s, timeout=30)
                self.assertIsNotNone(response, f"connection closed or stalled after {i} responses")
                self.assertEqual(struct.unpack(">i", response[:4])[0], i)
        self.assert_still_serving()

    def test_many_half_open_connections(self):
        socks = [self.connect() for _ in range(200)]
        for s in socks[::2]:
            s.sendall(os.urandom(3))
        self.assert_still_serving()
        for s in socks:
            s.close()


if __name__ == "__main__":
    unittest.main()
