"""Topics named by id, as Kafka 3.8 serves them: Fetch v13-v16 read by the id Metadata hands out
(and answer UNKNOWN_TOPIC_ID for an id nobody has), Metadata v12 looks topics up by id, Metadata
v10-v11 refuse an id-only topic with INVALID_REQUEST, and DeleteTopics v6 deletes by id. Spoken raw:
no client in Debian sends these versions, and the encoders below follow the flexible layouts of the
message specs field by field."""
import socket
import struct
import unittest
import uuid

from kafka import KafkaProducer

from broker_process import BrokerProcess

UNKNOWN_TOPIC_ID = 100
INVALID_REQUEST = 42


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def compact_string(s):
    if s is None:
        return uvarint(0)
    raw = s.encode()
    return uvarint(len(raw) + 1) + raw


def compact_array(items):
    return uvarint(len(items) + 1) + b"".join(items)


NO_TAGS = uvarint(0)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        out = self.data[self.pos:self.pos + n]
        assert len(out) == n, "response ends early"
        self.pos += n
        return out

    def int8(self):
        return struct.unpack(">b", self.take(1))[0]

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def int64(self):
        return struct.unpack(">q", self.take(8))[0]

    def uuid(self):
        return uuid.UUID(bytes=self.take(16))

    def uvarint(self):
        value, shift = 0, 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def compact_string(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def compact_bytes(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1)

    def array(self, read_one):
        n = self.uvarint()
        return None if n == 0 else [read_one() for _ in range(n - 1)]

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


class RawFlexibleClient(unittest.TestCase):
    """A broker and one raw connection to it, speaking flexible versions field by field."""

    def setUp(self):
        self.broker = BrokerProcess(overrides={"num.partitions": "2"}).start()
        self.sock = socket.create_connection(("127.0.0.1", self.broker.port), timeout=10)
        self.correlation = 0

    def tearDown(self):
        self.sock.close()
        self.broker.cleanup()

    def call(self, api_key, version, body):
        """Sends a flexible request (header v2) and returns a Reader past the response header v1."""
        self.correlation += 1
        header = struct.pack(">hhih", api_key, version, self.correlation, 4) + b"test" + NO_TAGS
        self.sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        (size,) = struct.unpack(">i", self.recv(4))
        r = Reader(self.recv(size))
        self.assertEqual(r.int32(), self.correlation)
        if api_key != 18:
            r.tags()
        return r

    def recv(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            self.assertTrue(chunk, "broker closed the connection")
            out += chunk
        return out

    # Metadata v10-v12: topics by name or by id. `authorized` asks for the authorized operations
    # (the cluster's only up to v10): each topic's are its "operations", the cluster's are kept in
    # self.cluster_operations.
    def metadata(self, version, topics, authorized=False):
        body = compact_array([t_id.bytes + compact_string(name) + NO_TAGS for t_id, name in topics])
        # AllowAutoTopicCreation, IncludeClusterAuthorizedOperations (v8-v10), IncludeTopicAuthorizedOperations
        if version <= 10:
            body += struct.pack(">???", False, authorized, authorized)
        else:
            body += struct.pack(">??", False, authorized)
        r = self.call(3, version, body + NO_TAGS)
        r.int32()  # throttle

        def broker():
            node, host, port, rack = r.int32(), r.compact_string(), r.int32(), r.compact_string()
            r.tags()
            return node, host, port, rack

        def partition():
            p = {"error": r.int16(), "index": r.int32(), "leader": r.int32(), "epoch": r.int32()}
            for _ in range(3):
                r.array(r.int32)
            r.tags()
            return p

        def topic():
            t = {"error": r.int16(), "name": r.compact_string(), "id": r.uuid(), "internal": r.int8()}
            t["partitions"] = r.array(partition)
            t["operations"] = r.int32()
            r.tags()
            return t

        r.array(broker)
        r.compact_string()
        r.int32()
        out = r.array(topic)
        if version <= 10:
            self.cluster_operations = r.int32()
        r.tags()
        self.assertEqual(r.pos, len(r.data), "bytes left after the Metadata response")
        return out

    # Fetch v13-v16: topics by id.
    def fetch(self, version, topic_id, partition, offset):
        body = b""
        if version <= 14:
            body += struct.pack(">i", -1)  # ReplicaId (a tagged ReplicaState from v15)
        body += struct.pack(">iiibii", 100, 1, 1 << 20, 0, 0, -1)  # wait, min, max, isolation, session
        part = struct.pack(">iiqiqi", partition, -1, offset, -1, -1, 1 << 20) + NO_TAGS
        body += compact_array([topic_id.bytes + compact_array([part]) + NO_TAGS])
        body += compact_array([])  # forgotten topics
        body += compact_string("") + NO_TAGS  # rack
        r = self.call(1, version, body)
        r.int32()  # throttle
        self.assertEqual(r.int16(), 0)
        r.int32()  # session id

        def partition_data():
            p = {"index": r.int32(), "error": r.int16(), "high_watermark": r.int64()}
            r.int64()
            r.int64()
            r.array(lambda: (r.int64(), r.int64(), r.tags()))
            r.int32()
            p["records"] = r.compact_bytes()
            r.tags()
            return p

        def topic():
            t = {"id": r.uuid(), "partitions": r.array(partition_data)}
            r.tags()
            return t

        out = r.array(topic)
        r.tags()
        self.assertEqual(r.pos, len(r.data), "bytes left after the Fetch response")
        return out

    def produce(self, topic, count):
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap)
        for i in range(count):
            producer.send(topic, value=b"value-%d" % i, partition=0).get(timeout=10)
        producer.close()


class TopicIdTest(RawFlexibleClient):
    def test_fetch_by_topic_id_at_every_version(self):
        topic = f"ids-{uuid.uuid4().hex[:8]}"
        self.produce(topic, 3)
        (meta,) = self.metadata(12, [(uuid.UUID(int=0), topic)])
        self.assertEqual(meta["error"], 0)
        self.assertNotEqual(meta["id"], uuid.UUID(int=0))
        for version in (13, 14, 15, 16):
            with self.subTest(version=version):
                (out,) = self.fetch(version, meta["id"], 0, 0)
                self.assertEqual(out["id"], meta["id"])
                (p,) = out["partitions"]
                self.assertEqual((p["index"], p["error"], p["high_watermark"]), (0, 0, 3))
                self.assertIn(b"value-2", p["records"])
                (missing,) = self.fetch(version, uuid.uuid4(), 0, 0)
                self.assertEqual(missing["partitions"][0]["error"], UNKNOWN_TOPIC_ID)

    def test_metadata_by_topic_id(self):
        topic = f"ids-{uuid.uuid4().hex[:8]}"
        self.produce(topic, 1)
        (by_name,) = self.metadata(12, [(uuid.UUID(int=0), topic)])
        (by_id,) = self.metadata(12, [(by_name["id"], None)])
        self.assertEqual((by_id["error"], by_id["name"], by_id["id"]), (0, topic, by_name["id"]))
        self.assertEqual(len(by_id["partitions"]), 2)
        stranger = uuid.uuid4()
        (unknown,) = self.metadata(12, [(stranger, None)])
        self.assertEqual((unknown["error"], unknown["id"], unknown["name"]), (UNKNOWN_TOPIC_ID, stranger, None))
        # Before v12 a topic must be named: Kafka refuses an id (or a null name) as INVALID_REQUEST.
        for version in (10, 11):
            with self.subTest(version=version):
                (refused,) = self.metadata(version, [(by_name["id"], topic)])
                self.assertEqual(refused["error"], INVALID_REQUEST)
                (refused,) = self.metadata(version, [(by_name["id"], None)])
                self.assertEqual((refused["error"], refused["name"]), (INVALID_REQUEST, ""))

    def test_delete_topic_by_id(self):
        topic = f"ids-{uuid.uuid4().hex[:8]}"
        self.produce(topic, 1)
        (meta,) = self.metadata(12, [(uuid.UUID(int=0), topic)])
        body = compact_array([compact_string(None) + meta["id"].bytes + NO_TAGS]) + struct.pack(">i", 10000) + NO_TAGS
        r = self.call(20, 6, body)
        r.int32()

        def result():
            out = (r.compact_string(), r.uuid(), r.int16(), r.compact_string())
            r.tags()
            return out

        (name, topic_id, error, _message), = r.array(result)
        self.assertEqual((name, topic_id, error), (topic, meta["id"], 0))
        (gone,) = self.metadata(12, [(meta["id"], None)])
        self.assertEqual(gone["error"], UNKNOWN_TOPIC_ID)


if __name__ == "__main__":
    unittest.main()
