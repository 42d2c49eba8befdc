import t from 'tap'
import fc from 'fast-check'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  MAX_HEADER_BYTES,
  MAX_HEADERS,
  UNREPLAYED_HEADERS,
  decodeEntry,
  encodeEntry,
  pickReplayableHeaders,
  strongEtag,
} from '../../src/cache/entry.js'
import type { CachedEntry } from '../../src/cache/entry.js'
import { rawEncode } from './raw-entry.js'

const headerName = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9a-z]{1,40}$/).filter((name) => !UNREPLAYED_HEADERS.has(name))
const valueChar = fc.oneof(
  fc.constantFrom('\t', ' ', '"', ',', ';', '=', 'é', 'ÿ', '\x80'),
  fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
)
const headerValue = fc.string({ unit: valueChar, maxLength: 200 })
const entryArb: fc.Arbitrary<CachedEntry> = fc.record({
  status: fc.integer({ min: 200, max: 599 }),
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 20 }),
  body: fc.uint8Array({ maxLength: 4096 }).map((bytes) => Buffer.from(bytes)),
  created: fc.double({ noNaN: true, noDefaultInfinity: true }),
  bucket: fc.oneof(fc.maxSafeInteger(), fc.integer({ min: 0, max: 2 ** 40 })),
})

const sample: CachedEntry = {
  status: 200,
  headers: [
    ['content-type', 'application/json; charset=utf-8'],
    ['etag', '"abc"'],
  ],
  body: Buffer.from('{"ok":true}'),
  created: 1_717_243_215_000,
  bucket: 57_241_440,
}

function assertSameEntry(actual: CachedEntry | undefined, expected: CachedEntry): void {
  assert.ok(actual, 'decoded')
  assert.equal(actual.status, expected.status)
  assert.deepEqual(actual.headers, expected.headers)
  assert.ok(Buffer.isBuffer(actual.body), 'body is a Buffer')
  assert.ok(actual.body.equals(expected.body), 'same body bytes')
  assert.ok(Object.is(actual.created, expected.created), `created ${actual.created} vs ${expected.created}`)
  assert.ok(Object.is(actual.bucket, expected.bucket), `bucket ${actual.bucket} vs ${expected.bucket}`)
}

// fc.assert throws with the shrunk counterexample; the pass gives tap a named line.
function property(t: { pass(message: string): unknown }, name: string, run: () => void): void {
  run()
  t.pass(name)
}

function patched(buf: Buffer, at: number, bytes: number[]): Buffer {
  const copy = Buffer.from(buf)
  copy.set(bytes, at)
  return copy
}

t.test('round trip', async (t) => {
  t.doesNotThrow(() => assertSameEntry(decodeEntry(encodeEntry(sample)), sample), 'sample')
  const empty: CachedEntry = { status: 204, headers: [], body: Buffer.alloc(0), created: 0, bucket: 0 }
  t.doesNotThrow(() => assertSameEntry(decodeEntry(encodeEntry(empty)), empty), 'empty body, no headers')
  const big: CachedEntry = { ...sample, body: randomBytes(2 ** 20) }
  t.doesNotThrow(() => assertSameEntry(decodeEntry(encodeEntry(big)), big), '1 MiB binary body')
  const limits: CachedEntry = {
    status: 599,
    headers: Array.from({ length: MAX_HEADERS }, (_, i): [string, string] => [`x-${i}`, String(i)]),
    body: Buffer.from([0, 255, 0]),
    created: -0,
    bucket: Number.MIN_SAFE_INTEGER,
  }
  const used = limits.headers.slice(1).reduce((sum, [name, value]) => sum + name.length + value.length, 0)
  limits.headers[0] = ['n'.repeat(255), 'v'.repeat(MAX_HEADER_BYTES - used - 255)]
  t.doesNotThrow(() => assertSameEntry(decodeEntry(encodeEntry(limits)), limits), 'every field at its limit')
  const latin1: CachedEntry = { ...sample, headers: [['content-language', 'café ÿ']] }
  const encoded = encodeEntry(latin1)
  t.ok(encoded.includes(Buffer.from('café ÿ', 'latin1')), 'header values stored as latin1 bytes')
  t.doesNotThrow(() => assertSameEntry(decodeEntry(encoded), latin1))
  property(t, 'decode(encode(e)) is e for random entries', () =>
    fc.assert(
      fc.property(entryArb, (e) => assertSameEntry(decodeEntry(encodeEntry(e)), e)),
      { numRuns: 300 },
    ),
  )
})

t.test('the decoded body is a view of the input, not a copy', async (t) => {
  const encoded = encodeEntry(sample)
  const decoded = decodeEntry(encoded)
  t.ok(decoded)
  t.equal(decoded?.body.buffer, encoded.buffer)
  t.equal(decoded?.body.byteOffset, encoded.byteOffset + encoded.length - sample.body.length)
  encoded[encoded.length - 1] = 0x21
  t.equal(decoded?.body.at(-1), 0x21, 'a write to the input shows in the body')

  const plain = new Uint8Array(encodeEntry(sample))
  const fromPlain = decodeEntry(plain)
  t.ok(fromPlain, 'a plain Uint8Array decodes')
  t.ok(fromPlain && Buffer.isBuffer(fromPlain.body))
  t.equal(fromPlain?.body.buffer, plain.buffer)

  const slab = Buffer.concat([Buffer.from('junk'), encodeEntry(sample), Buffer.from('more')])
  const inner = slab.subarray(4, slab.length - 4)
  t.doesNotThrow(() => assertSameEntry(decodeEntry(inner), sample), 'works at a non-zero byteOffset')
  t.equal(decodeEntry(inner)?.body.buffer, slab.buffer)
})

t.test('decode returns undefined for anything else and never throws', async (t) => {
  const encoded = encodeEntry(sample)
  const others: unknown[] = [
    undefined, null, 0, 42, true, '', 'KBC', encoded.toString('latin1'), JSON.stringify(sample),
    JSON.stringify({ ...sample, body: sample.body.toString('base64') }), { ...sample }, encoded.toJSON(),
    [...encoded], encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.length),
    new Uint16Array(4), new DataView(new ArrayBuffer(30)), Buffer.alloc(0), Buffer.from(JSON.stringify(sample)),
    Buffer.from('KBC'), Buffer.from([0x4b, 0x42, 0x43, 2]),
  ]
  for (const [i, value] of others.entries()) t.equal(decodeEntry(value), undefined, `other value #${i}`)

  let defined = 0
  for (let length = 0; length < encoded.length; length++) {
    if (decodeEntry(encoded.subarray(0, length)) !== undefined) defined++
  }
  t.equal(defined, 0, `no truncation of ${encoded.length} bytes decodes`)
  t.equal(decodeEntry(Buffer.concat([encoded, Buffer.from([0])])), undefined, 'one trailing byte')
  t.equal(decodeEntry(Buffer.concat([encoded, encoded])), undefined, 'two entries back to back')
})

t.test('decode rejects other formats and malformed fields', async (t) => {
  const e = encodeEntry(sample)
  const reject = (buf: Buffer, why: string) => t.equal(decodeEntry(buf), undefined, why)
  reject(patched(e, 0, [0x6b]), 'magic byte 0')
  reject(patched(e, 1, [0x00]), 'magic byte 1')
  reject(patched(e, 2, [0x44]), 'magic byte 2')
  reject(patched(e, 3, [0]), 'version 0')
  reject(patched(e, 3, [1]), 'version 1: an entry of the old rules')
  reject(patched(e, 3, [3]), 'version 3')
  reject(patched(e, 3, [255]), 'version 255')
  reject(patched(e, 4, [0, 99]), 'status 99')
  reject(patched(e, 4, [0x02, 0x58]), 'status 600')
  reject(patched(e, 4, [0xff, 0xff]), 'status 65535')
  reject(patched(e, 6, [0x7f, 0xf8, 0, 0, 0, 0, 0, 0]), 'created NaN')
  reject(patched(e, 6, [0x7f, 0xf0, 0, 0, 0, 0, 0, 0]), 'created Infinity')
  reject(patched(e, 14, [0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), 'bucket 1.5')
  reject(patched(e, 14, [0x43, 0x40, 0, 0, 0, 0, 0, 0]), 'bucket 2^53')
  reject(patched(e, 22, [3]), 'one header more than stored')
  reject(patched(e, 22, [1]), 'one header fewer than stored')
  reject(patched(e, 23, [0]), 'empty header name')
  reject(patched(e, 24, [0x43]), 'upper-case header name')
  reject(patched(e, 24, [0x20]), 'space in header name')
  const valueAt = 24 + 'content-type'.length + 2
  for (const byte of [0x0d, 0x0a, 0x00, 0x7f]) reject(patched(e, valueAt, [byte]), `value byte 0x${byte.toString(16)}`)
  const bodyLengthAt = e.length - sample.body.length - 4
  reject(patched(e, bodyLengthAt, [0, 0, 0, sample.body.length + 1]), 'body length past the end')
  reject(patched(e, bodyLengthAt, [0, 0, 0, sample.body.length - 1]), 'body length short of the end')
  reject(patched(e, bodyLengthAt, [0xff, 0xff, 0xff, 0xff]), 'body length 4 GiB')
})

t.test('fuzz: random and mutated bytes never throw; whatever decodes is canonical', async (t) => {
  const canonical = (buf: Uint8Array) => {
    const decoded = decodeEntry(buf)
    if (decoded !== undefined) assert.ok(encodeEntry(decoded).equals(buf), 'decode accepts only what encode writes')
    return decoded
  }
  property(t, 'random bytes, with and without a valid head', () =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withHead) => {
        const buf = withHead ? Buffer.concat([Buffer.from([0x4b, 0x42, 0x43, 2]), bytes]) : bytes
        canonical(buf)
      }),
      { numRuns: 2000 },
    ),
  )
  let survived = 0
  property(t, 'mutations of valid encodings', () =>
    fc.assert(
      fc.property(
        entryArb.map(encodeEntry),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), {
          minLength: 1,
          maxLength: 4,
        }),
        (encoded, edits) => {
          let bytes = [...encoded]
          for (const [where, byte, kind] of edits) {
            const at = where % (bytes.length + 1)
            if (kind === 'set') bytes[at] = byte
            else if (kind === 'insert') bytes.splice(at, 0, byte)
            else bytes.splice(at, 1)
          }
          bytes = bytes.filter((b) => b !== undefined)
          if (canonical(Buffer.from(bytes)) !== undefined) survived++
        },
      ),
      { numRuns: 2000 },
    ),
  )
  t.ok(survived > 0, `some mutations (${survived}) still decode, e.g. inside a body, so the check above ran`)
})

t.test('encode refuses entries it could not replay faithfully', async (t) => {
  const bad: Array<[string, Partial<CachedEntry>]> = [
    ['status 99', { status: 99 }],
    ['status 600', { status: 600 }],
    ['status 200.5', { status: 200.5 }],
    ['created NaN', { created: Number.NaN }],
    ['created Infinity', { created: Number.POSITIVE_INFINITY }],
    ['bucket 1.5', { bucket: 1.5 }],
    ['bucket 2^53', { bucket: 2 ** 53 }],
    ['upper-case name', { headers: [['Content-Type', 'x']] }],
    ['empty name', { headers: [['', 'x']] }],
    ['name with a space', { headers: [['content type', 'x']] }],
    ['name of 256 chars', { headers: [['n'.repeat(256), 'x']] }],
    ['value with CRLF', { headers: [['etag', 'a\r\nset-cookie: x']] }],
    ['value above latin1', { headers: [['content-language', 'Ā']] }],
    ['value of 65536 chars', { headers: [['etag', 'v'.repeat(0x10000)]] }],
    ['status 101', { status: 101 }],
    ['status 199', { status: 199 }],
    [`${MAX_HEADERS + 1} headers`, { headers: Array.from({ length: MAX_HEADERS + 1 }, (): [string, string] => ['x', 'y']) }],
    ['headers over the byte budget', { headers: [['x-a', 'v'.repeat(MAX_HEADER_BYTES / 2)], ['x-b', 'v'.repeat(MAX_HEADER_BYTES / 2)]] }],
    ...[...UNREPLAYED_HEADERS].map((name): [string, Partial<CachedEntry>] => [name, { headers: [[name, '1']] }]),
  ]
  for (const [why, change] of bad) t.throws(() => encodeEntry({ ...sample, ...change }), { name: 'EntryError', code: 'E_ENTRY' }, why)
})

t.test('encode gives each entry its own memory', async (t) => {
  const encoded = encodeEntry(sample)
  t.equal(encoded.byteOffset, 0)
  t.equal(encoded.buffer.byteLength, encoded.length, 'no shared pool slab kept alive by a stored entry')
})

t.test('pickReplayableHeaders', async (t) => {
  for (const name of ['set-cookie', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length', 'date', 'age', 'x-cache']) {
    t.ok(UNREPLAYED_HEADERS.has(name), `${name} is never replayed`)
  }
  t.same(
    pickReplayableHeaders({
      'content-type': 'text/plain',
      'content-length': 5,
      'set-cookie': ['sid=secret; HttpOnly'],
      etag: '"x"',
      vary: ['accept-encoding', 'accept-language'],
      'cache-control': undefined,
      'last-modified': { toString: () => 'no' },
      'x-powered-by': 'koa',
      'content-security-policy': "default-src 'self'",
      'content-language': 7,
      'transfer-encoding': 'chunked',
    }),
    [
      ['content-type', 'text/plain'],
      ['etag', '"x"'],
      ['vary', 'accept-encoding, accept-language'],
      ['x-powered-by', 'koa'],
      ['content-security-policy', "default-src 'self'"],
      ['content-language', '7'],
    ],
    'every header the handler set, less the deny-list',
  )
  t.same(pickReplayableHeaders({}), [])
  property(t, 'never keeps a header of the deny-list', () =>
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(fc.constantFrom(...UNREPLAYED_HEADERS, 'content-type', 'etag', 'authorization'), fc.string()),
          fc.oneof(fc.string(), fc.integer(), fc.array(fc.string()), fc.constant(undefined), fc.object()),
        ),
        (headers) => {
          for (const [name, value] of pickReplayableHeaders(headers)) {
            assert.ok(!UNREPLAYED_HEADERS.has(name), name)
            assert.equal(typeof value, 'string')
          }
        },
      ),
    ),
  )
})

t.test('strongEtag', async (t) => {
  t.equal(strongEtag(Buffer.alloc(0)), '"47DEQpj8HBSa-_TImW-5JCeuQeR"', 'sha256 of the empty body, 27 chars')
  t.match(strongEtag(randomBytes(100)), /^"[A-Za-z0-9_-]{27}"$/)
  t.equal(strongEtag(Buffer.from('a')), strongEtag(Buffer.from('a')))
  t.not(strongEtag(Buffer.from('a')), strongEtag(Buffer.from('b')))
})

t.test('decode enforces the rules of store: a hostile entry in the store is a miss (issue 23)', async (t) => {
  const ok = { status: 200, headers: [['content-type', 'text/plain']] as Array<[string, string]>, body: Buffer.from('hi') }
  t.ok(decodeEntry(rawEncode(ok)), 'the raw writer writes the real layout')
  const hostile: Array<[string, Parameters<typeof rawEncode>[0]]> = [
    ['set-cookie', { ...ok, headers: [['set-cookie', 'sid=attacker']] }],
    ['transfer-encoding without a length', { ...ok, headers: [['transfer-encoding', 'identity']] }],
    ['content-length', { ...ok, headers: [['content-length', '0']] }],
    ['status 101 with upgrade', { ...ok, status: 101, headers: [['upgrade', 'h2c'], ['connection', 'upgrade']] }],
    ['status 100', { ...ok, status: 100 }],
    ['status 199', { ...ok, status: 199 }],
    ['255 headers', { ...ok, headers: Array.from({ length: 255 }, (_, i): [string, string] => [`x-${i}`, 'v']) }],
    ['headers of 255 x 64 KiB', { ...ok, headers: Array.from({ length: 255 }, (_, i): [string, string] => [`x-${i}`, 'v'.repeat(0xffff)]) }],
    ['age', { ...ok, headers: [['age', '0']] }],
    ['x-cache', { ...ok, headers: [['x-cache', 'HIT']] }],
  ]
  for (const [why, entry] of hostile) t.equal(decodeEntry(rawEncode(entry)), undefined, why)
  property(t, 'any entry with a refused status or header decodes to a miss, never a throw', () =>
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 199 }), fc.integer({ min: 600, max: 0xffff }), fc.integer({ min: 200, max: 599 })),
        fc.array(fc.tuple(headerName, fc.string({ maxLength: 50 })), { maxLength: 10 }),
        fc.constantFrom(...UNREPLAYED_HEADERS),
        fc.boolean(),
        (status, headers, refused, withRefused) => {
          const all: Array<[string, string]> = withRefused ? [...headers, [refused, 'x']] : headers
          const decoded = decodeEntry(rawEncode({ status, headers: all, body: Buffer.from('b') }))
          if (withRefused || status < 200 || status > 599) assert.equal(decoded, undefined)
        },
      ),
      { numRuns: 1000 },
    ),
  )
})
