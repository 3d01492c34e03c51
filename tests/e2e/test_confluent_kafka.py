"""confluent-kafka (librdkafka 2.0.2): acks=all with compression, delivery reports, consume back."""
import unittest
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition

from broker_process import BrokerProcess


class ConfluentKafkaTest(unittest.TestCase):
    def test_acks_all_with_each_compression(self):
        with BrokerProcess() as broker:
            for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
                with self.subTest(codec=codec):
                    topic = f"ck-{codec}-{uuid.uuid4().hex[:8]}"
                    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                                         "compression.type": codec, "linger.ms": 10,
                                         "enable.idempotence": False})
                    delivered = []
                    def on_delivery(err, msg):
                        self.assertIsNone(err)
                        delivered.append(msg.offset())
                    for i in range(500):
                        producer.produce(topic, key=str(i).encode(), value=(f"{codec}-{i}" * 20).encode(),
                                         headers=[("n", str(i).encode())], on_delivery=on_delivery)
                    self.assertEqual(producer.flush(30), 0)
                    self.assertEqual(sorted(delivered), list(range(500)))
                    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                                         "enable.auto.commit": False})
                    consumer.assign([TopicPartition(topic, 0, 0)])
                    got = []
                    while len(got) < 500:
                        msg = consumer.poll(10)
                        self.assertIsNotNone(msg, "timed out waiting for messages")
                        self.assertIsNone(msg.error())
                        got.append(msg)
                    consumer.close()
                    self.assertEqual([m.value() for m in got], [(f"{codec}-{i}" * 20).encode() for i in range(500)])
                    self.assertEqual(got[7].headers(), [("n", b"7")])


if __name__ == "__main__":
    unittest.main()
