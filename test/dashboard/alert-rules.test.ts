/**
 * The alert rules against successive snapshots, as the dashboard feeds them (fabricated here so
 * each threshold and window is exercised exactly; the Redis-backed test covers the real path).
 */
import t from 'tap'
import type { CacheHealth } from '../../src/index.js'
import { AlertEngine } from '../../src/dashboard/alerts.js'
import { resolveRules, type AlertRuleOptions } from '../../src/dashboard/rules.js'
import type { RouteSnapshot, Snapshot } from '../../src/dashboard/snapshot.js'

const T0 = 1_700_000_000_000

const HEALTH: CacheHealth = {
  status: 'ok', reason: null, backend: 'redis', degraded: false, serving: 'primary', circuit: 'closed', nodes_down: [], readOnly: false,
  writesRefused: false, role: 'master', role_seen_at: null, l1: null, keys_count: 3, keys_count_partial: false, memory_usage: { used: 100, max: 1000, policy: 'allkeys-lru' },
  hits: 0, misses: 0, stale: 0, bypass: 0, hit_rate: 0, computations: 0, store_errors: 0,
}

interface Figures { hits?: number; stale?: number; misses?: number; computations?: number; storeErrors?: number; store?: Partial<CacheHealth>; routes?: Partial<RouteSnapshot>[] }

function snapshot(at: number, f: Figures = {}): Snapshot {
  const totals = { hits: f.hits ?? 0, stale: f.stale ?? 0, misses: f.misses ?? 0, bypass: 0, computations: f.computations ?? 0, hitRate: null }
  const routes = (f.routes ?? []).map((r) => ({ route: 'r', computeP99: null, lastComputeAt: null, ...r }) as RouteSnapshot)
  return { at, routes, totals, store: { ...HEALTH, ...f.store }, storeErrors: f.storeErrors ?? 0 }
}

function engine(options: AlertRuleOptions): AlertEngine {
  const all: AlertRuleOptions = { hitRate: false, degraded: false, readOnlyWrites: false, memory: false, computeP99: false, storeErrors: false }
  return new AlertEngine(resolveRules({ ...all, ...options }), T0)
}

const states = (alerts: Array<{ name: string; state: string }>): string[] => alerts.map((a) => `${a.name}:${a.state}`)

t.test('hit rate: fires below the threshold over the window, only with enough lookups, and resolves', async (t) => {
  const e = engine({ hitRate: { below: 0.5, windowMs: 60_000, minLookups: 20 } })
  t.same(states(e.evaluate(snapshot(T0 + 5_000, { hits: 1, misses: 9 }))), [], '10 lookups: not enough to judge')
  const fired = e.evaluate(snapshot(T0 + 10_000, { hits: 4, misses: 26 }))
  t.same(states(fired), ['hitRate:firing'])
  t.match(fired[0], { value: 4 / 30, threshold: 0.5, message: /hit rate 13\.3% below 50\.0% over 60 s \(30 lookups\)/ })
  t.same(states(e.evaluate(snapshot(T0 + 20_000, { hits: 10, misses: 26 }))), [], '10 of 36: still below')
  t.same(e.firing().map((a) => a.name), ['hitRate'])
  // 80 s on, the window (60 s) starts at the 20 s sample: 90 hits and 4 misses since.
  t.same(states(e.evaluate(snapshot(T0 + 80_000, { hits: 100, misses: 30 }))), ['hitRate:resolved'])
  t.same(e.firing(), [])
})

t.test('degraded: fires once the store has been degraded for forMs, resolves when it is back', async (t) => {
  const e = engine({ degraded: { forMs: 30_000 } })
  const down = { store: { degraded: true, circuit: 'open' as const, status: 'degraded' as const } }
  t.same(states(e.evaluate(snapshot(T0 + 1_000, down))), [])
  t.same(states(e.evaluate(snapshot(T0 + 20_000, down))), [], '19 s degraded')
  t.same(states(e.evaluate(snapshot(T0 + 31_000, down))), ['degraded:firing'], '30 s degraded')
  t.same(states(e.evaluate(snapshot(T0 + 40_000))), ['degraded:resolved'])
  t.same(states(e.evaluate(snapshot(T0 + 45_000, down))), [], 'the count starts again')
})

t.test('read-only Redis: fires while computed answers cannot be written, resolves when none are', async (t) => {
  const e = engine({ readOnlyWrites: { windowMs: 60_000 } })
  const replica = { store: { readOnly: true, role: 'slave' } }
  t.same(states(e.evaluate(snapshot(T0 + 1_000, { ...replica }))), [], 'read-only but nothing computed')
  const fired = e.evaluate(snapshot(T0 + 5_000, { ...replica, computations: 3 }))
  t.same(states(fired), ['readOnlyWrites:firing'])
  t.match(fired[0]!.message, /read-only \(slave\): 3 computed answers/)
  t.same(states(e.evaluate(snapshot(T0 + 70_000, { ...replica, computations: 3 }))), ['readOnlyWrites:resolved'], 'a quiet minute')
})

t.test('memory: fires above the share of maxmemory; no maxmemory means no alert', async (t) => {
  const e = engine({ memory: { above: 0.9 } })
  t.same(states(e.evaluate(snapshot(T0 + 1_000, { store: { memory_usage: { used: 900, max: 1000, policy: 'noeviction' } } }))), [], '90% is not above 90%')
  t.same(states(e.evaluate(snapshot(T0 + 2_000, { store: { memory_usage: { used: 950, max: 1000, policy: 'noeviction' } } }))), ['memory:firing'])
  t.same(states(e.evaluate(snapshot(T0 + 3_000, { store: { memory_usage: { used: 5000, max: 0, policy: 'noeviction' } } }))), ['memory:resolved'])
})

t.test('compute p99: fires on a route with a slow recent p99; old computations do not count', async (t) => {
  const e = engine({ computeP99: { aboveMs: 1000, windowMs: 60_000 } })
  const fired = e.evaluate(snapshot(T0 + 1_000, { routes: [{ route: 'fast', computeP99: 10, lastComputeAt: T0 }, { route: 'slow', computeP99: 2500, lastComputeAt: T0 }] }))
  t.same(states(fired), ['computeP99:firing'])
  t.match(fired[0]!.message, /of slow 2500 ms above 1000 ms/)
  t.same(states(e.evaluate(snapshot(T0 + 70_000, { routes: [{ route: 'slow', computeP99: 2500, lastComputeAt: T0 }] }))), ['computeP99:resolved'])
})

t.test('store errors: fires above the rate per minute over the window', async (t) => {
  const e = engine({ storeErrors: { perMinute: 10, windowMs: 60_000 } })
  t.same(states(e.evaluate(snapshot(T0 + 30_000, { storeErrors: 10 }))), [], '10 in the first minute')
  t.same(states(e.evaluate(snapshot(T0 + 40_000, { storeErrors: 11 }))), ['storeErrors:firing'])
  t.same(states(e.evaluate(snapshot(T0 + 200_000, { storeErrors: 11 }))), ['storeErrors:resolved'])
})

t.test('defaults: every rule on, overridable field by field', async (t) => {
  const rules = resolveRules({ hitRate: { below: 0.8 }, memory: false })
  t.same(rules.hitRate, { below: 0.8, windowMs: 300_000, minLookups: 50 })
  t.equal(rules.memory, false)
  t.same(rules.degraded, { forMs: 30_000 })
  t.same(Object.values(resolveRules(false)), [false, false, false, false, false, false])
})
