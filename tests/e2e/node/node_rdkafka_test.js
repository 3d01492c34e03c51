// node-rdkafka, with the librdkafka 2.12.0 it bundles (a newer protocol than Debian's librdkafka 2.0:
// Fetch with topic ids among others), against a real broker. The AdminClient creates a topic of three
// partitions; a Producer with acks=all and lz4 sends 300 keyed messages with headers and checks every
// delivery report; a KafkaConsumer in a group reads each message exactly once, with its key, value,
// headers and the partition and offset its report gave, then commits; committed() returns those
// offsets, and a second member of the group, after the first has left, starts from them and reads only
// what was produced later. Usage: node node_rdkafka_test.js <host:port>
// Consumers log librdkafka's `fetch` debug context; its error lines (a Fetch that fails on every retry
// never reaches the application otherwise) are kept and shown when a stage times out.
// RB_RDKAFKA_DEBUG=fetch,protocol (librdkafka's `debug` contexts) prints librdkafka's own log.
const Kafka = require('node-rdkafka');
const assert = require('assert');

const broker = process.argv[2];
const TOTAL_TIMEOUT_MS = 90000;
const COUNT = 300;
const PARTITIONS = 3;
const debug = process.env.RB_RDKAFKA_DEBUG;

let stage = 'start';
// Errors librdkafka reported asynchronously and its logged request errors (the last few of each),
// shown when a stage times out.
const clientErrors = [];
const logErrors = [];

function common(clientId, debugContexts) {
  const conf = { 'metadata.broker.list': broker, 'client.id': clientId, 'socket.timeout.ms': 10000 };
  const contexts = [debugContexts, debug].filter(Boolean).join(',');
  if (contexts) conf.debug = contexts;
  return conf;
}

function watch(client, name) {
  client.on('event.error', (err) => { clientErrors.push(`${name}: ${err.message || err}`); });
  client.on('event.log', (log) => {
    if (debug) console.log(`${name} ${log.severity} ${log.fac} ${log.message}`);
    if (/ERR|FAIL/.test(log.fac) && !/_PARTITION_EOF/.test(log.message)) {
      logErrors.push(`${name} ${log.fac} ${log.message}`);
      if (logErrors.length > 50) logErrors.shift();
    }
  });
}

function errorsSoFar() {
  return `client errors: ${JSON.stringify(clientErrors.slice(-10))}; last logged errors: ${JSON.stringify(logErrors.slice(-5))}`;
}

function connect(client) {
  return new Promise((resolve, reject) => client.connect({ timeout: 10000 }, (err) => (err ? reject(err) : resolve())));
}

function disconnect(client) {
  return new Promise((resolve) => client.disconnect(() => resolve()));
}

function waitFor(predicate, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (predicate()) { clearInterval(timer); resolve(); }
      else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out after ${timeoutMs} ms: ${what()}; ${errorsSoFar()}`));
      }
    }, 50);
  });
}

function headerValue(headers, name) {
  const found = (headers || []).filter((h) => Object.prototype.hasOwnProperty.call(h, name));
  return found.length === 1 ? found[0][name].toString() : undefined;
}

async function main() {
  assert.ok(broker, 'usage: node node_rdkafka_test.js <host:port>');
  // The point of this test is the newer librdkafka; fail loudly if another one got linked.
  assert.strictEqual(Kafka.librdkafkaVersion, '2.12.0', `node-rdkafka links librdkafka ${Kafka.librdkafkaVersion}`);
  const topic = `node-rdkafka-${Date.now()}`;
  const groupId = `node-rdkafka-group-${Date.now()}`;

  stage = 'admin create topic';
  const admin = Kafka.AdminClient.create(common('rb-e2e-rdkafka-admin'));
  await new Promise((resolve, reject) => admin.createTopic(
    { topic, num_partitions: PARTITIONS, replication_factor: 1 }, 10000, (err) => (err ? reject(err) : resolve())));
  admin.disconnect();

  stage = 'producer';
  const producer = new Kafka.Producer({
    ...common('rb-e2e-rdkafka-producer'), dr_cb: true, acks: 'all', 'compression.codec': 'lz4', 'linger.ms': 5,
    'message.timeout.ms': 30000,
  });
  watch(producer, 'producer');
  await connect(producer);
  const metadata = await new Promise((resolve, reject) => producer.getMetadata(
    { topic, timeout: 10000 }, (err, m) => (err ? reject(err) : resolve(m))));
  const topicMeta = metadata.topics.find((t) => t.name === topic);
  assert.ok(topicMeta, `metadata lacks ${topic}`);
  assert.strictEqual(topicMeta.partitions.length, PARTITIONS);

  const delivered = new Map();  // index -> { partition, offset }
  const deliveryErrors = [];
  producer.on('delivery-report', (err, report) => {
    if (err) deliveryErrors.push(`${report && report.opaque}: ${err.message}`);
    else delivered.set(report.opaque, { partition: report.partition, offset: report.offset });
  });
  producer.setPollInterval(50);
  for (let i = 0; i < COUNT; i++) {
    // No partition: librdkafka's partitioner spreads the keys (deterministically) over all three.
    producer.produce(topic, null, Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`), `key-${i}`, null, i,
      [{ idx: String(i) }, { source: 'node-rdkafka' }]);
  }
  await new Promise((resolve, reject) => producer.flush(20000, (err) => (err ? reject(err) : resolve())));
  await waitFor(() => delivered.size + deliveryErrors.length >= COUNT, 20000,
    () => `${COUNT} delivery reports (have ${delivered.size} ok, ${deliveryErrors.length} failed)`);
  assert.deepStrictEqual(deliveryErrors, [], 'failed deliveries');
  // Offsets per partition are 0..n-1, each given once, and every partition got some.
  const perPartition = new Map();
  for (const { partition, offset } of delivered.values()) {
    if (!perPartition.has(partition)) perPartition.set(partition, []);
    perPartition.get(partition).push(offset);
  }
  assert.deepStrictEqual([...perPartition.keys()].sort(), [0, 1, 2], 'partitions the producer wrote to');
  const counts = {};
  for (const [partition, offsets] of perPartition) {
    offsets.sort((a, b) => a - b);
    assert.deepStrictEqual(offsets, offsets.map((_, j) => j), `partition ${partition} offsets`);
    counts[partition] = offsets.length;
  }
  for (let p = 0; p < PARTITIONS; p++) {
    const wm = await new Promise((resolve, reject) => producer.queryWatermarkOffsets(
      topic, p, 10000, (err, o) => (err ? reject(err) : resolve(o))));
    assert.deepStrictEqual({ low: wm.lowOffset, high: wm.highOffset }, { low: 0, high: counts[p] }, `partition ${p} watermarks`);
  }
  console.log(`node-rdkafka produce ok: ${JSON.stringify(counts)}`);

  stage = 'first group member';
  const seen = new Map();  // index -> times read
  const wrong = [];
  const first = newConsumer(groupId, 'rb-e2e-rdkafka-consumer-1');
  await connect(first);
  first.subscribe([topic]);
  first.on('data', (m) => {
    const i = Number(headerValue(m.headers, 'idx'));
    seen.set(i, (seen.get(i) || 0) + 1);
    const d = delivered.get(i);
    const got = { key: m.key && m.key.toString(), value: m.value && m.value.toString(),
      source: headerValue(m.headers, 'source'), partition: m.partition, offset: m.offset };
    const want = { key: `key-${i}`, value: `value-${i}-${'x'.repeat(i % 50)}`, source: 'node-rdkafka',
      partition: d && d.partition, offset: d && d.offset };
    try { assert.deepStrictEqual(got, want); } catch (e) { wrong.push(`message ${i}: ${e.message}`); }
  });
  first.consume();
  await waitFor(() => seen.size >= COUNT || wrong.length > 0, 45000,
    () => `the group member reading ${COUNT} messages (read ${seen.size}, assignment ${JSON.stringify(first.assignments())})`);
  await new Promise((r) => setTimeout(r, 500));  // time for any duplicate to show
  assert.deepStrictEqual(wrong, []);
  for (const [i, times] of seen) assert.strictEqual(times, 1, `message ${i} read ${times} times`);
  assert.strictEqual(seen.size, COUNT);
  assert.deepStrictEqual(first.assignments().map((a) => a.partition).sort(), [0, 1, 2]);

  stage = 'commit';
  const toCommit = Object.entries(counts).map(([p, n]) => ({ topic, partition: Number(p), offset: n }));
  first.commitSync(toCommit);
  const committed = await new Promise((resolve, reject) => first.committed(
    null, 10000, (err, tps) => (err ? reject(err) : resolve(tps))));
  const committedBy = Object.fromEntries(committed.map((tp) => [tp.partition, tp.offset]));
  assert.deepStrictEqual(committedBy, Object.fromEntries(Object.entries(counts)), 'committed() after commitSync');
  await disconnect(first);
  console.log('node-rdkafka consume and commit ok');

  stage = 'produce later messages';
  for (let p = 0; p < PARTITIONS; p++) producer.produce(topic, p, Buffer.from(`later-${p}`), `later-${p}`, null, `later-${p}`);
  await new Promise((resolve, reject) => producer.flush(20000, (err) => (err ? reject(err) : resolve())));
  await waitFor(() => delivered.size + deliveryErrors.length >= COUNT + PARTITIONS, 20000,
    () => `${PARTITIONS} more delivery reports (have ${delivered.size - COUNT})`);
  assert.deepStrictEqual(deliveryErrors, [], 'failed deliveries');
  await disconnect(producer);

  // A new member of the same group starts at the committed offsets: it reads the three later
  // messages and nothing before them (auto.offset.reset=earliest would give it all 303 otherwise).
  stage = 'second group member';
  const later = [];
  const second = newConsumer(groupId, 'rb-e2e-rdkafka-consumer-2');
  await connect(second);
  second.subscribe([topic]);
  second.on('data', (m) => later.push({ partition: m.partition, offset: m.offset, value: m.value && m.value.toString() }));
  second.consume();
  await waitFor(() => later.length >= PARTITIONS, 30000, () => `the second member reading the later messages (read ${JSON.stringify(later)})`);
  await new Promise((r) => setTimeout(r, 1000));
  later.sort((a, b) => a.partition - b.partition);
  assert.deepStrictEqual(later, [0, 1, 2].map((p) => ({ partition: p, offset: counts[p], value: `later-${p}` })));
  await disconnect(second);
  console.log('node-rdkafka resume from committed offsets ok');
}

function newConsumer(groupId, clientId) {
  const consumer = new Kafka.KafkaConsumer({
    ...common(clientId, 'fetch'), 'group.id': groupId, 'enable.auto.commit': false, 'session.timeout.ms': 10000,
    'heartbeat.interval.ms': 500, rebalance_cb: true,
  }, { 'auto.offset.reset': 'earliest' });
  watch(consumer, clientId);
  consumer.on('rebalance.error', (err) => clientErrors.push(`${clientId} rebalance: ${err.message}`));
  return consumer;
}

const deadline = setTimeout(() => {
  console.error(`node-rdkafka test: no result after ${TOTAL_TIMEOUT_MS} ms, stuck in stage "${stage}"; ${errorsSoFar()}`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

main().then(() => { clearTimeout(deadline); process.exit(0); }, (err) => {
  console.error(`node-rdkafka test failed in stage "${stage}":`, err);
  process.exit(1);
});
