// Reads whole partitions with KafkaJS and prints one JSON line per partition:
//   {"partition": p, "count": n, "first": o, "last": o, "digest": sha256hex}
// The digest covers offset, key, value and headers of every record in order
// (the same canonical encoding as digest_partition() in kclients.py).
//
// usage: node kjs_read.js BOOTSTRAP TOPIC
//
// Reads with KafkaJS's consumer as an application would: a consumer group
// subscribed from the beginning, with the consumer's default isolation level
// (read_committed), until every partition reaches the high watermark it had
// when the script started.
'use strict'
require('./codecs')
const crypto = require('crypto')
const { Kafka, logLevel } = require('kafkajs')

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
  const [bootstrap, topic] = process.argv.slice(2)
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'sluice-kjs-read', logLevel: logLevel.WARN })
  const admin = kafka.admin()
  await admin.connect()
  const offsets = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()

  const state = new Map(
    offsets.map(o => [
      o.partition,
      { next: BigInt(o.low), high: BigInt(o.high), count: 0, first: null, last: null, hash: crypto.createHash('sha256') },
    ])
  )
  const finished = () => [...state.values()].every(s => s.next >= s.high)

  const consumer = kafka.consumer({
    groupId: 'sluice-kjs-read-' + process.pid,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 1 << 20,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let fail = null
  let done = finished()
  if (!done)
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        const s = state.get(batch.partition)
        for (const m of batch.messages) {
          const off = BigInt(m.offset)
          if (off < s.next || off >= s.high) continue
          if (off !== s.next && !fail) fail = new Error('gap at partition ' + batch.partition + ': ' + s.next + ' -> ' + off)
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
          resolveOffset(m.offset)
        }
        if (finished()) done = true
      },
    })
  const deadline = Date.now() + 240000
  while (!done && !fail) {
    if (Date.now() > deadline) throw new Error('timed out reading ' + topic)
    await new Promise(r => setTimeout(r, 20))
  }
  await consumer.disconnect()
  if (fail) throw fail
  for (const [partition, s] of state)
    console.log(
      JSON.stringify({ partition, count: s.count, first: s.first, last: s.last, digest: s.hash.digest('hex') })
    )
}

main().catch(e => {
  console.error(e && e.stack ? e.stack : e)
  process.exit(1)
})
