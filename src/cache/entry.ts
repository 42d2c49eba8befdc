// The stored value is binary so that a hit writes the stored body bytes as they are: no JSON
// parse or stringify and no base64 on the hit path.
//
// Layout (all integers big-endian):
//   'K' 'B' 'C'  version=2   (1 held a short allow-list of headers and compressed answers under
//                             keys without the encoding: such entries are misses now)
//   status        uint16   200..599
//   created       float64  ms since epoch, finite
//   bucket        float64  a safe integer
//   header count  uint8
//   per header:   name length uint8 (>= 1), name bytes (lower-case token chars)
//                 value length uint16, value bytes (latin1: one byte per char, the bytes Node
//                 writes on the wire; only TAB, 0x20-0x7E and 0x80-0xFF, as Node's setHeader allows)
//   body length   uint32, body bytes, which end exactly at the end of the buffer
//
// decodeEntry accepts exactly what encodeEntry can produce, so decode(x) !== undefined implies
// encode(decode(x)) equals x byte for byte. Both apply the same rules (issue 23): a status a final
// answer can have, no header that frames the message or belongs to one connection or user
// (UNREPLAYED_HEADERS), at most MAX_HEADERS headers of MAX_HEADER_BYTES in all. Whatever else
// sits in the store is a miss, and the next computation overwrites it.
import { createHash } from 'node:crypto'
import { Buffer } from 'node:buffer'
import { EntryError } from './errors.js'

export interface CachedEntry {
  /** 200..599. */
  status: number
  /** Lower-case names; never one of UNREPLAYED_HEADERS. */
  headers: Array<[string, string]>
  body: Buffer
  /** ms since epoch when the response was computed. */
  created: number
  bucket: number
}

const MAGIC = [0x4b, 0x42, 0x43] as const // 'KBC'
const VERSION = 2
const VERSION_AT = 3
const STATUS_AT = 4
const CREATED_AT = 6
const BUCKET_AT = 14
const COUNT_AT = 22
const FIXED_HEAD = COUNT_AT + 1
const BODY_LENGTH_BYTES = 4
const MIN_STATUS = 200
const MAX_STATUS = 599
/** Far above what a handler sets (helmet adds about 12), far below what would slow a hit down. */
export const MAX_HEADERS = 64
/** Names and values together; nginx's default proxy buffer is 4-8 KiB, a long CSP about 2 KiB. */
export const MAX_HEADER_BYTES = 32 * 1024
const MAX_NAME_BYTES = 0xff
const MAX_VALUE_BYTES = 0xffff
const MAX_BODY_BYTES = 0xffffffff
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
// Node's checkInvalidHeaderChar: a value outside this would make the replay throw.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * Response headers a hit never replays, as nginx and Varnish drop them: one user's cookie must not
 * reach another; the hop-by-hop and framing headers (RFC 9110 section 7.6.1) describe one
 * connection and one message, and a replayed Transfer-Encoding or Content-Length would make the
 * client read the next response as part of this one; Date is the sender's clock; Server-Timing
 * measures the computation of one response, not the hit that replays it; Age and X-Cache are what
 * the cache itself says about the answer. Every other header the handler set is replayed
 * (Cache-Control, ETag and Vary are merged with the cache's own, see downstream.ts).
 */
export const UNREPLAYED_HEADERS: ReadonlySet<string> = new Set([
  'set-cookie',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'date',
  'server-timing',
  'age',
  'x-cache',
])

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  if (Array.isArray(value) && value.every((part) => typeof part === 'string' || typeof part === 'number')) {
    return value.join(', ')
  }
  return undefined
}

/**
 * The replayable headers of Node's lower-cased response headers (`ctx.response.headers`). With
 * `above` (the headers as they were before the handler ran), a header left as middleware above
 * the cache set it is skipped: that middleware sets it again on every answer, per request
 * (a request id, an echoed CORS origin), and a replayed copy would overwrite its new value.
 */
export function pickReplayableHeaders(headers: Record<string, unknown>, above?: Record<string, unknown>): Array<[string, string]> {
  const picked: Array<[string, string]> = []
  for (const name of Object.keys(headers)) {
    if (UNREPLAYED_HEADERS.has(name)) continue
    const text = headerText(headers[name])
    if (text !== undefined && (above === undefined || headerText(above[name]) !== text)) picked.push([name, text])
  }
  return picked
}

/** A strong ETag: `"` + 27 base64url chars of the body's sha256 + `"`. */
export function strongEtag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
}

function checkEntry(e: CachedEntry): void {
  if (!Number.isInteger(e.status) || e.status < MIN_STATUS || e.status > MAX_STATUS) {
    throw new EntryError(`entry status must be an integer in ${MIN_STATUS}..${MAX_STATUS}, got ${e.status}`)
  }
  if (!Number.isFinite(e.created)) throw new EntryError(`entry created must be finite, got ${e.created}`)
  if (!Number.isSafeInteger(e.bucket)) throw new EntryError(`entry bucket must be a safe integer, got ${e.bucket}`)
  if (e.headers.length > MAX_HEADERS) throw new EntryError(`entry has ${e.headers.length} headers, at most ${MAX_HEADERS}`)
  let bytes = 0
  for (const [name, value] of e.headers) {
    checkHeader(name, value)
    bytes += name.length + value.length
  }
  if (bytes > MAX_HEADER_BYTES) throw new EntryError(`entry headers take ${bytes} bytes, at most ${MAX_HEADER_BYTES}`)
  if (e.body.length > MAX_BODY_BYTES) throw new EntryError(`entry body has ${e.body.length} bytes, at most ${MAX_BODY_BYTES}`)
}

function checkHeader(name: string, value: string): void {
  if (name.length > MAX_NAME_BYTES || !HEADER_NAME.test(name)) {
    throw new EntryError(`header name must be 1..${MAX_NAME_BYTES} lower-case token chars, got ${JSON.stringify(name)}`)
  }
  if (UNREPLAYED_HEADERS.has(name)) throw new EntryError(`header ${name} is never replayed`)
  if (value.length > MAX_VALUE_BYTES || !HEADER_VALUE.test(value)) {
    throw new EntryError(`header ${name} has a value Node could not replay or longer than ${MAX_VALUE_BYTES} bytes`)
  }
}

/**
 * The stored bytes of an entry. Throws EntryError for an entry that could not be replayed as it
 * is (status out of range, invalid header, too many or too long headers): treat it as uncacheable.
 */
export function encodeEntry(e: CachedEntry): Buffer {
  checkEntry(e)
  let size = FIXED_HEAD + BODY_LENGTH_BYTES + e.body.length
  for (const [name, value] of e.headers) size += 1 + name.length + 2 + value.length
  // Not allocUnsafe: a small pooled buffer would keep its shared 8 KiB slab alive in a memory
  // store and make the store's byte budget count only a fraction of what it holds.
  const out = Buffer.allocUnsafeSlow(size)
  out.set(MAGIC, 0)
  let at = out.writeUInt8(VERSION, VERSION_AT)
  at = out.writeUInt16BE(e.status, at)
  at = out.writeDoubleBE(e.created, at)
  at = out.writeDoubleBE(e.bucket, at)
  at = out.writeUInt8(e.headers.length, at)
  for (const [name, value] of e.headers) {
    at = out.writeUInt8(name.length, at)
    at += out.write(name, at, 'latin1')
    at = out.writeUInt16BE(value.length, at)
    at += out.write(value, at, 'latin1')
  }
  at = out.writeUInt32BE(e.body.length, at)
  out.set(e.body, at)
  return out
}

function asBuffer(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value
  // A view over the same memory, so the decoded body stays a view too.
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  return undefined
}

function hasHead(buf: Buffer): boolean {
  return (
    buf.length >= FIXED_HEAD + BODY_LENGTH_BYTES &&
    buf[0] === MAGIC[0] &&
    buf[1] === MAGIC[1] &&
    buf[2] === MAGIC[2] &&
    buf[VERSION_AT] === VERSION
  )
}

// Returns the offset after the headers, or -1 when they run past the end or over the limits.
function headersEnd(buf: Buffer, count: number, start: number): number {
  if (count > MAX_HEADERS) return -1
  let at = start
  for (let i = 0; i < count; i++) {
    if (at + 1 > buf.length) return -1
    at += 1 + (buf[at] as number)
    if (at + 2 > buf.length) return -1
    at += 2 + (((buf[at] as number) << 8) | (buf[at + 1] as number))
    if (at > buf.length) return -1
  }
  return at - start - 3 * count > MAX_HEADER_BYTES ? -1 : at
}

// The header block is read as one latin1 string (each char is one byte) and cut into names and
// values: one call into C++ per decode instead of two per header, and a regex per value instead
// of a loop over its bytes. A Redis hit decodes every time: this took decodeEntry of a
// three-header entry from about 1.5 to 0.6 us. Returns false for a malformed or refused header.
function readHeaders(text: string, count: number, into: Array<[string, string]>): boolean {
  let at = 0
  for (let i = 0; i < count; i++) {
    const nameEnd = at + 1 + text.charCodeAt(at)
    const name = text.slice(at + 1, nameEnd)
    if (!HEADER_NAME.test(name) || UNREPLAYED_HEADERS.has(name)) return false
    const valueEnd = nameEnd + 2 + ((text.charCodeAt(nameEnd) << 8) | text.charCodeAt(nameEnd + 1))
    const value = text.slice(nameEnd + 2, valueEnd)
    if (!HEADER_VALUE.test(value)) return false
    into.push([name, value])
    at = valueEnd
  }
  return true
}

/**
 * The entry stored in `value`, or undefined for anything that is not a whole, valid entry of this
 * format (other types, JSON strings, truncated or padded buffers, other versions, a status, header
 * or size encodeEntry refuses). Never throws:
 * a corrupt store value is a miss, not a 500. The body is a view of `value`, not a copy.
 */
export function decodeEntry(value: unknown): CachedEntry | undefined {
  const buf = asBuffer(value)
  if (buf === undefined || !hasHead(buf)) return undefined
  const status = buf.readUInt16BE(STATUS_AT)
  const created = buf.readDoubleBE(CREATED_AT)
  const bucket = buf.readDoubleBE(BUCKET_AT)
  if (status < MIN_STATUS || status > MAX_STATUS || !Number.isFinite(created) || !Number.isSafeInteger(bucket)) return undefined
  const count = buf[COUNT_AT] as number
  const bodyLengthAt = headersEnd(buf, count, FIXED_HEAD)
  if (bodyLengthAt < 0 || bodyLengthAt + BODY_LENGTH_BYTES > buf.length) return undefined
  const headers: Array<[string, string]> = []
  if (!readHeaders(buf.toString('latin1', FIXED_HEAD, bodyLengthAt), count, headers)) return undefined
  const bodyStart = bodyLengthAt + BODY_LENGTH_BYTES
  if (bodyStart + buf.readUInt32BE(bodyLengthAt) !== buf.length) return undefined
  return { status, headers, body: buf.subarray(bodyStart), created, bucket }
}
