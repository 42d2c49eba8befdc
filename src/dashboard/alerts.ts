import type { RouteCounts } from './recorder.js'
import type { AlertName, AlertRules } from './rules.js'
import type { Snapshot } from './snapshot.js'

/** A rule starting or stopping to fire. */
export interface Alert {
  name: AlertName
  state: 'firing' | 'resolved'
  /** ms since the epoch (the dashboard's clock). */
  at: number
  /** The measured value that crossed (or came back under) the threshold. */
  value: number
  threshold: number
  message: string
}

interface Sample {
  at: number
  totals: RouteCounts
  storeErrors: number
}

type Verdict = { firing: boolean; value: number; threshold: number; message: string } | undefined

/**
 * Evaluates the rules against successive snapshots and returns the changes:
 * a rule firing, or a firing rule resolving. Window figures are differences
 * between the newest snapshot and the oldest one inside the window.
 */
export class AlertEngine {
  readonly #rules: AlertRules
  readonly #samples: Sample[] = []
  readonly #firing = new Map<AlertName, Alert>()
  readonly #longest: number
  #degradedSince: number | undefined

  constructor(rules: AlertRules, startedAt: number) {
    this.#rules = rules
    this.#longest = Math.max(
      ...Object.values(rules).map((rule) => (rule && 'windowMs' in rule ? rule.windowMs : 0)),
      0,
    )
    // Counters start at zero with the recorder: the first window measures from there.
    this.#samples.push({ at: startedAt, totals: { hits: 0, stale: 0, misses: 0, bypass: 0, computations: 0 }, storeErrors: 0 })
  }

  /** Alerts firing now. */
  firing(): Alert[] {
    return [...this.#firing.values()]
  }

  /**
   * The store's circuit changed at `at`. Degradation is timed from the change itself, not from
   * the first snapshot that shows it (up to an evaluation period later).
   */
  circuit(degraded: boolean, at: number): void {
    this.#degradedSince = degraded ? (this.#degradedSince ?? at) : undefined
  }

  /** `snapshot` must be fresh (taken after any circuit change already reported). */
  evaluate(snapshot: Snapshot): Alert[] {
    this.#samples.push({ at: snapshot.at, totals: snapshot.totals, storeErrors: snapshot.storeErrors })
    while (this.#samples.length > 2 && this.#samples[1]!.at <= snapshot.at - this.#longest) this.#samples.shift()
    this.#degradedSince = snapshot.store.degraded ? (this.#degradedSince ?? snapshot.at) : undefined
    const changes: Alert[] = []
    for (const name of Object.keys(this.#rules) as AlertName[]) {
      const verdict = this.#judge(name, snapshot)
      const active = this.#firing.get(name)
      if (verdict?.firing && !active) {
        const alert: Alert = { name, state: 'firing', at: snapshot.at, value: verdict.value, threshold: verdict.threshold, message: verdict.message }
        this.#firing.set(name, alert)
        changes.push(alert)
      } else if (active && !verdict?.firing) {
        this.#firing.delete(name)
        const value = verdict?.value ?? active.value
        changes.push({ name, state: 'resolved', at: snapshot.at, value, threshold: active.threshold, message: `resolved: ${active.message}` })
      }
    }
    return changes
  }

  /** The oldest sample within `windowMs` of the newest, and the newest. */
  #window(windowMs: number): { from: Sample; to: Sample } {
    const to = this.#samples.at(-1)!
    const from = this.#samples.find((s) => s.at >= to.at - windowMs) ?? to
    return { from, to }
  }

  #judge(name: AlertName, snapshot: Snapshot): Verdict {
    const store = snapshot.store
    switch (name) {
      case 'hitRate': {
        const rule = this.#rules.hitRate
        if (!rule) return undefined
        const { from, to } = this.#window(rule.windowMs)
        const served = to.totals.hits + to.totals.stale - from.totals.hits - from.totals.stale
        const lookups = served + to.totals.misses - from.totals.misses
        if (lookups < rule.minLookups) return { firing: false, value: lookups === 0 ? 1 : served / lookups, threshold: rule.below, message: '' }
        const rate = served / lookups
        return { firing: rate < rule.below, value: rate, threshold: rule.below, message: `hit rate ${pct(rate)} below ${pct(rule.below)} over ${secs(rule.windowMs)} (${lookups} lookups)` }
      }
      case 'degraded': {
        const rule = this.#rules.degraded
        if (!rule) return undefined
        const ms = this.#degradedSince === undefined ? 0 : snapshot.at - this.#degradedSince
        return { firing: store.degraded && this.#degradedSince !== undefined && ms >= rule.forMs, value: ms / 1000, threshold: rule.forMs / 1000, message: `cache store degraded (circuit ${store.circuit}, serving from the fallback) for ${secs(ms)}` }
      }
      case 'readOnlyWrites': {
        const rule = this.#rules.readOnlyWrites
        if (!rule) return undefined
        const { from, to } = this.#window(rule.windowMs)
        const skipped = to.totals.computations - from.totals.computations
        return { firing: store.readOnly && !store.degraded && skipped > 0, value: skipped, threshold: 0, message: `Redis is read-only (${store.role ?? 'replica'}): ${skipped} computed answers in ${secs(rule.windowMs)} not written` }
      }
      case 'memory': {
        const rule = this.#rules.memory
        const memory = store.memory_usage
        if (!rule || !memory || memory.max <= 0) return rule ? { firing: false, value: 0, threshold: rule.above, message: '' } : undefined
        const share = memory.used / memory.max
        return { firing: share > rule.above, value: share, threshold: rule.above, message: `Redis memory ${pct(share)} of maxmemory (above ${pct(rule.above)}, policy ${memory.policy})` }
      }
      case 'computeP99': {
        const rule = this.#rules.computeP99
        if (!rule) return undefined
        const recent = snapshot.routes.filter((r) => r.computeP99 !== null && r.lastComputeAt !== null && r.lastComputeAt >= snapshot.at - rule.windowMs)
        const worst = recent.reduce<{ route: string; p99: number } | undefined>((w, r) => (w && w.p99 >= r.computeP99! ? w : { route: r.route, p99: r.computeP99! }), undefined)
        const p99 = worst?.p99 ?? 0
        return { firing: p99 > rule.aboveMs, value: p99, threshold: rule.aboveMs, message: `computation p99 of ${worst?.route ?? '-'} ${Math.round(p99)} ms above ${rule.aboveMs} ms` }
      }
      case 'storeErrors': {
        const rule = this.#rules.storeErrors
        if (!rule) return undefined
        const { from, to } = this.#window(rule.windowMs)
        const minutes = Math.max(to.at - from.at, 60_000) / 60_000
        const perMinute = (to.storeErrors - from.storeErrors) / minutes
        return { firing: perMinute > rule.perMinute, value: perMinute, threshold: rule.perMinute, message: `${perMinute.toFixed(1)} store errors per minute (above ${rule.perMinute})` }
      }
    }
  }
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`
}

function secs(ms: number): string {
  return `${Math.round(ms / 1000)} s`
}
