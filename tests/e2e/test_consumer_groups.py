"""Consumer groups end to end: kafka-python (2.0.2), confluent-kafka (librdkafka 2.0.2) and kcat
members against the broker's group coordinator. Rebalances, commits, static membership,
cooperative-sticky, a mixed-client group, the admin APIs, and offsets surviving a restart."""
import subprocess
import threading
import time
import unittest
import uuid

from confluent_kafka import Consumer as CKConsumer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.coordinator.assignors.range import RangePartitionAssignor

from broker_process import BrokerProcess

class PollingConsumer(threading.Thread):
    """Polls one kafka-python consumer on its own thread (kafka-python blocks in JoinGroup until
    every member has rejoined, so members sharing a thread would wait on each other). Other
    operations run on that thread too, through call()."""

    def __init__(self, consumer):
        super().__init__(daemon=True)
        self.consumer = consumer
        self.records = []
        self.lock = threading.Lock()
        self.calls = []
        self.stopped = False
        self.error = None
        self.current = set()
        self.start()

    def run(self):
        try:
            while not self.stopped:
                with self.lock:
                    calls, self.calls = self.calls, []
                for fn, box, done in calls:
                    box.append(fn(self.consumer))
                    done.set()
                for tp, records in self.consumer.poll(timeout_ms=100).items():
                    with self.lock:
                        self.records.extend((tp.partition, r.offset, r.value) for r in records)
                with self.lock:
                    self.current = set(self.consumer.assignment())
        except Exception as e:  # surfaced by the test through .error
            self.error = e

    def call(self, fn, timeout=30):
        box, done = [], threading.Event()
        with self.lock:
            self.calls.append((fn, box, done))
        if not done.wait(timeout):
            raise AssertionError(f"consumer thread did not run the call (error: {self.error})")
        return box[0]

    def assignment(self):
        """The assignment after the last poll (never blocks on the polling thread)."""
        with self.lock:
            return set(self.current)

    def got(self):
        with self.lock:
            return list(self.records)

    def close(self):
        self.call(lambda c: c.close())
        self.stopped = True
        self.join(10)


GROUP_OVERRIDES = {"group.initial.rebalance.delay.ms": "0"}
# Small sessions keep rebalances quick; group.min.session.timeout.ms (6000) allows them.
KP_GROUP = dict(session_timeout_ms=6000, heartbeat_interval_ms=1000, auto_offset_reset="earliest")


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(predicate, timeout, step=None, message="condition not met"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if step:
            step()
        if predicate():
            return
        if not step:
            time.sleep(0.1)
    raise AssertionError(message)


class ConsumerGroupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = BrokerProcess(overrides=GROUP_OVERRIDES).start()
        cls.admin = KafkaAdminClient(bootstrap_servers=cls.broker.bootstrap)

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.broker.cleanup()

    def create_topic(self, partitions):
        topic = name("cg")
        self.admin.create_topics([NewTopic(topic, partitions, 1)])
        return topic

    def produce(self, topic, partitions, count, start=0):
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap)
        for i in range(start, start + count):
            producer.send(topic, value=f"m{i}".encode(), partition=i % partitions)
        producer.flush()
        producer.close()

    def kp_consumer(self, topic, group, **kw):
        opts = dict(KP_GROUP)
        opts.update(kw)
        return KafkaConsumer(topic, bootstrap_servers=self.broker.bootstrap, group_id=group, **opts)

    @staticmethod
    def poll_into(consumer, sink, timeout_ms=100):
        for tp, records in consumer.poll(timeout_ms=timeout_ms).items():
            for r in records:
                sink.append((tp.partition, r.offset, r.value))

    def test_three_members_split_partitions_then_two_take_over(self):
        topic = self.create_topic(6)
        group = name("g3")
        members = [PollingConsumer(self.kp_consumer(topic, group, enable_auto_commit=False)) for _ in range(3)]

        def sizes():
            return sorted(len(m.assignment()) for m in members)

        def got():
            return [r for m in members for r in m.got()]

        wait_until(lambda: sizes() == [2, 2, 2], 60, message="three members never got two partitions each")
        owned = [p.partition for m in members for p in m.assignment()]
        self.assertEqual(sorted(owned), list(range(6)))
        self.produce(topic, 6, 60)
        wait_until(lambda: len(got()) >= 60, 30, message="messages missing")
        self.assertEqual(len(got()), 60)
        self.assertEqual(len(set(got())), 60, "a message was read twice")
        for m in members:
            m.call(lambda c: c.commit())
        for m in members:
            for tp in m.assignment():
                self.assertEqual(m.call(lambda c, tp=tp: c.committed(tp)), 10)

        # One member leaves: the other two take over its partitions and resume at the commits.
        members[2].close()
        left = members.pop()
        wait_until(lambda: sizes() == [3, 3], 60, message="the remaining members did not take over")
        self.produce(topic, 6, 30, start=60)
        wait_until(lambda: len(got()) + len(left.got()) >= 90, 30, message="messages missing after the takeover")
        time.sleep(0.5)
        everything = got() + left.got()
        self.assertEqual(len(everything), 90)
        self.assertEqual(len(set(everything)), 90)
        for m in members:
            m.close()

    def test_auto_commit_and_a_new_member_resumes(self):
        topic = self.create_topic(2)
        group = name("auto")
        self.produce(topic, 2, 20)
        first = self.kp_consumer(topic, group, enable_auto_commit=True, auto_commit_interval_ms=300)
        got = []
        wait_until(lambda: len(got) >= 20, 30, lambda: self.poll_into(first, got))
        self.assertEqual(len(got), 20)
        tp0 = TopicPartition(topic, 0)
        wait_until(lambda: first.committed(tp0) == 10, 10, lambda: self.poll_into(first, got))
        first.close()  # commits what it consumed
        self.produce(topic, 2, 10, start=20)
        second = self.kp_consumer(topic, group, enable_auto_commit=False)
        more = []
        wait_until(lambda: len(more) >= 10, 30, lambda: self.poll_into(second, more))
        self.assertEqual(sorted(v for _, _, v in more), sorted(f"m{i}".encode() for i in range(20, 30)))
        self.assertTrue(all(offset >= 10 for _, offset, _ in more))
        second.close()

    def test_manual_commit_with_metadata_and_offsets_listing(self):
        topic = self.create_topic(3)
        group = name("manual")
        consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, group_id=group, enable_auto_commit=False)
        from kafka.structs import OffsetAndMetadata
        consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(5, "meta-0"),
                         TopicPartition(topic, 2): OffsetAndMetadata(7, "")})
        self.assertEqual(consumer.committed(TopicPartition(topic, 0)), 5)
        self.assertEqual(consumer.committed(TopicPartition(topic, 2)), 7)
        self.assertIsNone(consumer.committed(TopicPartition(topic, 1)))
        consumer.close()
        offsets = self.admin.list_consumer_group_offsets(group)
        self.assertEqual(offsets[TopicPartition(topic, 0)].offset, 5)
        self.assertEqual(offsets[TopicPartition(topic, 0)].metadata, "meta-0")
        self.assertEqual(offsets[TopicPartition(topic, 2)].offset, 7)
        self.assertNotIn(TopicPartition(topic, 1), offsets)

    def test_admin_lists_describes_and_deletes_groups(self):
        topic = self.create_topic(2)
        group = name("admin")
        consumer = self.kp_consumer(topic, group)
        wait_until(lambda: len(consumer.assignment()) == 2, 30, lambda: consumer.poll(timeout_ms=100))
        listed = dict(self.admin.list_consumer_groups())
        self.assertEqual(listed.get(group), "consumer")
        [desc] = self.admin.describe_consumer_groups([group])
        self.assertEqual(desc.group, group)
        self.assertEqual(desc.state, "Stable")
        self.assertEqual(desc.protocol_type, "consumer")
        self.assertEqual(len(desc.members), 1)
        self.assertEqual(desc.members[0].client_host, "/127.0.0.1")
        assigned = desc.members[0].member_assignment.assignment
        self.assertEqual(sorted(p for t, ps in assigned for p in ps), [0, 1])
        consumer.commit()
        # A group with members cannot be deleted; once empty it can.
        [(gid, err)] = self.admin.delete_consumer_groups([group])
        self.assertEqual(err.__name__, "NonEmptyGroupError")
        consumer.close()
        [desc] = self.admin.describe_consumer_groups([group])
        self.assertEqual(desc.state, "Empty")
        [(gid, err)] = self.admin.delete_consumer_groups([group])
        self.assertEqual(err.__name__, "NoError")
        self.assertNotIn(group, dict(self.admin.list_consumer_groups()))
        [desc] = self.admin.describe_consumer_groups([group])
        self.assertEqual(desc.state, "Dead")
        [(gid, err)] = self.admin.delete_consumer_groups([group])
        self.assertEqual(err.__name__, "GroupIdNotFoundError")

    def ck_consumer(self, group, **conf):
        base = {"bootstrap.servers": self.broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000, "enable.auto.commit": False}
        base.update(conf)
        return CKConsumer(base)

    def test_confluent_cooperative_sticky(self):
        topic = self.create_topic(4)
        group = name("coop")
        consumers, owned, got = [], [], []

        def make(i):
            owned.append(set())
            c = self.ck_consumer(group, **{"partition.assignment.strategy": "cooperative-sticky"})

            def on_assign(consumer, parts, i=i):
                owned[i].update(p.partition for p in parts)
                consumer.incremental_assign(parts)

            def on_revoke(consumer, parts, i=i):
                owned[i].difference_update(p.partition for p in parts)
                consumer.incremental_unassign(parts)
            c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
            consumers.append(c)

        def poll_all():
            for c in consumers:
                m = c.poll(0.1)
                if m is not None and not m.error():
                    got.append((m.partition(), m.offset()))

        make(0)
        wait_until(lambda: len(owned[0]) == 4, 30, poll_all, "the first member never got all partitions")
        make(1)
        wait_until(lambda: sorted(len(o) for o in owned) == [2, 2], 60, poll_all, "no incremental handover")
        self.assertEqual(owned[0] | owned[1], {0, 1, 2, 3})
        self.produce(topic, 4, 40)
        wait_until(lambda: len(got) >= 40, 30, poll_all)
        self.assertEqual(len(set(got)), 40)
        consumers[1].close()
        consumers.pop()
        wait_until(lambda: len(owned[0]) == 4, 60, poll_all, "the survivor did not take the partitions back")
        consumers[0].close()

    def static_member_returns_without_rebalance(self, returning):
        """Two static members split six partitions; `returning` ("a", the leader, or "b") closes
        and comes back within the session timeout: it gets its partitions back and the other
        member sees no rebalance (for the leader: KIP-814, as Kafka 3.2+)."""
        topic = self.create_topic(6)
        group = name("static")
        events = {"a": [], "b": []}

        def make(who):
            c = self.ck_consumer(group, **{"group.instance.id": f"instance-{who}", "session.timeout.ms": 10000})
            c.subscribe([topic], on_assign=lambda _, parts: events[who].append(("assign", sorted(p.partition for p in parts))),
                        on_revoke=lambda _, parts: events[who].append(("revoke", sorted(p.partition for p in parts))))
            return c

        members = {"a": make("a")}
        wait_until(lambda: events["a"] and len(events["a"][-1][1]) == 6, 30, lambda: members["a"].poll(0.1))
        members["b"] = make("b")

        def poll_both():
            members["a"].poll(0.05)
            members["b"].poll(0.05)

        def settled():
            return (events["b"] and events["b"][-1][0] == "assign" and len(events["b"][-1][1]) == 3 and
                    events["a"][-1][0] == "assign" and len(events["a"][-1][1]) == 3)
        wait_until(settled, 60, poll_both, "a and b never split the partitions")
        staying = "b" if returning == "a" else "a"
        returning_partitions = events[returning][-1][1]
        staying_events = len(events[staying])
        members[returning].close()  # a static member sends no LeaveGroup: its place is kept
        events[returning].clear()
        members[returning] = make(returning)
        wait_until(lambda: events[returning] and events[returning][-1][0] == "assign", 30, poll_both,
                   f"{returning} did not come back")
        self.assertEqual(events[returning][-1][1], returning_partitions)
        for _ in range(20):
            poll_both()
        self.assertEqual(len(events[staying]), staying_events,
                         f"{staying} was rebalanced: {events[staying][staying_events:]}")
        [desc] = self.admin.describe_consumer_groups([group])
        self.assertEqual(desc.state, "Stable")
        self.assertEqual(len(desc.members), 2)
        members["a"].close()
        members["b"].close()

    def test_confluent_static_follower_returns_without_rebalance(self):
        self.static_member_returns_without_rebalance("b")

    def test_confluent_static_leader_returns_without_rebalance(self):
        self.static_member_returns_without_rebalance("a")

    def test_mixed_kafka_python_and_librdkafka_group(self):
        topic = self.create_topic(6)
        group = name("mixed")
        kp = PollingConsumer(self.kp_consumer(topic, group, partition_assignment_strategy=[RangePartitionAssignor]))
        ck_owned = set()
        ck = self.ck_consumer(group, **{"partition.assignment.strategy": "range"})
        ck.subscribe([topic], on_assign=lambda _, parts: (ck_owned.clear(), ck_owned.update(p.partition for p in parts)),
                     on_revoke=lambda _, parts: ck_owned.clear())
        ck_got = []

        def poll_ck():
            m = ck.poll(0.1)
            if m is not None and not m.error():
                ck_got.append((m.partition(), m.offset(), m.value()))

        wait_until(lambda: len(kp.assignment()) == 3 and len(ck_owned) == 3, 60, poll_ck,
                   "the mixed group did not split the partitions")
        self.assertEqual({p.partition for p in kp.assignment()} | ck_owned, set(range(6)))
        self.produce(topic, 6, 60)
        wait_until(lambda: len(kp.got()) + len(ck_got) >= 60, 30, poll_ck)
        self.assertEqual(len(set(kp.got() + ck_got)), 60)
        kp.close()
        ck.close()

    def test_kcat_balanced_consumer(self):
        topic = self.create_topic(3)
        group = name("kcat")
        self.produce(topic, 3, 30)
        out = subprocess.run(["kcat", "-b", self.broker.bootstrap, "-G", group, "-X", "auto.offset.reset=earliest",
                              "-c", "30", "-f", "%p:%o:%s\n", "-q", topic],
                             capture_output=True, timeout=60, check=True).stdout.decode().split()
        self.assertEqual(sorted(out), sorted(f"{i % 3}:{i // 3}:m{i}" for i in range(30)))
        # kcat committed what it read: the group's offsets are at the end.
        offsets = self.admin.list_consumer_group_offsets(group)
        wait_until(lambda: all(self.admin.list_consumer_group_offsets(group).get(TopicPartition(topic, p)) and
                               self.admin.list_consumer_group_offsets(group)[TopicPartition(topic, p)].offset == 10
                               for p in range(3)), 20, message=f"kcat's commits missing: {offsets}")


class ConsumerGroupRestartTest(unittest.TestCase):
    def test_offsets_survive_a_restart(self):
        with BrokerProcess(overrides=GROUP_OVERRIDES) as broker:
            admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
            topic = name("restart")
            admin.create_topics([NewTopic(topic, 2, 1)])
            admin.close()
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
            for i in range(20):
                producer.send(topic, value=f"m{i}".encode(), partition=i % 2)
            producer.flush()
            producer.close()
            group = name("g")
            c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False,
                              **KP_GROUP)
            got = []
            wait_until(lambda: len(got) >= 20, 30, lambda: ConsumerGroupTest.poll_into(c, got))
            c.commit()
            c.close()
            broker.restart()
            # The coordinator loads its __consumer_offsets partitions at start-up, before any client asks.
            wait_until(lambda: "loaded 1 group(s) from __consumer_offsets-" in broker.read_log(), 30,
                       message="the group was not loaded at start-up:\n" + broker.read_log())
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
            for i in range(20, 30):
                producer.send(topic, value=f"m{i}".encode(), partition=i % 2)
            producer.flush()
            producer.close()
            c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False,
                              **KP_GROUP)
            self.assertEqual(c.committed(TopicPartition(topic, 0)), 10)
            more = []
            wait_until(lambda: len(more) >= 10, 30, lambda: ConsumerGroupTest.poll_into(c, more))
            self.assertEqual(sorted(v for _, _, v in more), sorted(f"m{i}".encode() for i in range(20, 30)))
            c.close()


class InitialRebalanceDelayTest(unittest.TestCase):
    def test_members_arriving_during_the_delay_extend_it(self):
        """As Kafka's InitialDelayedJoin: each member that joins a starting group during
        group.initial.rebalance.delay.ms extends the wait by another delay, so three members
        arriving 1.2 s apart with a 2 s delay all land in the first generation: each is assigned
        once, two partitions each, and nobody is revoked."""
        with BrokerProcess(overrides={"group.initial.rebalance.delay.ms": "2000"}) as broker:
            admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
            topic = name("delay")
            admin.create_topics([NewTopic(topic, 6, 1)])
            group = name("delay")
            events = [[], [], []]
            consumers = []

            def poll_all(seconds):
                deadline = time.time() + seconds
                while time.time() < deadline:
                    for c in consumers:
                        c.poll(0.02)

            for i in range(3):
                c = CKConsumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                                "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000,
                                "partition.assignment.strategy": "range"})
                c.subscribe([topic], on_assign=lambda _, parts, i=i: events[i].append(("assign", len(parts))),
                            on_revoke=lambda _, parts, i=i: events[i].append(("revoke", len(parts))))
                consumers.append(c)
                poll_all(1.2)
            wait_until(lambda: all(events), 30, lambda: poll_all(0.1), f"not everyone was assigned: {events}")
            poll_all(1.0)
            self.assertEqual(events, [[("assign", 2)]] * 3)
            for c in consumers:
                c.close()
            admin.close()


if __name__ == "__main__":
    unittest.main()
