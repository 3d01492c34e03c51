"""Internal topics are created as Kafka creates them, whoever asks first: a Metadata request naming
__consumer_offsets before any group exists makes it with offsets.topic.num.partitions partitions,
internal, compacted, with offsets.topic.segment.bytes - not as an ordinary auto-created topic."""
import unittest

from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from broker_process import BrokerProcess


class InternalTopicsTest(unittest.TestCase):
    def check_offsets_topic(self, overrides, partitions, segment_bytes):
        with BrokerProcess(overrides=overrides) as broker:
            # The producer's Metadata request names the topic (auto-creation allowed, as v1-v3 do).
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_block_ms=10000)
            try:
                self.assertEqual(producer.partitions_for("__consumer_offsets"), set(range(partitions)))
                self.assertIn("__consumer_offsets", producer._metadata.internal_topics)
            finally:
                producer.close()
            admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
            try:
                described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "__consumer_offsets")])
                values = {e[0]: e[1] for e in described[0].resources[0][4]}
                self.assertEqual(values["cleanup.policy"], "compact")
                self.assertEqual(values["segment.bytes"], str(segment_bytes))
            finally:
                admin.close()

    def test_offsets_topic_as_kafka_creates_it(self):
        self.check_offsets_topic({"num.partitions": "1"}, 50, 104857600)

    def test_offsets_topic_follows_its_own_settings(self):
        self.check_offsets_topic({"num.partitions": "3", "offsets.topic.num.partitions": "7",
                                  "offsets.topic.segment.bytes": "1048576"}, 7, 1048576)


if __name__ == "__main__":
    unittest.main()
