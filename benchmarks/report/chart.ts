/**
 * The SVG chart, written by hand: one panel per chart, horizontal bars with their values. A
 * log-scale panel is used where values span orders of magnitude (uncached vs cached latency).
 */
import type { Chart } from '../lib/types.js'

const WIDTH = 860
const LABEL_WIDTH = 330
const VALUE_WIDTH = 90
const BAR_HEIGHT = 18
const GAP = 6
const TITLE_HEIGHT = 28
const PANEL_GAP = 24
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function formatBarValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a'
  if (unit === 'ms') return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value >= 10 ? value.toFixed(0) : value.toFixed(2)} ms`
  if (unit === '%') return `${value.toFixed(2)}%`
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`
  return `${Math.round(value).toLocaleString('en-US')} ${unit}`
}

function barLength(value: number, max: number, min: number, log: boolean): number {
  if (!(value > 0) || !(max > 0)) return 0
  if (!log) return (value / max) * PLOT_WIDTH
  const low = Math.log10(Math.max(min, 1e-3)) - 0.3
  const high = Math.log10(max)
  return Math.max(2, ((Math.log10(value) - low) / (high - low)) * PLOT_WIDTH)
}

function panel(chart: Chart, top: number): { svg: string; height: number } {
  const values = chart.bars.map((b) => b.value).filter((v) => Number.isFinite(v) && v > 0)
  const max = Math.max(...values, 0)
  const min = Math.min(...values, max)
  const parts: string[] = [
    `<text x="0" y="${top + 18}" font-size="14" font-weight="bold">${escape(chart.title)}${chart.log ? ' (log scale)' : ''}</text>`,
  ]
  chart.bars.forEach((bar, i) => {
    const y = top + TITLE_HEIGHT + i * (BAR_HEIGHT + GAP)
    const length = barLength(bar.value, max, min, chart.log === true)
    const fill = bar.highlight ? '#2b7bb9' : '#9aa5b1'
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + BAR_HEIGHT - 5}" font-size="12" text-anchor="end">${escape(bar.label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${length.toFixed(1)}" height="${BAR_HEIGHT}" fill="${fill}"/>`,
      `<text x="${(LABEL_WIDTH + length + 6).toFixed(1)}" y="${y + BAR_HEIGHT - 5}" font-size="12">${escape(formatBarValue(bar.value, chart.unit))}</text>`,
    )
  })
  return { svg: parts.join('\n'), height: TITLE_HEIGHT + chart.bars.length * (BAR_HEIGHT + GAP) }
}

export function renderChart(charts: Chart[], caption: string): string {
  const panels: string[] = []
  let top = 10
  for (const chart of charts.filter((c) => c.bars.length > 0)) {
    const { svg, height } = panel(chart, top)
    panels.push(svg)
    top += height + PANEL_GAP
  }
  if (panels.length === 0) panels.push(`<text x="0" y="30" font-size="14">No chart data in this run.</text>`)
  const height = Math.max(top, 60) + 20
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels,
    `<text x="0" y="${height - 8}" font-size="11" fill="#555">${escape(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n')
}
