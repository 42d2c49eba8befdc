/**
 * Why an invalidation wins over a computation that started before it (issue 21).
 *
 * Each route, and the namespace as a whole, has a generation counter in the
 * store. A computation reads its route's and the namespace's counters when it
 * starts; invalidate() and clear() move them on before deleting keys; the
 * entry is written only if both still hold what was read, checked with the
 * write as one step (a Lua script on Redis, one synchronous step in
 * MemoryStore). A computation that lost the race answers the requests that
 * waited for it, and the next request computes again.
 *
 * Hits read nothing more: the counters are read when a computation starts and
 * checked when its entry is written, never on a lookup. That is the difference
 * from bentocache's tags and Varnish's bans, which keep invalidation times and
 * compare each entry against them when it is read.
 *
 * On a Redis Cluster the namespace counter lives in another slot than the
 * entry, so RedisStore checks it right after the write and takes the write
 * back if it moved; clear() also moves the counters of the routes the process
 * knows, which the script checks with the write.
 *
 * Keys: `<ns>!gen` for the namespace, `<ns>!gen:<route segment>` for a route
 * (with the route's hash tag, so on a Redis Cluster it shares the slot of the
 * route's entries and the script can read it). They stand outside `<ns>:`, so
 * neither invalidate() nor clear() deletes them (a deleted counter would start
 * again from '' and could match a snapshot read before it moved), and health
 * does not count them. '!' is not allowed in a namespace, so no other
 * namespace's keys can start with them.
 */
import { randomUUID } from 'node:crypto'
import type { CacheStore } from '../../adapters/contract.js'

/**
 * How long a counter lives after its last move. A snapshot only needs the
 * counter until the computation that read it ends, so this just has to be far
 * longer than any computation; it keeps counters of routes no longer
 * invalidated from piling up.
 */
export const GENERATION_TTL_MS = 24 * 60 * 60 * 1000

/** What a computation read when it started: the counters guarding its write. */
export interface Generations {
  keys: string[]
  values: string[]
}

export function namespaceGeneration(namespace: string): string {
  return `${namespace}!gen`
}

/**
 * The route counter for a cache key or a route prefix (`<ns>:<route>:...`):
 * `<ns>!gen:<route>`. The route segment never holds ':' (keys.ts), so it ends
 * at the second ':'. A resource segment after the route (`<ns>:<route>:<resource>:...`)
 * shares the route's counter. undefined for anything not shaped as a cache key.
 */
export function routeGeneration(keyOrPrefix: string): string | undefined {
  const first = keyOrPrefix.indexOf(':')
  const second = keyOrPrefix.indexOf(':', first + 1)
  if (first <= 0 || second <= first + 1) return undefined
  return `${keyOrPrefix.slice(0, first)}!gen${keyOrPrefix.slice(first, second)}`
}

/** The counters guarding the entry at `key`: its route's, then the namespace's. */
export function generationsOf(key: string, namespace: string): string[] {
  const route = routeGeneration(key)
  return route === undefined ? [namespaceGeneration(namespace)] : [route, namespaceGeneration(namespace)]
}

export async function readGenerations(store: CacheStore, keys: string[]): Promise<string[]> {
  if (store.readGenerations) return store.readGenerations(keys)
  const values = await Promise.all(keys.map((key) => store.get(key)))
  return values.map((value) => (typeof value === 'string' ? value : ''))
}

/**
 * Any other Keyv store: a fresh random value per move, written with a plain
 * set. Random rather than counted, so two invalidations racing on a store
 * without atomic increments can never leave a counter back at a value a
 * computation read.
 */
export async function bumpGenerations(store: CacheStore, keys: string[]): Promise<void> {
  if (store.bumpGenerations) return store.bumpGenerations(keys, GENERATION_TTL_MS)
  await Promise.all(keys.map((key) => store.set(key, randomUUID(), GENERATION_TTL_MS)))
}

/**
 * Writes the entry unless an invalidation moved one of `read`'s counters.
 * Stores without a one-step check (any Keyv store) get a best effort: check,
 * write, check again and delete the entry if a counter moved in between. An
 * invalidation moves its counters before it deletes keys, so an entry written
 * before that move is deleted by the invalidation itself, and one written
 * after it is caught by the second check; the entry can only be read in the
 * moment between the write and the second check.
 */
export async function setIfGenerations(store: CacheStore, key: string, value: unknown, ttl: number, read: Generations): Promise<boolean> {
  if (store.setIfGenerations) return store.setIfGenerations(key, value, ttl, read.keys, read.values)
  if (!same(await readGenerations(store, read.keys), read.values)) return false
  if ((await store.set(key, value, ttl)) === false) return false
  if (same(await readGenerations(store, read.keys), read.values)) return true
  await store.delete(key)
  return false
}

function same(values: string[], expected: string[]): boolean {
  return values.every((value, i) => value === expected[i])
}
