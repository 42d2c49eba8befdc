/** Human output: aligned tables, sizes, durations, and a progress bar that only a terminal sees. */
import Table from 'cli-table3'
import { SingleBar } from 'cli-progress'
import type { Output } from './context.js'

const NO_BORDER = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
}

/** Columns separated by two spaces, no borders or colours: readable, and still greppable. */
export function table(head: string[], rows: Array<Array<string | number>>, align: Array<'left' | 'right'> = []): string {
  const t = new Table({
    head,
    chars: NO_BORDER,
    colAligns: head.map((_, i) => align[i] ?? 'left'),
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  })
  t.push(...rows.map((row) => row.map(String)))
  return `${t.toString().split('\n').map((line) => line.trimEnd()).join('\n')}\n`
}

/** Label and value pairs, labels padded to one width. */
export function fields(pairs: Array<[string, string]>): string {
  const width = Math.max(...pairs.map(([label]) => label.length))
  return pairs.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join('')
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function bytes(n: number): string {
  let value = n
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`
}

export function duration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

export function count(n: number): string {
  return n.toLocaleString('en-US')
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString()
}

export interface Progress {
  /** Adds `n` done; `total` corrects the expected total when it was only an estimate. */
  tick(n?: number, total?: number): void
  stop(): void
}

const NO_PROGRESS: Progress = { tick: () => {}, stop: () => {} }
/**
 * A bar on `out` when it is a terminal and JSON was not asked for; otherwise nothing. A scan that
 * ends within `showAfterMs` shows no bar at all.
 */
export function progress(out: Output, label: string, total: number, json: boolean, showAfterMs = 300): Progress {
  if (json || out.isTTY !== true) return NO_PROGRESS
  const started = performance.now()
  let bar: SingleBar | undefined
  let done = 0
  let expected = total
  return {
    tick(n = 1, newTotal) {
      done += n
      if (newTotal !== undefined) expected = newTotal
      expected = Math.max(expected, done)
      if (!bar && performance.now() - started < showAfterMs) return
      if (!bar) {
        bar = new SingleBar({ stream: out, format: `${label} [{bar}] {value}/{total}`, clearOnComplete: true, hideCursor: true })
        bar.start(expected, done)
      }
      bar.setTotal(expected)
      bar.update(done)
    },
    stop() {
      bar?.stop()
    },
  }
}
