"""Configuration in Kafka's terms: the sample server.properties starts a broker, unknown keys are
warned about, bad values are refused with a clear message, and SIGTERM shuts down cleanly."""
import os
import signal
import subprocess
import time
import unittest
import uuid

from kafka import KafkaConsumer, KafkaProducer

from broker_process import BrokerProcess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ConfigTest(unittest.TestCase):
    def run_broker(self, *args):
        binary = os.environ.get("RINGBROKER_BIN", "ringbroker")
        return subprocess.run([binary, *args], capture_output=True, timeout=30)

    def test_bad_value_refused_with_message(self):
        result = self.run_broker("--override", "num.partitions=many")
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"num.partitions", result.stderr)

    def test_unknown_argument_refused(self):
        self.assertEqual(self.run_broker("--no-such-flag").returncode, 2)

    def test_sample_properties_unknown_key_warned_and_clean_shutdown(self):
        broker = BrokerProcess(overrides={"made.up.setting": "1"})
        broker.start()
        try:
            self.assertIn("made.up.setting", broker.read_log())
            topic = f"cfg-{uuid.uuid4().hex[:8]}"
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
            producer.send(topic, b"x").get(timeout=10)
            producer.close()
            self.assertEqual(broker.stop(signal.SIGTERM), 0)
            self.assertIn("stopped cleanly", broker.read_log())
        finally:
            broker.cleanup()

    def test_sample_server_properties_file(self):
        path = os.path.join(REPO, "server.properties")
        broker = BrokerProcess()
        # The sample file names port 9092 and ./data; the test's overrides move both.
        broker.binary_args = ["--config", path]
        broker.start()
        try:
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
            producer.send("from-sample-config", b"x").get(timeout=10)
            producer.close()
        finally:
            broker.cleanup()

    def test_long_poll_is_woken_by_append(self):
        with BrokerProcess() as broker:
            topic = f"longpoll-{uuid.uuid4().hex[:8]}"
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
            producer.send(topic, b"first").get(timeout=10)
            consumer = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                                     fetch_max_wait_ms=20000, consumer_timeout_ms=15000)
            it = iter(consumer)
            self.assertEqual(next(it).value, b"first")
            time.sleep(1)  # the consumer is now parked in a 20 s long poll
            sent = time.time()
            producer.send(topic, b"second").get(timeout=10)
            self.assertEqual(next(it).value, b"second")
            # Woken by the append, not by the 20 s timeout.
            self.assertLess(time.time() - sent, 10)
            consumer.close()
            producer.close()


if __name__ == "__main__":
    unittest.main()
