/** The Markdown report: machine, target summary, then one section per scenario. */
import { formatValue } from '../lib/targets.js'
import type { ScenarioResult, Table, TargetResult } from '../lib/types.js'

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  os: string
  loadAverageAtStart: number
}

export interface RunResults {
  startedAt: string
  mode: 'quick' | 'full'
  seconds: number
  machine: Machine
  scenarios: ScenarioResult[]
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function renderTable(table: Table): string {
  const lines: string[] = []
  if (table.title) lines.push(`**${table.title}**`, '')
  lines.push(`| ${table.head.map(cell).join(' | ')} |`, `|${table.head.map(() => ' --- ').join('|')}|`)
  for (const row of table.rows) lines.push(`| ${row.map(cell).join(' | ')} |`)
  return lines.join('\n')
}

export function strictPass(t: TargetResult): boolean {
  return t.comparator === '>=' ? t.actual >= t.target : t.actual <= t.target
}

function targetRow(t: TargetResult): string[] {
  return [
    t.id,
    t.what,
    `${t.comparator} ${formatValue(t.target, t.unit)}`,
    formatValue(t.actual, t.unit),
    t.pass ? (strictPass(t) ? 'pass' : 'pass (within noise margin)') : t.gating ? 'MISS' : 'below target (not gating in quick mode)',
    t.margin,
  ]
}

export function allTargets(results: RunResults): TargetResult[] {
  return results.scenarios.flatMap((s) => s.targets)
}

export function renderReport(results: RunResults): string {
  const { machine } = results
  const out: string[] = [
    '# koa-bucket-cache benchmarks',
    '',
    `Run ${results.startedAt}, ${results.mode} mode (\`npm run bench${results.mode === 'quick' ? ':ci' : ''}\`), ${Math.round(results.seconds)} s.`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}; ` +
      `1-minute load average ${machine.loadAverageAtStart} when the run started (anything above 0 is other work sharing the CPUs).`,
    '',
    'Everything runs on loopback on this one machine. Absolute numbers depend on the machine; the ratios, measured side by side in the same run, are what to compare.',
    '',
    '![chart](chart.svg)',
    '',
    '![history of the hit-throughput ratios](history.svg)',
    '',
    '## Targets',
    '',
  ]
  const targets = allTargets(results)
  if (targets.length > 0) {
    out.push(renderTable({ head: ['id', 'what', 'target', 'measured', 'result', 'noise margin'], rows: targets.map(targetRow) }), '')
  } else {
    out.push('No target was measured in this run.', '')
  }
  const left = results.scenarios.filter((s) => s.status !== 'done')
  for (const s of left) out.push(`- Scenario ${s.id} (${s.title}) ${s.status === 'skipped' ? 'was left out' : 'FAILED'}: ${s.reason ?? 'no reason given'}`)
  if (left.length > 0) out.push('')
  for (const s of results.scenarios) {
    out.push(`## ${s.id}. ${s.title}`, '')
    if (s.status !== 'done') {
      out.push(`${s.status === 'skipped' ? 'Left out' : 'Failed'}: ${s.reason ?? 'no reason given'}`, '')
      continue
    }
    out.push(`Took ${Math.round(s.seconds)} s; load average ${s.loadAverage ?? 'n/a'} at its start.`, '')
    for (const table of s.tables) out.push(renderTable(table), '')
    if (s.targets.length > 0) {
      out.push(renderTable({ head: ['id', 'target', 'wanted', 'measured', 'result', 'noise margin'], rows: s.targets.map(targetRow) }), '')
    }
    for (const note of s.notes) out.push(`- ${note}`)
    if (s.notes.length > 0) out.push('')
  }
  return out.join('\n')
}
