/**
 * The README's benchmark section, regenerated from the latest full run (`npm run bench`): the
 * text between `<!-- bench:start -->` and `<!-- bench:end -->` is replaced, the rest is left as it is.
 * Quick runs (CI) never touch it: their short rounds are for gating, not for quoting.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { formatValue } from '../lib/targets.js'
import { allTargets, renderTable, type RunResults } from './markdown.js'

const START = '<!-- bench:start -->'
const END = '<!-- bench:end -->'

function section(results: RunResults): string {
  const { machine } = results
  const out: string[] = [
    `Latest full run (\`npm run bench\`, ${results.startedAt.slice(0, 10)}), on ${machine.cpu} (${machine.cores} cores), Node ${machine.node},`,
    'everything on loopback; absolute numbers belong to the machine, the ratios travel. Full report with every',
    'round: [benchmarks/results/report.md](benchmarks/results/report.md); history: [benchmarks/results/history.svg](benchmarks/results/history.svg).',
    '',
    renderTable({
      head: ['target', 'what', 'wanted', 'measured', 'result'],
      rows: allTargets(results).map((t) => [t.id, t.what, `${t.comparator} ${formatValue(t.target, t.unit)}`, formatValue(t.actual, t.unit), t.pass ? 'pass' : 'MISS']),
    }),
  ]
  const energy = results.scenarios.find((s) => s.id === 'C' && s.status === 'done')
  if (energy?.tables[0]) out.push('', renderTable(energy.tables[0]))
  const hits = results.scenarios.find((s) => s.id === 'A' && s.status === 'done')
  if (hits?.tables[0]) out.push('', renderTable(hits.tables[0]))
  return out.join('\n')
}

/** Rewrites the README's benchmark section; false when the markers are missing (nothing written). */
export function updateReadme(file: string, results: RunResults): boolean {
  const text = readFileSync(file, 'utf8')
  const start = text.indexOf(START)
  const end = text.indexOf(END)
  if (start < 0 || end < start) return false
  writeFileSync(file, `${text.slice(0, start + START.length)}\n${section(results)}\n${text.slice(end)}`)
  return true
}
