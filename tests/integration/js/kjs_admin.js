// Admin round trip with KafkaJS's admin client; every step asserts, the
// script exits non-zero on the first failure and prints "kjs-admin ok" at
// the end.
//
// usage: node kjs_admin.js BOOTSTRAP
'use strict'
const assert = require('assert/strict')
const { Kafka, logLevel, ConfigResourceTypes, ConfigSource } = require('kafkajs')

const TOPIC = 'kjs-admin'

// The Kafka error type of a failed admin call, wherever KafkaJS put it
// (directly, in an aggregate, or as the cause of the retrier's error).
function errorTypes(e) {
  const out = []
  const walk = x => {
    if (!x) return
    if (x.type) out.push(x.type)
    if (Array.isArray(x.errors)) x.errors.forEach(walk)
    if (x.cause) walk(x.cause)
  }
  walk(e)
  return out
}

async function expectError(what, type, fn) {
  let failed = null
  try {
    await fn()
  } catch (e) {
    failed = e
  }
  assert.ok(failed, what + ': no error')
  assert.ok(errorTypes(failed).includes(type), what + ': got ' + failed + ' ' + errorTypes(failed))
  console.log('ok', what, '->', type)
}

async function topicConfig(admin, names) {
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configNames: names }],
  })
  assert.equal(res.resources.length, 1)
  assert.equal(res.resources[0].errorCode, 0)
  const out = {}
  for (const e of res.resources[0].configEntries) out[e.configName] = e
  return out
}

async function partitionCount(admin) {
  const md = await admin.fetchTopicMetadata({ topics: [TOPIC] })
  return md.topics[0].partitions.length
}

async function main() {
  const bootstrap = process.argv[2]
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'sluice-kjs-admin', logLevel: logLevel.NOTHING })
  const admin = kafka.admin({ retry: { retries: 1, initialRetryTime: 50 } })
  await admin.connect()

  const created = await admin.createTopics({
    topics: [
      {
        topic: TOPIC,
        numPartitions: 8,
        replicationFactor: 1,
        configEntries: [
          { name: 'retention.ms', value: '3600000' },
          { name: 'cleanup.policy', value: 'delete' },
        ],
      },
    ],
  })
  assert.equal(created, true)
  assert.equal(await partitionCount(admin), 8)
  // An existing topic: KafkaJS turns TOPIC_ALREADY_EXISTS into `false`.
  assert.equal(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 8 }] }), false)
  console.log('ok create')

  let cfg = await topicConfig(admin, ['retention.ms', 'cleanup.policy', 'segment.bytes'])
  assert.equal(cfg['retention.ms'].configValue, '3600000')
  assert.equal(cfg['retention.ms'].configSource, ConfigSource.TOPIC_CONFIG)
  assert.equal(cfg['retention.ms'].isDefault, false)
  assert.equal(cfg['cleanup.policy'].configValue, 'delete')
  assert.equal(cfg['segment.bytes'].configValue, String(1 << 30))
  assert.equal(cfg['segment.bytes'].configSource, ConfigSource.DEFAULT_CONFIG)
  assert.equal(cfg['segment.bytes'].isDefault, true)
  assert.equal(Object.keys(cfg).length, 3, 'only the named configs')
  console.log('ok describe')

  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      { type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.ms', value: '7200000' }] },
    ],
  })
  cfg = await topicConfig(admin, ['retention.ms', 'cleanup.policy'])
  assert.equal(cfg['retention.ms'].configValue, '7200000')
  assert.equal(cfg['retention.ms'].configSource, ConfigSource.TOPIC_CONFIG)
  // AlterConfigs replaces the set: cleanup.policy is back to its default.
  assert.equal(cfg['cleanup.policy'].isDefault, true)
  console.log('ok alter')

  await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 10 }] })
  assert.equal(await partitionCount(admin), 10)
  console.log('ok partitions')

  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const messages = []
  for (let i = 0; i < 100; i++) messages.push({ value: 'm' + i, partition: 0 })
  await producer.send({ topic: TOPIC, acks: -1, messages })
  await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'new partition', partition: 9 }] })
  await producer.disconnect()

  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '40' }] })
  const offsets = await admin.fetchTopicOffsets(TOPIC)
  const p0 = offsets.find(o => o.partition === 0)
  assert.equal(p0.low, '40')
  assert.equal(p0.high, '100')
  assert.equal(offsets.find(o => o.partition === 9).high, '1')
  // By timestamp: the first record at or after time 0 is the new log start.
  const byTime = await admin.fetchTopicOffsetsByTimestamp(TOPIC, 0)
  assert.equal(byTime.find(o => o.partition === 0).offset, '40')
  console.log('ok delete records')

  await expectError('replication factor 3', 'INVALID_REPLICATION_FACTOR', () =>
    admin.createTopics({ topics: [{ topic: 'rf3', numPartitions: 1, replicationFactor: 3 }] })
  )
  await expectError('invalid name', 'INVALID_TOPIC_EXCEPTION', () =>
    admin.createTopics({ topics: [{ topic: 'bad/name', numPartitions: 1 }] })
  )
  await expectError('unknown config', 'INVALID_CONFIG', () =>
    admin.createTopics({
      topics: [{ topic: 'cfg', numPartitions: 1, configEntries: [{ name: 'no.such.config', value: '1' }] }],
    })
  )
  await expectError('alter unknown config', 'INVALID_CONFIG', () =>
    admin.alterConfigs({
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'no.such.config', value: '1' }] },
      ],
    })
  )
  await expectError('fewer partitions', 'INVALID_PARTITIONS', () =>
    admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 3 }] })
  )
  await expectError('delete unknown topic', 'UNKNOWN_TOPIC_OR_PARTITION', () =>
    admin.deleteTopics({ topics: ['no-such-topic'] })
  )
  const userTopics = async () => (await admin.listTopics()).filter(t => t !== '__consumer_offsets')
  assert.deepEqual(await userTopics(), [TOPIC])

  await admin.deleteTopics({ topics: [TOPIC] })
  assert.deepEqual(await userTopics(), [])
  console.log('ok delete topic')

  await admin.disconnect()
  console.log('kjs-admin ok')
}

main().catch(e => {
  console.error(e && e.stack ? e.stack : e)
  process.exit(1)
})
