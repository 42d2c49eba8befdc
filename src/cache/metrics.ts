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
  status: number
  /** Why it ran: a waiting miss, a refresh after a stale answer, or warming the next bucket. */
  reason: 'miss' | 'refresh' | 'warm'
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
