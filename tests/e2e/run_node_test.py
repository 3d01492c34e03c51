"""Runs the Node clients' end-to-end tests in tests/e2e/node against a fresh broker each: kafkajs_test.js
(kafkajs) and node_rdkafka_test.js (node-rdkafka with its bundled librdkafka 2.12.0). tools/test.sh
installs both with `npm ci`."""
import os
import subprocess
import unittest

from broker_process import BrokerProcess

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(HERE, "node")


class NodeClientsTest(unittest.TestCase):
    def run_script(self, script):
        with BrokerProcess() as broker:
            result = subprocess.run(["node", os.path.join(NODE_DIR, script), broker.bootstrap],
                                    capture_output=True, timeout=120, cwd=NODE_DIR)
            self.assertEqual(result.returncode, 0, result.stdout.decode() + result.stderr.decode()
                             + "\nbroker log:\n" + broker.read_log())

    def test_kafkajs(self):
        self.run_script("kafkajs_test.js")

    def test_node_rdkafka(self):
        self.run_script("node_rdkafka_test.js")


if __name__ == "__main__":
    unittest.main()
