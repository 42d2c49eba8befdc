/**
 * SeedCore's monitor answer carries `router_metrics`: how often its task router took the fast
 * path and how often it escalated, with the router's latency. This service's router is the cache:
 * an answer the cache already had (HIT or STALE) is the fast path, a computation (MISS) is the
 * escalation, and the latency is the cache's own time to an answer, over the last
 * LATENCY_WINDOW lookups of the energy routes.
 */
import type { ResponseCache } from '../index.js'
import type { LookupEvent } from '../cache/metrics.js'

const LATENCY_WINDOW = 1000

export interface RouterMetrics {
  p_fast: number
  p_esc: number
  latency_ms_p50: number
  latency_ms_p95: number
  fast_hits: number
  escalations: number
}

/** SeedCore's percentile: numpy's default, linear between the closest ranks; 0 with no data. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  const at = (p / 100) * (sorted.length - 1)
  const low = Math.floor(at)
  const high = Math.min(sorted.length - 1, low + 1)
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low)
}

/** Counts the lookups of `routes` from now on; `snapshot()` is the router_metrics object. */
export function trackRouterMetrics(cache: ResponseCache, routes: ReadonlySet<string>): { snapshot(): RouterMetrics } {
  let fast = 0
  let escalations = 0
  const latencies: number[] = []
  let next = 0
  cache.on('lookup', function countRoute(event: LookupEvent) {
    if (!routes.has(event.route) || event.result === 'BYPASS') return
    if (event.result === 'MISS') escalations++
    else fast++
    latencies[next] = event.ms
    next = (next + 1) % LATENCY_WINDOW
  })
  return {
    snapshot() {
      // SeedCore divides by `(fast + escalations) or 1`: both shares are 0 before any traffic.
      const total = fast + escalations || 1
      const sorted = [...latencies].sort((a, b) => a - b)
      return {
        p_fast: fast / total,
        p_esc: escalations / total,
        latency_ms_p50: percentile(sorted, 50),
        latency_ms_p95: percentile(sorted, 95),
        fast_hits: fast,
        escalations,
      }
    },
  }
}
