/** Small statistics helpers; every latency is in milliseconds. */

/** The p-th percentile (0..100) of ascending `sorted` by nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number
}

/** The median of `values` (the mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = sortedCopy(values.filter((v) => Number.isFinite(v)))
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}

export interface LatencySummary {
  count: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = sortedCopy(values)
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  }
}

/** Rounds for display and JSON: enough digits to compare, no float noise. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a'
  if (ms >= 1000) return `${round(ms / 1000, 2)} s`
  if (ms >= 10) return `${round(ms, 1)} ms`
  return `${round(ms, 2)} ms`
}

export function fmtRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'n/a'
  if (ratio >= 100) return `${Math.round(ratio).toLocaleString('en-US')}x`
  return `${round(ratio, 2)}x`
}

export function fmtPct(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return 'n/a'
  return `${round(fraction * 100, digits)}%`
}

export function fmtInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'
}

export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a'
  const mib = bytes / 2 ** 20
  return `${round(mib, 1)} MiB`
}
