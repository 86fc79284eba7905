// Reads whole partitions with KafkaJS and prints one JSON line per partition:
//   {"partition": p, "count": n, "first": o, "last": o, "digest": sha256hex}
// The digest covers offset, key, value and headers of every record in order
// (the same canonical encoding as digest_partition() in kclients.py).
//
// usage: node kjs_read.js BOOTSTRAP TOPIC [START_OFFSET]
//
// KafkaJS's consumer only works inside a consumer group, so this script uses
// KafkaJS's own broker connection and Fetch request (the code path the
// consumer runs: ApiVersions negotiation, Fetch v11 decoding, record batch
// and codec decoding) with the consumer's default isolation level,
// read_committed.
'use strict'
require('./codecs')
const crypto = require('crypto')
const { Kafka, logLevel } = require('kafkajs')
const ISOLATION_LEVEL = require('kafkajs/src/protocol/isolationLevel')

function int32(n) {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

function bytesField(h, buf) {
  if (buf === null || buf === undefined) {
    h.update(int32(-1))
  } else {
    h.update(int32(buf.length))
    h.update(buf)
  }
}

function headerList(headers) {
  const out = []
  for (const name of Object.keys(headers || {})) {
    const v = headers[name]
    for (const one of Array.isArray(v) ? v : [v]) out.push([name, one])
  }
  return out
}

async function main() {
  const [bootstrap, topic, startArg] = process.argv.slice(2)
  const start = startArg === undefined ? null : BigInt(startArg)
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'sluice-kjs-read', logLevel: logLevel.WARN })
  const admin = kafka.admin()
  await admin.connect()
  const offsets = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()

  // The cluster (connections, metadata) exactly as kafka.consumer() makes it.
  const createCluster = kafka[Object.getOwnPropertySymbols(kafka).find(s => String(s).includes('createCluster'))]
  const cluster = createCluster({ isolationLevel: ISOLATION_LEVEL.READ_COMMITTED })
  await cluster.connect()
  await cluster.addTargetTopic(topic)
  const meta = cluster.findTopicPartitionMetadata(topic)

  const state = offsets.map(o => {
    const low = BigInt(o.low)
    return {
      partition: o.partition,
      next: start !== null && start > low ? start : low,
      high: BigInt(o.high),
      count: 0,
      first: null,
      last: null,
      hash: crypto.createHash('sha256'),
    }
  })
  const deadline = Date.now() + 240000
  for (;;) {
    const todo = state.filter(s => s.next < s.high)
    if (todo.length === 0) break
    if (Date.now() > deadline) throw new Error('timed out reading ' + topic)
    const leader = meta.find(m => m.partitionId === todo[0].partition).leader
    const broker = await cluster.findBroker({ nodeId: leader })
    const resp = await broker.fetch({
      replicaId: -1,
      isolationLevel: ISOLATION_LEVEL.READ_COMMITTED,
      maxWaitTime: 100,
      minBytes: 1,
      maxBytes: 4 << 20,
      topics: [
        {
          topic,
          partitions: todo.map(s => ({ partition: s.partition, fetchOffset: s.next.toString(), maxBytes: 1 << 20 })),
        },
      ],
    })
    for (const t of resp.responses) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw new Error('fetch error ' + p.errorCode + ' partition ' + p.partition)
        const s = state.find(x => x.partition === p.partition)
        if (BigInt(p.lastStableOffset) !== BigInt(p.highWatermark))
          throw new Error('last stable offset ' + p.lastStableOffset + ' != high watermark ' + p.highWatermark)
        for (const m of p.messages) {
          const off = BigInt(m.offset)
          if (off < s.next || m.isControlRecord) continue // earlier records of the first batch
          if (off !== s.next) throw new Error('gap at partition ' + s.partition + ': ' + s.next + ' -> ' + off)
          const ob = Buffer.alloc(8)
          ob.writeBigInt64BE(off)
          s.hash.update(ob)
          bytesField(s.hash, m.key)
          bytesField(s.hash, m.value)
          const hs = headerList(m.headers)
          s.hash.update(int32(hs.length))
          for (const [name, value] of hs) {
            bytesField(s.hash, Buffer.from(name, 'utf8'))
            bytesField(s.hash, value)
          }
          if (s.first === null) s.first = Number(off)
          s.last = Number(off)
          s.count++
          s.next = off + 1n
        }
      }
    }
  }
  await cluster.disconnect()
  for (const s of state)
    console.log(
      JSON.stringify({ partition: s.partition, count: s.count, first: s.first, last: s.last, digest: s.hash.digest('hex') })
    )
}

main().catch(e => {
  console.error(e && e.stack ? e.stack : e)
  process.exit(1)
})
