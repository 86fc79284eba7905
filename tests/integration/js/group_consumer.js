// A KafkaJS group consumer for the integration tests, driven by a Python
// test. Prints one JSON object per line on stdout:
//   {"event":"assign","partitions":[...]}   after each GROUP_JOIN
//   {"event":"msg","p":P,"o":O,"v":"value"} per message
//   {"event":"commit"}                      after each batch's offsets are committed
//   {"event":"stopped"}                     after SIGTERM: left the group
// Usage: node group_consumer.js BOOTSTRAP GROUP TOPIC CLIENT_ID [ASSIGNER]
// ASSIGNER "roundrobin" uses KafkaJS's round-robin assigner under the protocol
// name Java and librdkafka use, so it can share a group with those clients.
const { Kafka, logLevel, PartitionAssigners } = require('kafkajs')

const [bootstrap, groupId, topic, clientId, assignerName] = process.argv.slice(2)
const out = obj => process.stdout.write(JSON.stringify(obj) + '\n')

const assigners =
  assignerName === 'roundrobin'
    ? [config => ({ ...PartitionAssigners.roundRobin(config), name: 'roundrobin' })]
    : [PartitionAssigners.roundRobin]

const kafka = new Kafka({
  clientId,
  brokers: [bootstrap],
  logLevel: logLevel.WARN,
  retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
})
const consumer = kafka.consumer({
  groupId,
  partitionAssigners: assigners,
  sessionTimeout: 6000,
  heartbeatInterval: 500,
  rebalanceTimeout: 10000,
  maxWaitTimeInMs: 200,
})

consumer.on(consumer.events.GROUP_JOIN, e => {
  const a = e.payload.memberAssignment[topic] || []
  out({ event: 'assign', partitions: a.slice().sort((x, y) => x - y) })
})

let stopping = false
process.on('SIGTERM', async () => {
  if (stopping) return
  stopping = true
  await consumer.disconnect()
  out({ event: 'stopped' })
  process.exit(0)
})

async function main() {
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch, heartbeat }) => {
      for (const m of batch.messages) {
        out({ event: 'msg', p: batch.partition, o: Number(m.offset), v: m.value.toString() })
      }
      // commit the whole batch before taking the next
      const last = batch.messages.length ? batch.messages[batch.messages.length - 1].offset : null
      if (last !== null) {
        await consumer.commitOffsets([
          { topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
        ])
        out({ event: 'commit' })
      }
      await heartbeat()
    },
  })
}

main().catch(e => {
  console.error(e)
  process.exit(1)
})
