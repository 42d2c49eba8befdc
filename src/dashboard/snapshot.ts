import type { CacheHealth, ResponseCache } from '../index.js'
import type { Recorder, RouteCounts } from './recorder.js'

/** One route's figures in a snapshot. Rates are per second since the previous snapshot. */
export interface RouteSnapshot extends RouteCounts {
  route: string
  rates: { hits: number; stale: number; misses: number; bypass: number }
  /** Share of cacheable lookups (hit, stale, miss) answered without a computation. */
  hitRate: number | null
  lookupP50: number | null
  lookupP99: number | null
  computeP50: number | null
  computeP99: number | null
  lastComputeMs: number | null
  lastComputeAt: number | null
}

export interface Snapshot {
  /** ms since the epoch (the dashboard's clock). */
  at: number
  routes: RouteSnapshot[]
  totals: RouteCounts & { hitRate: number | null }
  store: CacheHealth
  storeErrors: number
}

/** How long one snapshot answers every viewer: health() reads the store at most this often too. */
export const SNAPSHOT_MS = 1000

/**
 * Builds snapshots at most once per SNAPSHOT_MS whatever the number of viewers
 * (JSON polls and streams share the same one), so viewers add no store reads.
 */
export class Snapshots {
  #last: { taken: number; at: number; snapshot: Promise<Snapshot> } | undefined
  #previous: { at: number; counts: Map<string, RouteCounts> } | undefined

  constructor(
    private readonly cache: ResponseCache,
    private readonly recorder: Recorder,
    private readonly clock: () => number,
  ) {}

  /** A snapshot younger than SNAPSHOT_MS, by the real timer and by the clock (so tests move it with their clock). */
  latest(): Promise<Snapshot> {
    const now = performance.now()
    const at = this.clock()
    if (this.#last && now - this.#last.taken < SNAPSHOT_MS && Math.abs(at - this.#last.at) < SNAPSHOT_MS) return this.#last.snapshot
    return this.fresh()
  }

  /** A new snapshot (alert evaluation: one reused from before a circuit change would misjudge it), shared from now on. */
  fresh(): Promise<Snapshot> {
    const snapshot = this.#take()
    this.#last = { taken: performance.now(), at: this.clock(), snapshot }
    // A failed read must not be served for a second: the next viewer tries again.
    snapshot.catch(() => {
      if (this.#last?.snapshot === snapshot) this.#last = undefined
    })
    return snapshot
  }

  async #take(): Promise<Snapshot> {
    const store = await this.cache.health()
    const at = this.clock()
    const previous = this.#previous
    const seconds = previous ? Math.max(0.001, (at - previous.at) / 1000) : 0
    const counts = new Map<string, RouteCounts>()
    const routes: RouteSnapshot[] = []
    for (const [route, record] of this.recorder.routes) {
      const { hits, stale, misses, bypass, computations } = record
      counts.set(route, { hits, stale, misses, bypass, computations })
      const before = previous?.counts.get(route)
      const rate = (now: number, then: number | undefined): number => (seconds === 0 ? 0 : (now - (then ?? 0)) / seconds)
      const [lookupP50, lookupP99] = record.lookups.percentiles(0.5, 0.99)
      const [computeP50, computeP99] = record.computes.percentiles(0.5, 0.99)
      routes.push({
        route, hits, stale, misses, bypass, computations,
        rates: { hits: rate(hits, before?.hits), stale: rate(stale, before?.stale), misses: rate(misses, before?.misses), bypass: rate(bypass, before?.bypass) },
        hitRate: hitRate(record),
        lookupP50: lookupP50!, lookupP99: lookupP99!, computeP50: computeP50!, computeP99: computeP99!,
        lastComputeMs: record.lastComputeMs,
        lastComputeAt: record.lastComputeAt,
      })
    }
    this.#previous = { at, counts }
    routes.sort((a, b) => a.route.localeCompare(b.route))
    const totals = this.recorder.totals()
    return { at, routes, totals: { ...totals, hitRate: hitRate(totals) }, store, storeErrors: this.recorder.storeErrors }
  }
}

export function hitRate(counts: Pick<RouteCounts, 'hits' | 'stale' | 'misses'>): number | null {
  const served = counts.hits + counts.stale
  const total = served + counts.misses
  return total === 0 ? null : served / total
}
