/** How values, replies and waits travel between RedisStore and ioredis: small pure helpers. */
import type { Cluster, Redis } from 'ioredis'
import { CacheError } from './errors.js'
import { ReplyError } from 'ioredis'

/**
 * Buffers are stored behind this one byte. A JavaScript string written as
 * UTF-8 can never start with 0xFF, so `get` knows without any other metadata
 * whether to hand back a Buffer (byte for byte) or a string.
 */
export const BINARY_TAG = 0xff
const TAG = Buffer.from([BINARY_TAG])

/** Deletes the lock only while it still holds our token, so a late release never frees another holder's lock. */
export const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

/**
 * Sets KEYS[1] to ARGV[1] (PX ARGV[2] when above 0) only while each of
 * KEYS[2..n] still holds its expected value ARGV[3..n+1] ('' for a missing
 * key): a write guarded by generation counters, in one step.
 */
export const SET_IF_GENERATIONS = `
for i = 2, #KEYS do
  if (redis.call('get', KEYS[i]) or '') ~= ARGV[i + 1] then return 0 end
end
if tonumber(ARGV[2]) > 0 then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) else redis.call('set', KEYS[1], ARGV[1]) end
return 1`

/** Moves a generation counter on and keeps it ARGV[1] ms from now. */
export const BUMP_GENERATION = "local n = redis.call('incr', KEYS[1]) redis.call('pexpire', KEYS[1], ARGV[1]) return n"

export function waitForReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), timeoutMs)
    timer.unref()
    const onReady = (): void => finish(true)
    function finish(ok: boolean): void {
      clearTimeout(timer)
      client.off('ready', onReady)
      resolve(ok)
    }
    client.once('ready', onReady)
  })
}

/**
 * One batch per SCAN reply that matched something. Once `signal` has aborted, the next reply throws
 * its reason instead; the first reply is always taken, so a keyspace one SCAN covers is never cut.
 */
export async function* scanBatches(node: Redis, prefix: string, count: number, signal?: AbortSignal): AsyncGenerator<string[]> {
  const stream = node.scanStream({ match: scanPattern(prefix), count })
  let first = true
  for await (const keys of stream as AsyncIterable<string[]>) {
    if (!first) signal?.throwIfAborted()
    first = false
    if (keys.length > 0) yield keys
  }
}

/** A SCAN MATCH pattern for every key starting with `prefix`: glob specials escaped, so it matches only itself. */
export function scanPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
}

export function toRedis(value: unknown): string | Buffer {
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value)) return Buffer.concat([TAG, value])
  if (value instanceof Uint8Array) return Buffer.concat([TAG, value])
  throw new StoreValueError(value)
}

/** A value RedisStore cannot keep as it is: it stores strings and Buffers (the cache encodes its entries to bytes). */
export class StoreValueError extends CacheError {
  constructor(value: unknown) {
    super('E_STORE_VALUE', `RedisStore stores strings and Buffers, got ${value === null ? 'null' : typeof value}`)
    this.name = 'StoreValueError'
  }
}

export function fromRedis(value: Buffer | null): string | Buffer | undefined {
  if (value === null) return undefined
  if (value[0] === BINARY_TAG) return value.subarray(1)
  return value.toString('utf8')
}

/** A Redis error reply's first word is its code; READONLY is what a replica answers to a write. */
export function isReadOnlyError(error: unknown): boolean {
  return error instanceof ReplyError && (error as Error).message.startsWith('READONLY')
}

export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':')
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1))
  }
  return fields
}

/**
 * ioredis listens for one 'error' per socket (`stream.once('error')`), but a TLS socket whose
 * handshake fails can report two (the certificate check, then the server's alert), and a second
 * error with no listener ends the process. Called from the client's own 'error' event, when the
 * first one has been taken: the socket's later errors are then dropped (the first was reported).
 */
export function absorbLaterSocketErrors(client: unknown): void {
  const stream = (client as { stream?: { listenerCount?(event: string): number; on?(event: string, listener: () => void): unknown } }).stream
  if (stream?.listenerCount && stream.on && stream.listenerCount('error') === 0) stream.on('error', () => {})
}
