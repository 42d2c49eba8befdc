/** The writes RedisStore guards with a token or with generation counters: the shared lock and setIfGenerations. */
import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import clusterKeySlot from 'cluster-key-slot'
import { hasTtl } from './checks.js'
import { isCluster } from './redis-config.js'
import { RELEASE_LOCK, SET_IF_GENERATIONS, isReadOnlyError } from './redis-wire.js'

/** SET NX PX with a fresh token: the token, false when another holds the lock, undefined on a replica. */
export async function takeLock(client: Redis | Cluster, key: string, ttlMs: number): Promise<string | false | undefined> {
  const token = randomUUID()
  try {
    return (await client.set(key, token, 'PX', Math.ceil(ttlMs), 'NX')) === 'OK' ? token : false
  } catch (error) {
    if (isReadOnlyError(error)) return undefined
    throw error
  }
}

/** Deletes `key` only while it still holds `value` (a lock's token, or our own write). */
export async function deleteIfHolds(client: Redis | Cluster, key: string, value: string | Buffer): Promise<void> {
  await client.eval(RELEASE_LOCK, 1, key, value)
}

/**
 * The counters in the entry's hash slot are checked by the script, with the
 * write. On a Cluster the others (the namespace's) live on other slots: they
 * are read right after the write, which is taken back if one has moved.
 * clear() moves its counter before it scans, so an entry written before the
 * move is found by the scan and one written after is taken back here.
 */
export async function setIfGenerationsOn(
  client: Redis | Cluster,
  write: { key: string; payload: string | Buffer; ttl: number | undefined },
  generations: string[],
  expected: string[],
  read: (keys: string[]) => Promise<string[]>,
): Promise<boolean> {
  const { key, payload, ttl } = write
  const slot = isCluster(client) ? clusterKeySlot(key) : -1
  const together = generations.flatMap((g, i) => (slot === -1 || clusterKeySlot(g) === slot ? [i] : []))
  const apart = generations.flatMap((g, i) => (together.includes(i) ? [] : [i]))
  const args = [key, ...together.map((i) => generations[i]!), payload, hasTtl(ttl) ? Math.ceil(ttl) : 0, ...together.map((i) => expected[i]!)]
  if ((await client.eval(SET_IF_GENERATIONS, 1 + together.length, ...args)) !== 1) return false
  if (apart.length === 0) return true
  const now = await read(apart.map((i) => generations[i]!))
  if (now.every((value, j) => value === expected[apart[j]!])) return true
  // Deletes only our own write: an entry computed after the clear stays.
  await deleteIfHolds(client, key, payload)
  return false
}
