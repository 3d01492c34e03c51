"""kcat (librdkafka 2.0.2): produce, consume and -L metadata listing."""
import subprocess
import unittest
import uuid

from broker_process import BrokerProcess


class KcatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = BrokerProcess().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def kcat(self, *args, input=None):
        return subprocess.run(["kcat", "-b", self.broker.bootstrap, *args], input=input, capture_output=True,
                              timeout=60, check=True).stdout

    def test_produce_consume_and_list(self):
        topic = f"kcat-{uuid.uuid4().hex[:8]}"
        lines = [f"key{i}:value {i}" for i in range(50)]
        self.kcat("-P", "-t", topic, "-K:", "-z", "lz4", input=("\n".join(lines) + "\n").encode())
        out = self.kcat("-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k:%s:%o\n")
        self.assertEqual(out.decode().splitlines(), [f"{l}:{i}" for i, l in enumerate(lines)])
        listing = self.kcat("-L").decode()
        self.assertIn(f'topic "{topic}" with 1 partitions', listing)
        self.assertIn(f"broker 0 at 127.0.0.1:{self.broker.port}", listing)


if __name__ == "__main__":
    unittest.main()
