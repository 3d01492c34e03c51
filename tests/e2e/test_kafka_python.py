"""kafka-python (Debian's python3-kafka 2.0.2) against a real broker: the quick-start flow, record
features, every compression codec, offset lookups, the admin client, and a restart mid-test."""
import time
import unittest
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from broker_process import BrokerProcess


def topic_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class KafkaPythonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = BrokerProcess().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def producer(self, **kw):
        return KafkaProducer(bootstrap_servers=self.broker.bootstrap, **kw)

    def consumer(self, *topics, **kw):
        kw.setdefault("auto_offset_reset", "earliest")
        kw.setdefault("consumer_timeout_ms", 10000)
        return KafkaConsumer(*topics, bootstrap_servers=self.broker.bootstrap, **kw)

    def consume_n(self, consumer, n):
        out = []
        for msg in consumer:
            out.append(msg)
            if len(out) == n:
                break
        return out

    def test_quickstart_produce_then_consume_from_beginning(self):
        topic = topic_name("quickstart")
        producer = self.producer()
        for i in range(100):
            producer.send(topic, f"event {i}".encode())
        producer.flush()
        producer.close()
        consumer = self.consumer(topic)
        msgs = self.consume_n(consumer, 100)
        consumer.close()
        self.assertEqual([m.value for m in msgs], [f"event {i}".encode() for i in range(100)])
        self.assertEqual([m.offset for m in msgs], list(range(100)))

    def test_keys_headers_timestamps(self):
        topic = topic_name("features")
        producer = self.producer()
        ts = int(time.time() * 1000) - 5000
        meta = producer.send(topic, key=b"k1", value=b"v1", headers=[("h1", b"x"), ("h2", b"")],
                             timestamp_ms=ts).get(timeout=10)
        producer.send(topic, key=b"k2", value=None).get(timeout=10)  # a tombstone: null value
        producer.close()
        self.assertEqual(meta.offset, 0)
        consumer = self.consumer(topic)
        first, second = self.consume_n(consumer, 2)
        consumer.close()
        self.assertEqual(first.key, b"k1")
        self.assertEqual(first.value, b"v1")
        self.assertEqual(first.headers, [("h1", b"x"), ("h2", b"")])
        self.assertEqual(first.timestamp, ts)
        self.assertEqual(second.key, b"k2")
        self.assertIsNone(second.value)

    def test_every_compression_codec(self):
        for codec in ("gzip", "snappy", "lz4", "zstd"):
            with self.subTest(codec=codec):
                topic = topic_name(f"codec-{codec}")
                producer = self.producer(compression_type=codec, linger_ms=20)
                values = [(f"{codec} message {i} " * 10).encode() for i in range(300)]
                for v in values:
                    producer.send(topic, v)
                producer.flush()
                producer.close()
                consumer = self.consumer(topic)
                got = [m.value for m in self.consume_n(consumer, len(values))]
                consumer.close()
                self.assertEqual(got, values)

    def test_legacy_message_formats_from_old_clients(self):
        # kafka-python pinned to old broker versions sends Produce v0-v2 with magic 0 and 1 message
        # sets, compressed too; the broker stores them as v2 batches that any consumer reads.
        topic = topic_name("legacy")
        expected = []
        for api_version, codec in (((0, 9), None), ((0, 10, 1), None), ((0, 10, 1), "gzip"), ((0, 9), "snappy")):
            producer = self.producer(api_version=api_version, compression_type=codec, linger_ms=10)
            for i in range(5):
                value = f"{api_version}-{codec}-{i}".encode()
                producer.send(topic, key=b"k", value=value)
                expected.append(value)
            producer.flush()
            producer.close()
        consumer = self.consumer(topic)
        got = [m.value for m in self.consume_n(consumer, len(expected))]
        consumer.close()
        self.assertEqual(got, expected)

    def test_topic_configs_applied_on_produce(self):
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        compacted, append_time = topic_name("compacted"), topic_name("appendtime")
        admin.create_topics([
            NewTopic(compacted, num_partitions=1, replication_factor=1, topic_configs={"cleanup.policy": "compact"}),
            NewTopic(append_time, num_partitions=1, replication_factor=1,
                     topic_configs={"message.timestamp.type": "LogAppendTime"}),
        ])
        admin.close()
        producer = self.producer(retries=0)
        producer.send(compacted, key=b"k", value=b"v").get(timeout=10)
        with self.assertRaises(Exception):
            producer.send(compacted, key=None, value=b"no key").get(timeout=10)
        before = int(time.time() * 1000)
        producer.send(append_time, value=b"x", timestamp_ms=1000).get(timeout=10)
        producer.close()
        consumer = self.consumer(append_time)
        (msg,) = self.consume_n(consumer, 1)
        consumer.close()
        self.assertEqual(msg.timestamp_type, 1)  # LogAppendTime
        self.assertGreaterEqual(msg.timestamp, before - 1000)

    def test_seek_and_offset_lookups(self):
        topic = topic_name("offsets")
        producer = self.producer()
        base = int(time.time() * 1000) - 100000
        for i in range(50):
            producer.send(topic, value=str(i).encode(), timestamp_ms=base + i * 1000)
        producer.flush()
        producer.close()
        tp = TopicPartition(topic, 0)
        consumer = self.consumer()
        consumer.assign([tp])
        self.assertEqual(consumer.beginning_offsets([tp])[tp], 0)
        self.assertEqual(consumer.end_offsets([tp])[tp], 50)
        found = consumer.offsets_for_times({tp: base + 20500})[tp]
        self.assertEqual(found.offset, 21)
        self.assertEqual(found.timestamp, base + 21000)
        self.assertIsNone(consumer.offsets_for_times({tp: base + 10 ** 9})[tp])
        consumer.seek(tp, 42)
        msgs = self.consume_n(consumer, 8)
        self.assertEqual([m.value for m in msgs], [str(i).encode() for i in range(42, 50)])
        consumer.seek_to_beginning(tp)
        self.assertEqual(self.consume_n(consumer, 1)[0].offset, 0)
        consumer.close()

    def test_admin_create_list_describe_delete(self):
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        topic = topic_name("admin")
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1,
                                      topic_configs={"retention.ms": "3600000"})])
        with self.assertRaises(TopicAlreadyExistsError):
            admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        self.assertIn(topic, admin.list_topics())
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {e[0]: e[1] for e in described[0].resources[0][4]}
        self.assertEqual(entries["retention.ms"], "3600000")
        self.assertEqual(entries["cleanup.policy"], "delete")
        broker_cfg = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "0")])
        broker_entries = {e[0]: e[1] for e in broker_cfg[0].resources[0][4]}
        self.assertEqual(broker_entries["num.partitions"], "1")
        admin.create_partitions({topic: NewPartitions(total_count=5)})
        consumer = self.consumer()
        self.assertEqual(len(consumer.partitions_for_topic(topic)), 5)
        consumer.close()
        admin.delete_topics([topic])
        deadline = time.time() + 10
        while topic in admin.list_topics() and time.time() < deadline:
            time.sleep(0.1)
        self.assertNotIn(topic, admin.list_topics())
        with self.assertRaises(UnknownTopicOrPartitionError):
            admin.delete_topics([topic])
        admin.close()

    def test_a_topic_deleted_and_created_again_starts_empty(self):
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        topic = topic_name("again")
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = self.producer(acks="all")
        for i in range(50):
            producer.send(topic, b"old-%d" % i)
        producer.flush(timeout=10)
        producer.close()
        admin.delete_topics([topic])
        deadline = time.time() + 20
        while True:
            try:
                admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
                break
            except TopicAlreadyExistsError:
                self.assertLess(time.time(), deadline, "the deleted topic never went away")
                time.sleep(0.1)
        # Should the old log still be closing, the broker answers NOT_LEADER_OR_FOLLOWER, which a
        # producer with retries sends again (kafka-python's default is no retries).
        producer = self.producer(acks="all", retries=5)
        meta = producer.send(topic, b"new").get(timeout=30)
        producer.close()
        self.assertEqual(meta.offset, 0)
        consumer = self.consumer(topic, consumer_timeout_ms=3000)
        msgs = self.consume_n(consumer, 2)  # one only, unless the old messages leaked in
        consumer.close()
        self.assertEqual([m.value for m in msgs], [b"new"])
        admin.close()

    def test_restart_keeps_acknowledged_and_offsets_continue(self):
        topic = topic_name("restart")
        producer = self.producer(acks="all")
        for i in range(20):
            producer.send(topic, str(i).encode()).get(timeout=10)
        producer.close()
        self.broker.restart()
        producer = self.producer(acks="all")
        meta = producer.send(topic, b"after").get(timeout=10)
        producer.close()
        self.assertEqual(meta.offset, 20)
        consumer = self.consumer(topic)
        msgs = self.consume_n(consumer, 21)
        consumer.close()
        self.assertEqual([m.value for m in msgs], [str(i).encode() for i in range(20)] + [b"after"])


if __name__ == "__main__":
    unittest.main()
