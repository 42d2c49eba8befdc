/**
 * Walks over every master (one on standalone and Sentinel, each master of a Cluster): prefix
 * deletes, counts and memory. On a Cluster a master that is down, or dropped from ioredis's pool
 * until its replica is promoted, must not be passed over silently (issue 19): what was done is
 * kept, and a partial error says how many of the 16384 slots were missed.
 */
import type { Cluster, Redis } from 'ioredis'
import { isCluster } from './redis-config.js'
import type { StoreInfo } from './contract.js'
import { CacheError } from './errors.js'
import { parseInfo, scanBatches } from './redis-wire.js'

/** A walk over every master that could not reach the master of every slot (a master down). */
export abstract class PartialWalkError extends CacheError {
  constructor(
    operation: string,
    readonly slotsMissed: number,
    cause: unknown,
  ) {
    super('E_STORE_PARTIAL', `${operation} could not reach the master of ${slotsMissed} of 16384 slots`, { cause })
  }
}

/** A prefix delete that could not reach the master of every slot; `removed` counts what it did delete. */
export class PartialDeleteError extends PartialWalkError {
  constructor(readonly removed: number, slotsMissed: number, cause: unknown) {
    super('deletePrefix', slotsMissed, cause)
    this.name = 'PartialDeleteError'
  }
}

/** A count that could not reach the master of every slot; `counted` is what the others hold. */
export class PartialCountError extends PartialWalkError {
  constructor(readonly counted: number, slotsMissed: number, cause: unknown) {
    super('countPrefix', slotsMissed, cause)
    this.name = 'PartialCountError'
  }
}

export function mastersOf(client: Redis | Cluster): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client]
}

/**
 * Runs `each` on every master it can reach and adds up what they return; throws `partial(total,
 * slots missed, first failure)` unless every slot's master was done. Standalone and Sentinel have
 * one node: its failure is thrown as it is, and so is `signal`'s reason once it aborts.
 */
async function everyMaster(
  client: Redis | Cluster,
  each: (node: Redis) => Promise<number>,
  partial: (total: number, missed: number, cause: unknown) => Error,
  signal?: AbortSignal,
): Promise<number> {
  if (!isCluster(client)) return each(client)
  let total = 0
  const done = new Set<string>()
  let failure: unknown
  for (const node of client.nodes('master')) {
    try {
      total += await each(node)
      done.add(`${node.options.host}:${node.options.port}`)
    } catch (error) {
      if (signal?.aborted) throw error
      failure ??= error
    }
  }
  let missed = 0
  for (let slot = 0; slot < 16384; slot++) if (!done.has(client.slots[slot]?.[0] ?? '')) missed++
  if (missed > 0) throw partial(total, missed, failure)
  return total
}

/** SCAN + UNLINK in batches on every master; returns how many keys went. */
export function unlinkPrefix(client: Redis | Cluster, prefix: string, scanCount: number): Promise<number> {
  return everyMaster(
    client,
    async (node) => {
      let removed = 0
      for await (const keys of scanBatches(node, prefix, scanCount)) {
        removed += isCluster(client) ? await unlinkEach(node, keys) : await node.unlink(...keys)
      }
      return removed
    },
    (removed, missed, cause) => new PartialDeleteError(removed, missed, cause),
  )
}

/** Keys under `prefix` on every master, by SCAN; rejects with the signal's reason once it aborts. */
export function countPrefix(client: Redis | Cluster, prefix: string, scanCount: number, signal?: AbortSignal): Promise<number> {
  return everyMaster(
    client,
    async (node) => {
      let count = 0
      for await (const keys of scanBatches(node, prefix, scanCount, signal)) count += keys.length
      return count
    },
    (counted, missed, cause) => new PartialCountError(counted, missed, cause),
    signal,
  )
}

/** One UNLINK per key: a multi-key UNLINK across slots is refused on a Cluster. */
async function unlinkEach(node: Redis, keys: string[]): Promise<number> {
  const pipeline = node.pipeline()
  for (const key of keys) pipeline.unlink(key)
  let removed = 0
  for (const [error, count] of (await pipeline.exec()) ?? []) {
    if (error) throw error
    removed += Number(count)
  }
  return removed
}

/** Keys and memory summed over the masters. */
export async function memoryOf(client: Redis | Cluster): Promise<Pick<StoreInfo, 'keys' | 'memory'>> {
  let keys = 0
  let used = 0
  let max = 0
  let policy = 'unknown'
  for (const node of mastersOf(client)) {
    const [size, memory] = await Promise.all([node.dbsize(), node.info('memory')])
    const fields = parseInfo(memory)
    keys += size
    used += Number(fields.get('used_memory') ?? 0)
    max += Number(fields.get('maxmemory') ?? 0)
    policy = fields.get('maxmemory_policy') ?? policy
  }
  return { keys, memory: { used, max, policy } }
}
