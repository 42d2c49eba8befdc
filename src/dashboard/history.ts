import type { CacheEngine } from '../cache/engine.js'
import type { Logger } from '../index.js'
import type { RouteCounts } from './recorder.js'
import type { Snapshot } from './snapshot.js'

export interface HistoryOptions {
  /** Samples kept: one a minute. @default 1440 (24 hours) */
  minutes?: number
  /** Save samples through the cache's store, so a restart keeps them. @default true */
  persist?: boolean
}

/** One minute of the dashboard's figures. Counts are for that minute; latencies the worst route's at its end. */
export interface HistorySample {
  /** Start of the minute, ms since the epoch. */
  at: number
  hits: number
  stale: number
  misses: number
  bypass: number
  computations: number
  storeErrors: number
  lookupP50: number | null
  lookupP99: number | null
  computeP50: number | null
  computeP99: number | null
  degraded: boolean
  memoryUsed: number | null
  memoryMax: number | null
  keys: number | null
}

const MINUTE = 60_000

/**
 * Per-minute samples of the last day, in memory and saved under one key of the
 * cache's own store (any Keyv store), outside the namespace's `ns:` prefix so
 * that clear() and invalidate() leave it alone.
 */
export class History {
  readonly #cache: CacheEngine
  readonly #clock: () => number
  readonly #logger: Logger
  readonly #minutes: number
  readonly #persist: boolean
  readonly #key: string
  #samples: HistorySample[] = []
  #minute: number
  #since: { totals: RouteCounts; storeErrors: number } = { totals: { hits: 0, stale: 0, misses: 0, bypass: 0, computations: 0 }, storeErrors: 0 }
  #loaded: Promise<void> | undefined

  constructor(cache: CacheEngine, clock: () => number, logger: Logger, options: HistoryOptions = {}) {
    this.#cache = cache
    this.#clock = clock
    this.#logger = logger
    this.#minutes = options.minutes ?? 1440
    this.#persist = options.persist ?? true
    this.#key = `${cache.options.namespace}!dashboard:history`
    this.#minute = Math.floor(clock() / MINUTE)
  }

  /** Oldest first. */
  samples(): HistorySample[] {
    return this.#samples.slice()
  }

  /** Called with each evaluated snapshot: closes the minute once a new one has begun. */
  async observe(snapshot: Snapshot): Promise<void> {
    // Read back at the first evaluation, not at construction: the service builds the dashboard
    // before it waits for Redis, and a read then would only fail.
    this.#loaded ??= this.#persist ? this.#load() : Promise.resolve()
    await this.#loaded
    const minute = Math.floor(snapshot.at / MINUTE)
    if (minute <= this.#minute) return
    this.#samples.push(sampleOf(this.#minute * MINUTE, snapshot, this.#since))
    this.#since = { totals: snapshot.totals, storeErrors: snapshot.storeErrors }
    this.#minute = minute
    this.#trim()
    if (this.#persist) await this.#save()
  }

  #trim(): void {
    const oldest = (Math.floor(this.#clock() / MINUTE) - this.#minutes) * MINUTE
    this.#samples = this.#samples.filter((s) => s.at >= oldest).slice(-this.#minutes)
  }

  async #load(): Promise<void> {
    try {
      const raw = await this.#cache.store.get(this.#key)
      const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : undefined
      const saved = text === undefined ? [] : (JSON.parse(text) as { samples?: HistorySample[] }).samples ?? []
      this.#samples = [...saved.filter((s) => typeof s?.at === 'number'), ...this.#samples]
      this.#trim()
    } catch (error) {
      this.#logger.warn({ event: 'dashboard_history_unreadable', err: error }, 'dashboard history could not be read back: starting empty')
    }
  }

  /** The store wrapper never throws; a failed write only means the next restart loses a minute. */
  async #save(): Promise<void> {
    const body = Buffer.from(JSON.stringify({ version: 1, samples: this.#samples }))
    await this.#cache.store.set(this.#key, body, (this.#minutes + 60) * MINUTE)
  }
}

function sampleOf(at: number, snapshot: Snapshot, since: { totals: RouteCounts; storeErrors: number }): HistorySample {
  const t = snapshot.totals
  const worst = (pick: (r: Snapshot['routes'][number]) => number | null): number | null =>
    snapshot.routes.reduce<number | null>((w, r) => (pick(r) === null ? w : Math.max(w ?? 0, pick(r)!)), null)
  const memory = snapshot.store.memory_usage
  return {
    at,
    hits: t.hits - since.totals.hits,
    stale: t.stale - since.totals.stale,
    misses: t.misses - since.totals.misses,
    bypass: t.bypass - since.totals.bypass,
    computations: t.computations - since.totals.computations,
    storeErrors: snapshot.storeErrors - since.storeErrors,
    lookupP50: worst((r) => r.lookupP50),
    lookupP99: worst((r) => r.lookupP99),
    computeP50: worst((r) => r.computeP50),
    computeP99: worst((r) => r.computeP99),
    degraded: snapshot.store.degraded,
    memoryUsed: memory?.used ?? null,
    memoryMax: memory?.max ?? null,
    keys: snapshot.store.keys_count,
  }
}
