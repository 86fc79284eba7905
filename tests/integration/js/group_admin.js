// KafkaJS admin operations on groups for the integration tests. Prints the
// result as JSON. Usage:
//   node group_admin.js BOOTSTRAP set-offsets GROUP TOPIC '{"0":"12","1":"3"}'
//   node group_admin.js BOOTSTRAP fetch-offsets GROUP TOPIC
//   node group_admin.js BOOTSTRAP describe GROUP
//   node group_admin.js BOOTSTRAP list
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, op, ...args] = process.argv.slice(2)
const kafka = new Kafka({ clientId: 'group-admin', brokers: [bootstrap], logLevel: logLevel.WARN })
const admin = kafka.admin()

async function main() {
  await admin.connect()
  let result
  if (op === 'set-offsets') {
    const [groupId, topic, offsets] = args
    const partitions = Object.entries(JSON.parse(offsets)).map(([p, o]) => ({
      partition: Number(p),
      offset: String(o),
    }))
    await admin.setOffsets({ groupId, topic, partitions })
    result = { ok: true }
  } else if (op === 'fetch-offsets') {
    const [groupId, topic] = args
    const r = await admin.fetchOffsets({ groupId, topics: [topic] })
    result = {}
    for (const p of r[0].partitions) result[p.partition] = Number(p.offset)
  } else if (op === 'describe') {
    const r = await admin.describeGroups([args[0]])
    const g = r.groups[0]
    result = {
      state: g.state,
      protocolType: g.protocolType,
      protocol: g.protocol,
      members: g.members.map(m => m.memberId).sort(),
    }
  } else if (op === 'list') {
    const r = await admin.listGroups()
    result = r.groups.map(g => [g.groupId, g.protocolType]).sort()
  } else {
    throw new Error('unknown operation ' + op)
  }
  await admin.disconnect()
  process.stdout.write(JSON.stringify(result) + '\n')
}

main().catch(e => {
  console.error(e)
  process.exit(1)
})
