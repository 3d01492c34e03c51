// kafkajs against a real broker: admin create/list, produce with gzip, consume back with assign-like
// subscription from the beginning. Usage: node kafkajs_test.js <host:port>
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');
const assert = require('assert');

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: 'rb-e2e', brokers: [broker], logLevel: logLevel.WARN });
  const topic = `kafkajs-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  assert.ok(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }));
  assert.ok((await admin.listTopics()).includes(topic));
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.strictEqual(meta.topics[0].partitions.length, 2);

  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < 100; i++) messages.push({ key: `k${i % 2}`, value: `value-${i}`, partition: i % 2 });
  await producer.send({ topic, messages, acks: -1, compression: CompressionTypes.GZIP });
  await producer.send({ topic, messages: [{ value: 'plain', partition: 0 }] });
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  const total = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  assert.strictEqual(total, 101);
  await admin.disconnect();
  console.log('kafkajs produce and admin ok');
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
