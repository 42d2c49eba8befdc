import type { CacheStore, StoreInfo } from '../../adapters/contract.js'
import type { CacheError } from './errors.js'
import { keyvInside } from './keyv-instance.js'
import type { LocalTierHealth } from './local-tier.js'
import type { CircuitState, ResilientStore } from './resilient-store.js'
import type { Outcome } from './engine-types.js'
import { isPartial } from './store-calls.js'

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
  /** 'degraded' while the fallback serves, or while the store refuses writes. */
  /** 'closed' after close(): requests pass through uncached and nothing is read or written. */
  status: 'ok' | 'degraded' | 'closed'
  /** Why status is 'degraded' (code and message of the store's error), null when ok. */
  reason: string | null
  backend: string
  /** True while the fallback serves (circuit not closed), for all keys or, on a Cluster, for a failed master's. */
  degraded: boolean
  /** Which store answers now: the primary, or the fallback while the circuit is not closed. */
  serving: 'primary' | 'fallback'
  circuit: CircuitState
  /** Cluster masters whose own circuit is open: their keys are served from the fallback meanwhile. */
  nodes_down: string[]
  readOnly: boolean
  /** Writes refused by the store (out of memory): answers are kept in local memory meanwhile. */
  writesRefused: boolean
  /** The primary's role; while the circuit is open, the last one seen. */
  role: string | undefined
  /** When the primary last answered (ISO 8601), null before it ever did. */
  role_seen_at: string | null
  keys_count: number | null
  /**
   * True when the count is not whole: out of its time budget (keys_count is then null: too many
   * keys to count on each check), or part of the store could not be counted, such as a Cluster
   * master that is down (keys_count is then what the others hold).
   */
  keys_count_partial: boolean
  memory_usage: { used: number; max: number; policy: string } | null
  hits: number
  misses: number
  stale: number
  bypass: number
  hit_rate: number
  computations: number
  store_errors: number
  /** The in-process tier (entries, bytes, hits) and its invalidation channel; null when off. */
  l1: LocalTierHealth | null
}

/** How long one reading of the store (info and key count) answers every health check. */
export const HEALTH_SNAPSHOT_MS = 1000
/**
 * Time allowed to count the namespace's keys. Counting is a SCAN of the whole keyspace: with a
 * million unrelated keys it took ~2,000 SCAN calls and over a second per health check (issue 23,
 * finding 3). Past the budget the count is given up and health says so.
 */
export const KEY_COUNT_BUDGET_MS = 20

interface StoreFacts {
  info: StoreInfo | undefined
  keys: number | null
  partial: boolean
}

/**
 * The store's part of health, read at most once per HEALTH_SNAPSHOT_MS whatever the number of
 * pollers; counters and circuit state are read live on every call.
 */
export class HealthReader {
  #taken = Number.NEGATIVE_INFINITY
  #from: CacheStore | undefined
  #facts: Promise<StoreFacts> | undefined

  constructor(
    private readonly store: ResilientStore,
    private readonly stats: CacheStats,
    private readonly prefix: string,
    /** After close() the stores are not asked: they are disconnected, and asking would count errors. */
    private readonly closed: () => boolean,
    /** The in-process tier and its invalidation channel, null when off. */
    private readonly local: () => LocalTierHealth | null = () => null,
  ) {}

  async read(): Promise<CacheHealth> {
    const { store, stats } = this
    const { primary } = store
    const { info, keys, partial } = await this.#snapshot()
    const refused = store.writesRefused
    const seen = store.lastSeen
    // Never answered yet: the client's own error (a refused password, a certificate) already says why.
    const unreachable = seen === undefined ? (primary.lastError as CacheError | undefined) : undefined
    const problem = store.degraded ? store.lastError : (refused ?? unreachable)
    return {
      status: this.closed() ? 'closed' : problem || store.degraded ? 'degraded' : 'ok',
      reason: problem ? `${problem.code}: ${problem.message}` : null,
      backend: String((primary.opts as { dialect?: string } | undefined)?.dialect ?? 'custom'),
      degraded: store.degraded,
      serving: store.state !== 'closed' ? 'fallback' : 'primary',
      circuit: store.state,
      nodes_down: store.openNodes,
      readOnly: primary.readOnly === true,
      writesRefused: refused !== undefined,
      role: store.degraded ? seen?.role : (info?.role ?? seen?.role),
      role_seen_at: seen ? new Date(seen.at).toISOString() : null,
      keys_count: keys,
      keys_count_partial: partial,
      memory_usage: info?.memory ?? null,
      hits: stats.hits,
      misses: stats.misses,
      stale: stats.stale,
      bypass: stats.bypass,
      hit_rate: stats.hitRate,
      computations: stats.computations,
      store_errors: stats.storeErrors,
      l1: this.local(),
    }
  }

  #snapshot(): Promise<StoreFacts> {
    if (this.closed()) return Promise.resolve({ info: undefined, keys: null, partial: false })
    const active = this.store.active
    // A switch to the fallback (or back) makes the last reading describe the wrong store.
    if (this.#facts && active === this.#from && performance.now() - this.#taken < HEALTH_SNAPSHOT_MS) return this.#facts
    this.#taken = performance.now()
    this.#from = active
    this.#facts = readStoreFacts(this.store, active, this.prefix)
    return this.#facts
  }
}

async function readStoreFacts(store: ResilientStore, active: CacheStore | undefined, prefix: string): Promise<StoreFacts> {
  const info = await store.info()
  if (!active) return { info, keys: info?.keys ?? null, partial: false }
  const budget = AbortSignal.timeout(KEY_COUNT_BUDGET_MS)
  try {
    return { info, keys: (await countKeys(active, prefix, budget)) ?? info?.keys ?? null, partial: false }
  } catch (error) {
    // Out of budget: unknown, and said so. Part of the store: what the rest holds, said so too.
    if (budget.aborted) return { info, keys: null, partial: true }
    if (isPartial(error, 'counted')) return { info, keys: error.counted, partial: true }
    // Otherwise the store's own total is the best there is.
    return { info, keys: info?.keys ?? null, partial: false }
  }
}

/** Keys under `prefix`: the store's own count, or through a Keyv instance (its namespace added); stops when `signal` fires. */
async function countKeys(store: CacheStore, prefix: string, signal: AbortSignal): Promise<number | undefined> {
  if (store.countPrefix) return store.countPrefix(prefix, signal)
  const inside = keyvInside(store)
  if (!inside) return undefined
  if (inside.inner.countPrefix) return inside.inner.countPrefix(inside.scoped(prefix), signal)
  if (!inside.keyv.iterator) return undefined
  let count = 0
  for await (const [key] of inside.keyv.iterator(undefined)) {
    signal.throwIfAborted()
    if (String(key).startsWith(prefix)) count++
  }
  return count
}
