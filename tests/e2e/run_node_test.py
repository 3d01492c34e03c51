"""Runs tests/e2e/node/kafkajs_test.js against a fresh broker (kafkajs installed by tools/test.sh)."""
import os
import subprocess
import unittest

from broker_process import BrokerProcess

HERE = os.path.dirname(os.path.abspath(__file__))


class KafkajsTest(unittest.TestCase):
    def test_kafkajs(self):
        with BrokerProcess() as broker:
            result = subprocess.run(["node", os.path.join(HERE, "node", "kafkajs_test.js"), broker.bootstrap],
                                    capture_output=True, timeout=120, cwd=os.path.join(HERE, "node"))
            self.assertEqual(result.returncode, 0, result.stdout.decode() + result.stderr.decode()
                             + "\nbroker log:\n" + broker.read_log())


if __name__ == "__main__":
    unittest.main()
