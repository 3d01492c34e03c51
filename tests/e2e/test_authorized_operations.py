"""Without an authorizer (as Ringbroker is), Kafka reports every operation a resource supports as
authorized when a client asks: Metadata's topic and cluster operations, DescribeGroups' group
operations (librdkafka's describe_topics, describe_cluster and describe_consumer_groups check them).
And a broker left at broker.id=-1 describes its configs under the id it registers (0)."""
import struct
import unittest
import uuid

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from broker_process import BrokerProcess
from test_topic_ids import NO_TAGS, RawFlexibleClient, compact_array, compact_string

# Kafka's AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8,
# CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
CLUSTER_OPERATIONS = sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12))
GROUP_OPERATIONS = sum(1 << op for op in (3, 6, 8))
NOT_ASKED = -2147483648


class AuthorizedOperationsTest(RawFlexibleClient):
    def test_metadata_reports_every_supported_operation(self):
        topic = f"ops-{uuid.uuid4().hex[:8]}"
        self.produce(topic, 1)
        (asked,) = self.metadata(10, [(uuid.UUID(int=0), topic)], authorized=True)
        self.assertEqual(asked["operations"], TOPIC_OPERATIONS)
        self.assertEqual(self.cluster_operations, CLUSTER_OPERATIONS)
        (v12,) = self.metadata(12, [(uuid.UUID(int=0), topic)], authorized=True)
        self.assertEqual(v12["operations"], TOPIC_OPERATIONS)
        (not_asked,) = self.metadata(10, [(uuid.UUID(int=0), topic)])
        self.assertEqual((not_asked["operations"], self.cluster_operations), (NOT_ASKED, NOT_ASKED))

    def describe_group(self, group, authorized):
        body = compact_array([compact_string(group)]) + struct.pack(">?", authorized) + NO_TAGS
        r = self.call(15, 5, body)  # DescribeGroups v5
        r.int32()  # throttle

        def member():
            for _ in range(4):
                r.compact_string()
            r.compact_bytes()
            r.compact_bytes()
            r.tags()

        def described():
            g = {"error": r.int16(), "group": r.compact_string(), "state": r.compact_string()}
            r.compact_string()
            r.compact_string()
            r.array(member)
            g["operations"] = r.int32()
            r.tags()
            return g

        (out,) = r.array(described)
        r.tags()
        return out

    def test_describe_groups_reports_every_supported_operation(self):
        asked = self.describe_group("ops-group", True)
        self.assertEqual((asked["error"], asked["group"], asked["operations"]), (0, "ops-group", GROUP_OPERATIONS))
        self.assertEqual(self.describe_group("ops-group", False)["operations"], NOT_ASKED)


class DefaultBrokerIdTest(unittest.TestCase):
    def test_broker_configs_under_the_registered_id(self):
        with BrokerProcess(overrides={"broker.id": "-1"}) as broker:
            admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
            try:
                described = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "0")])
                (error_code, _message, _type, name, entries) = described[0].resources[0]
                self.assertEqual((error_code, name), (0, "0"))
                self.assertIn("num.partitions", {e[0] for e in entries})
            finally:
                admin.close()


if __name__ == "__main__":
    unittest.main()
