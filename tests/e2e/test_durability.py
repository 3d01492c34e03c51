"""Acknowledged means kept: a produce acknowledged with acks=all survives kill -9 of the broker."""
import unittest
import uuid

from kafka import KafkaConsumer, KafkaProducer

from broker_process import BrokerProcess


class DurabilityTest(unittest.TestCase):
    def test_acks_all_survives_sigkill(self):
        with BrokerProcess() as broker:
            topic = f"durable-{uuid.uuid4().hex[:8]}"
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
            futures = [producer.send(topic, f"m{i}".encode()) for i in range(2000)]
            producer.flush()
            acked = [f.get(timeout=10).offset for f in futures]
            producer.close()
            broker.kill9()
            broker.start()
            consumer = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                                     consumer_timeout_ms=10000)
            seen = {}
            for m in consumer:
                seen[m.offset] = m.value
                if len(seen) == len(acked):
                    break
            consumer.close()
            for i, off in enumerate(acked):
                self.assertEqual(seen.get(off), f"m{i}".encode())


if __name__ == "__main__":
    unittest.main()
