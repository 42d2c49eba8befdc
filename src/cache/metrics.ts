import type { CacheStore } from '../../adapters/contract.js'
import { keyvInside } from './keyv-instance.js'
import type { CircuitState, ResilientStore } from './resilient-store.js'
import type { Outcome } from './response-cache.js'

/** What a response got from the cache; also the X-Cache header value. */
export type CacheResult = 'HIT' | 'MISS' | 'STALE' | 'BYPASS'

/** Event payloads a ResponseCache emits, for Prometheus or logs. */
export interface LookupEvent {
  route: string
  result: CacheResult
  /** Time to the answer in ms: store lookup for HIT/STALE, lookup plus computation for MISS. */
  ms: number
}

export interface ComputeEvent {
  route: string
  ms: number
  /** The handler's status; undefined when it threw an error that carries none. */
  status: number | undefined
  /** Why it ran: a waiting miss, a refresh after a stale answer, or warming the next bucket. */
  reason: 'miss' | 'refresh' | 'warm'
  /**
   * Why the answer was not stored, absent when it was: policy's reason ('set-cookie',
   * 'cache-control', 'status-404'...), 'body-too-large', 'thrown' or 'not-shared'.
   */
  notStored?: string
}

/** The compute event of one finished computation: the status it answered, and why it was not stored. */
export function computeEvent(route: string, ms: number, reason: ComputeEvent['reason'], outcome: Outcome): ComputeEvent {
  const thrown = (outcome.error as { status?: unknown } | null | undefined)?.status
  const status = outcome.entry?.status ?? outcome.status ?? (typeof thrown === 'number' ? thrown : undefined)
  const event: ComputeEvent = { route, ms, status, reason }
  if (!outcome.entry || !outcome.shared) event.notStored = outcome.notStored ?? (outcome.error === undefined ? 'not-shared' : 'thrown')
  return event
}

/** The events a ResponseCache emits, with their payloads. */
export interface CacheEvents {
  lookup: [LookupEvent]
  compute: [ComputeEvent]
  /** A store operation failed (the request was served anyway). */
  'store-error': [unknown]
  circuit: [CircuitState]
}

/** Counters kept in process, read by health(). */
export class CacheStats {
  hits = 0
  misses = 0
  stale = 0
  bypass = 0
  computations = 0
  storeErrors = 0

  record(result: CacheResult): void {
    if (result === 'HIT') this.hits++
    else if (result === 'MISS') this.misses++
    else if (result === 'STALE') this.stale++
    else this.bypass++
  }

  /** Share of cacheable requests answered without waiting for a computation. */
  get hitRate(): number {
    const served = this.hits + this.stale
    const total = served + this.misses
    return total === 0 ? 0 : served / total
  }
}

export interface CacheHealth {
  status: 'ok' | 'degraded'
  backend: string
  degraded: boolean
  /** Which store answers now: the primary, or the fallback while the circuit is not closed. */
  serving: 'primary' | 'fallback'
  circuit: CircuitState
  readOnly: boolean
  role: string | undefined
  keys_count: number | null
  memory_usage: { used: number; max: number; policy: string } | null
  hits: number
  misses: number
  stale: number
  bypass: number
  hit_rate: number
  computations: number
  store_errors: number
}

/** With `closed`, the stores are not asked: they are disconnected, and asking would count errors. */
export async function readHealth(store: ResilientStore, stats: CacheStats, prefix: string, closed = false): Promise<CacheHealth> {
  const { primary, active } = store
  const info = closed ? undefined : await store.info()
  let keys: number | null = info?.keys ?? null
  if (active && !closed) keys = await countKeys(active, prefix).catch(() => keys) ?? keys
  return {
    status: store.degraded ? 'degraded' : 'ok',
    backend: String((primary.opts as { dialect?: string } | undefined)?.dialect ?? 'custom'),
    degraded: store.degraded,
    serving: store.degraded ? 'fallback' : 'primary',
    circuit: store.state,
    readOnly: primary.readOnly === true,
    role: info?.role,
    keys_count: keys,
    memory_usage: info?.memory ?? null,
    hits: stats.hits,
    misses: stats.misses,
    stale: stats.stale,
    bypass: stats.bypass,
    hit_rate: stats.hitRate,
    computations: stats.computations,
    store_errors: stats.storeErrors,
  }
}

/** Keys under `prefix`: the store's own count, or through a Keyv instance (its namespace added). */
async function countKeys(store: CacheStore, prefix: string): Promise<number | undefined> {
  if (store.countPrefix) return store.countPrefix(prefix)
  const inside = keyvInside(store)
  if (!inside) return undefined
  if (inside.inner.countPrefix) return inside.inner.countPrefix(inside.scoped(prefix))
  if (!inside.keyv.iterator) return undefined
  let count = 0
  for await (const [key] of inside.keyv.iterator(undefined)) if (String(key).startsWith(prefix)) count++
  return count
}
