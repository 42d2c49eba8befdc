/** Writes the entry layout without encodeEntry's checks: what anyone with write access to Redis can store. */
export function rawEncode(e: { status: number; headers: Array<[string, string]>; body: Buffer; created?: number; bucket?: number }): Buffer {
  const parts: Buffer[] = [Buffer.from([0x4b, 0x42, 0x43, 2])]
  const fixed = Buffer.alloc(2 + 8 + 8 + 1)
  fixed.writeUInt16BE(e.status, 0)
  fixed.writeDoubleBE(e.created ?? 0, 2)
  fixed.writeDoubleBE(e.bucket ?? 0, 10)
  fixed.writeUInt8(e.headers.length, 18)
  parts.push(fixed)
  for (const [name, value] of e.headers) {
    const nameBytes = Buffer.from(name, 'latin1')
    const valueBytes = Buffer.from(value, 'latin1')
    const head = Buffer.alloc(1)
    head.writeUInt8(nameBytes.length)
    const length = Buffer.alloc(2)
    length.writeUInt16BE(valueBytes.length)
    parts.push(head, nameBytes, length, valueBytes)
  }
  const bodyLength = Buffer.alloc(4)
  bodyLength.writeUInt32BE(e.body.length)
  parts.push(bodyLength, e.body)
  return Buffer.concat(parts)
}
