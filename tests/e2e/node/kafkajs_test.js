// kafkajs against a real broker: admin create/list, produce with gzip and count the offsets; then a
// consumer group of two members that share the partitions, read every message exactly once and
// commit, and a later member that resumes at the committed offsets. Usage: node kafkajs_test.js <host:port>
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
  console.log('kafkajs produce and admin ok');

  await consumerGroup(kafka, admin, topic);
  await admin.disconnect();
}

function waitFor(predicate, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (predicate()) { clearInterval(timer); resolve(); }
      else if (Date.now() - started > timeoutMs) { clearInterval(timer); reject(new Error(`timed out: ${what}`)); }
    }, 50);
  });
}

// Two members split the two partitions, together read all 101 messages once, and commit; a member
// that joins after they leave starts at the committed offsets and sees only what came later.
async function consumerGroup(kafka, admin, topic) {
  const groupId = `kafkajs-group-${Date.now()}`;
  const seen = new Map();   // "partition/offset" -> count
  const assigned = [];      // per member: the partitions of its last assignment
  const members = [];
  for (let i = 0; i < 2; i++) {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 });
    consumer.on(consumer.events.GROUP_JOIN, (e) => { assigned[i] = e.payload.memberAssignment[topic] || []; });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    members.push(consumer);
  }
  // Both start before the broker's initial rebalance delay ends, so the first generation has both.
  await Promise.all(members.map((consumer) => consumer.run({
    eachMessage: async ({ partition, message }) => {
      const key = `${partition}/${message.offset}`;
      seen.set(key, (seen.get(key) || 0) + 1);
    },
  })));
  await waitFor(() => seen.size >= 101 && assigned.filter((a) => a && a.length === 1).length === 2, 60000,
    `two members with one partition each reading 101 messages (seen ${seen.size}, assigned ${JSON.stringify(assigned)})`);
  assert.deepStrictEqual([...assigned[0], ...assigned[1]].sort(), [0, 1]);
  for (const [key, count] of seen) assert.strictEqual(count, 1, `message ${key} read ${count} times`);
  assert.strictEqual(seen.size, 101);
  // kafkajs commits what eachMessage processed when it stops.
  await Promise.all(members.map((consumer) => consumer.disconnect()));

  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const byPartition = Object.fromEntries(committed[0].partitions.map((p) => [p.partition, Number(p.offset)]));
  assert.deepStrictEqual(byPartition, { 0: 51, 1: 50 });
  const described = await admin.describeGroups([groupId]);
  assert.strictEqual(described.groups[0].state, 'Empty');

  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'later-0', partition: 0 }, { value: 'later-1', partition: 1 }] });
  await producer.disconnect();

  const late = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 });
  const lateSeen = [];
  await late.connect();
  await late.subscribe({ topic, fromBeginning: true });
  await late.run({ eachMessage: async ({ message }) => { lateSeen.push(message.value.toString()); } });
  await waitFor(() => lateSeen.length >= 2, 60000, `the resumed member reading the 2 later messages (${lateSeen})`);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepStrictEqual(lateSeen.sort(), ['later-0', 'later-1']);
  await late.disconnect();
  console.log('kafkajs consumer group ok');
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
