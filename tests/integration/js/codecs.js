// Registers KafkaJS decompression codecs for snappy, lz4 and zstd (KafkaJS
// itself only ships gzip). Pure-JavaScript decoders, so nothing native has to
// build on a fresh machine; the tests only consume these codecs.
'use strict'
const { CompressionTypes, CompressionCodecs } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const lz4 = require('lz4js')
const fzstd = require('fzstd')

const decodeOnly = (name, decompress) => () => ({
  async compress() {
    throw new Error(name + ' compression is not used by the tests')
  },
  async decompress(buffer) {
    return Buffer.from(decompress(buffer))
  },
})

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
CompressionCodecs[CompressionTypes.LZ4] = decodeOnly('lz4', b => lz4.decompress(b))
CompressionCodecs[CompressionTypes.ZSTD] = decodeOnly('zstd', b => fzstd.decompress(b))
