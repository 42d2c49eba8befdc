/**
 * Reading the cache's keys as the cache wrote them. Entries are decoded by the library's own
 * decodeEntry and prefixes built by its keyPrefix, so a change to either flows through here; the
 * one thing read from a key by hand is its route segment (routeOfKey).
 */
import { Buffer } from 'node:buffer'
import type { RedisStore } from '../../adapters/redis.js'
import { decodeEntry, type CachedEntry } from '../cache/entry.js'
import { bucketOf, keyPrefix } from '../index.js'

export interface Walked {
  key: string
  /** The route segment as stored (the route name for plain names); undefined for a foreign key. */
  route: string | undefined
  /** undefined for a value that is not an entry (a peer lock, another format version). */
  entry: CachedEntry | undefined
  /** Bytes of the stored value as Redis holds it, without Redis's own overhead. */
  valueBytes: number
}

/**
 * The route segment of `key`: after `<namespace>:`, the text inside `{...}` (a Cluster hash tag)
 * or up to the next ':'. Everything after it (resource, bucket, variant) is left alone.
 */
export function routeOfKey(namespace: string, key: string): string | undefined {
  const head = `${namespace}:`
  if (!key.startsWith(head)) return undefined
  const rest = key.slice(head.length)
  if (rest.startsWith('{')) {
    const end = rest.indexOf('}')
    return end > 1 ? rest.slice(1, end) : undefined
  }
  const end = rest.indexOf(':')
  return end > 0 ? rest.slice(0, end) : undefined
}

/** The prefix every key of the namespace, or of one route in it, starts with. */
export function scanPrefix(store: RedisStore, namespace: string, route?: string): string {
  // The service's default: a hash tag exactly when the store is a Cluster.
  return route === undefined ? `${namespace}:` : keyPrefix(namespace, route, store.cluster)
}

/** Every key under `prefix` with its decoded entry, by the store's SCAN on every master. */
export async function* walk(store: RedisStore, namespace: string, prefix: string): AsyncGenerator<Walked> {
  // Keyv's iterator(namespace) scans `${namespace}:`; a prefix ends in ':', so this scans exactly it.
  for await (const [key, value] of store.iterator<unknown>(prefix.slice(0, -1))) {
    yield { key, route: routeOfKey(namespace, key), entry: decodeEntry(value), valueBytes: storedBytes(value) }
  }
}

function storedBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value)
  return value instanceof Uint8Array ? value.byteLength : 0
}

/**
 * The window an entry was cached with, in ms, from its own fields: `created` falls in its bucket
 * (or the one before, when it was warmed ahead), so created / bucket is the window to within
 * window / bucket ms, far below 1 ms for a real clock. undefined when that does not check out.
 */
export function windowOf(entry: CachedEntry): number | undefined {
  if (entry.bucket < 1000) return undefined
  const windowMs = Math.round(entry.created / entry.bucket)
  if (windowMs <= 0) return undefined
  const bucket = bucketOf(entry.created, windowMs / 1000)
  return bucket === entry.bucket || bucket === entry.bucket - 1 ? windowMs : undefined
}

/** When the entry's bucket starts and ends, when its window can be told. */
export function bucketSpan(entry: CachedEntry): { start: number; end: number; windowMs: number } | undefined {
  const windowMs = windowOf(entry)
  if (windowMs === undefined) return undefined
  return { start: entry.bucket * windowMs, end: (entry.bucket + 1) * windowMs, windowMs }
}

// EVAL routes by its declared key on a Cluster; a bare MEMORY USAGE names its key where ioredis
// does not look, so it would go to any node.
const MEMORY_USAGE = "return redis.call('MEMORY', 'USAGE', KEYS[1])"

/** Bytes Redis spends on each key (MEMORY USAGE), undefined for a key gone meanwhile. */
export async function memoryUsage(store: RedisStore, keys: string[]): Promise<Array<number | undefined>> {
  const one = async (key: string): Promise<number | undefined> => {
    const used = await store.client.eval(MEMORY_USAGE, 1, key)
    return typeof used === 'number' ? used : undefined
  }
  if (!store.cluster) return Promise.all(keys.map(one))
  // One at a time on a Cluster: ioredis's auto-pipelining groups an EVAL by the slot of its first
  // argument, the script text, and then refuses a batch whose keys sit in other slots.
  const used: Array<number | undefined> = []
  for (const key of keys) used.push(await one(key))
  return used
}

/** Milliseconds each key has left (PTTL): undefined when it has gone, null when it never expires. */
export function timesToLive(store: RedisStore, keys: string[]): Promise<Array<number | null | undefined>> {
  return Promise.all(
    keys.map(async (key) => {
      const ms = await store.client.pttl(key)
      return ms === -2 ? undefined : ms === -1 ? null : ms
    }),
  )
}
