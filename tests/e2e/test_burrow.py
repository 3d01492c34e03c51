"""Burrow (Debian's burrow 1.2.1, with Sarama inside) watching the broker: it reads committed offsets
from __consumer_offsets with a Sarama consumer of all its partitions (long-polling fetches), the
partitions' ends with ListOffsets v0, and reports a group's lag over HTTP. A kafka-python group
commits while Burrow watches; its lag must come out right, from two Sarama profiles at once (Burrow's
default, which speaks Kafka 0.8's versions: Fetch v0, ListOffsets v0, Metadata v0; and kafka-version
2.1.0: Fetch v4, ListOffsets v1, Metadata v5), and Sarama must see no error on __consumer_offsets.

Burrow 1.2.1 needs a ZooKeeper for itself (a lock for its notifiers); the test starts Debian's
(the zookeeper package) on a loopback port."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from broker_process import BrokerProcess, free_port

BURROW = "/usr/bin/Burrow"  # what Debian's burrow package installs
ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
PARTITIONS = 3
CONSUMED = 20  # records per partition the group consumes and commits
UNCONSUMED = 10  # records per partition produced after that: the lag
# Burrow clusters: name -> Sarama's protocol level (Burrow's client-profile kafka-version).
PROFILES = {"default": None, "kafka21": "2.1.0"}


def wait_until(predicate, timeout, message):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(message())


def stop_process(server):
    """Stops `server`'s process (SIGTERM, then SIGKILL after 20 s) and closes its log."""
    if server.proc is not None:
        server.proc.terminate()
        try:
            server.proc.wait(20)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
        server.proc = None
        server.log.close()


class ZooKeeper:
    """Debian's ZooKeeper, standalone, on a free loopback port, data in `directory`."""

    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.proc = None

    def start(self, timeout=60):
        if not os.path.exists(ZOOKEEPER_JAR):
            raise RuntimeError(f"{ZOOKEEPER_JAR} is missing: tools/install-deps.sh installs the zookeeper package")
        config = os.path.join(self.directory, "zoo.cfg")
        with open(config, "w") as f:
            f.write(f"tickTime=2000\ndataDir={self.directory}/data\nclientPortAddress=127.0.0.1\n"
                    f"clientPort={self.port}\nadmin.enableServer=false\n")
        self.log = open(os.path.join(self.directory, "zookeeper.log"), "wb")
        self.proc = subprocess.Popen(["java", "-Xmx128m", "-cp", ZOOKEEPER_JAR,
                                      "org.apache.zookeeper.server.ZooKeeperServerMain", config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ZooKeeper exited with {self.proc.returncode}")
            if self._serving():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"ZooKeeper did not serve within {timeout}s")

    def _serving(self):
        # Its port opens before it serves; "srvr" (allowed by default) answers once it does.
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"srvr")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return b"Mode:" in data
        except OSError:
            return False

    def stop(self):
        stop_process(self)


class Burrow:
    def __init__(self, directory, zookeeper_port, bootstrap):
        self.directory = directory
        self.http_port = free_port()
        self.log_path = os.path.join(directory, "burrow.log")
        sections = [f"""[general]
pidfile="{directory}/burrow.pid"

[logging]
level="info"

[zookeeper]
servers=["127.0.0.1:{zookeeper_port}"]
timeout=6
root-path="/burrow"

[httpserver.default]
address="127.0.0.1:{self.http_port}"

[storage.default]
class-name="inmemory"
workers=4
intervals=10
expire-group=604800
min-distance=1

[evaluator.default]
class-name="caching"
expire-cache=1
"""]
        for cluster, version in PROFILES.items():
            kafka_version = f'kafka-version="{version}"\n' if version else ""
            sections.append(f"""[client-profile.{cluster}]
client-id="burrow-{cluster}"
{kafka_version}
[cluster.{cluster}]
class-name="kafka"
servers=["{bootstrap}"]
client-profile="{cluster}"
topic-refresh=2
offset-refresh=1

[consumer.{cluster}]
class-name="kafka"
cluster="{cluster}"
servers=["{bootstrap}"]
client-profile="{cluster}"
""")
        with open(os.path.join(directory, "burrow.toml"), "w") as f:
            f.write("\n".join(sections))
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([BURROW, "-config-dir", self.directory], cwd=self.directory,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def get(self, path):
        """The JSON Burrow answers, or None while it cannot (not listening yet, or 404 for a group it
        does not know yet)."""
        if self.proc.poll() is not None:
            raise AssertionError(f"Burrow exited with {self.proc.returncode}:\n{self.read_log()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=5) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def read_log(self):
        """Burrow's log, less its warnings about a group it does not know yet (the test's own
        questions, while it waits)."""
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(line for line in lines if '"unknown consumer"' not in line)[-6000:]

    def stop(self):
        stop_process(self)


class CommittingGroup(threading.Thread):
    """A kafka-python group member that auto-commits every 500 ms (also when nothing new was
    consumed, as a live consumer does) and, once it has read CONSUMED records of every partition,
    pauses them: it stays in the group and keeps committing those offsets."""

    def __init__(self, bootstrap, topic, group):
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                      auto_offset_reset="earliest", enable_auto_commit=True,
                                      auto_commit_interval_ms=500, session_timeout_ms=10000,
                                      heartbeat_interval_ms=1000)
        self.consumed = {}
        self.paused = threading.Event()
        self.stopped = False
        self.error = None
        self.start()

    def run(self):
        try:
            while not self.stopped:
                for tp, records in self.consumer.poll(timeout_ms=200).items():
                    self.consumed[tp.partition] = self.consumed.get(tp.partition, 0) + len(records)
                if (not self.paused.is_set() and len(self.consumed) == PARTITIONS
                        and all(n >= CONSUMED for n in self.consumed.values())):
                    self.consumer.pause(*self.consumer.assignment())
                    self.paused.set()
            self.consumer.close()
        except Exception as e:  # surfaced by the test
            self.error = e

    def close(self):
        self.stopped = True
        self.join(30)


@unittest.skipUnless(os.path.exists(BURROW), f"{BURROW} is absent: Debian's burrow package "
                     "(tools/install-deps.sh installs it) is not installed")
class BurrowTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="rb-burrow-")
        self.broker = BrokerProcess(overrides={"group.initial.rebalance.delay.ms": "0"})
        self.zookeeper = ZooKeeper(self.directory)
        self.burrow = None
        self.group = None

    def tearDown(self):
        if self.group is not None:
            self.group.close()
        if self.burrow is not None:
            self.burrow.stop()
        self.zookeeper.stop()
        self.broker.cleanup()
        shutil.rmtree(self.directory, ignore_errors=True)

    def produce(self, topic, per_partition, start):
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all")
        for p in range(PARTITIONS):
            for i in range(start, start + per_partition):
                producer.send(topic, f"{p}-{i}".encode(), partition=p)
        producer.flush()
        producer.close()

    def test_burrow_reports_the_lag_of_a_committing_group(self):
        self.broker.start()
        self.zookeeper.start()
        topic = f"burrow-{uuid.uuid4().hex[:8]}"
        group = f"burrow-group-{uuid.uuid4().hex[:8]}"
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
        admin.close()
        self.produce(topic, CONSUMED, 0)

        # Burrow first: its Sarama consumers ask for __consumer_offsets before any group exists, as
        # on a fresh cluster, and read every commit from there on.
        self.burrow = Burrow(self.directory, self.zookeeper.port, self.broker.bootstrap).start()
        self.group = CommittingGroup(self.broker.bootstrap, topic, group)
        wait_until(lambda: self.group.paused.is_set() or self.group.error is not None, 60,
                   lambda: f"the group did not consume its records: {self.group.consumed} {self.group.error}")
        self.assertIsNone(self.group.error)
        self.produce(topic, UNCONSUMED, CONSUMED)
        end = CONSUMED + UNCONSUMED

        # Every partition: committed at CONSUMED, its end at CONSUMED + UNCONSUMED, lagging by
        # UNCONSUMED, as each of Burrow's two clusters (Sarama profiles) sees it.
        last = {}

        def reported(cluster):
            lag = self.burrow.get(f"/v3/kafka/{cluster}/consumer/{group}/lag")
            offsets = self.burrow.get(f"/v3/kafka/{cluster}/topic/{topic}")
            last[cluster] = (lag, offsets)
            if not lag or lag.get("error") or not offsets or offsets.get("error"):
                return False
            partitions = sorted((p["partition"], p["end"]["offset"], p["current_lag"])
                                for p in lag["status"]["partitions"] if p["topic"] == topic)
            return (partitions == [(p, CONSUMED, UNCONSUMED) for p in range(PARTITIONS)]
                    and lag["status"]["totallag"] == PARTITIONS * UNCONSUMED
                    and offsets["offsets"] == [end] * PARTITIONS)

        for cluster in PROFILES:
            wait_until(lambda: self.group.error is None and reported(cluster), 120,
                       lambda: f"Burrow's cluster {cluster} did not report the group's lag; last answers: "
                               f"{json.dumps(last.get(cluster))[:1500]}\ngroup: {self.group.error}\n"
                               f"Burrow's log:\n{self.burrow.read_log()}")

        # Sarama read __consumer_offsets without an error: a fetch left unanswered shows here as a
        # "read i/o timeout" or "correlation ID didn't match".
        errors = [line for line in self.burrow.read_log().splitlines() if '"consume error"' in line]
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
