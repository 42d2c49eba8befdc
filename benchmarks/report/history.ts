/**
 * The run history: every run appends its target results to results/history.jsonl (one JSON
 * object a line, so runs on different machines and commits can be told apart), and the report
 * draws the main ratios over the recorded runs, so that a regression shows as a line going down.
 */
import { execFileSync } from 'node:child_process'
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import type { TargetResult } from '../lib/types.js'
import type { Machine, RunResults } from './markdown.js'

export interface HistoryEntry {
  date: string
  mode: 'quick' | 'full'
  commit: string
  machine: Pick<Machine, 'cpu' | 'cores' | 'node'>
  targets: Array<Pick<TargetResult, 'id' | 'actual' | 'target' | 'pass' | 'gating'>>
}

/** Ratios drawn over time: the hit-throughput targets. */
export const HISTORY_SERIES = ['A1', 'A1b', 'A2', 'A3', 'A3b', 'A4'] as const

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return 'unknown'
  }
}

export function historyEntry(results: RunResults): HistoryEntry {
  const { cpu, cores, node } = results.machine
  return {
    date: results.startedAt,
    mode: results.mode,
    commit: commit(),
    machine: { cpu, cores, node },
    targets: results.scenarios.flatMap((s) => s.targets).map(({ id, actual, target, pass, gating }) => ({ id, actual, target, pass, gating })),
  }
}

export function appendHistory(file: string, entry: HistoryEntry): void {
  appendFileSync(file, `${JSON.stringify(entry)}\n`)
}

/** Every entry of the file; a line that does not parse is skipped rather than ending the run. */
export function readHistory(file: string): HistoryEntry[] {
  if (!existsSync(file)) return []
  const entries: HistoryEntry[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue
    try {
      entries.push(JSON.parse(line) as HistoryEntry)
    } catch {
      // a torn line (a run killed while writing) says nothing about the others
    }
  }
  return entries
}

const WIDTH = 860
const HEIGHT = 300
const PAD = { left: 50, right: 150, top: 36, bottom: 50 }
const COLOURS = ['#2b7bb9', '#d95f02', '#1b9e77', '#7570b3', '#e7298a']

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** A line chart of the hit-throughput ratios (y) over the recorded runs (x), quick and full alike. */
export function renderHistoryChart(entries: HistoryEntry[]): string {
  const runs = entries.slice(-50)
  const series = HISTORY_SERIES.map((id) => ({
    id,
    points: runs.map((entry, x) => ({ x, y: entry.targets.find((t) => t.id === id)?.actual })).filter((p): p is { x: number; y: number } => Number.isFinite(p.y)),
  }))
  const values = series.flatMap((s) => s.points.map((p) => p.y))
  const yMax = Math.max(1.2, ...values) * 1.05
  const plotW = WIDTH - PAD.left - PAD.right
  const plotH = HEIGHT - PAD.top - PAD.bottom
  const sx = (x: number): number => PAD.left + (runs.length <= 1 ? plotW / 2 : (x / (runs.length - 1)) * plotW)
  const sy = (y: number): number => PAD.top + plotH - (y / yMax) * plotH
  const parts: string[] = [
    `<text x="0" y="18" font-size="14" font-weight="bold">Hit-throughput ratios over recorded runs (${runs.length}; higher is better; the dashed line is 1.0)</text>`,
    `<line x1="${PAD.left}" y1="${sy(1).toFixed(1)}" x2="${PAD.left + plotW}" y2="${sy(1).toFixed(1)}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}" stroke="#333"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${PAD.left + plotW}" y2="${PAD.top + plotH}" stroke="#333"/>`,
  ]
  for (let tick = 0; tick <= yMax; tick += yMax > 3 ? 1 : 0.5) {
    parts.push(`<text x="${PAD.left - 6}" y="${(sy(tick) + 4).toFixed(1)}" font-size="11" text-anchor="end">${tick}</text>`)
  }
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]
    if (s.points.length === 0) return
    const path = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')
    parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`)
    for (const p of s.points) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.5" fill="${colour}"/>`)
    const last = s.points[s.points.length - 1]!
    parts.push(`<text x="${PAD.left + plotW + 8}" y="${(PAD.top + 14 + i * 16).toFixed(1)}" font-size="12" fill="${colour}">${s.id}: ${last.y.toFixed(2)}x (last)</text>`)
  })
  const first = runs[0]
  const last = runs[runs.length - 1]
  if (first && last) {
    parts.push(
      `<text x="${PAD.left}" y="${HEIGHT - 28}" font-size="11">${escape(`${first.date.slice(0, 16)} (${first.mode}, ${first.commit})`)}</text>`,
      `<text x="${PAD.left + plotW}" y="${HEIGHT - 28}" font-size="11" text-anchor="end">${escape(`${last.date.slice(0, 16)} (${last.mode}, ${last.commit})`)}</text>`,
    )
  }
  parts.push(`<text x="0" y="${HEIGHT - 8}" font-size="11" fill="#555">Quick runs measure 3 short rounds and move more than full runs; read a lasting drop, not one point.</text>`)
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}
