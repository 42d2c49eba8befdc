/**
 * Targets with their noise margins, in one place. In quick mode (a few seconds per case on a
 * shared 2-core machine) a throughput ratio moves by several percent from run to run, so a
 * ratio target passes within its margin; counts (computations, failed requests) get none.
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
