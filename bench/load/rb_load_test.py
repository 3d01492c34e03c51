"""rb-load against a real broker: each mode's counts and its JSON contract (bench/load/README.md).

Run by CTest with $RB_LOAD_BIN and $RINGBROKER_BIN set; the broker comes from tests/e2e/broker_process.py.
These check what rb-load reports, never how fast: a benchmark's timings are not a test's business.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import uuid

from broker_process import BrokerProcess

RB_LOAD = os.environ.get("RB_LOAD_BIN", "rb-load")


class RbLoadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = BrokerProcess().start()
        cls.scratch = tempfile.mkdtemp(prefix="rb-load-test-")

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def rb_load(self, mode, *args, expect_exit=0):
        out = os.path.join(self.scratch, f"{mode}-{uuid.uuid4().hex[:8]}.json")
        run = subprocess.run([RB_LOAD, mode, "--bootstrap", self.broker.bootstrap, "--json", out,
                              "--broker-pid", str(self.broker.proc.pid), *args],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(run.returncode, expect_exit, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}")
        if expect_exit != 0:
            return None
        with open(out) as f:
            return json.load(f)

    def test_produce_then_consume_counts_every_message_once(self):
        topic = f"rbl-{uuid.uuid4().hex[:8]}"
        produced = self.rb_load("produce", "--topic", topic, "--partitions", "3", "--count", "20000",
                                "--message-size", "100", "--acks", "all")
        self.assertEqual(produced["mode"], "produce")
        self.assertEqual(produced["settings"]["partitions"], 3)
        self.assertEqual(produced["messages"], 20000)
        self.assertEqual(produced["bytes"], 20000 * 100)
        self.assertEqual(produced["errors"], 0)
        self.assertEqual(produced["latency_us"]["count"], 20000)
        self.assertLessEqual(produced["latency_us"]["p50"], produced["latency_us"]["max"])
        self.assertEqual(sum(count for _, count in produced["latency_histogram_us"]), 20000)
        self.assertIsNotNone(produced["broker_cpu_seconds"])
        self.assertIsNone(produced["wakeup_probe"])
        self.assertIsNone(produced["timeline"])

        consumed = self.rb_load("consume", "--topic", topic)
        self.assertEqual(consumed["messages"], 20000)
        self.assertEqual(consumed["bytes"], 20000 * 100)
        self.assertEqual(consumed["errors"], 0)
        self.assertEqual(consumed["latency_us"]["count"], 0)

    def test_end_to_end_with_wakeup_probe_and_timeline(self):
        topic = f"rbl-{uuid.uuid4().hex[:8]}"
        result = self.rb_load("e2e", "--topic", topic, "--rate", "2000", "--duration", "2",
                              "--message-size", "64", "--linger-ms", "0", "--wakeup-probe-us", "1000",
                              "--timeline-ms", "250")
        self.assertGreater(result["messages"], 0)
        # Paced: never more than the rate allows, plus the 1 ms a producer may run ahead.
        self.assertLessEqual(result["messages"], 2000 * 2 + 2)
        timeline = result["timeline"]
        self.assertEqual(timeline["window_ms"], 250)
        self.assertGreater(timeline["start_unix_s"], 1.6e9)
        # Every message lands in the window of its send time; the worst window holds the worst latency.
        for kind, latency in (("produce", "latency_us"), ("e2e", "e2e_latency_us")):
            windows = timeline[kind]
            self.assertLessEqual(len(windows), 2000 // 250 + 1)
            self.assertEqual(sum(count for count, _ in windows), result["messages"])
            self.assertEqual(max(worst for _, worst in windows), result[latency]["max"])
        self.assertEqual(result["consumed_messages"], result["messages"])
        self.assertEqual(result["e2e_latency_us"]["count"], result["messages"])
        probe = result["wakeup_probe"]
        self.assertEqual(probe["period_us"], 1000)
        # About 2,000 sleeps of 1 ms in 2 s; far fewer only on a machine that starves the probe.
        self.assertGreater(probe["late_us"]["count"], 100)
        self.assertLessEqual(probe["late_us"]["p50"], probe["late_us"]["max"])

    def test_warmup_traffic_is_sent_but_not_measured(self):
        topic = f"rbl-{uuid.uuid4().hex[:8]}"
        result = self.rb_load("e2e", "--topic", topic, "--rate", "2000", "--duration", "1", "--warmup", "1",
                              "--message-size", "64", "--linger-ms", "0", "--timeline-ms", "250")
        self.assertEqual(result["settings"]["warmup_s"], 1)
        self.assertGreater(result["messages"], 0)
        # Only the measured second counts, at the rate (plus the 1 ms a producer may run ahead).
        self.assertLessEqual(result["messages"], 2000 * 1 + 2)
        self.assertLess(result["seconds"], 1.9)
        self.assertEqual(result["consumed_messages"], result["messages"])
        self.assertEqual(result["latency_us"]["count"], result["messages"])
        self.assertEqual(result["e2e_latency_us"]["count"], result["messages"])
        for kind in ("produce", "e2e"):
            windows = result["timeline"][kind]
            self.assertLessEqual(len(windows), 1000 // 250 + 1)
            self.assertEqual(sum(count for count, _ in windows), result["messages"])
        # The warm-up's second of traffic went to the broker all the same.
        everything = self.rb_load("consume", "--topic", topic)
        self.assertGreater(everything["messages"], result["messages"] + 1000)

    def test_probe_alone_sleeps_for_its_duration_and_reports_lateness(self):
        out = os.path.join(self.scratch, f"probe-{uuid.uuid4().hex[:8]}.json")
        run = subprocess.run([RB_LOAD, "probe", "--duration", "1", "--wakeup-probe-us", "2000", "--json", out],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(out) as f:
            result = json.load(f)
        self.assertEqual(result["mode"], "probe")
        self.assertGreaterEqual(result["seconds"], 1.0)
        probe = result["wakeup_probe"]
        self.assertEqual(probe["period_us"], 2000)
        # At most one sleep per period; far fewer than half only on a machine that starves the probe.
        self.assertLessEqual(probe["late_us"]["count"], 1000 // 2 + 1)
        self.assertGreater(probe["late_us"]["count"], 50)
        self.assertLessEqual(probe["late_us"]["p50"], probe["late_us"]["max"])
        self.assertLessEqual(result["machine_busy_cpu_seconds"], result["machine_total_cpu_seconds"])
        # A count is not a duration.
        run = subprocess.run([RB_LOAD, "probe", "--count", "10"], capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 2)

    def test_bad_arguments_exit_2_before_touching_the_broker(self):
        self.rb_load("e2e", "--topic", "never-created", "--duration", "1", "--wakeup-probe-us", "-1",
                     expect_exit=2)
        self.rb_load("produce", "--topic", "never-created", expect_exit=2)  # neither --count nor --duration
        self.rb_load("produce", "--topic", "never-created", "--count", "10", "--warmup", "1", expect_exit=2)
        self.rb_load("consume", "--topic", "never-created", "--warmup", "1", expect_exit=2)


if __name__ == "__main__":
    unittest.main()
