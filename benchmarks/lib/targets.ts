/**
 * Every target of the suite, in one place, with the rules that say when a miss fails the run.
 *
 * `npm run bench` (full mode) gates every target: a miss exits 1. `npm run bench:ci` (quick
 * mode, run in CI) gates only the targets that do not depend on the machine's speed: computation
 * counts (B), before/after ratios (C; monitor's gates full runs only, see energyRatioTarget), failed requests (D), the rollover share (E, with its
 * margin) and the memory budgets (F). Throughput ratios (A) and the cached p99 (C) are measured
 * and printed in quick mode too, with a plain "below target (not gating in quick mode)" when missed:
 * a few seconds per case on a shared 2-core machine is too little to decide them.
 */
import type { Comparator, TargetResult } from './types.js'

export interface TargetSpec {
  id: string
  scenario: string
  what: string
  comparator: Comparator
  target: number
  unit: TargetResult['unit']
  /** Threshold in quick mode; the target itself when absent. */
  quick?: number
  /** Threshold in full mode; the target itself when absent. */
  full?: number
  margin?: string
  /** 'full': measured in both modes, but a miss fails only a full run. Default 'always'. */
  gate?: 'always' | 'full'
}

export function evaluate(spec: TargetSpec, actual: number, quick: boolean): TargetResult {
  const threshold = (quick ? spec.quick : spec.full) ?? spec.target
  const pass = Number.isFinite(actual) && (spec.comparator === '>=' ? actual >= threshold : actual <= threshold)
  const margin = threshold === spec.target ? 'none' : (spec.margin ?? `passes at ${spec.comparator} ${threshold}`)
  return {
    id: spec.id,
    scenario: spec.scenario,
    what: spec.what,
    actual,
    comparator: spec.comparator,
    target: spec.target,
    threshold,
    unit: spec.unit,
    pass,
    margin,
    gating: spec.gate !== 'full' || !quick,
  }
}

/** A2, A3...: a throughput ratio target of scenario A (median of per-round ratios). */
function ratioTarget(id: string, what: string, target: number): TargetSpec {
  return { id, scenario: 'A', what, comparator: '>=', target, unit: 'x', gate: 'full' }
}

/** Scenario A's targets: this cache's hits against a ceiling route and against the peers. */
export const HIT_TARGETS = {
  A1: ratioTarget('A1', 'MemoryStore hit / ceiling route sending the same four headers (ETag, X-Cache, Age, Cache-Control) and a prepared Buffer', 0.95),
  A1b: ratioTarget('A1b', 'MemoryStore hit / koa-cash on lru-cache (a peer doing less must not be faster)', 1.0),
  A2: ratioTarget('A2', 'RedisStore hit / a route doing one ioredis GET', 0.95),
  A3: ratioTarget('A3', "RedisStore hit / Keyv + @keyv/redis as Keyv's README shows (the body object is the value)", 2.5),
  A3b: ratioTarget('A3b', 'RedisStore hit / Keyv + @keyv/redis with the body stored as a ready string', 1.0),
  A4: ratioTarget('A4', 'RedisStore with the in-process tier (l1), hit / ceiling route sending the same four headers (issue 9)', 0.95),
  // A count, not a speed: it gates quick runs too. Any command over the measured hits misses it.
  A4c: { id: 'A4c', scenario: 'A', what: 'Redis commands per hit, RedisStore with l1 (INFO commandstats over the measured runs, less INFO, HELLO, CLIENT and PING)', comparator: '<=', target: 0, unit: 'count' },
} satisfies Record<string, TargetSpec>

/** Scenario B: the handler runs once for a stampede of cold requests. */
export function stampedeTarget(id: string, what: string): TargetSpec {
  return { id, scenario: 'B', what, comparator: '<=', target: 1, unit: 'count' }
}

/**
 * Scenario C: before/after ratio of one energy endpoint. Monitor's is measured in quick mode but
 * gates full runs only: since issue 14 its answer lists every agent (850 KiB at 2,000 agents), and
 * on this 2-core machine a Koa route returning a prepared buffer of that size already takes
 * 0.75-1.0 ms (p50, loopback, measured 2026-11-27) against an uncached monitor of about 1.5 s, so
 * the ratio moves between about 940x and 1,750x from run to run and a quick run decides 1,000x by chance. Reported
 * on issue 8 with these numbers; the target itself is unchanged.
 */
export function energyRatioTarget(endpoint: string): TargetSpec {
  return {
    id: `C-${endpoint}-ratio`, scenario: 'C', what: `/energy/${endpoint}: uncached p50 / cached p50`, comparator: '>=', target: 1000, unit: 'x',
    ...(endpoint === 'monitor' ? { gate: 'full' as const } : {}),
  }
}

/**
 * Scenario C: cached p99 of one energy endpoint against the no-cache floor route's p99 measured
 * the same way in the same run, plus 1 ms; measured while no computation runs in the workers.
 */
export function energyP99Target(endpoint: string, floorP99: number): TargetSpec {
  return {
    id: `C-${endpoint}-p99`,
    scenario: 'C',
    what: `/energy/${endpoint}: cached p99 (sequential, no computation running) <= the floor route's p99 (${Math.round(floorP99 * 100) / 100} ms) + 1 ms`,
    comparator: '<=',
    target: floorP99 + 1,
    unit: 'ms',
    gate: 'full',
  }
}

export const OUTAGE_TARGET: TargetSpec = { id: 'D1', scenario: 'D', what: 'failed requests while Redis is hung, killed and restored', comparator: '<=', target: 0, unit: 'count' }

export function rolloverTarget(slowMs: number): TargetSpec {
  return {
    id: 'E1', scenario: 'E', what: `share of requests slower than ${slowMs} ms across rollovers, warm on (RedisStore)`, comparator: '<=', target: 0.1, quick: 0.5, full: 0.25, unit: '%',
    margin: 'quick: passes at <= 0.5%, full: <= 0.25% (a scheduler stall on a shared 2-core machine slows every request in flight)',
  }
}

export function memoryTargets(budgetMiB: number, retainedMargin: number, rssMarginMiB: number): { F1: TargetSpec; F2: TargetSpec } {
  return {
    F1: { id: 'F1', scenario: 'F', what: `memory held after the flood (heap + external, after GC) over the baseline, budget ${budgetMiB} MiB + ${retainedMargin * 100}%`, comparator: '<=', target: budgetMiB * (1 + retainedMargin), unit: 'MiB' },
    F2: { id: 'F2', scenario: 'F', what: `peak RSS during the flood over the baseline, budget ${budgetMiB} MiB + ${rssMarginMiB} MiB`, comparator: '<=', target: budgetMiB + rssMarginMiB, unit: 'MiB' },
  }
}

export function formatValue(value: number, unit: TargetResult['unit']): string {
  if (!Number.isFinite(value)) return 'n/a'
  switch (unit) {
    case '%':
      return `${Math.round(value * 1000) / 1000}%`
    case 'x':
      return value >= 100 ? `${Math.round(value).toLocaleString('en-US')}x` : `${Math.round(value * 100) / 100}x`
    case 'ms':
      return `${Math.round(value * 100) / 100} ms`
    case 's':
      return `${Math.round(value * 100) / 100} s`
    case 'MiB':
      return `${Math.round(value * 10) / 10} MiB`
    default:
      return String(Math.round(value * 1000) / 1000)
  }
}
