"""CreateTopics and CreatePartitions with absurd sizes are refused with Kafka's error codes before the
broker allocates anything from them (issue 29): num_partitions 2147483647 or 20,000,000, growing a
topic to 2147483647 partitions, a replication factor of 32767, replica assignments with hundreds of
thousands of entries, error messages quoting 32767-byte names. The broker stays up, its peak RSS stays small, and normal creates still work.
max.broker.partitions caps what a broker hosts, for CreateTopics, CreatePartitions and auto-creation.

Requests are encoded here by hand (non-flexible versions: CreateTopics v4, CreatePartitions v1,
Metadata v4) so that each case gets exactly the numbers it names and the exact error code is read
back; kafka-python's admin client shows what a real client sees for the one-call attack."""
import struct
import socket
import time
import unittest

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import PolicyViolationError

from broker_process import BrokerProcess

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_REPLICA_ASSIGNMENT = 39
INVALID_REQUEST = 42
INVALID_CONFIG = 40
POLICY_VIOLATION = 44

INT32_MAX = 2147483647
# Peak RSS may grow by this much over the whole class: the largest request here is a few MB.
RSS_BUDGET_KIB = 128 * 1024


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def array(items):
    return struct.pack(">i", len(items)) + b"".join(items)


def int32s(values):
    return struct.pack(">i%di" % len(values), len(values), *values)


def create_topics_v4(topics, validate_only=False, timeout_ms=30000):
    """topics: (name, num_partitions, replication_factor, assignments) with assignments a list of
    (partition_index, [broker ids])."""
    encoded = []
    for name, partitions, replication, assignments in topics:
        encoded.append(string(name) + struct.pack(">ih", partitions, replication) +
                       array([struct.pack(">i", index) + int32s(ids) for index, ids in assignments]) +
                       array([]))  # no configs
    return array(encoded) + struct.pack(">i?", timeout_ms, validate_only)


def create_partitions_v1(topics, validate_only=False, timeout_ms=30000):
    """topics: (name, count, assignments or None) with assignments a list of [broker ids]."""
    encoded = []
    for name, count, assignments in topics:
        body = string(name) + struct.pack(">i", count)
        body += struct.pack(">i", -1) if assignments is None else array([int32s(ids) for ids in assignments])
        encoded.append(body)
    return array(encoded) + struct.pack(">i?", timeout_ms, validate_only)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values if len(values) > 1 else values[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s


def parse_topic_results(body):
    """CreateTopics v4 / CreatePartitions v1 share a layout: throttle, [name, error_code, message]."""
    r = Reader(body)
    r.take(">i")
    return [(r.string(), r.take(">h"), r.string()) for _ in range(r.take(">i"))]


def parse_metadata_v4_topics(body):
    """Metadata v4: the (error_code, name, partition count) of each topic."""
    r = Reader(body)
    r.take(">i")  # throttle
    for _ in range(r.take(">i")):
        r.take(">i"), r.string(), r.take(">i"), r.string()
    r.string()  # cluster id
    r.take(">i")  # controller id
    topics = []
    for _ in range(r.take(">i")):
        error, name, _internal = r.take(">h"), r.string(), r.take(">?")
        partitions = r.take(">i")
        for _ in range(partitions):
            r.take(">hii")
            for _ in range(2):  # replicas, isr
                r.pos += 4 * r.take(">i")
        topics.append((error, name, partitions))
    return topics


class AdminLimitsBase(unittest.TestCase):
    broker = None

    def call(self, api_key, version, body, timeout=60):
        """One request on its own connection; the response body, or fails the test when the broker
        closes the connection (as it does when it dies)."""
        correlation = 7
        header = struct.pack(">hhi", api_key, version, correlation) + string("admin-limits")
        payload = header + body
        with socket.create_connection(("127.0.0.1", self.broker.port), timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(payload)) + payload)
            size = struct.unpack(">i", self.recv_exact(s, 4))[0]
            data = self.recv_exact(s, size)
        self.assertEqual(struct.unpack_from(">i", data)[0], correlation)
        return data[4:]

    def recv_exact(self, s, n):
        out = b""
        while len(out) < n:
            chunk = s.recv(n - len(out))
            if not chunk:
                self.fail(f"broker closed the connection (exit code {self.broker.proc.poll()}):\n"
                          f"{self.broker.read_log()}")
            out += chunk
        return out

    def create_topics(self, topics, validate_only=False):
        return parse_topic_results(self.call(19, 4, create_topics_v4(topics, validate_only)))

    def create_partitions(self, topics, validate_only=False):
        return parse_topic_results(self.call(37, 1, create_partitions_v1(topics, validate_only)))

    def metadata(self, names, allow_auto_creation=False):
        """names None asks for every topic."""
        body = struct.pack(">i", -1) if names is None else array([string(n) for n in names])
        body += struct.pack(">?", allow_auto_creation)
        return parse_metadata_v4_topics(self.call(3, 4, body))

    def assertResult(self, results, name, error_code, message_part=None):
        self.assertEqual(len(results), 1, results)
        got_name, got_code, message = results[0]
        self.assertEqual(got_name, name)
        self.assertEqual(got_code, error_code, f"message: {message}")
        if message_part is not None:
            self.assertIn(message_part, message or "")

    def peak_rss_kib(self):
        with open(f"/proc/{self.broker.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def assertAliveAndSmall(self):
        self.assertIsNone(self.broker.proc.poll(), f"broker exited:\n{self.broker.read_log()}")
        grown = self.peak_rss_kib() - self.baseline_kib
        self.assertLess(grown, RSS_BUDGET_KIB, f"peak RSS grew by {grown} KiB")


class HugeRequestsTest(AdminLimitsBase):
    @classmethod
    def setUpClass(cls):
        cls.broker = BrokerProcess().start()
        cls.admin = KafkaAdminClient(bootstrap_servers=cls.broker.bootstrap, request_timeout_ms=30000)
        cls.admin.create_topics([NewTopic("existing", 2, 1)])

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.broker.cleanup()

    def setUp(self):
        self.baseline_kib = self.peak_rss_kib()

    def tearDown(self):
        self.assertAliveAndSmall()

    def test_a_kafka_python_create_of_int32_max_partitions(self):
        # The one admin call of the issue: Kafka's controller refuses an operation this large.
        with self.assertRaises(PolicyViolationError):
            self.admin.create_topics([NewTopic("max-partitions", INT32_MAX, 1)])

    def test_create_topics_with_huge_partition_counts(self):
        for count in (INT32_MAX, 20_000_000, 10_001):
            with self.subTest(count=count):
                self.assertResult(self.create_topics([("huge", count, 1, [])]), "huge", POLICY_VIOLATION,
                                  "excessively large batch")
        self.assertNotIn("huge", [t[1] for t in self.metadata(None)])

    def test_validate_only_is_bounded_the_same_way(self):
        self.assertResult(self.create_topics([("huge-v", INT32_MAX, 1, [])], validate_only=True), "huge-v",
                          POLICY_VIOLATION)
        self.assertResult(self.create_partitions([("existing", INT32_MAX, None)], validate_only=True),
                          "existing", POLICY_VIOLATION)
        self.assertResult(self.create_topics([("small-v", 3, 1, [])], validate_only=True), "small-v", NONE)

    def test_one_request_is_bounded_as_a_whole(self):
        results = self.create_topics([("half-a", 6000, 1, []), ("half-b", 6000, 1, [])], validate_only=True)
        self.assertEqual([(name, code) for name, code, _ in results],
                         [("half-a", NONE), ("half-b", POLICY_VIOLATION)])

    def test_absurd_replication_factor(self):
        # Kafka checks placement (enough brokers) before the size of the operation.
        self.assertResult(self.create_topics([("rf", INT32_MAX, 32767, [])]), "rf", INVALID_REPLICATION_FACTOR)
        self.assertResult(self.create_topics([("rf", 3, -5, [])]), "rf", INVALID_REPLICATION_FACTOR)
        self.assertResult(self.create_topics([("rf", -7, 1, [])]), "rf", INVALID_PARTITIONS)

    def test_replica_assignment_with_a_huge_list_of_partitions(self):
        assignments = [(i, [0]) for i in range(200_000)]
        self.assertResult(self.create_topics([("assigned", -1, -1, assignments)]), "assigned", POLICY_VIOLATION)
        self.assertNotIn("assigned", [t[1] for t in self.metadata(None)])

    def test_replica_assignment_with_a_huge_replica_list(self):
        self.assertResult(self.create_topics([("replicas", -1, -1, [(0, [0] * 1_000_000)])]), "replicas",
                          INVALID_REPLICA_ASSIGNMENT)
        self.assertResult(self.create_topics([("replicas", 5, -1, [(0, [0])])]), "replicas", INVALID_REQUEST)

    def test_create_partitions_to_int32_max(self):
        self.assertResult(self.create_partitions([("existing", INT32_MAX, None)]), "existing", POLICY_VIOLATION,
                          "excessively large batch")
        self.assertResult(self.create_partitions([("existing", 20_000_000, None)]), "existing", POLICY_VIOLATION)
        # An assignment list that does not cover the increase is refused for that, as Kafka does.
        self.assertResult(self.create_partitions([("existing", INT32_MAX, [[0]] * 3)]), "existing",
                          INVALID_REPLICA_ASSIGNMENT)
        self.assertResult(self.create_partitions([("existing", 200_002, [[0]] * 200_000)]), "existing",
                          POLICY_VIOLATION)
        self.assertResult(self.create_partitions([("existing", 3, [[0] * 1_000_000])]), "existing",
                          INVALID_REPLICA_ASSIGNMENT)
        self.assertEqual(self.metadata(["existing"], False), [(NONE, "existing", 2)])

    def test_error_messages_quoting_long_client_strings(self):
        # A message quoting a 32767-byte config or topic name would not fit a wire string; the
        # broker used to abort encoding it.
        config = string("x" * 32767) + string("1")
        body = array([string("cfg") + struct.pack(">ih", 1, 1) + array([]) + array([config])])
        results = parse_topic_results(self.call(19, 4, body + struct.pack(">i?", 30000, True)))
        self.assertEqual([(n, c) for n, c, _ in results], [("cfg", INVALID_CONFIG)])
        self.assertLessEqual(len(results[0][2]), 1024)
        long_name = "y" * 32767
        self.assertResult(self.create_partitions([(long_name, 3, None)]), long_name, UNKNOWN_TOPIC_OR_PARTITION)

    def test_z_normal_admin_still_works(self):
        self.admin.create_topics([NewTopic("after", 3, 1)])
        self.assertResult(self.create_partitions([("after", 5, None)]), "after", NONE)
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks=1)
        meta = producer.send("after", b"still here", partition=4).get(timeout=30)
        producer.close()
        self.assertEqual((meta.partition, meta.offset), (4, 0))


class BrokerPartitionLimitTest(AdminLimitsBase):
    LIMIT = 10

    @classmethod
    def setUpClass(cls):
        cls.broker = BrokerProcess(overrides={"max.broker.partitions": str(cls.LIMIT)}).start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def setUp(self):
        self.baseline_kib = self.peak_rss_kib()

    def test_limit_holds_for_create_topics_create_partitions_and_auto_creation(self):
        self.assertResult(self.create_topics([("eight", 8, 1, [])]), "eight", NONE)
        self.assertResult(self.create_topics([("three", 3, 1, [])]), "three", POLICY_VIOLATION,
                          "max.broker.partitions=10")
        self.assertResult(self.create_topics([("three", -1, -1, [(0, [0]), (1, [0]), (2, [0])])]), "three",
                          POLICY_VIOLATION, "max.broker.partitions=10")
        self.assertResult(self.create_partitions([("eight", 11, None)]), "eight", POLICY_VIOLATION,
                          "max.broker.partitions=10")
        self.assertResult(self.create_partitions([("eight", 10, None)], validate_only=True), "eight", NONE)
        # Two topics that fit one by one but not together.
        results = self.create_topics([("one", 1, 1, []), ("two", 2, 1, [])], validate_only=True)
        self.assertEqual([(n, c) for n, c, _ in results], [("one", NONE), ("two", POLICY_VIOLATION)])
        self.assertResult(self.create_partitions([("eight", 10, None)]), "eight", NONE)

        # Full: auto-creation (num.partitions=1) is refused too; the topic is not created and the
        # broker says why in its log. Metadata answers UNKNOWN_TOPIC_OR_PARTITION for it.
        self.assertEqual(self.metadata(["auto"], True), [(UNKNOWN_TOPIC_OR_PARTITION, "auto", 0)])
        self.assertEqual(sorted(t[1] for t in self.metadata(None)), ["eight"])
        deadline = time.time() + 10
        while "auto-creation of topic 'auto' refused" not in self.broker.read_log() and time.time() < deadline:
            time.sleep(0.1)
        self.assertIn("max.broker.partitions=10", self.broker.read_log())

        # A real client sees the refusal as Kafka's PolicyViolationError.
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap, request_timeout_ms=30000)
        try:
            with self.assertRaises(PolicyViolationError):
                admin.create_topics([NewTopic("more", 1, 1)])
        finally:
            admin.close()
        self.assertAliveAndSmall()


if __name__ == "__main__":
    unittest.main()
